"""One card per story: the same article from a mission's feed, its X account and UN News."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from aggregator.stories import canonical_url, collapse, group_stories

ARTICLE = "https://unmiss.unmissions.org/peacekeepers-deliver-aid-bentiu"


def row(post_id: str, *, kind: str = "feed", url: str | None = None, links: list[str] | None = None,
        source: str = "feed:https://unmiss.unmissions.org/rss.xml", pinned: int = 0,
        author: str = "") -> dict[str, Any]:
    return {
        "id": post_id, "kind": kind, "url": url, "canonical_url": None, "links": links or [],
        "source_id": source, "pinned": pinned, "author": author or source,
    }


def test_feed_x_post_and_un_news_show_as_one_story() -> None:
    rows = [
        row("tweet", kind="x", url="https://x.com/unmissmedia/status/1", source="x:unmissmedia",
            links=[ARTICLE + "?utm_source=twitter&utm_medium=social"], author="UNMISS"),
        row("other", url="https://unmiss.unmissions.org/another-story"),
        row("site", url=ARTICLE),
        row("unnews", url="http://www.unmiss.unmissions.org/peacekeepers-deliver-aid-bentiu/#main",
            source="feed:https://news.un.org/feed/subscribe/en/news/all/rss.xml"),
    ]
    names = {"x:unmissmedia": "@UNMISSmedia", "feed:https://unmiss.unmissions.org/rss.xml": "UNMISS news",
             "feed:https://news.un.org/feed/subscribe/en/news/all/rss.xml": "UN News"}
    stories = group_stories(rows, source_names=names)
    assert [[r["id"] for r in s.rows] for s in stories] == [["site", "tweet", "unnews"], ["other"]]
    first = stories[0]
    assert first.lead["id"] == "site"  # the article, not the post that links to it
    assert [s.name for s in first.sources] == ["UNMISS news", "@UNMISSmedia", "UN News"]
    assert first.key == "unmiss.unmissions.org/peacekeepers-deliver-aid-bentiu"


def test_unrelated_posts_stay_apart() -> None:
    rows = [
        row("a", kind="x", url="https://x.com/m/status/1", links=["https://unmiss.unmissions.org/"]),
        row("b", kind="x", url="https://x.com/m/status/2", links=["https://unmiss.unmissions.org"]),
        row("c", kind="x", url="https://x.com/m/status/3", links=["https://x.com/m/status/9"]),
        row("d", kind="x", url="https://x.com/m/status/4", links=["https://x.com/m/status/9"]),
        row("e", url="https://unmiss.unmissions.org/story?id=1"),
        row("f", url="https://unmiss.unmissions.org/story?id=2"),
        row("g", url=None),
        row("h", url=None),
    ]
    assert [len(s.rows) for s in group_stories(rows)] == [1] * 8


def test_a_pinned_post_leads_its_story_and_keeps_the_story_pinned() -> None:
    rows = [
        row("tweet", kind="x", url="https://x.com/m/status/1", links=[ARTICLE], pinned=1),
        row("site", url=ARTICLE),
    ]
    (story,) = group_stories(rows)
    assert story.lead["id"] == "tweet" and story.pinned
    (flat,) = collapse(rows)
    assert flat["id"] == "tweet" and flat["pinned"] == 1
    assert flat["story_post_ids"] == ("tweet", "site")


def test_x_posts_linking_the_same_article_join_without_the_article() -> None:
    rows = [
        row("t1", kind="x", url="https://x.com/a/status/1", links=[ARTICLE], source="x:a"),
        row("t2", kind="x", url="https://x.com/b/status/2", links=[ARTICLE + "/"], source="x:b"),
    ]
    (story,) = group_stories(rows)
    assert [s.source_id for s in story.sources] == ["x:a", "x:b"]


def test_one_source_is_listed_once() -> None:
    rows = [row("a", url=ARTICLE), row("b", url=ARTICLE + "?fbclid=abc")]
    (story,) = group_stories(rows)
    assert len(story.rows) == 2 and len(story.sources) == 1


def test_canonical_url_examples() -> None:
    assert canonical_url("https://www.Example.org/a/?utm_source=x&b=2&a=1#top") == "example.org/a?a=1&b=2"
    assert canonical_url("http://example.org:80/a") == canonical_url("https://example.org:443/a")
    assert canonical_url("https://example.org:8443/a") == "example.org:8443/a"
    assert canonical_url("https://example.org/A") != canonical_url("https://example.org/a")
    for bad in ["", "   ", "mailto:x@example.org", "javascript:alert(1)", "/relative", "https://", "http://[::1"]:
        assert canonical_url(bad) is None


# --- properties --------------------------------------------------------------------------

_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=1, max_size=12)
_host = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10),
                 min_size=2, max_size=4).map(".".join)
_param = st.tuples(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6).filter(
        lambda k: not k.startswith(("utm_", "mc_", "pk_", "mtm_", "hsa_"))
        and k not in {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
                      "twclid", "ocid", "cmpid", "spm", "rss", "feature"}
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", max_size=6),
)


@st.composite
def urls(draw: st.DrawFn) -> tuple[str, str]:
    """(a clean URL, the same URL dressed up the ways that must not matter)."""
    host = draw(_host)
    path = "/" + "/".join(draw(st.lists(_segment, min_size=1, max_size=4)))
    params = draw(st.lists(_param, max_size=3, unique_by=lambda p: p[0]))
    query = "&".join(f"{k}={v}" for k, v in params)
    clean = f"https://{host}{path}" + (f"?{query}" if query else "")
    tracking = draw(st.lists(st.sampled_from(["utm_source=x", "utm_campaign=y", "fbclid=z", "gclid=1"]),
                             max_size=3))
    shuffled = draw(st.permutations([*params]))
    dressed_query = "&".join([*(f"{k}={v}" for k, v in shuffled), *tracking])
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    www = draw(st.sampled_from(["", "www."]))
    slash = draw(st.sampled_from(["", "/"]))
    fragment = draw(st.sampled_from(["", "#top", "#"]))
    dressed = f"{scheme}://{www}{host.upper() if draw(st.booleans()) else host}{path}{slash}"
    dressed += (f"?{dressed_query}" if dressed_query else "") + fragment
    return clean, dressed


@given(urls())
def test_scheme_www_slash_fragment_and_tracking_do_not_matter(pair: tuple[str, str]) -> None:
    clean, dressed = pair
    assert canonical_url(dressed) == canonical_url(clean)


@given(urls())
def test_canonical_url_is_idempotent(pair: tuple[str, str]) -> None:
    key = canonical_url(pair[1])
    assert key is not None
    assert canonical_url("https://" + key) == key


@given(st.text(max_size=200))
def test_canonical_url_never_raises(text: str) -> None:
    result = canonical_url(text)
    assert result is None or isinstance(result, str)


@given(st.lists(st.sampled_from([ARTICLE, ARTICLE + "/", "https://a.org/x", "https://a.org/y", None]),
                max_size=8))
def test_every_row_lands_in_exactly_one_story(urls_: list[str | None]) -> None:
    rows = [row(f"p{i}", url=u) for i, u in enumerate(urls_)]
    stories = group_stories(rows)
    ids = [r["id"] for s in stories for r in s.rows]
    assert sorted(ids) == sorted(r["id"] for r in rows)
    assert len({canonical_url(u) for u in urls_ if u}) + urls_.count(None) == len(stories)
