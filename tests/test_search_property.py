"""Property: any text typed into the search box gives results or the named syntax error.

Never a raw sqlite3 error, never an exception of another type, never a changed archive.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aggregator.app import App
from aggregator.errors import QuerySyntaxError
from aggregator.search import MAX_QUERY_CHARS, parse
from tests.test_search_support import ALL_IDS, archive_app, search_project

__all__ = ["archive_app", "search_project"]

PIECES = st.sampled_from([
    '"', "'", "*", "(", ")", "AND", "OR", "NOT", "NEAR", "^", ":", "-", "+", "\\", ";", "--",
    "mission:", "mission:UNMISS", "from:", "to:2024-13", "is:retweet", "has:", "lang:fr",
    "author:@", 'source:"', "'; DROP TABLE posts; --", "\" OR 1=1 --", "abyei", "Abyéi",
    "réunion", "اليونيفيل", "\x00", "\x1b[31m", "\ud800", "\u200b", "🙂", " ", "  ",
])
QUERIES = st.one_of(
    st.text(max_size=200),
    st.lists(PIECES, max_size=30).map(" ".join),
    st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=40).map("".join),
    st.text(min_size=MAX_QUERY_CHARS - 10, max_size=10_000),
    st.builds(lambda a, b: a * b, PIECES, st.integers(min_value=1, max_value=3000)),
)


def _search(app: App, query: str, public: bool) -> None:
    try:
        plan = parse(query, missions=set(app.config.missions))
    except QuerySyntaxError as exc:
        assert 0 <= exc.position <= len(query)
        assert f"at position {exc.position}" in str(exc)
        event("syntax error")
        return
    page = app.store.search(plan, limit=5, include_hidden=not public)
    assert {r["id"] for r in page.rows} <= ALL_IDS
    event("results" if page.rows else "no results")
    app.store.search(plan, sort="newest", limit=5, include_hidden=not public)
    app.store.search_facets(plan, include_hidden=not public)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=QUERIES, public=st.booleans())
def test_every_query_gives_results_or_a_syntax_error(archive_app: App, query: str, public: bool) -> None:
    _search(archive_app, query, public)
    assert archive_app.store.count_posts() == len(ALL_IDS)


def test_ten_thousand_characters_is_a_named_error_not_a_crash() -> None:
    query = "abyei " * 1700
    try:
        parse(query)
    except QuerySyntaxError as exc:
        assert exc.position == MAX_QUERY_CHARS
        assert "at most" in str(exc)
    else:
        raise AssertionError("a 10,000-character query should be refused by name")
