"""``aggregator serve``: one small WSGI app for the rendered site and the dynamic routes.

Each area adds routes in its own module (``web/<area>.py`` exposing
``routes(app) -> list[Route]``); anything no route claims is served from ``output/``.
The same callable runs under ``wsgiref`` for ``aggregator serve`` and under any WSGI server
in production.
"""

from __future__ import annotations

import importlib
import io
import logging
import pkgutil
import re
import socketserver
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from aggregator.errors import StorageFault

if TYPE_CHECKING:
    from aggregator.app import App

log = logging.getLogger("aggregator.web")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
Handler = Callable[["Request"], "Response"]

SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
]


@dataclass
class Request:
    environ: Environ
    method: str
    path: str
    params: dict[str, str]  # named groups of the route pattern

    @property
    def query_string(self) -> str:
        return str(self.environ.get("QUERY_STRING", ""))

    def body(self, limit: int = 1_000_000) -> bytes:
        try:
            length = int(self.environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        return bytes(self.environ["wsgi.input"].read(min(length, limit))) if length > 0 else b""

    def header(self, name: str) -> str:
        return str(self.environ.get("HTTP_" + name.upper().replace("-", "_"), ""))


@dataclass
class Response:
    body: bytes | Iterable[bytes] = b""
    status: str = "200 OK"
    headers: list[tuple[str, str]] | None = None
    content_type: str = "text/html; charset=utf-8"


UNAVAILABLE = Response(
    b"<!doctype html><meta charset=utf-8><title>Unavailable</title>"
    b"<h1>The archive is unavailable</h1><p>Please try again later.</p>",
    "503 Service Unavailable", [("Retry-After", "60")],
)


@dataclass(frozen=True)
class Route:
    method: str  # "GET", "POST" or "*"
    pattern: str  # regular expression matched against the whole path
    handler: Handler


def _load_routes(app: App) -> list[tuple[Route, re.Pattern[str]]]:
    found: list[tuple[Route, re.Pattern[str]]] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        make = getattr(module, "routes", None)
        if make is None:
            continue
        for route in make(app):
            found.append((route, re.compile(route.pattern)))
    return found


def make_wsgi(app: App) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    from aggregator.web import static
    from aggregator.web.body import read_body

    routes = _load_routes(app)
    root = app.config.output_path
    settings = app.config.settings

    def _respond(environ: Environ, method: str, path: str) -> Response:
        if not static.usable_path(path):
            return static.not_found()
        body = read_body(environ, limit=settings.serve_max_body_bytes,
                         timeout=settings.serve_body_timeout)
        if isinstance(body, Response):
            return body
        environ["wsgi.input"] = io.BytesIO(body)  # handlers read it from memory, at once
        environ["CONTENT_LENGTH"] = str(len(body))
        for route, regex in routes:
            match = regex.fullmatch(path)
            if match and route.method in ("*", method):
                return route.handler(Request(environ, method, path, match.groupdict()))
        if method not in ("GET", "HEAD"):
            return Response(b"Method not allowed", "405 Method Not Allowed")
        return static.serve_file(root, path)

    def wsgi(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", "/")) or "/"
        try:
            response = _respond(environ, method, path)
        except StorageFault as exc:  # the archive, not this request: one line, a 503
            log.error("%s %s: %s (hint: %s)", method, path[:200], exc.message, exc.hint)
            response = UNAVAILABLE
        except Exception:  # one place: a bug answers 500 without a traceback, and is logged
            log.exception("%s %s failed", method, path[:200])
            response = Response(b"<h1>Something went wrong</h1>", "500 Internal Server Error",
                                [("Cache-Control", "no-store")])
        headers = [("Content-Type", response.content_type), *SECURITY_HEADERS]
        headers.extend(response.headers or [])
        start_response(response.status, headers)
        body = response.body
        if method == "HEAD":
            return [b""]
        return [body] if isinstance(body, bytes) else body

    return wsgi


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(app: App, host: str, port: int) -> WSGIServer:
    """A threaded server bound to ``host:port``; call ``serve_forever()`` on it."""
    return make_server(
        host, port, make_wsgi(app), server_class=_ThreadingServer, handler_class=_QuietHandler
    )
