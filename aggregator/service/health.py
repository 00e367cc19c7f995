"""``aggregator health``: is the service alive and doing its job? One line, for supervisors.

Read-only: from the heartbeat and last tick the service stores (``service_state``) and the
sources' states. Unhealthy at once when the process the heartbeat names (on this machine)
is gone or no longer holds the writer lock (issue 15); when there is no heartbeat for ``max_age``, no finished tick for
``max_age`` (unless one is still running, up to ``LONG_TICK_FACTOR`` x ``max_age``), or when
every source that should be collected is failing.
"""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aggregator.models import parse_iso
from aggregator.service.writer_lock import service_gone

if TYPE_CHECKING:
    from aggregator.app import App

# A tick still running (a first collection of many slow sources) keeps the service healthy
# for this many times ``max_age`` while its heartbeat is fresh; longer, it counts as stuck.
LONG_TICK_FACTOR = 6


def health(app: App, *, max_age: timedelta) -> tuple[bool, str]:
    """(healthy, one-line reason) from the stored heartbeat, last tick and source states."""
    store = app.store
    now = app.now()
    beat = store.service_value("heartbeat")
    tick = store.service_value("last_tick")
    if beat is None or beat.updated_at is None:
        return False, "the service has never run on this database: start `aggregator run`"
    beat_age = now - beat.updated_at
    info = beat.value if isinstance(beat.value, dict) else {}
    pid = info.get("pid")
    if info.get("host") == socket.gethostname() and isinstance(pid, int):
        gone = service_gone(store.path, pid)
        if gone is not None:
            return False, f"{gone} (last heartbeat {_minutes(beat_age)} ago): start `aggregator run`"
    if beat_age > max_age:
        return False, f"no heartbeat for {_minutes(beat_age)}: is `aggregator run` running?"
    marks = [t for t in (tick.updated_at if tick else None, _parse(info.get("started_at"))) if t]
    since = max(marks) if marks else None  # last finished tick, or this service's start
    if since is not None and now - since > max_age:
        running = _parse(info.get("tick_started_at"))
        if running is None or now - running > max_age * LONG_TICK_FACTOR:
            return False, f"no tick has finished for {_minutes(now - since)}"
    counts = store.source_state_counts()
    active = {k: v for k, v in counts.items() if k not in ("gone", "disabled", "new")}
    total = sum(active.values())
    failing = active.get("backing_off", 0)
    if total and failing == total:
        return False, f"every source is failing ({failing} backing off): check the network and `aggregator status`"
    ok = active.get("ok", 0)
    return True, f"ok: last heartbeat {_minutes(beat_age)} ago, {ok}/{total} sources ok"


def _parse(text: Any) -> datetime | None:
    return parse_iso(text) if isinstance(text, str) else None


def _minutes(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes >= 1 else f"{delta.total_seconds():.0f} s"
