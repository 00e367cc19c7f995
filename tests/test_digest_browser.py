"""The HTML digest in headless Chromium at phone and desktop widths: no horizontal overflow,
every post visible, images from the site's own media copies, nothing fetched elsewhere."""

from __future__ import annotations

import itertools
import struct
import zlib
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.digest import preview
from aggregator.digest.lists import get_list
from tests.browser import open_browser, serve_directory
from tests.digest_support import NOW, add_posts, make_project, open_app, post


def _png(width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.mark.browser
def test_digest_reads_on_a_phone_and_a_desktop(tmp_path: Path, chromium_path: str) -> None:
    site = tmp_path / "site"
    (site / "media").mkdir(parents=True)
    for n in (0, 30, 31):
        (site / "media" / f"{n}.jpg").write_bytes(_png(1200, 800))
    with serve_directory(site) as base:
        cfg = make_project(tmp_path / "project", base_url=base + "/")
        with open_app(cfg) as app:
            long_word = "Ligne" * 60
            add_posts(app, [
                post(30, "UNIFIL", NOW - timedelta(minutes=30), image=True,
                     text=f"{long_word} https://unifil.unmissions.org/{'a' * 200} مرحبا بكم"),
                post(31, "UNMIK", NOW - timedelta(minutes=20), image=True),
            ])
            expected = {}
            for list_name in ("everything", "liban-fr"):  # all missions in English; French
                rendered, _, _ = preview(app, get_list(app.config, list_name), NOW)
                html, _ = rendered.personalize("reader@example.org", base + "/unsubscribe?t=x")
                (site / f"{list_name}.html").write_text(html, encoding="utf-8")
                expected[list_name] = rendered.posts
        with open_browser(chromium_path, tmp_path) as browser:
            for (list_name, posts), width in itertools.product(expected.items(), (375, 800)):
                page = browser.new_page()
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{base}/{list_name}.html")
                page.wait_for_load_state("networkidle")
                overflow = page.evaluate(
                    "() => document.documentElement.scrollWidth - window.innerWidth"
                )
                assert overflow <= 0, f"{overflow}px horizontal overflow at {width}px"
                boxes = page.evaluate(
                    """() => [...document.querySelectorAll('td.post')].map(td => {
                        const r = td.getBoundingClientRect();
                        const style = getComputedStyle(td);
                        return {w: r.width, h: r.height, left: r.left, right: r.right,
                                visible: style.visibility !== 'hidden' && style.display !== 'none'};
                    })"""
                )
                assert len(boxes) >= posts > 0
                for box in boxes:
                    assert box["visible"] and box["w"] > 0 and box["h"] > 0
                    assert box["left"] >= 0 and box["right"] <= width
                images = page.evaluate(
                    "() => [...document.images].map(i => [i.src, i.naturalWidth, i.alt,"
                    " i.getBoundingClientRect().right])"
                )
                assert images and all(src.startswith(base) for src, *_ in images)
                assert all(nat > 0 and alt and right <= width for _, nat, alt, right in images)
                page.close()
            assert browser.external_requests == []
