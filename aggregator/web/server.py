"""The production HTTP server behind ``aggregator serve`` and ``aggregator demo``: waitress.

waitress (pure Python, no C extension, runs wherever the aggregator runs) serves the WSGI
app from ``make_wsgi`` with a pool of ``serve.threads`` threads and up to
``serve.connection_limit`` open connections; slow or idle clients wait in its event loop,
not in a thread. Each request gets one access-log line in the project's format
(``aggregator.logs``). :meth:`Server.shutdown` (SIGTERM or Ctrl-C in the command) stops
accepting, lets requests in progress finish for up to ``STOP_GRACE_S``, then closes.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from waitress.server import create_server

from aggregator.errors import UsageError
from aggregator.logs import log_event

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
Wsgi = Callable[[Environ, StartResponse], Iterable[bytes]]

STOP_GRACE_S = 10.0  # requests in progress at a stop get this long to finish
LOOP_TIMEOUT_S = 0.5

log = logging.getLogger("aggregator.web")


def access_logged(wsgi: Wsgi, logger: logging.Logger = log) -> Wsgi:
    """``wsgi`` with one log line per request: method, path, status, bytes, duration, client.

    The query string is left out: it can carry an unsubscribe token or a reader's search.
    """

    def logged(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        started = time.monotonic()
        status = ["-"]

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, exc_info)

        size = 0
        body = wsgi(environ, start)
        try:
            for chunk in body:
                size += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            code = int(status[0]) if status[0].isdigit() else 0
            log_event(
                logger, "request",
                level=logging.WARNING if code >= 500 else logging.INFO,
                method=environ.get("REQUEST_METHOD", "GET"),
                path=environ.get("PATH_INFO", "/"),
                status=status[0],
                bytes=size,
                duration_s=round(time.monotonic() - started, 4),
                client=environ.get("REMOTE_ADDR", ""),
            )

    return logged


class Server:
    """A waitress server bound to ``host:port`` (0: a free port), not yet serving.

    The same surface as the standard library's servers: ``server_address``,
    ``serve_forever()``, ``shutdown()`` from another thread or a signal handler,
    ``server_close()``.
    """

    def __init__(self, wsgi: Wsgi, host: str, port: int, *, threads: int = 8,
                 connection_limit: int = 500, channel_timeout: int = 60) -> None:
        try:
            self._server: Any = create_server(
                access_logged(wsgi), host=host, port=port, threads=threads,
                connection_limit=connection_limit, channel_timeout=channel_timeout,
                ident="aggregator", asyncore_use_poll=True, expose_tracebacks=False,
                clear_untrusted_proxy_headers=True,
            )
        except (OSError, ValueError) as exc:  # ValueError: waitress could not parse host
            raise _listen_error(exc, host, port) from None
        self.server_address: tuple[str, int] = (host, int(self._server.effective_port))
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._closed = False

    @property
    def server_port(self) -> int:
        return self.server_address[1]

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown`; then finish the requests in progress and return."""
        server = self._server
        try:
            while not self._stop.is_set():
                server.asyncore.loop(timeout=LOOP_TIMEOUT_S, map=server._map,
                                     use_poll=True, count=1)
            self._drain()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Ask ``serve_forever`` to stop (safe from a signal handler or another thread)."""
        self._stop.set()
        with contextlib.suppress(OSError):  # already closed: the loop is gone
            self._server.pull_trigger()

    def stop_and_wait(self, timeout: float = STOP_GRACE_S + 5) -> None:
        self.shutdown()
        self._stopped.wait(timeout)

    def _drain(self) -> None:
        """Stop accepting; close idle connections; give busy ones ``STOP_GRACE_S``."""
        server = self._server
        if server.accepting:
            server.accepting = False
            server.del_channel()
            server.socket.close()
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline:
            channels = [c for c in list(server._map.values())
                        if c is not server.trigger and c is not server]
            if not channels:
                break
            for channel in channels:
                if not channel.requests and not channel.total_outbufs_len:
                    channel.will_close = True  # idle keep-alive: closed on the next pass
            server.asyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)

    def server_close(self) -> None:
        """Release the socket, the worker threads and any connection left."""
        if self._closed:
            return
        self._closed = True
        server = self._server
        server.task_dispatcher.shutdown(timeout=1)
        for channel in list(server._map.values()):
            if channel is not server.trigger:
                channel.close()
        server.trigger.close()
        if server.socket is not None:
            server.socket.close()


def serve_until_stopped(server: Server, ready: Callable[[], object] | None = None) -> None:
    """Serve in this thread until SIGTERM or Ctrl-C, then stop gracefully and close.
    ``ready`` runs once the signals are handled (it announces the address)."""
    previous: dict[int, Any] = {}

    def stop(signum: int, frame: Any) -> None:
        log_event(log, "stopping: finishing the requests in progress",
                  signal=signal.Signals(signum).name)
        server.shutdown()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, stop)
    try:
        if ready is not None:
            ready()
        server.serve_forever()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        server.server_close()
        log_event(log, "server stopped")


def _listen_error(exc: OSError | ValueError, host: str, port: int) -> UsageError:
    code = getattr(exc, "errno", None)
    if code == errno.EADDRINUSE:
        return UsageError(
            f"port {port} on {host} is already in use (another `aggregator serve` or demo?)",
            hint="stop what uses it, or pick another port with --port (0 picks a free one)",
        )
    if code == errno.EACCES:
        return UsageError(
            f"not allowed to listen on {host}:{port}",
            hint="ports below 1024 need privileges: pick another with --port",
        )
    return UsageError(
        f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}",
        hint="check --host (an address of this machine) and --port",
    )


__all__ = ["STOP_GRACE_S", "Server", "access_logged", "serve_until_stopped"]
