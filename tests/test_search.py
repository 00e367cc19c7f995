"""Searching the archive: every operator, every filter, accents, ranking, facets, paging,
and what anonymous visitors may see."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from aggregator.app import App, make_app
from aggregator.config import load_config
from aggregator.errors import QuerySyntaxError, UsageError
from aggregator.search import parse
from aggregator.store.search import MARK_CLOSE, MARK_OPEN
from tests.test_search_support import (
    ALL_IDS,
    NOW,
    POSTS,
    archive_app,
    build,
    search_project,
    to_post,
    write_project,
)

__all__ = ["archive_app", "search_project"]

VISIBLE = ALL_IDS - {"unmiss-hidden", "unmiss-deleted"}


def ids(app: App, query: str, *, sort: str = "relevance", public: bool = False) -> set[str]:
    plan = parse(query, missions=set(app.config.missions))
    page = app.store.search(plan, sort=sort, limit=100, include_hidden=not public)  # type: ignore[arg-type]
    return {r["id"] for r in page.rows}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cholera", {"unmiss-cholera", "unmiss-hidden"}),
        ("cholera Bentiu", {"unmiss-cholera", "unmiss-hidden"}),
        ("cholera AND water", {"unmiss-cholera"}),
        ("Goma OR Bunia", {"monusco-goma-rt", "monusco-bunia-reply"}),
        ("Bentiu NOT cholera", {"unmiss-deleted"}),
        ("Abyei NOT (cattle OR réunion)", {"unmiss-abyei-x"}),
        ("(Goma OR Bunia) AND office", {"monusco-bunia-reply"}),
        ('"peace conference"', {"unmiss-peace-conference"}),
        ("peace conference", {"unmiss-peace-conference", "unmiss-peace-split"}),
        ("elect*", {"unmiss-election", "unmiss-electoral"}),
        ('"electoral comm"*', {"unmiss-electoral"}),
    ],
)
def test_operators_phrases_and_prefixes(archive_app: App, query: str, expected: set[str]) -> None:
    assert ids(archive_app, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("abyei", {"unmiss-abyei-x", "unisfa-reunion", "unisfa-migration"}),
        ("ABYÉI", {"unmiss-abyei-x", "unisfa-reunion", "unisfa-migration"}),
        ("reunion", {"unisfa-reunion"}),
        ("Tombouctou remis", {"minusma-tombouctou"}),
        ("maliennes", {"minusma-tombouctou"}),
        ("اليونيفيل", {"unifil-arabic"}),
    ],
)
def test_accents_case_and_scripts_do_not_matter(archive_app: App, query: str, expected: set[str]) -> None:
    assert ids(archive_app, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("mission:UNISFA", {"unmiss-abyei-x", "unisfa-reunion", "unisfa-migration"}),
        ("mission:unisfa abyei from:2024-03-01 to:2024-05-31", {"unmiss-abyei-x", "unisfa-reunion"}),
        ("mission:UNMISS mission:UNISFA abyei", {"unmiss-abyei-x", "unisfa-reunion", "unisfa-migration"}),
        ("mission:MINUSMA to:2023-12", {"minusma-gao", "minusma-tombouctou"}),
        ("mission:MINUSMA from:2023-12", {"minusma-gao"}),
        ("source:@UNISFA_1", set()),
        ("source:@UNMISSmedia", {"unmiss-abyei-x", "unmiss-deleted"}),
        ("source:minusma.unmissions.org", {"minusma-gao", "minusma-tombouctou"}),
        ('source:"UNIFIL news"', {"unifil-arabic", "unifil-naqoura"}),
        ("author:@UNHumanRights", {"monusco-goma-rt"}),
        ("lang:fr", {"unisfa-reunion", "minusma-tombouctou"}),
        ("lang:ar", {"unifil-arabic"}),
        ("has:media", {"unmiss-abyei-x", "monusco-goma-rt"}),
        ("has:link", {"unmiss-cholera"}),
        ("is:retweet", {"monusco-goma-rt"}),
        ("is:quote", set()),
        ("is:pinned", {"unifil-naqoura"}),
        ("is:reply", {"monusco-bunia-reply"}),
        ("is:hidden", {"unmiss-hidden"}),
        ("is:removed", {"unmiss-deleted"}),
        ("mission:MONUSCO NOT is:retweet", {"monusco-bunia-reply"}),
        ("NOT mission:UNMISS from:2024 to:2024-04", {"unifil-arabic", "unifil-naqoura", "unisfa-reunion"}),
        ("from:2024-08-02", {"unmiss-peace-split"}),
    ],
)
def test_each_filter(archive_app: App, query: str, expected: set[str]) -> None:
    assert ids(archive_app, query, sort="newest") == expected


def test_anonymous_visitors_never_see_hidden_or_removed_posts(archive_app: App) -> None:
    assert ids(archive_app, "Bentiu", public=True) == {"unmiss-cholera"}
    assert ids(archive_app, "is:hidden", public=True) == set()
    assert ids(archive_app, "", public=True) == VISIBLE
    assert ids(archive_app, "") == ALL_IDS
    facets = archive_app.store.search_facets(parse("Bentiu"), include_hidden=False)
    assert facets.total == 1


def test_operator_sees_flags_and_tombstone_note(archive_app: App) -> None:
    rows = {r["id"]: r for r in archive_app.store.search(parse("Bentiu"), include_hidden=True).rows}
    assert rows["unmiss-hidden"]["hidden"] == 1
    assert rows["unmiss-deleted"]["availability"] == "deleted"
    assert "X compliance" in rows["unmiss-deleted"]["availability_note"]
    assert rows["unmiss-deleted"]["text"].startswith("Bentiu flooding")  # the copy is kept


def test_relevance_puts_title_matches_first_and_highlights(archive_app: App) -> None:
    page = archive_app.store.search(parse("cholera"), sort="relevance", include_hidden=False)
    assert [r["id"] for r in page.rows] == ["unmiss-cholera"]
    page = archive_app.store.search(parse("Malakal peace"), sort="relevance")
    assert page.rows[0]["id"] == "unmiss-peace-conference"  # "peace" in its title
    snippet = page.rows[0]["snippet"]
    assert f"{MARK_OPEN}Malakal{MARK_CLOSE}" in snippet
    assert f"{MARK_OPEN}Peace{MARK_CLOSE}" in page.rows[0]["title_highlighted"]


def test_newest_first_and_cursor_pages_cover_everything_once(archive_app: App) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = archive_app.store.search(parse(""), sort="newest", limit=4, cursor=cursor, include_hidden=True)
        seen += [r["id"] for r in page.rows]
        times = [r["sort_at"] for r in page.rows]
        assert times == sorted(times, reverse=True)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(ALL_IDS)


def test_relevance_pages(archive_app: App) -> None:
    first = archive_app.store.search(parse("Abyei OR Bentiu"), limit=2, include_hidden=True)
    second = archive_app.store.search(parse("Abyei OR Bentiu"), limit=2, cursor=first.next_cursor, include_hidden=True)
    assert not {r["id"] for r in first.rows} & {r["id"] for r in second.rows}
    assert len(second.rows) == 2


def test_facets_count_the_same_query(archive_app: App) -> None:
    f = archive_app.store.search_facets(parse("abyei"), include_hidden=True)
    assert f.total == 3
    assert dict(f.mission) == {"UNISFA": 3, "UNMISS": 1}
    assert dict(f.lang) == {"en": 2, "fr": 1}
    assert f.month == [("2024-03", 1), ("2024-04", 1), ("2024-06", 1)]
    assert sum(n for _, n in f.source) == 3


@pytest.mark.parametrize(
    ("query", "position", "words"),
    [
        ('cholera "Bentiu', 8, "unclosed quote"),
        ("(cholera OR Bentiu", 0, "unclosed '('"),
        ("cholera)", 7, "')'"),
        ("AND cholera", 0, "AND"),
        ("cholera OR", 10, "ends"),
        ("mision:UNMISS", 0, "did you mean mission:"),
        ("mission:UNMIS", 0, "did you mean UNMISS"),
        ("from:2024-02-30", 0, "not a date"),
        ("cholera OR NOT Bentiu", 11, "NOT cannot be one side of OR"),
        ("(mission:UNMISS OR Bentiu)", 1, "outside parentheses"),
        ("is:deleted", 0, "retweet"),
    ],
)
def test_syntax_errors_name_position_and_problem(query: str, position: int, words: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse(query, missions={"UNMISS", "UNISFA"})
    assert info.value.position == position
    assert words in str(info.value)
    assert f"position {position}" in str(info.value)


def test_sql_and_fts_syntax_in_words_is_just_text(archive_app: App) -> None:
    assert ids(archive_app, "'; DROP TABLE posts; --") == set()
    assert ids(archive_app, "cholera' OR 1=1 --") == {"unmiss-cholera", "unmiss-hidden"}
    assert ids(archive_app, "title:cholera") == set()  # no FTS5 column syntax: a phrase
    assert ids(archive_app, "NEAR(cholera water)") == set()  # NEAR is a word here
    assert archive_app.store.count_posts() == len(ALL_IDS)


def test_tombstone_survives_recollection_and_lifts(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    build(config)
    with make_app(load_config(config), clock=lambda: NOW, env={}) as app:
        # the source sends the deleted post again with a new text: the tombstone stays
        post = replace(to_post(next(p for p in POSTS if p.id == "unmiss-deleted")),
                       text="Bentiu flooding update (edited)", content_hash="h-edited")
        app.store.save_posts([(post, [])])
        row = app.store.search_post("unmiss-deleted")
        assert row is not None
        assert (row["availability"], row["version"]) == ("deleted", 2)
        assert app.store.mark_unavailable("unmiss-deleted", "available", "", NOW)
        assert ids(app, "flooding", public=True) == {"unmiss-deleted"}
        assert not app.store.mark_unavailable("no-such-post", "deleted", "", NOW)
        with pytest.raises(UsageError, match="unknown availability"):
            app.store.mark_unavailable("unmiss-cholera", "gone-fishing", "", NOW)


@pytest.mark.parametrize(
    "cursor", ["not-a-cursor", "eyJzb3J0IjoibmV3ZXN0IiwiYXQiOjEsInJvd2lkIjoieCJ9", "W10", "eyJvZmZzZXQiOi01fQ"]
)
def test_a_damaged_cursor_is_a_usage_error(archive_app: App, cursor: str) -> None:
    with pytest.raises(UsageError, match="cursor"):
        archive_app.store.search(parse("abyei"), cursor=cursor)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Kosovo OR Abyei", "(Kosovo OR Abyei) mission:UNMIK"),
        ("(Kosovo OR Abyei) lang:en", "(Kosovo OR Abyei) lang:en mission:UNMIK"),
        ("Kosovo Abyei", "Kosovo Abyei mission:UNMIK"),
        ("", "mission:UNMIK"),
        ("unclosed (", "unclosed ( mission:UNMIK"),
    ],
)
def test_narrowing_a_query_by_a_facet_keeps_it_valid(query: str, expected: str) -> None:
    from aggregator.search import narrow

    assert narrow(query, "mission", "UNMIK") == expected
    if "(" not in query or ")" in query:
        parse(expected, missions={"UNMIK"})  # parses
    assert narrow("", "source", "UN News Africa") == 'source:"UN News Africa"'
