"""The scheduled service: when each source is due (``schedule``, pure), the long-running
loop that collects, renders and sends (``scheduler``), its single-writer lock and its
health check."""
