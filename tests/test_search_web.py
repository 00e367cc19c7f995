"""The search page of `aggregator serve`, through the WSGI app: anonymous visitors see public
posts only, signed-in editors see hidden and removed ones flagged; permalinks; downloads."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode
from wsgiref.util import setup_testing_defaults

import pytest

import aggregator.web.search as web_search
from aggregator.app import App, make_app
from aggregator.config import load_config
from aggregator.web import make_wsgi
from tests.test_search_support import NOW, build, write_project


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, str]]:
    config = write_project(tmp_path_factory.mktemp("web"))
    build(config)
    with make_app(load_config(config), clock=lambda: NOW, env={}) as app:
        app.store.add_editor("ana", "a long enough password")
        token = app.store.create_session("ana", hours=1).token
        yield app, token


def get(app: App, path: str, query: dict[str, str] | None = None, cookie: str = "") -> tuple[str, dict[str, str], str]:
    environ: dict[str, object] = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, QUERY_STRING=urlencode(query or {}), HTTP_COOKIE=cookie)
    seen: dict[str, object] = {}
    body = b"".join(make_wsgi(app)(environ, lambda s, h: seen.update(status=s, headers=dict(h))))
    return str(seen["status"]), seen["headers"], body.decode("utf-8")  # type: ignore[return-value]


def test_anonymous_search_hides_what_editors_hid(site: tuple[App, str]) -> None:
    app, _ = site
    status, headers, body = get(app, "/search", {"q": "Bentiu"})
    assert status == "200 OK"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "/post/unmiss-cholera" in body
    assert "unmiss-hidden" not in body and "unmiss-deleted" not in body
    assert "1 post matches" in body


def test_signed_in_editor_sees_hidden_and_removed_posts_flagged(site: tuple[App, str]) -> None:
    app, token = site
    _, _, body = get(app, "/search", {"q": "Bentiu"}, cookie=f"agg_editor={token}")
    assert "/post/unmiss-hidden" in body and "Hidden by an editor: posted by mistake" in body
    assert "Deleted at the source: deleted by the author (X compliance)" in body
    assert "Signed in as ana" in body


def test_forged_cookie_is_anonymous(site: tuple[App, str]) -> None:
    app, _ = site
    _, _, body = get(app, "/search", {"q": "Bentiu"}, cookie="agg_editor=forged")
    assert "unmiss-hidden" not in body


def test_permalinks(site: tuple[App, str]) -> None:
    app, token = site
    status, _, body = get(app, "/post/unisfa-reunion")
    assert status == "200 OK" and "Réunion à Abyéi" in body and "UNISFA news" in body
    assert get(app, "/post/unmiss-hidden")[0] == "404 Not Found"
    assert get(app, "/post/unmiss-deleted")[0] == "404 Not Found"
    assert get(app, "/post/no-such-post")[0] == "404 Not Found"
    status, _, body = get(app, "/post/unmiss-deleted", cookie=f"agg_editor={token}")
    assert status == "200 OK" and "Deleted at the source" in body and "archived copy" in body


def test_bad_query_shows_the_problem_with_a_caret(site: tuple[App, str]) -> None:
    app, _ = site
    status, _, body = get(app, "/search", {"q": "abyei OR"})
    assert status == "400 Bad Request"
    assert 'role="alert"' in body and "at position 8" in body
    assert "abyei OR\n        ^" in body


def test_user_text_is_escaped(site: tuple[App, str]) -> None:
    app, _ = site
    _, _, body = get(app, "/search", {"q": '<script>alert(1)</script> "<img src=x>'})
    assert "<script>alert(1)" not in body and "<img src=x>" not in body


def test_downloads_follow_the_query_and_visibility(site: tuple[App, str]) -> None:
    app, token = site
    status, headers, body = get(app, "/search.csv", {"q": "Bentiu", "sort": "newest"})
    assert status == "200 OK" and headers["Content-Disposition"] == 'attachment; filename="search.csv"'
    assert [r["id"] for r in csv.DictReader(io.StringIO(body))] == ["unmiss-cholera"]
    _, _, body = get(app, "/search.jsonl", {"q": "Bentiu", "sort": "newest"}, cookie=f"agg_editor={token}")
    assert [json.loads(x)["id"] for x in body.splitlines()] == ["unmiss-deleted", "unmiss-hidden", "unmiss-cholera"]


def test_facet_links_add_a_filter(site: tuple[App, str]) -> None:
    app, _ = site
    _, _, body = get(app, "/search", {"q": "abyei"})
    assert 'href="/search?q=abyei+mission%3AUNMISS&amp;sort=relevance">UNMISS</a>' in body
    _, _, body = get(app, "/search", {"q": "abyei mission:UNMISS"})
    assert "/post/unmiss-abyei-x" in body and "/post/unisfa-reunion" not in body


def test_a_facet_after_an_or_query_keeps_the_or_together(site: tuple[App, str]) -> None:
    # Issue 18: "(Kosovo OR Abyei)" then a mission facet answered 400 ("the filter mission:
    # must stand outside parentheses and OR"): the facet link now wraps the OR.
    app, _ = site
    _, _, body = get(app, "/search", {"q": "Bentiu OR Abyei"})
    links = re.findall(r'<a href="/search\?([^"]+)">UNISFA</a>', body)
    assert links, "no UNISFA facet link"
    query = {k: v[0] for k, v in parse_qs(html.unescape(links[0])).items()}
    assert query["q"] == "(Bentiu OR Abyei) mission:UNISFA"
    status, _, body = get(app, "/search", query)
    assert status == "200 OK"
    hits = set(re.findall(r'<li class="hit"><h2><a href="/post/([^"]+)"', body.replace("\n      ", "")))
    assert hits == {"unmiss-abyei-x", "unisfa-migration", "unisfa-reunion"}  # Abyéi too


def test_next_page_link_walks_every_public_post(site: tuple[App, str], monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = site
    monkeypatch.setattr(web_search, "PAGE_SIZE", 5)
    seen: list[str] = []
    query: dict[str, str] = {"q": "", "sort": "newest"}
    for _ in range(10):
        _, _, body = get(app, "/search", query)
        seen += re.findall(r'<li class="hit"><h2><a href="/post/([^"]+)"', body.replace("\n      ", ""))
        nxt = re.search(r'<a href="/search\?([^"]+)" rel="next">', body)
        if not nxt:
            break
        query = {k: v[0] for k, v in parse_qs(html.unescape(nxt.group(1))).items()}
    assert len(seen) == len(set(seen)) == 14  # every public post once, none hidden


def test_downloads_are_capped_and_the_page_says_so(site: tuple[App, str], monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = site
    monkeypatch.setattr(web_search, "DOWNLOAD_LIMIT", 3)
    _, _, body = get(app, "/search.csv", {"q": "", "sort": "newest"})
    assert len(list(csv.DictReader(io.StringIO(body)))) == 3
    _, _, body = get(app, "/search", {"q": ""})
    assert "(the first 3; <code>aggregator export</code> has them all)" in body


def test_cached_facets_never_cross_from_editors_to_visitors(site: tuple[App, str]) -> None:
    app, token = site
    wsgi = make_wsgi(app)  # one server: one facet cache

    def page(cookie: str) -> str:
        environ: dict[str, object] = {}
        setup_testing_defaults(environ)
        environ.update(PATH_INFO="/search", QUERY_STRING="q=Bentiu", HTTP_COOKIE=cookie)
        return b"".join(wsgi(environ, lambda s, h: None)).decode("utf-8")

    assert "3 posts match" in page(f"agg_editor={token}")
    assert "1 post matches" in page("")
    assert "3 posts match" in page(f"agg_editor={token}")


def test_histogram_shows_time_to_scale() -> None:
    # One month of results is one narrow bar, not a banner across the page...
    one = web_search.histogram([("2026-11", 4)])
    assert len(one["bars"]) == 1 and one["bars"][0]["w"] <= one["width"] / 12
    # ...and months without a match are there as empty bars, so the axis is time.
    gappy = web_search.histogram([("2023-11", 3), ("2024-02", 1)])
    assert [(b["month"], b["n"]) for b in gappy["bars"]] == [
        ("2023-11", 3), ("2023-12", 0), ("2024-01", 0), ("2024-02", 1)]
    assert [b["h"] for b in gappy["bars"]][1:3] == [0, 0]
    assert gappy["bars"][3]["x"] > gappy["bars"][0]["x"]
    # Posts with no usable date (an empty month) do not break it.
    assert [b["month"] for b in web_search.histogram([("", 2), ("2025-01", 1)])["bars"]] == ["2025-01"]


def test_a_hit_lists_its_missions_apart(site: tuple[App, str]) -> None:
    app, _ = site
    _, _, body = get(app, "/search", {"q": "clashes"})  # UNMISS's post, also about UNISFA
    assert '<span class="mission">UNISFA</span>, <span class="mission">UNMISS</span>' in body


def test_a_post_page_says_why_it_belongs_to_each_mission(site: tuple[App, str]) -> None:
    app, _ = site
    status, _, body = get(app, "/post/unmiss-abyei-x")
    assert status == "200 OK"
    for mission in ("UNISFA", "UNMISS"):
        assert f'mission%3A{mission}">{mission}</a> <span class="why">(tagged because ' in body
