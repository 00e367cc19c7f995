"""One hostile post never stops the site and never costs more than its share (#16 items 1-4).

Feeds come from a loopback server through the real collector (fetch, feedparser, normalize,
tag, store, render) run as `aggregator collect`; the site is then checked file by file.
"""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
from click.testing import CliRunner

from aggregator.app import make_app
from aggregator.cli import cli
from aggregator.config import load_config
from aggregator.normalize.limits import CUT_MARK, MAX_TEXT_CHARS
from aggregator.web import make_wsgi
from tests.feeds_server import FeedServer, write_config
from tests.test_media_guard import Server

C0 = [chr(c) for c in range(32) if chr(c) not in "\t\n\r"]


def _rss(title: str, items: list[str]) -> bytes:
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}"
            "</title><link>https://example.org/</link>" + "".join(items) + "</channel></rss>"
            ).encode("utf-8")


def _item(n: int, title: str, description: str) -> str:
    return (f"<item><title>{title}</title><link>https://unmik.example.org/news/{n}</link>"
            f"<guid>hostile-{n}</guid><pubDate>Sat, 28 Nov 2026 10:{n % 60:02d}:00 +0000</pubDate>"
            f"<description>{description}</description></item>")


def control_feed() -> bytes:
    items = [_item(i, f"UNMIK patrol {i} control{c}char", f"#UNMIK in Pristina, U+{ord(c):04X}{c} here")
             for i, c in enumerate(C0)]
    return _rss("UNMIK news", items)


def heavy_feed() -> bytes:
    deep = "&lt;div&gt;" * 200_000 + "deep" + "&lt;/div&gt;" * 200_000
    big = "&lt;p&gt;" + "UNMIK a patrol in Pristina. " * 5_500 + "&lt;/p&gt;"  # ~150 KB
    return _rss("UNMIK heavy", [_item(100, "UNMIK deep nesting", deep),
                                _item(101, "UNMIK a long post", big)])


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def _project(tmp_path: Path, server: FeedServer, extra: list[dict[str, str]] | None = None,
             **settings: object) -> Path:
    return write_config(tmp_path, [*(extra or []),
        {"kind": "feed", "mission": "UNMIK", "url": server.add("/control.xml", body=control_feed()),
         "name": "UNMIK control characters"},
        {"kind": "feed", "mission": "UNMIK", "url": server.add("/heavy.xml", body=heavy_feed()),
         "name": "UNMIK heavy"},
        {"kind": "feed", "mission": "UNMISS", "url": server.add("/fine.xml", body=_rss("UNMISS", [
            _item(200, "UNMISS in Bentiu", "#UNMISS patrols near Bentiu")])), "name": "UNMISS news"},
    ], http={"connect_timeout": 2, "read_timeout": 5, "deadline": 20}, **settings)


def _searches(config: Path, queries: list[str]) -> list[tuple[str, str, float]]:
    """Each query through one running app (as `serve` runs it), after one first request that
    loads the templates; each answer's status, body and seconds."""
    out = []
    with make_app(load_config(config), env={}) as app:
        wsgi = make_wsgi(app)
        for query in ["warm-up", *queries]:
            environ: dict[str, object] = {}
            setup_testing_defaults(environ)
            environ.update(PATH_INFO="/search", QUERY_STRING=f"q={query}")
            statuses: list[str] = []
            started = time.perf_counter()
            body = b"".join(wsgi(environ, lambda s, h, into=statuses: into.append(s)))
            out.append((statuses[0], body.decode("utf-8"), time.perf_counter() - started))
    return out[1:]


def test_hostile_feeds_are_collected_and_every_output_is_written(
    tmp_path: Path, server: FeedServer
) -> None:
    images = Server()  # an image host that sends one byte every 0.5 s
    images.routes["/slow.jpg"] = (200, {"Content-Type": "image/jpeg"}, b"\xff\xd8" + b"x" * 500, 0.5)
    trickle = f"http://127.0.0.1:{images.port}/slow.jpg"
    server.add("/images.xml", body=_rss("UNMIK photos", [_item(300, "UNMIK photo", "#UNMIK").replace(
        "</item>", f'<enclosure url="{trickle}" type="image/jpeg" length="502"/></item>')]))
    config = _project(tmp_path, server, extra=[
        {"kind": "feed", "mission": "UNMIK", "url": server.url("/images.xml"), "name": "UNMIK photos"}],
        media={"deadline": 3, "private_hosts": ["127.0.0.1"]})
    started = time.monotonic()
    try:
        result = CliRunner().invoke(cli, ["--config", str(config), "collect"])
    finally:
        images.close()
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 20 + 3 + 10  # the sources' and the image's deadlines
    with make_app(load_config(config), env={}) as app:
        (outcome,) = app.store.db.execute(
            "SELECT outcome FROM media_fetches WHERE url = ?", [trickle]).fetchone()
    assert outcome == "timeout"
    assert "failed" not in result.output and "left out" not in result.output
    out = tmp_path / "output"
    config_ = load_config(config)
    assert (out / "index.html").is_file()
    for slug in ("unmik", "unmiss"):  # the missions that changed, and the all-missions feeds
        for name in (f"missions/{slug}/index.html", f"fr/missions/{slug}/index.html",
                     f"widget/{slug}.html", f"api/{slug}.json"):
            assert (out / name).is_file(), name
    for slug in ("unmik", "unmiss", "all"):
        for ext in ("xml", "rss"):
            ET.parse(out / f"feeds/{slug}.{ext}")  # well-formed XML
        json.loads((out / f"feeds/{slug}.json").read_text(encoding="utf-8"))
    rss = (out / "feeds/unmik.rss").read_text(encoding="utf-8")
    for i in range(len(C0)):
        # every post is there, its control character gone (or a space where it was one)
        assert re.search(f"UNMIK patrol {i} control ?char", rss), i
    assert "UNMISS in Bentiu" in (out / "feeds/unmiss.rss").read_text(encoding="utf-8")
    with make_app(config_, env={}) as app:
        rows = app.store.db.execute(
            "SELECT title, text, html, raw FROM posts WHERE source_id LIKE '%control%'").fetchall()
        assert len(rows) == len(C0)
        for title, text, html, _raw in rows:
            assert not any(c in title + text + html for c in C0)
        raws = "".join(json.loads(r[3])["title"] for r in rows)
        assert all(c in raws for c in C0 if c != "\x00")  # the raw entry keeps what was sent
        (long_text, long_html), = app.store.db.execute(
            "SELECT text, html FROM posts WHERE title = 'UNMIK a long post'").fetchall()
        assert len(long_text) <= MAX_TEXT_CHARS and long_text.endswith(CUT_MARK)
        assert len(long_html) < 110_000 and CUT_MARK in long_html
        (deep,) = app.store.db.execute(
            "SELECT html FROM posts WHERE title = 'UNMIK deep nesting'").fetchone()
        assert deep.count("<div>") <= 64


