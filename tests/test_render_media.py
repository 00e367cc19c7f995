"""Local copies of post images, fetched from a loopback image server."""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from aggregator.media import fetch_pending_media, local_name
from aggregator.models import Media
from aggregator.render import render_site
from tests.test_render_support import hide, make_post, make_test_app, save

# The image server listens on loopback, which media downloads refuse unless the host is listed.
LOOPBACK: dict[str, Any] = {"media_private_hosts": ["127.0.0.1"]}


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


class ImageServer:
    def __init__(self) -> None:
        self.files: dict[str, tuple[int, bytes, str]] = {
            "/big.png": (200, _png(2000, 1000), "image/png"),
            "/small.png": (200, _png(300, 200), "image/png"),
            "/page.html": (200, b"<html>not an image</html>", "text/html"),
            "/huge.png": (200, _png(1500, 1500) + b"\0" * 300_000, "image/png"),
        }
        self.hits: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(self.path)
                status, body, ctype = server.files.get(self.path, (404, b"missing", "text/plain"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def images() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def _media(app: Any, post_id: str) -> list[dict[str, Any]]:
    row = app.store.post(post_id)
    assert row is not None
    return list(row["media"])


def test_images_are_copied_resized_and_shown_from_the_site(tmp_path: Path, images: ImageServer) -> None:
    app = make_test_app(tmp_path, media_max_width=800, media_max_bytes=200_000, **LOOPBACK)
    save(app, [
        make_post(1, media=[Media(url=f"{images.url}/big.png", alt="Blue helmets on patrol")]),
        make_post(2, media=[Media(url=f"{images.url}/missing.png", alt="Lost photo")]),
        make_post(3, media=[Media(url=f"{images.url}/page.html", alt="Not a photo")]),
        make_post(4, media=[Media(url=f"{images.url}/huge.png", alt="Too big")]),
    ])
    assert fetch_pending_media(app) == 1
    stored = _media(app, "p0001")[0]
    assert stored["local_path"] == local_name(f"{images.url}/big.png")
    assert (stored["width"], stored["height"]) == (800, 400)
    with Image.open(tmp_path / "output" / stored["local_path"]) as img:
        assert img.size == (800, 400) and img.format == "WEBP"
    outcomes = dict(app.store.db.execute("SELECT post_id, outcome FROM media_fetches").fetchall())
    assert outcomes == {"p0001": "stored", "p0002": "http_error", "p0003": "not_image", "p0004": "too_large"}
    render_site(app)
    page = (tmp_path / "output/missions/unmik/index.html").read_text()
    assert f'<img src="../../{stored["local_path"]}" alt="Blue helmets on patrol" width="800" height="400"' in page
    for name, alt in (("missing.png", "Lost photo"), ("page.html", "Not a photo"), ("huge.png", "Too big")):
        assert f'href="{images.url}/{name}" rel="noopener nofollow ugc" target="_blank">Image (opens the original): {alt}' in page
    assert page.count("<img ") == 1


def test_each_image_is_tried_once_and_hidden_posts_are_skipped(tmp_path: Path, images: ImageServer) -> None:
    app = make_test_app(tmp_path, **LOOPBACK)
    save(app, [make_post(1, media=[Media(url=f"{images.url}/small.png")]),
               make_post(2, media=[Media(url=f"{images.url}/big.png")])])
    hide(app, "p0002")
    assert fetch_pending_media(app) == 1
    assert fetch_pending_media(app) == 0
    assert images.hits == ["/small.png"]
    assert _media(app, "p0001")[0]["width"] == 300  # smaller than the cap: not enlarged


def test_offline_refuses_hosts_not_allowed(tmp_path: Path, images: ImageServer) -> None:
    app = make_test_app(tmp_path, offline=True, allowed_hosts=["feeds.example.org"])
    save(app, [make_post(1, media=[Media(url=f"{images.url}/small.png")])])
    assert fetch_pending_media(app) == 0
    assert images.hits == []
    row = app.store.db.execute("SELECT outcome, error FROM media_fetches").fetchone()
    assert row[0] == "refused" and "allowed_hosts" in row[1]


def test_render_command_can_fetch_media_first(tmp_path: Path, images: ImageServer) -> None:
    from click.testing import CliRunner

    from aggregator.cli import cli

    app = make_test_app(tmp_path, **LOOPBACK)
    save(app, [make_post(1, media=[Media(url=f"{images.url}/small.png", alt="Town hall")])])
    app.close()
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.yaml"), "render", "--fetch-media"])
    assert result.exit_code == 0, result.output
    assert "media: 1 image(s) copied" in result.output
    assert 'alt="Town hall"' in (tmp_path / "output/widget/unmik.html").read_text()


def test_a_recollected_post_gets_its_copy_back_without_a_download(tmp_path: Path, images: ImageServer) -> None:
    app = make_test_app(tmp_path, **LOOPBACK)
    media = [Media(url=f"{images.url}/small.png", alt="Town hall")]
    save(app, [make_post(1, media=media)])
    assert fetch_pending_media(app) == 1
    save(app, [make_post(1, media=media, text="Post number 1, corrected #UNMIK")])  # new version
    assert _media(app, "p0001")[0].get("local_path") is None
    assert fetch_pending_media(app) == 1
    assert _media(app, "p0001")[0]["local_path"] == local_name(f"{images.url}/small.png")
    assert images.hits == ["/small.png"]  # downloaded once
    assert fetch_pending_media(app) == 0


def test_a_hidden_posts_image_leaves_the_site_and_returns_when_shown_again(
    tmp_path: Path, images: ImageServer
) -> None:
    app = make_test_app(tmp_path, **LOOPBACK)
    url = f"{images.url}/small.png"
    save(app, [make_post(1, media=[Media(url=url, alt="Patrol")])])
    assert fetch_pending_media(app) == 1
    copy = app.config.output_path / local_name(url)
    assert copy.exists()
    hide(app, "p0001")
    render_site(app)
    assert not copy.exists(), "the image of a hidden post is still published"
    assert _media(app, "p0001")[0]["local_path"] is None
    assert fetch_pending_media(app) == 0  # hidden: not fetched again
    app.store.db.execute("DELETE FROM moderation WHERE post_id = 'p0001'")
    app.store.db.conn.commit()
    assert fetch_pending_media(app) == 1  # public again: copied anew
    assert copy.exists()
