"""Dates for tagging: when a post's events happened, from its date or its URL's.

Places and terms count only while their mission was active; these helpers give the date
range to check (pure).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_URL_DAY = re.compile(r"(?<!\d)((?:19|20)\d\d)[-/_](0?[1-9]|1[0-2])[-/_](0?[1-9]|[12]\d|3[01])(?!\d)")
_URL_MONTH = re.compile(r"(?<!\d)((?:19|20)\d\d)[-/_](0[1-9]|1[0-2])(?![\d])")
_URL_NAMED = re.compile(
    r"(?<![a-z\d])(?:(\d{1,2})-)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*-((?:19|20)\d\d)(?!\d)"
    r"|(?<!\d)((?:19|20)\d\d)(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)(\d\d)?(?![a-z\d])"
)
_URL_YEAR = re.compile(r"/((?:19|20)\d\d)/")
_FULL_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december")
_MONTH_RX = "|".join(_FULL_MONTHS)
# A dateline in the text: "7 October 2008", "October 11, 2018", "2019-10-15".
_TEXT_DATE = re.compile(
    rf"\b(\d{{1,2}}) ({_MONTH_RX}) ((?:19|20)\d\d)\b"
    rf"|\b({_MONTH_RX}) (\d{{1,2}}),? ((?:19|20)\d\d)\b"
    r"|\b((?:19|20)\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b"
)
_LAST_MONTH = re.compile(r"\blast month\b|\ble mois dernier\b|\bel mes pasado\b")
_LAST_YEAR = re.compile(r"\blast year\b|\bl'an dernier\b|\bl'annee derniere\b")
_LAST_WORDS = ("last", "dernier", "pasado")  # every phrase of the two patterns has one


def parse_date(text: str | None) -> date | None:
    if not text:
        return None
    parts = [int(p) for p in text[:10].split("-") if p.isdigit()]
    try:
        if len(parts) >= 3:
            return date(parts[0], parts[1], parts[2])
        if len(parts) == 2:
            return date(parts[0], parts[1], 1)
        return date(parts[0], 1, 1) if parts else None
    except ValueError:
        return None


def _month_range(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return start, nxt - timedelta(days=1)


def url_date(url: str) -> tuple[date, date] | None:
    """The publication date a URL carries (``/2011-06-28/``, ``/2017/08``, ``12-Oct-2024``)."""
    if not url:
        return None
    low = url.casefold()
    try:
        m = _URL_DAY.search(low)
        if m:
            d = date(int(m[1]), int(m[2]), int(m[3]))
            return d, d
        m = _URL_NAMED.search(low)
        if m:
            if m[3]:
                year, month, day = int(m[3]), _MONTHS[m[2]], int(m[1]) if m[1] else None
            else:
                year, month, day = int(m[4]), _MONTHS[m[5]], int(m[6]) if m[6] else None
            if day:
                d = date(year, month, day)
                return d, d
            return _month_range(year, month)
        m = _URL_MONTH.search(low)
        if m:
            return _month_range(int(m[1]), int(m[2]))
        m = _URL_YEAR.search(low)
        if m:
            return date(int(m[1]), 1, 1), date(int(m[1]), 12, 31)
    except ValueError:
        return None
    return None


def date_range(
    published: datetime | None, source_url: str, norm: str
) -> tuple[date, date] | None:
    """When the text's events happened, as far as the post's date (or its URL's) tells."""
    if published is not None:
        d = (published if published.tzinfo else published.replace(tzinfo=UTC)).astimezone(UTC).date()
        when: tuple[date, date] | None = (d, d)
    else:
        when = url_date(source_url) or text_date(norm)
    if when is None:
        return None
    if not any(word in norm for word in _LAST_WORDS):
        return when  # the common case: a substring test is far cheaper than the patterns
    if _LAST_MONTH.search(norm):
        end = when[0].replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if _LAST_YEAR.search(norm):
        year = when[0].year - 1
        return date(year, 1, 1), date(year, 12, 31)
    return when


def text_date(norm: str) -> tuple[date, date] | None:
    """The first full date written in (normalized) text, as a news dateline gives it."""
    m = _TEXT_DATE.search(norm)
    if m is None:
        return None
    try:
        if m[1]:
            d = date(int(m[3]), _FULL_MONTHS.index(m[2]) + 1, int(m[1]))
        elif m[4]:
            d = date(int(m[6]), _FULL_MONTHS.index(m[4]) + 1, int(m[5]))
        else:
            d = date(int(m[7]), int(m[8]), int(m[9]))
    except ValueError:
        return None
    return d, d
