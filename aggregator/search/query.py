"""The archive's query language, read: user text -> tokens -> an AST.

Pure. :func:`read` returns the AST of a query such as
``mission:UNMISS abyei NOT "cattle raid"`` or raises
:class:`~aggregator.errors.QuerySyntaxError` naming the 0-based position and the problem.
:mod:`aggregator.search` turns the AST into what the store runs.

Grammar (AND binds tighter than OR; juxtaposition means AND)::

    query   := or_expr?
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= unary (("AND")? unary)*
    unary   := "NOT" unary | "(" or_expr ")" | term | filter
    term    := word | word* | "a phrase" | "a phrase"*
    filter  := key:value | key:"a value"      (top level only; same key twice means either)
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from aggregator.errors import QuerySyntaxError

MAX_TERMS = 64
MAX_DEPTH = 16
FILTER_KEYS = ("mission", "source", "author", "lang", "from", "to", "has", "is")
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


# --- lexer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # word, phrase, op, lparen, rparen, filter
    text: str
    pos: int
    key: str = ""


_SPECIAL = set('()"')


def clean(query: str) -> str:
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

    def nested(self, rule: Callable[[], Node], pos: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested too deeply (at most {MAX_DEPTH} levels)", pos)
        node = rule()
        self.depth -= 1
        return node


def read(q: str) -> Node | None:
    """Parse a cleaned query (see :func:`clean`) into its AST; ``None`` when it is empty."""
    return _Parser(q, _lex(q)).parse()
