"""Image downloads cannot reach inside, stall the service, or exhaust memory (#16 item 4).

Loopback servers stand in for image hosts; a fake resolver gives them public-looking names
(``images.test``), as DNS would. A redirect to a loopback or metadata address must never
reach its target: the target server counts its requests.
"""

from __future__ import annotations

import http.server
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import aggregator.media as media
from aggregator.addresses import refusal
from aggregator.media import fetch_pending_media
from aggregator.models import Media
from tests.test_render_support import make_post, make_test_app, save


def _image(width: int, height: int, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 90, 160)).save(out, format=fmt)
    return out.getvalue()


class Server:
    """A loopback HTTP server: path -> (status, headers, body, seconds between bytes)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes, float]] = {}
        self.hits: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits.append(self.path)
                status, headers, body, gap = outer.routes.get(self.path, (404, {}, b"", 0.0))
                self.send_response(status)
                for k, v in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    if not gap:
                        self.wfile.write(body)
                    for i in range(len(body) if gap else 0):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(gap)
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Server, Server]]:
    """An image host (``images.test``, really loopback) and an inside service on loopback."""
    host, inside = Server(), Server()
    real = media.resolve

    def fake_dns(name: str, port: int) -> list[str]:
        return ["127.0.0.1"] if name == "images.test" else real(name, port)

    monkeypatch.setattr(media, "resolve", fake_dns)
    inside.routes["/secret.png"] = (200, {"Content-Type": "image/png"}, _image(10, 10), 0.0)
    yield host, inside
    host.close()
    inside.close()


def _outcomes(app: Any) -> dict[str, tuple[str, str]]:
    rows = app.store.db.execute("SELECT url, outcome, error FROM media_fetches").fetchall()
    return {url: (outcome, error or "") for url, outcome, error in rows}


def _app(tmp_path: Path, **settings: Any) -> Any:
    return make_test_app(tmp_path, media_private_hosts=["images.test"], **settings)


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/secret.png",
                                    "http://localhost:{port}/secret.png",
                                    "http://[::ffff:127.0.0.1]:{port}/secret.png",
                                    "http://169.254.169.254/latest/meta-data/",
                                    "http://10.0.0.1/x.png", "ftp://images.test/x.png"])
def test_a_redirect_inside_is_refused_and_never_requested(
    tmp_path: Path, servers: tuple[Server, Server], target: str
) -> None:
    host, inside = servers
    location = target.format(port=inside.port)
    host.routes["/photo.jpg"] = (302, {"Location": location}, b"", 0.0)
    url = f"http://images.test:{host.port}/photo.jpg"
    with _app(tmp_path) as app:
        save(app, [make_post(1, media=[Media(url=url, alt="Patrol")])])
        started = time.monotonic()
        assert fetch_pending_media(app) == 0
        assert time.monotonic() - started < 5
        outcome, error = _outcomes(app)[url]
    assert host.hits == ["/photo.jpg"]
    assert inside.hits == []  # the inside service got no request at all
    assert outcome == "refused", error


def test_an_image_on_a_private_address_is_refused_unless_its_host_is_listed(
    tmp_path: Path, servers: tuple[Server, Server]
) -> None:
    _, inside = servers
    url = f"http://127.0.0.1:{inside.port}/secret.png"
    with make_test_app(tmp_path) as app:  # offline: false, nothing listed
        save(app, [make_post(1, media=[Media(url=url, alt="x")])])
        assert fetch_pending_media(app) == 0
        outcome, error = _outcomes(app)[url]
    assert outcome == "refused" and "loopback" in error and "media.private_hosts" in error
    assert inside.hits == []
    with make_test_app(tmp_path / "listed", media_private_hosts=["127.0.0.1"]) as app:
        save(app, [make_post(1, media=[Media(url=url, alt="x")])])
        assert fetch_pending_media(app) == 1
    assert inside.hits == ["/secret.png"]


def test_offline_refuses_a_redirect_to_a_host_not_allowed(
    tmp_path: Path, servers: tuple[Server, Server]
) -> None:
    host, inside = servers
    host.routes["/photo.jpg"] = (301, {"Location": f"http://127.0.0.1:{inside.port}/secret.png"},
                                 b"", 0.0)
    url = f"http://images.test:{host.port}/photo.jpg"
    with make_test_app(tmp_path, offline=True, allowed_hosts=["images.test"]) as app:
        save(app, [make_post(1, media=[Media(url=url, alt="x")])])
        assert fetch_pending_media(app) == 0
        outcome, error = _outcomes(app)[url]
    assert outcome == "refused" and "allowed_hosts" in error
    assert inside.hits == []


def test_a_redirect_to_an_allowed_host_is_followed(tmp_path: Path, servers: tuple[Server, Server]) -> None:
    host, _ = servers
    host.routes["/old.png"] = (308, {"Location": "/new.png"}, b"", 0.0)
    host.routes["/new.png"] = (200, {"Content-Type": "image/png"}, _image(40, 30), 0.0)
    url = f"http://images.test:{host.port}/old.png"
    with _app(tmp_path) as app:
        save(app, [make_post(1, media=[Media(url=url, alt="x")])])
        assert fetch_pending_media(app) == 1
    assert host.hits == ["/old.png", "/new.png"]


def test_an_image_that_trickles_is_cut_off_at_its_deadline(
    tmp_path: Path, servers: tuple[Server, Server]
) -> None:
    host, _ = servers
    body = _image(50, 50)
    host.routes["/slow.png"] = (200, {"Content-Type": "image/png"}, body, 0.2)  # 5 bytes/s
    host.routes["/fast.png"] = (200, {"Content-Type": "image/png"}, _image(20, 20), 0.0)
    slow, fast = (f"http://images.test:{host.port}/{n}.png" for n in ("slow", "fast"))
    with _app(tmp_path, media_deadline=2, http={"read_timeout": 20}) as app:
        save(app, [make_post(1, media=[Media(url=slow, alt="x")]),
                   make_post(2, media=[Media(url=fast, alt="y")])])
        started = time.monotonic()
        assert fetch_pending_media(app) == 1  # the other image is still copied
        took = time.monotonic() - started
        outcome, error = _outcomes(app)[slow]
    assert outcome == "timeout" and "media.deadline" in error, error
    assert took < 2 + 1.5, took


def test_an_image_over_the_pixel_budget_is_not_decoded(
    tmp_path: Path, servers: tuple[Server, Server]
) -> None:
    host, _ = servers
    bomb = _image(6320, 6320)  # ~40 KB of PNG, 40 megapixels
    assert len(bomb) < 200_000
    host.routes["/bomb.png"] = (200, {"Content-Type": "image/png"}, bomb, 0.0)
    host.routes["/camera.jpg"] = (200, {"Content-Type": "image/jpeg"}, _image(6000, 4000, "JPEG"), 0.0)
    bomb_url, jpeg_url = (f"http://images.test:{host.port}/{n}" for n in ("bomb.png", "camera.jpg"))
    with _app(tmp_path, media_max_bytes=2_000_000) as app:
        save(app, [make_post(1, media=[Media(url=bomb_url, alt="x")]),
                   make_post(2, media=[Media(url=jpeg_url, alt="y")])])
        started = time.process_time()
        assert fetch_pending_media(app) == 1
        assert time.process_time() - started < 5
        outcomes = _outcomes(app)
    assert outcomes[bomb_url][0] == "not_image" and "media.max_pixels" in outcomes[bomb_url][1]
    assert outcomes[jpeg_url][0] == "stored"  # a 24-megapixel JPEG is decoded at a reduced scale


@pytest.mark.parametrize("address, refused", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("10.1.2.3", True),
    ("172.16.0.1", True), ("192.168.1.1", True), ("169.254.169.254", True), ("fe80::1", True),
    ("fd00:ec2::254", True), ("100.100.100.200", True), ("100.64.0.1", True), ("0.0.0.0", True),
    ("::ffff:10.0.0.1", True), ("2002:7f00:1::", True), ("224.0.0.1", True), ("::", True),
    ("93.184.216.34", False), ("2606:4700:4700::1111", False), ("8.8.8.8", False),
])
def test_address_rules(address: str, refused: bool) -> None:
    assert (refusal(address) is not None) is refused
