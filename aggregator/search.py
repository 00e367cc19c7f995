"""The archive's query language: user text -> AST -> a safe FTS5 expression plus filters.

Pure: no I/O and no SQL. :func:`parse` turns a query such as
``mission:UNMISS mission:UNISFA abyei from:2024-03 to:2024-05 NOT "cattle raid"`` into a
:class:`SearchPlan`: one FTS5 ``MATCH`` expression in which every user word is a quoted FTS5
string (so no user text is ever FTS5 syntax, let alone SQL) and a list of typed filters the
store turns into parameterized SQL. Anything that cannot be parsed raises
:class:`~aggregator.errors.QuerySyntaxError` with the 0-based position and the problem.

Grammar (AND binds tighter than OR; juxtaposition means AND)::

    query   := or_expr?
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= unary (("AND")? unary)*
    unary   := "NOT" unary | "(" or_expr ")" | term | filter
    term    := word | word* | "a phrase"
    filter  := key:value | key:"a value"      (top level only; same key twice means either)
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta

from aggregator.errors import QuerySyntaxError

MAX_QUERY_CHARS = 2000
MAX_TERMS = 64
MAX_DEPTH = 16
FILTER_KEYS = ("mission", "source", "author", "lang", "from", "to", "has", "is")
HAS_VALUES = ("media", "link")
IS_VALUES = ("retweet", "reply", "quote", "hidden", "removed", "pinned")
OPERATORS = ("AND", "OR", "NOT")


# --- AST -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    text: str
    pos: int
    prefix: bool = False
    phrase: bool = False


@dataclass(frozen=True)
class Filter:
    key: str
    value: str
    pos: int


@dataclass(frozen=True)
class Not:
    child: Node
    pos: int


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]
    pos: int


Node = Term | Filter | Not | And | Or


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


# --- lexer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # word, phrase, op, lparen, rparen, filter
    text: str
    pos: int
    key: str = ""


_SPECIAL = set('()"')


def _clean(query: str) -> str:
    """Control characters and lone surrogates become spaces (same length, same positions)."""
    return "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in query
    )


def _read_quoted(q: str, start: int) -> tuple[str, int]:
    end = q.find('"', start + 1)
    if end < 0:
        raise QuerySyntaxError("unclosed quote: add a closing \"", position=start, query=q)
    return q[start + 1 : end], end + 1


def _lex(q: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(q)
    while i < n:
        ch = q[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            toks.append(_Tok("lparen", ch, i))
            i += 1
        elif ch == ")":
            toks.append(_Tok("rparen", ch, i))
            i += 1
        elif ch == '"':
            text, nxt = _read_quoted(q, i)
            star = nxt < n and q[nxt] == "*"
            toks.append(_Tok("prefix_phrase" if star else "phrase", text, i))
            i = nxt + (1 if star else 0)
        else:
            j = i
            while j < n and not q[j].isspace() and q[j] not in _SPECIAL:
                j += 1
            word = q[i:j]
            key, sep, value = word.partition(":")
            if sep and key.lower() in FILTER_KEYS:
                if not value and j < n and q[j] == '"':
                    value, j = _read_quoted(q, j)
                toks.append(_Tok("filter", value, i, key.lower()))
            elif sep and key and _looks_like_filter(key):
                close = difflib.get_close_matches(key.lower(), FILTER_KEYS, n=1, cutoff=0.75)
                raise QuerySyntaxError(
                    f"unknown filter {key}: (did you mean {close[0]}:?)", position=i, query=q
                )
            elif word in OPERATORS:
                toks.append(_Tok("op", word, i))
            else:
                toks.append(_Tok("word", word, i))
            i = j
    return toks


def _looks_like_filter(key: str) -> bool:
    return bool(difflib.get_close_matches(key.lower(), FILTER_KEYS, n=1, cutoff=0.75))


# --- parser --------------------------------------------------------------------------


class _Parser:
    def __init__(self, query: str, toks: list[_Tok]) -> None:
        self.q = query
        self.toks = toks
        self.i = 0
        self.depth = 0
        self.terms = 0

    def error(self, message: str, pos: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, position=pos, query=self.q)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def at_op(self, name: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "op" and tok.text == name

    def parse(self) -> Node | None:
        if not self.toks:
            return None
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise self.error("unmatched ')': remove it or add '(' before it", tok.pos)
        return node

    def or_expr(self) -> Node:
        first = self.peek()
        children = [self.and_expr()]
        while self.at_op("OR"):
            self.i += 1
            children.append(self.and_expr())
        if len(children) == 1:
            return children[0]
        return Or(tuple(children), first.pos if first else 0)

    def and_expr(self) -> Node:
        children = [self.unary()]
        while True:
            tok = self.peek()
            if tok is None or tok.kind == "rparen" or self.at_op("OR"):
                break
            if self.at_op("AND"):
                self.i += 1
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        tok = self.peek()
        end = len(self.q)
        if tok is None:
            raise self.error("the query ends where a word was expected", end)
        if tok.kind == "op":
            if tok.text != "NOT":
                raise self.error(f"{tok.text} needs a word or phrase before and after it", tok.pos)
            self.i += 1
            return Not(self.nested(self.unary, tok.pos), tok.pos)
        if tok.kind == "rparen":
            raise self.error("')' closes nothing, or a word is missing before it", tok.pos)
        if tok.kind == "lparen":
            self.i += 1
            if self.peek() is not None and self.peek().kind == "rparen":  # type: ignore[union-attr]
                raise self.error("empty parentheses", tok.pos)
            node = self.nested(self.or_expr, tok.pos)
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise self.error("unclosed '(': add ')'", tok.pos)
            self.i += 1
            return node
        self.i += 1
        if tok.kind == "filter":
            return Filter(tok.key, tok.text, tok.pos)
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.error(f"too many words (at most {MAX_TERMS})", tok.pos)
        if tok.kind in ("phrase", "prefix_phrase"):
            return Term(tok.text, tok.pos, prefix=tok.kind == "prefix_phrase", phrase=True)
        text = tok.text
        return Term(text.rstrip("*"), tok.pos, prefix=text.endswith("*"))

    def nested(self, rule: object, pos: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested too deeply (at most {MAX_DEPTH} levels)", pos)
        node: Node = rule()  # type: ignore[operator]
        self.depth -= 1
        return node


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


def parse(query: str, *, missions: Collection[str] | None = None) -> SearchPlan:
    """Parse ``query`` into a :class:`SearchPlan`, or raise ``QuerySyntaxError``."""
    if len(query) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            f"the query is {len(query)} characters long; at most {MAX_QUERY_CHARS}",
            position=MAX_QUERY_CHARS, query=query,
        )
    q = _clean(query)
    root = _Parser(q, _lex(q)).parse()
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
