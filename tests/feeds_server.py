"""A programmable loopback HTTP server for feed tests, and a config builder around it.

Each path answers as told: a body with headers, ETag/Last-Modified honoured (304), a status,
a redirect, a delay, a hang until the server stops, or a huge streamed body. Every request
is recorded with its headers so tests can check what the collector sent.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


class _Server(http.server.ThreadingHTTPServer):
    # socketserver's default backlog is 5: forty clients connecting at once would wait for
    # SYN retries (1 s, then 3 s) that no real feed host imposes.
    request_queue_size = 128


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    hang: bool = False
    location: str | None = None
    stream_bytes: int = 0  # send this many bytes of filler, in chunks, without a length
    cut_short: bool = False  # announce more bytes than the body has, then close


@dataclass
class Request:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer._answer(self)

        self.httpd = _Server((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://{host}:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def add(self, path: str, **kwargs: Any) -> str:
        self.routes[path] = Route(**kwargs)
        return self.url(path)

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def _answer(self, h: http.server.BaseHTTPRequestHandler) -> None:
        path = h.path
        self.requests.append(Request(path, {k.lower(): v for k, v in h.headers.items()}))
        route = self.routes.get(path)
        if route is None:
            return self._send(h, 404, b"not found", {"Content-Type": "text/plain"})
        if route.hang:
            self.stopping.wait(60)
            return None
        if route.delay:
            time.sleep(route.delay)
        if route.location is not None:
            return self._send(h, route.status, b"", {"Location": route.location})
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
            if h.headers.get("If-None-Match") == route.etag:
                return self._send(h, 304, b"", headers)
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
            if h.headers.get("If-Modified-Since") == route.last_modified and not route.etag:
                return self._send(h, 304, b"", headers)
        if route.stream_bytes:
            return self._stream(h, route)
        if route.cut_short:
            h.close_connection = True
            headers["Content-Length"] = str(len(route.body) + 1000)
        return self._send(h, route.status, route.body, headers)

    @staticmethod
    def _send(h: http.server.BaseHTTPRequestHandler, status: int, body: bytes,
              headers: dict[str, str]) -> None:
        h.send_response(status)
        headers.setdefault("Content-Type", "application/rss+xml; charset=utf-8")
        for k, v in headers.items():
            h.send_header(k, v)
        if status != 304 and "Content-Length" not in headers:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        with contextlib.suppress(OSError):
            h.wfile.write(body)

    @staticmethod
    def _stream(h: http.server.BaseHTTPRequestHandler, route: Route) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Connection", "close")
        h.end_headers()
        chunk = b"<!-- filler -->" * 4096
        sent = 0
        with contextlib.suppress(OSError):
            h.wfile.write(b"<?xml version='1.0'?><rss version='2.0'><channel>")
            while sent < route.stream_bytes:
                h.wfile.write(chunk)
                sent += len(chunk)

    def __enter__(self) -> FeedServer:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def write_config(
    folder: Path, sources: list[dict[str, Any]], **settings: Any
) -> Path:
    """A config.yaml using the project's real mission files, with ``sources`` replacing theirs."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    data: dict[str, Any] = {
        "database": str(folder / "archive.db"),
        "output_dir": str(folder / "output"),
        "missions_dir": str(ROOT / "feeds"),
        "sources_file": "sources.yaml",
        "base_url": "http://127.0.0.1:8000/",
        "http": {"connect_timeout": 2, "read_timeout": 3, "deadline": 5},
        **settings,
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@contextlib.contextmanager
def serving() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server