def test_anonymous_search_answers_fast_with_a_150_kb_post_present(
    tmp_path: Path, server: FeedServer
) -> None:
    config = _project(tmp_path, server)
    assert CliRunner().invoke(cli, ["--config", str(config), "collect", "--no-render"]).exit_code == 0
    queries = ["a", "UNMIK", "patrol"]
    for query, (status, body, took) in zip(queries, _searches(config, queries), strict=True):
        assert status == "200 OK" and "<mark>" in body
        assert took < 1.0, (query, took)


def test_a_stored_post_that_cannot_be_written_is_left_out_and_reported(tmp_path: Path) -> None:
    """A post stored before normalizing cleaned it (or written by another tool)."""
    from tests.test_render_support import make_post, make_project, save

    config = make_project(tmp_path)
    with make_app(load_config(config), env={}) as app:
        save(app, [make_post(1, title="UNMIK fine one"), make_post(2, title="UNMIK bad\x1b[31m one"),
                   make_post(3, text="#UNMIK in Pristina\x01 again"), make_post(4, title="UNMIK fine two")])
    result = CliRunner().invoke(cli, ["--config", str(config), "render"])
    assert result.exit_code == 0, result.output
    assert "2 posts could not be written" in result.stderr and "p0002" in result.stderr
    out = tmp_path / "output"
    for name in ("feeds/unmik.xml", "feeds/unmik.rss", "feeds/all.rss"):
        feed = ET.parse(out / name)
        titles = [t.text for t in feed.iter() if t.tag.endswith("title")]
        assert "UNMIK fine one" in titles and "UNMIK fine two" in titles
    page = (out / "missions/unmik/index.html").read_text(encoding="utf-8")
    assert "UNMIK fine one" in page and "UNMIK fine two" in page and "\x1b" not in page
    assert "\x01" not in (out / "api/unmik.json").read_text(encoding="utf-8")


def test_a_source_that_floods_is_capped_per_run_and_the_excess_is_reported(
    tmp_path: Path, server: FeedServer
) -> None:
    flood = _rss("UNMIK flood", [_item(i, f"UNMIK item {i}", "#UNMIK") for i in range(1_200)])
    config = write_config(tmp_path, [
        {"kind": "feed", "mission": "UNMIK", "url": server.add("/flood.xml", body=flood),
         "name": "UNMIK flood"},
        {"kind": "feed", "mission": "UNMISS", "url": server.add("/fine.xml", body=_rss("UNMISS", [
            _item(5000, "UNMISS in Bentiu", "#UNMISS")])), "name": "UNMISS news"},
    ], max_items_per_run=300)
    result = CliRunner().invoke(cli, ["--config", str(config), "collect", "--no-render"])
    assert result.exit_code == 0, result.output
    assert "900 of 1,200 entries were left out" in result.output
    assert "max_items_per_run" in result.output
    with make_app(load_config(config), env={}) as app:
        counts = dict(app.store.db.execute(
            "SELECT s.name, COUNT(p.id) FROM sources s LEFT JOIN posts p ON p.source_id = s.id"
            " GROUP BY s.id").fetchall())
    assert counts == {"UNMIK flood": 300, "UNMISS news": 1}
    status = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    flood_row = next(r for r in json.loads(status.stdout) if r["name"] == "UNMIK flood")
    warnings = flood_row["warnings"]
    assert "900 of 1,200 entries were left out" in (
        warnings if isinstance(warnings, str) else "\n".join(warnings))


def test_max_items_per_run_must_be_positive(tmp_path: Path) -> None:
    from aggregator.errors import ConfigError

    config = write_config(tmp_path, [], max_items_per_run=0)
    with pytest.raises(ConfigError, match="max_items_per_run"):
        load_config(config)
