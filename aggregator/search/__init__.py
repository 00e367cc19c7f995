"""The archive's query language: user text -> AST -> a safe FTS5 expression plus filters.

Pure: no I/O and no SQL. :func:`parse` turns a query such as
``mission:UNMISS mission:UNISFA abyei from:2024-03 to:2024-05 NOT "cattle raid"`` into a
:class:`SearchPlan`: one FTS5 ``MATCH`` expression in which every user word is a quoted FTS5
string (so no user text is ever FTS5 syntax, let alone SQL) and a list of typed filters the
store turns into parameterized SQL. Anything that cannot be parsed raises
:class:`~aggregator.errors.QuerySyntaxError` with the 0-based position and the problem.

The grammar and the lexer live in :mod:`aggregator.search.query`.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta

from aggregator.errors import QuerySyntaxError
from aggregator.search.query import And, Filter, Node, Not, Or, Term, clean, read

MAX_QUERY_CHARS = 2000
HAS_VALUES = ("media", "link")
IS_VALUES = ("retweet", "reply", "quote", "hidden", "removed", "pinned")


@dataclass(frozen=True)
class SearchPlan:
    """What the store runs: ``match`` must hold, ``exclude`` must not, filters all hold.

    ``filters`` maps a key to its accepted values (any of them); ``negated`` holds the
    filters written as ``NOT key:value``. Dates are normalized to ``sort_at`` bounds.
    """

    query: str
    match: str | None = None
    exclude: str | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    negated: dict[str, tuple[str, ...]] = field(default_factory=dict)
    since: str | None = None  # inclusive, ISO timestamp
    until: str | None = None  # exclusive, ISO timestamp
    terms: tuple[str, ...] = ()  # the words searched for, for highlighting and messages

    @property
    def has_text(self) -> bool:
        return self.match is not None or self.exclude is not None


# --- compile to FTS5 -----------------------------------------------------------------


def _has_token(text: str) -> bool:
    """True when the unicode61 tokenizer would find a token in ``text``."""
    return any(
        unicodedata.category(ch)[0] in "LNM" or unicodedata.category(ch) == "Co" for ch in text
    )


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class _Compiler:
    def __init__(self, query: str) -> None:
        self.q = query
        self.words: list[str] = []

    def error(self, message: str, pos: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, position=pos, query=self.q)

    def positive(self, node: Node) -> str | None:
        """An FTS5 expression that must match; ``None`` when the node has no searchable token."""
        if isinstance(node, Term):
            if not _has_token(node.text):
                return None
            self.words.append(node.text)
            return _quote(node.text) + ("*" if node.prefix else "")
        if isinstance(node, Or):
            parts = []
            for child in node.children:
                if isinstance(child, Not):
                    raise self.error(
                        "NOT cannot be one side of OR: write (a OR b) NOT c", child.pos
                    )
                part = self.positive(child)
                if part is not None:
                    parts.append(part)
            return None if not parts else parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
        if isinstance(node, And):
            pos_parts, neg_parts = self.split(node.children)
            if not pos_parts and neg_parts:
                first = next(c for c in node.children if isinstance(c, Not))
                raise self.error("NOT needs a word beside it inside parentheses", first.pos)
            return self.join(pos_parts, neg_parts)
        if isinstance(node, Not):
            raise self.error("NOT needs a word beside it inside parentheses", node.pos)
        raise self.error(f"the filter {node.key}: must stand outside parentheses and OR", node.pos)

    def split(self, children: tuple[Node, ...]) -> tuple[list[str], list[str]]:
        pos_parts: list[str] = []
        neg_parts: list[str] = []
        for child in children:
            if isinstance(child, Not):
                part = self.positive(child.child)
                if part is not None:
                    neg_parts.append(part)
            else:
                part = self.positive(child)
                if part is not None:
                    pos_parts.append(part)
        return pos_parts, neg_parts

    @staticmethod
    def join(pos_parts: list[str], neg_parts: list[str]) -> str | None:
        if not pos_parts:
            return None
        expr = pos_parts[0] if len(pos_parts) == 1 else "(" + " AND ".join(pos_parts) + ")"
        if neg_parts:
            neg = neg_parts[0] if len(neg_parts) == 1 else "(" + " OR ".join(neg_parts) + ")"
            expr = f"({expr} NOT {neg})"
        return expr


# --- filters -------------------------------------------------------------------------


_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


def date_bounds(value: str, pos: int, query: str) -> tuple[str, str]:
    """``2024``, ``2024-03`` or ``2024-03-01`` -> [start, end) as archive timestamps."""
    m = _DATE.match(value)
    try:
        if not m:
            raise ValueError
        year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
        start = date(year, month, day)
        if m[3]:
            end = start + timedelta(days=1)
        elif m[2]:
            end = date(year + month // 12, month % 12 + 1, 1)
        else:
            end = date(year + 1, 1, 1)
    except (ValueError, OverflowError):
        raise QuerySyntaxError(
            f"{value!r} is not a date: write YYYY-MM-DD, YYYY-MM or YYYY", position=pos, query=query
        ) from None
    return f"{start.isoformat()}T00:00:00Z", f"{end.isoformat()}T00:00:00Z"


def _check_filter(f: Filter, query: str, missions: Collection[str] | None) -> str:
    value = f.value.strip()
    if not value:
        raise QuerySyntaxError(f"{f.key}: needs a value, e.g. {_EXAMPLES[f.key]}", position=f.pos, query=query)
    if f.key == "mission":
        value = value.upper()
        if missions is not None and value not in missions:
            close = difflib.get_close_matches(value, list(missions), n=1)
            hint = f"did you mean {close[0]}?" if close else "see `aggregator check` for the list"
            raise QuerySyntaxError(f"unknown mission {value!r} ({hint})", position=f.pos, query=query)
    elif f.key in ("has", "is"):
        allowed = HAS_VALUES if f.key == "has" else IS_VALUES
        value = value.lower()
        if value not in allowed:
            raise QuerySyntaxError(
                f"{f.key}:{value} is not known; use one of {', '.join(allowed)}",
                position=f.pos, query=query,
            )
    elif f.key == "lang":
        value = value.lower()
    elif f.key == "author":
        value = value.lstrip("@")
    return value


_EXAMPLES = {
    "mission": "mission:UNMISS", "source": "source:@UNMISSmedia", "author": "author:@handle",
    "lang": "lang:fr", "from": "from:2024-03-01", "to": "to:2024-05-31", "has": "has:media",
    "is": "is:retweet",
}


def _top_level(node: Node | None) -> list[Node]:
    if node is None:
        return []
    return list(node.children) if isinstance(node, And) else [node]


def narrow(query: str, key: str, value: str) -> str:
    """``query`` with the filter ``key:value`` added, as a query that still parses.

    A filter must stand outside OR, so a query whose top level is an OR is wrapped in
    parentheses first: ``Kosovo OR Abyei`` narrowed to UNMIK is
    ``(Kosovo OR Abyei) mission:UNMIK``. A query that does not parse is left as it is.
    """
    quoted = f'"{value}"' if not value or any(ch.isspace() or ch in '()"' for ch in value) else value
    text = query.strip()
    try:
        root = read(clean(text))
    except QuerySyntaxError:
        root = None
    if isinstance(root, Or):
        text = f"({text})"
    return f"{text} {key}:{quoted}".strip()


def parse(query: str, *, missions: Collection[str] | None = None) -> SearchPlan:
    """Parse ``query`` into a :class:`SearchPlan`, or raise ``QuerySyntaxError``."""
    if len(query) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            f"the query is {len(query)} characters long; at most {MAX_QUERY_CHARS}",
            position=MAX_QUERY_CHARS, query=query,
        )
    q = clean(query)
    root = read(q)
    filters: dict[str, list[str]] = {}
    negated: dict[str, list[str]] = {}
    text_nodes: list[Node] = []
    since = until = None
    for node in _top_level(root):
        target, f = (negated, node.child) if isinstance(node, Not) else (filters, node)
        if not isinstance(f, Filter):
            text_nodes.append(node)
            continue
        value = _check_filter(f, query, missions)
        if f.key in ("from", "to"):
            if target is negated:
                raise QuerySyntaxError(f"{f.key}: cannot be negated", position=f.pos, query=query)
            start, end = date_bounds(value, f.pos, query)
            if f.key == "from":
                since = max(since or start, start)
            else:
                until = min(until or end, end)
            continue
        target.setdefault(f.key, []).append(value)
    comp = _Compiler(q)
    pos_parts, neg_parts = comp.split(tuple(text_nodes))
    match = comp.join(pos_parts, neg_parts)
    exclude = None
    if not pos_parts and neg_parts:
        exclude = neg_parts[0] if len(neg_parts) == 1 else "(" + " OR ".join(neg_parts) + ")"
    return SearchPlan(
        query=query, match=match, exclude=exclude,
        filters={k: tuple(dict.fromkeys(v)) for k, v in filters.items()},
        negated={k: tuple(dict.fromkeys(v)) for k, v in negated.items()},
        since=since, until=until, terms=tuple(comp.words),
    )
