"""What is rising in a mission's coverage (#19): posts per week over the last year, and the
terms of the last 30 days that stand out against the year before.

Pure: the store hands over counts and texts (``store/trends.py``), ``web/trends.py`` serves
the result as JSON and on the mission's archive page. Terms are scored with Dunning's
log-likelihood ratio (G²) on document counts: how many of the last 30 days' posts use a
term against how many of the year before's, so one long article cannot make a term rise.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

from aggregator.stories.text import STOPWORDS, fold, words_of

RECENT = timedelta(days=30)
BEFORE = timedelta(days=365)
WEEKS = 52
MIN_RECENT_POSTS = 3  # a term used by fewer of the recent posts is not a trend
TOP_TERMS = 10
# Words every post of a mission's coverage uses: never a trend.
GENERIC = frozenset(("amp", "https", "http", "rt", "co", "www", "com", "org", "html")) | STOPWORDS


@dataclass(frozen=True)
class Week:
    start: date  # a Monday
    posts: int


@dataclass(frozen=True)
class Term:
    term: str
    recent: int  # posts of the last 30 days that use it
    before: int  # posts of the year before that use it
    score: float  # log-likelihood ratio, G²


@dataclass(frozen=True)
class Trends:
    mission: str
    now: datetime
    weeks: tuple[Week, ...]
    terms: tuple[Term, ...]
    recent_posts: int
    before_posts: int

    def as_json(self) -> dict[str, object]:
        """The document served at ``/trends/<mission>.json`` (README, "Trends")."""
        return {
            "mission": self.mission,
            "generated_at": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "weeks": [{"week": w.start.isoformat(), "posts": w.posts} for w in self.weeks],
            "terms": {
                "recent": {"since": _day(self.now - RECENT), "until": _day(self.now),
                           "posts": self.recent_posts},
                "before": {"since": _day(self.now - RECENT - BEFORE), "until": _day(self.now - RECENT),
                           "posts": self.before_posts},
                "method": "log-likelihood ratio (G2) on the number of posts using each term",
                "rising": [{"term": t.term, "recent": t.recent, "before": t.before,
                            "score": round(t.score, 2)} for t in self.terms],
            },
        }


def _day(when: datetime) -> str:
    return when.date().isoformat()


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly(counts: Mapping[str, int], now: datetime, weeks: int = WEEKS) -> tuple[Week, ...]:
    """The last ``weeks`` weeks up to the current one, oldest first, empty weeks included.
    ``counts`` maps a week's Monday (``YYYY-MM-DD``) to its posts."""
    last = monday(now.date())
    starts = [last - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    return tuple(Week(s, int(counts.get(s.isoformat(), 0))) for s in starts)


def terms_of(text: str, ignore: frozenset[str] = frozenset()) -> set[str]:
    """The words and two-word phrases a post uses (folded, without stopwords)."""
    words = [w for w in words_of(text) if w not in GENERIC and w not in ignore and not w.isdigit()]
    return set(words) | {f"{a} {b}" for a, b in pairwise(words)}


def _xlogx(values: Iterable[int]) -> float:
    return sum(v * math.log(v) for v in values if v > 0)


def g2(a: int, b: int, c: int, d: int) -> float:
    """Dunning's log-likelihood ratio for the 2x2 table [[a, b], [c, d]]."""
    n = a + b + c + d
    return 2 * (_xlogx((a, b, c, d)) - _xlogx((a + b, c + d)) - _xlogx((a + c, b + d)) + _xlogx((n,)))


def rising(
    recent: Iterable[str], before: Iterable[str], *, ignore: Iterable[str] = (), top: int = TOP_TERMS
) -> tuple[tuple[Term, ...], int, int]:
    """Terms used by a larger share of ``recent`` posts than of ``before`` posts, strongest
    first; with the two post counts. ``ignore``: the mission's own names (in every post)."""
    skip = frozenset(fold(w) for w in ignore)
    recent_df: Counter[str] = Counter()
    before_df: Counter[str] = Counter()
    n_recent = n_before = 0
    for text in recent:
        n_recent += 1
        recent_df.update(terms_of(text, skip))
    for text in before:
        n_before += 1
        before_df.update(terms_of(text, skip))
    out = []
    for term, a in recent_df.items():
        if a < MIN_RECENT_POSTS:
            continue
        c = before_df.get(term, 0)
        if n_before and c / n_before >= a / n_recent:
            continue  # not rising
        out.append(Term(term, a, c, g2(a, n_recent - a, c, n_before - c)))
    out.sort(key=lambda t: (-t.score, t.term))
    return _drop_covered(out[: top * 3])[:top], n_recent, n_before


def _drop_covered(terms: list[Term]) -> tuple[Term, ...]:
    """A word that only rises inside a phrase already listed (``cholera`` under ``cholera
    response`` with the same counts) says nothing more: keep the phrase."""
    phrases = {t.term: t for t in terms if " " in t.term}
    kept = []
    for t in terms:
        if " " not in t.term and any(
            t.term in p.split() and p_t.recent == t.recent and p_t.before == t.before
            for p, p_t in phrases.items()
        ):
            continue
        kept.append(t)
    return tuple(kept)
