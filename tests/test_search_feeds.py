"""Any search is also a feed (#18 item 2): /search.atom and /search.json (JSON Feed 1.1),
public posts only, the same query language, linked from the search page."""

from __future__ import annotations

import json
from collections.abc import Iterator

import feedparser
import pytest

from aggregator.app import App, make_app
from aggregator.config import load_config
from aggregator.search import parse
from tests.test_search_support import NOW, build, write_project
from tests.test_search_web import get


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, str]]:
    config = write_project(tmp_path_factory.mktemp("feeds"))
    build(config)
    with make_app(load_config(config), clock=lambda: NOW, env={}) as app:
        app.store.add_editor("ana", "a long enough password")
        yield app, app.store.create_session("ana", hours=1).token


def _public_ids(app: App, query: str) -> list[str]:
    page = app.store.search(parse(query), sort="newest", limit=50, include_hidden=False)
    return [r["id"] for r in page.rows]


@pytest.mark.parametrize("query", ["Bentiu", "Abyei", "(Abyei OR Bentiu) mission:UNMISS", ""])
def test_atom_lists_the_public_matches_newest_first(site: tuple[App, str], query: str) -> None:
    app, token = site
    for cookie in ("", f"agg_editor={token}"):  # signed in or not: a feed is public
        status, headers, body = get(app, "/search.atom", {"q": query}, cookie=cookie)
        assert status == "200 OK" and headers["Content-Type"].startswith("application/atom+xml")
        feed = feedparser.parse(body.encode("utf-8"))
        assert not feed.bozo, feed.bozo_exception
        ids = [e.id.removeprefix("urn:aggregator:post:") for e in feed.entries]
        assert ids == _public_ids(app, query)
        assert "unmiss-hidden" not in ids and "unmiss-deleted" not in ids
        assert any(link.rel == "self" and "/search.atom?q=" in link.href for link in feed.feed.links)
    assert ids


def test_json_feed_is_json_feed_1_1(site: tuple[App, str]) -> None:
    app, _ = site
    status, headers, body = get(app, "/search.json", {"q": "Bentiu OR Abyei"})
    assert status == "200 OK" and headers["Content-Type"].startswith("application/feed+json")
    doc = json.loads(body)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["feed_url"].endswith("/search.json?q=Bentiu+OR+Abyei")
    ids = [i["id"].removeprefix("urn:aggregator:post:") for i in doc["items"]]
    assert ids == _public_ids(app, "Bentiu OR Abyei") and "unmiss-deleted" not in ids
    assert all(i["content_text"] and i["date_published"] for i in doc["items"])


def test_a_query_that_cannot_be_read_is_a_400(site: tuple[App, str]) -> None:
    app, _ = site
    status, _, body = get(app, "/search.atom", {"q": '"unclosed'})
    assert status == "400 Bad Request" and "unclosed quote" in body


def test_the_search_page_links_its_feeds_and_downloads(site: tuple[App, str]) -> None:
    app, token = site
    _, _, body = get(app, "/search", {"q": "Bentiu"})
    assert '<link rel="alternate" type="application/atom+xml"' in body
    assert 'href="/search.atom?q=Bentiu"' in body and 'href="/search.json?q=Bentiu"' in body
    assert "Email alerts" not in body  # anonymous: no alert form
    _, _, body = get(app, "/search", {"q": "Bentiu"}, cookie=f"agg_editor={token}")
    assert "Email alerts" in body and 'action="/search/alerts"' in body
    status, _, lines = get(app, "/search.jsonl", {"q": "Bentiu", "sort": "newest"},
                           cookie=f"agg_editor={token}")
    assert status == "200 OK"
    assert [json.loads(x)["id"] for x in lines.splitlines()] == [
        "unmiss-deleted", "unmiss-hidden", "unmiss-cholera"]
