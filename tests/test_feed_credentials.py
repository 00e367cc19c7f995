"""A feed URL with ``user:password@`` is fetched with those credentials, which are never
published or stored (#16 item 6): not on pages, permalinks, search downloads, feeds or the
API, not in the archive, not in `status`."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest
from click.testing import CliRunner

from aggregator.app import make_app
from aggregator.cli import cli
from aggregator.config import load_config
from aggregator.web import make_wsgi
from tests.feeds_server import FeedServer, write_config

USER, PASSWORD = "reader", "s3cr3t-Pa55"

FEED = b"""<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>
<title>UNMIK members</title><link>/members/</link>
<item><title>UNMIK patrol in Pristina</title><link>/members/news/1</link><guid>m-1</guid>
<description>&lt;p&gt;#UNMIK &lt;a href="/members/report.pdf"&gt;report&lt;/a&gt;
&lt;img src="/members/photo.jpg"&gt;&lt;/p&gt;</description>
<enclosure url="/members/photo.jpg" type="image/jpeg" length="1"/>
<pubDate>Sat, 28 Nov 2026 10:00:00 +0000</pubDate></item>
</channel></rss>"""


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def _get(app: object, path: str, query: dict[str, str]) -> str:
    environ: dict[str, object] = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, QUERY_STRING=urlencode(query))
    body = b"".join(make_wsgi(app)(environ, lambda s, h: None))  # type: ignore[arg-type]
    return body.decode("utf-8")


def test_credentials_in_a_feed_url_are_used_and_never_shown(tmp_path: Path, server: FeedServer) -> None:
    server.add("/members/feed.xml", body=FEED)
    host = server.base.split("//", 1)[1]
    secret_url = f"http://{USER}:{PASSWORD}@{host}/members/feed.xml"
    config = write_config(tmp_path, [{"kind": "feed", "mission": "UNMIK", "url": secret_url}])
    result = CliRunner().invoke(cli, ["--config", str(config), "collect"])
    assert result.exit_code == 0, result.output
    (hit,) = server.hits("/members/feed.xml")
    assert hit.headers["authorization"] == "Basic " + base64.b64encode(
        f"{USER}:{PASSWORD}".encode()).decode()
    status = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    (row,) = json.loads(status.stdout)
    assert row["url"] == f"http://{host}/members/feed.xml" and row["name"] == row["url"]
    texts = [result.output, status.stdout]
    with make_app(load_config(config), env={}) as app:
        (post_id, url) = app.store.db.execute("SELECT id, url FROM posts").fetchone()
        assert url == f"http://{host}/members/news/1"
        for path in ("/search", "/search.csv", "/search.json"):
            texts.append(_get(app, path, {"q": "UNMIK"}))
        texts.append(_get(app, f"/post/{post_id}", {}))
        dump = "\n".join(app.store.db.iterdump())
    texts += [p.read_text(encoding="utf-8", errors="replace")
              for p in (tmp_path / "output").rglob("*") if p.is_file()]
    assert any("UNMIK patrol in Pristina" in t for t in texts[6:])  # the outputs were written
    for text in [*texts, dump]:
        assert PASSWORD not in text and f"{USER}:" not in text and f"{USER}%3A" not in text


def test_credentials_are_not_sent_to_the_host_a_redirect_points_to(
    tmp_path: Path, server: FeedServer
) -> None:
    with FeedServer() as other:
        other.add("/feed.xml", body=FEED)
        server.add("/members/feed.xml", status=301, location=other.url("/feed.xml").replace(
            "127.0.0.1", "localhost"))
        host = server.base.split("//", 1)[1]
        config = write_config(tmp_path, [{"kind": "feed", "mission": "UNMIK",
                                          "url": f"http://{USER}:{PASSWORD}@{host}/members/feed.xml"}])
        result = CliRunner().invoke(cli, ["--config", str(config), "collect", "--no-render"])
        assert result.exit_code == 0, result.output
        assert "authorization" in server.hits("/members/feed.xml")[0].headers
        (hit,) = other.hits("/feed.xml")
        assert "authorization" not in hit.headers
