"""`aggregator serve`'s WSGI app under abuse (#16 items 9 and 12), behind a real HTTP server.

The app runs under wsgiref (the server that hands the application the raw socket, the worst
case for a slow body) on an ephemeral port; clients speak raw HTTP over sockets.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from aggregator.app import App, make_app
from aggregator.config import load_config
from aggregator.render import render_site
from aggregator.web import make_wsgi
from tests.test_moderation_support import make_post, rule_tag, save, write_project


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[App, int]]:
    config = write_project(tmp_path)
    config.write_text(config.read_text() + "serve:\n  body_timeout: 1\n  max_body_bytes: 200000\n")
    with make_app(load_config(config), env={}) as app:
        app.store.add_editor("ana", "correct horse battery")
        save(app, (make_post("p1", text="A Kosovo post"), [rule_tag("UNMIK")]))
        render_site(app)
        server = make_server("127.0.0.1", 0, make_wsgi(app), server_class=_Server,
                             handler_class=_Quiet)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            yield app, server.server_address[1]
        finally:
            server.shutdown()
            server.server_close()


def _request(port: int, raw: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def _get(port: int, path: str) -> tuple[str, dict[str, str], bytes]:
    raw = _request(port, f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode("latin-1"))
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return lines[0].split(" ", 1)[1], headers, body


@pytest.mark.parametrize("path", ["/moderation/sign-in", "/unsubscribe"])
def test_a_body_that_never_arrives_holds_no_lock(served: tuple[App, int], path: str) -> None:
    _, port = served
    stalled = socket.create_connection(("127.0.0.1", port), timeout=10)
    stalled.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                    "application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nname=a".encode())
    time.sleep(0.3)  # the server is now waiting for the rest of the body
    for _ in range(3):  # pages that take the moderation and search locks answer meanwhile
        started = time.monotonic()
        status, _, _ = _get(port, "/moderation/")
        assert status.startswith(("200", "303")) and time.monotonic() - started < 0.9
        assert _get(port, "/search?q=Kosovo")[0].startswith("200")
    started = time.monotonic()
    answer = stalled.recv(65536)
    stalled.close()
    assert answer.startswith(b"HTTP/1.0 408") or answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert time.monotonic() - started < 3


def test_an_oversized_body_is_refused_before_it_is_read(served: tuple[App, int]) -> None:
    _, port = served
    raw = _request(port, b"POST /moderation/sign-in HTTP/1.0\r\nHost: x\r\nContent-Length: "
                         b"5000000\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\na=b")
    assert raw.split(b"\r\n", 1)[0].endswith(b"413 Content Too Large")


@pytest.mark.parametrize("path", ["/%00", "/index.html%00.png", "/missions/%00/", "/post/%00",
                                  "/" + "a" * 300, "/missions/" + "b" * 300 + "/index.html",
                                  "/post/" + "c" * 300, "/fr/post/" + "%00" * 10,
                                  "/%2500", "/static/..%2f..%2fconfig.yaml", "/search/" + "d" * 300])
def test_hostile_paths_answer_400_or_404_never_500(served: tuple[App, int], path: str) -> None:
    _, port = served
    status, _, body = _get(port, path)
    assert status[:3] in ("400", "404"), (path, status)
    assert b"Traceback" not in body and b"Error" not in body


def test_static_files_carry_the_recommended_headers(served: tuple[App, int]) -> None:
    _, port = served
    expected = {
        "/index.html": ("public, max-age=300", "frame-ancestors 'self'"),
        "/missions/unmik/": ("public, max-age=300", "script-src 'self'"),
        "/widget/unmik.html": ("public, max-age=300", "frame-ancestors *"),
        "/widget/embed.js": ("public, max-age=3600", "sandbox"),
        "/feeds/unmik.rss": ("public, max-age=900", "sandbox"),
        "/api/unmik.json": ("public, max-age=300", "sandbox"),
        "/static/site.css": ("public, max-age=86400", "sandbox"),
    }
    for path, (cache, csp) in expected.items():
        status, headers, _ = _get(port, path)
        assert status.startswith("200"), path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["cache-control"] == cache, path
        assert csp in headers["content-security-policy"], path
        assert "x-frame-options" not in headers or not path.startswith("/widget/"), path
    _, headers, _ = _get(port, "/api/unmik.json")
    assert headers["access-control-allow-origin"] == "*"
    _, headers, _ = _get(port, "/widget/unmik.html")
    assert headers["content-security-policy"] == "frame-ancestors *"  # embeddable anywhere
