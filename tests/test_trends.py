"""What is rising in a mission's coverage (#19): posts per week, rising terms, JSON and page."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

from hypothesis import given
from hypothesis import strategies as st

from aggregator import trends
from aggregator.app import App
from aggregator.models import Post, Tag
from aggregator.trends.chart import Slot, bar_chart, nice_ceiling
from aggregator.web import make_wsgi
from tests.test_moderation_support import (  # noqa: F401 (fixtures)
    NOW,
    app_fixture,
    clock_fixture,
    make_post,
    project_fixture,
    save,
)

DAY = 24 * 60
BEFORE_TOPICS = [
    "Traders meet in the Abyei town market to discuss prices before the rainy season.",
    "Herders and farmers agree on cattle migration routes through the Abyei area.",
    "Peacekeepers escort cattle migration along the northern corridor near Diffra.",
    "Community protection committee meets in Abyei town to review market security.",
    "Engineers repair the road between Abyei town and Agok before the rains.",
]
RECENT_TOPICS = [
    "Cholera outbreak in Agok: peacekeepers support the health ministry with clean water.",
    "Cholera outbreak: medical team treats patients in Agok and Abyei town.",
    "Cholera outbreak response: water points chlorinated in Agok villages.",
    "New cholera outbreak cases reported in Rumajak; field hospital on alert.",
    "Traders meet in the Abyei town market as the cholera outbreak slows.",
]


def _post(i: int, text: str, minutes_ago: int) -> tuple[Post, list[Tag]]:
    return make_post(f"p{i}", acronym="UNISFA", text=text, title="", minutes_ago=minutes_ago), [
        Tag("UNISFA", "name", "UNISFA")]


def _archive(app: App) -> None:
    posts = []
    for i in range(60):  # the year before: two posts a week or so, about markets and cattle
        posts.append(_post(i, BEFORE_TOPICS[i % 5], minutes_ago=(40 + i * 5) * DAY))
    for i, text in enumerate(RECENT_TOPICS):  # the last 30 days: a cholera outbreak
        posts.append(_post(100 + i, text, minutes_ago=(2 + i * 3) * DAY))
    posts.append(_post(200, "Cholera outbreak in Agok: hidden duplicate", minutes_ago=3 * DAY))
    save(app, *posts)
    app.store.moderate("p200", "hide", editor="ana", note="duplicate")


def test_rising_terms_are_the_last_30_days_news_not_the_years_vocabulary(app: App) -> None:
    _archive(app)
    from aggregator.web.trends import compute

    found = compute(app.store, "UNISFA", NOW)
    top = [t.term for t in found.terms]
    assert top[0] == "cholera outbreak", top
    assert "agok" in top
    assert not {"abyei", "town", "market", "unisfa"} & set(top)  # in the year before too, or the mission
    assert found.recent_posts == 5 and found.before_posts == 60  # the hidden post is not counted
    assert all(t.score > 0 and t.recent >= trends.MIN_RECENT_POSTS for t in found.terms)
    weeks = found.weeks
    assert len(weeks) == 52 and weeks[-1].start == date(2026, 11, 23)  # the current week, a Monday
    assert sum(w.posts for w in weeks) == 65  # the hidden post is not counted here either
    # 2 and 5 days ago (Thursday, Monday) are this week; 8 and 11 days ago are last week.
    assert [w.posts for w in weeks[-2:]] == [2, 2]


def test_json_for_scripts(app: App) -> None:
    _archive(app)
    status, headers, body = _get(app, "/trends/unisfa.json")
    assert status == "200 OK" and headers["Content-Type"].startswith("application/json")
    data = json.loads(body)
    assert data["mission"] == "UNISFA"
    assert len(data["weeks"]) == 52 and data["weeks"][-1] == {"week": "2026-11-23", "posts": 2}
    assert data["terms"]["rising"][0]["term"] == "cholera outbreak"
    assert data["terms"]["recent"] == {"since": "2026-10-29", "until": "2026-11-28", "posts": 5}
    status, _, body = _get(app, "/trends/NOPE.json")
    assert status.startswith("404") and "UNISFA" in json.loads(body)["missions"]


def test_the_missions_archive_page_shows_the_chart_and_the_table(app: App) -> None:
    _archive(app)
    _, headers, page = _get(app, "/search", {"q": "mission:UNISFA"})
    assert "script" not in headers["Content-Security-Policy"].replace("default-src 'none'", "")
    figure = re.search(r'<section class="trends".*?</section>', page, re.S)
    assert figure, "no trends section on the mission's archive page"
    html = figure.group(0)
    assert html.count("<rect") == 52 and "<script" not in html
    assert re.search(r"<td[^>]*>cholera outbreak</td>", html)
    assert 'href="/trends/UNISFA.json"' in html
    # Other queries are searches, not a mission's page: no trends there.
    _, _, other = _get(app, "/search", {"q": "cholera mission:UNISFA"})
    assert 'class="trends"' not in other


def _get(app: App, path: str, query: dict[str, str] | None = None) -> tuple[str, dict[str, str], str]:
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, QUERY_STRING=urlencode(query or {}))
    seen: dict[str, Any] = {}
    body = b"".join(make_wsgi(app)(environ, lambda s, h: seen.update(status=s, headers=dict(h))))
    return str(seen["status"]), seen["headers"], body.decode("utf-8")


def test_g2_is_zero_for_equal_shares_and_grows_with_the_difference() -> None:
    assert abs(trends.g2(10, 90, 100, 900)) < 1e-9
    assert 0 < trends.g2(20, 80, 100, 900) < trends.g2(40, 60, 100, 900)


def test_month_labels_one_month_and_many() -> None:
    one = bar_chart([Slot(date(2024, 3, 1), 4, "2024-03: 4")])
    assert [(label["text"], label["year"]) for label in one["xlabels"]] == [("Mar", "2024")]
    assert one["bars"][0]["w"] <= (one["right"] - one["left"]) / 12
    assert [t["label"] for t in one["yticks"]] == ["0", "2", "5"]
    many = [Slot(date(2000 + i // 12, i % 12 + 1, 1), i, "") for i in range(26 * 12)]
    chart = bar_chart(many)
    assert len(chart["xlabels"]) <= 12
    assert len([label for label in chart["xlabels"] if not label["minor"]]) <= 6
    assert chart["xlabels"][0]["year"] == "2000"
    xs = [label["x"] for label in chart["xlabels"]]
    assert xs == sorted(xs) and all(chart["left"] <= x <= chart["right"] for x in xs)


@given(st.integers(min_value=0, max_value=10**9))
def test_nice_ceiling_is_round_and_at_least_the_top(top: int) -> None:
    ceiling = nice_ceiling(top)
    assert ceiling >= max(top, 1)
    assert re.fullmatch(r"[125]0*", str(ceiling))
    assert ceiling < max(top, 1) * 2.5 or ceiling == 1


@given(st.lists(st.text(max_size=200), max_size=20), st.lists(st.text(max_size=200), max_size=20))
def test_rising_never_raises_and_only_lists_rising_terms(recent: list[str], before: list[str]) -> None:
    terms, n_recent, n_before = trends.rising(recent, before)
    assert (n_recent, n_before) == (len(recent), len(before))
    for t in terms:
        assert t.recent >= trends.MIN_RECENT_POSTS
        assert not n_before or t.before / n_before < t.recent / n_recent


def test_weekly_fills_empty_weeks() -> None:
    now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    weeks = trends.weekly({"2026-11-16": 3}, now, weeks=3)
    assert [(w.start.isoformat(), w.posts) for w in weeks] == [
        ("2026-11-09", 0), ("2026-11-16", 3), ("2026-11-23", 0)]
    assert trends.monday(date(2026, 11, 23)) == date(2026, 11, 23)
    assert trends.monday(date(2026, 11, 29)) == date(2026, 11, 23)
    assert now - timedelta(days=30) == now - trends.RECENT
