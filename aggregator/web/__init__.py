"""``aggregator serve``: one small WSGI app for the rendered site and the dynamic routes.

Each area adds routes in its own module (``web/<area>.py`` exposing
``routes(app) -> list[Route]``); anything no route claims is served from ``output/``.
The same callable runs under ``wsgiref`` for ``aggregator serve`` and under any WSGI server
in production.
"""

from __future__ import annotations

import importlib
import logging
import mimetypes
import pkgutil
import re
import socketserver
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote
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


def _static(root: Path, path: str) -> Response:
    rel = unquote(path).lstrip("/")
    target = (root / rel).resolve()
    if target.is_dir():
        target = target / "index.html"
    if not target.is_relative_to(root.resolve()) or not target.is_file():
        return Response(b"<h1>Not found</h1>", "404 Not Found")
    ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
        ctype += "; charset=utf-8"
    return Response(target.read_bytes(), content_type=ctype)


def make_wsgi(app: App) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    routes = _load_routes(app)
    root = app.config.output_path

    def wsgi(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", "/")) or "/"
        response: Response | None = None
        for route, regex in routes:
            match = regex.fullmatch(path)
            if match and route.method in ("*", method):
                try:
                    response = route.handler(Request(environ, method, path, match.groupdict()))
                except StorageFault as exc:  # the archive, not this request: one line, a 503
                    log.error("%s %s: %s (hint: %s)", method, path, exc.message, exc.hint)
                    response = UNAVAILABLE
                break
        if response is None:
            if method not in ("GET", "HEAD"):
                response = Response(b"Method not allowed", "405 Method Not Allowed")
            else:
                response = _static(root, path)
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
