"""Do two posts tell the same story? Word overlap, checked by the names and numbers they carry.

The mission's site, its X account and UN News word one event differently: the X post is a
sentence, the article a page, UN News has its own headline. What they share is the lede's
content words and, above all, its names and numbers (the town, the person, the date, the
count). Two different reports of one mission share the vocabulary ("peacekeepers", "patrol",
"protection of civilians") but not the names: that is the line drawn here.

:func:`fingerprint` reads a post row once (title and the first :data:`LEDE_WORDS` words of its
text); :func:`same_story` compares two fingerprints. Pure, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

LEDE_WORDS = 80  # the lede carries the story; later paragraphs add noise and cost
LEDE_CHARS = 1500  # read no further than this for the lede's words
MIN_WORDS = 5  # fewer content words than this ("Photo of the day") never join by text
MIN_SHARED_WORDS = 5
NEAR_COPY = 0.5  # Jaccard of word pairs at or above which two texts are copies
WORD_CONTAINMENT = 0.5  # share of the shorter text's content words found in the other...
ONE_NAME_CONTAINMENT = 0.6  # ... or this share when they have only one name or number in common

_URL = re.compile(r"https?://\S+|\bpic\.twitter\.com/\S+|(?<!\w)@\w+", re.I)
# A word, or a number written with thousands separators (4,200 / 3 000: one number, 4200).
_WORD = re.compile(r"\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+(?!\d)|\w+")
_SEPARATORS = re.compile(r"[,.\u00a0\u202f ]")
_MARKS = re.compile(r"[\u0300-\u036f]")  # accents left apart by NFKD
_DIGITS = re.compile(r"\d")
_YEAR = re.compile(r"(19|20)\d\d")  # a year dates a story; it does not tell one from another
# Words that start a sentence or are everywhere in this field: never a name, never content.
_STOPWORDS = """a about after against all also an and are as at be been before being between both but by
    during each for from had has have he her his how i in into is it its last more most new no
    not of on one or our over said says she so than that the their them then there these they
    this those through to today under up was we were what when where which while who will with
    would yesterday week weekend month year tuesday monday wednesday thursday friday saturday
    sunday rt via photo video read more here watch live update news
    au aux avec ce ces dans de des du elle en est et il ils la le les leur lors mais ont ou par
    pour qui sa se ses son sur un une à été aujourd hui semaine
    un united nations nation mission missions peacekeeping peacekeepers peacekeeper blue helmets
    berets casques bleus force forces security council secretary general special representative
    head srsg onu nations unies"""
STOPWORDS = frozenset(_STOPWORDS.split())


@dataclass(frozen=True)
class Fingerprint:
    """What :func:`same_story` compares: content words, word pairs, names and numbers."""

    words: frozenset[str]
    pairs: frozenset[str]
    names: frozenset[str]
    numbers: frozenset[str]


def fold(text: str) -> str:
    """Lower case without accents: "Côte" and "cote" are one word."""
    if text.isascii():
        return text.lower()
    return _MARKS.sub("", unicodedata.normalize("NFKD", text)).casefold()


def _tokens(text: str) -> tuple[list[str], list[str]]:
    """The words of ``text`` (links and @handles left out), as written and folded."""
    if "://" in text or "@" in text or "pic." in text:
        text = _URL.sub(" ", text)
    tokens = _WORD.findall(text)
    folded = [
        (w.lower() if w.isascii() else fold(w)) if w.isalnum() else _SEPARATORS.sub("", w)
        for w in tokens
    ]
    return tokens, folded


def words_of(text: str) -> list[str]:
    """The folded words of ``text``, in order (links and @handles left out)."""
    return _tokens(text)[1]


def fingerprint(row: Mapping[str, Any], *, ignore: frozenset[str] = frozenset()) -> Fingerprint:
    """The row's title and the lede of its text. ``ignore`` holds folded words that say which
    mission a post is about (its acronyms): shared by every post of a page, so no evidence."""
    title = str(row.get("title") or "").strip()
    text = str(row.get("text") or "").strip()
    if title and not text.startswith(title):
        text = f"{title}. {text}"
    tokens, folded = _tokens(text[:LEDE_CHARS])
    kept = [
        (token, word)
        for token, word in zip(tokens, folded, strict=True)
        if word not in STOPWORDS and word not in ignore and (len(word) > 1 or word.isdigit())
    ][:LEDE_WORDS]
    words = [word for _, word in kept]
    numbers = {w for _, w in kept if not w.isalpha() and _DIGITS.search(w) and not _YEAR.fullmatch(w)}
    names = {w for t, w in kept if t[0].isupper() and w.isalpha()}
    return Fingerprint(
        words=frozenset(words),
        pairs=frozenset(f"{a} {b}" for a, b in pairwise(words)),
        names=frozenset(names),
        numbers=frozenset(numbers),
    )


def same_story(a: Fingerprint, b: Fingerprint) -> bool:
    """True when ``a`` and ``b`` read as the same story: most of the shorter text's content
    words are in the other, and so is one of its names or numbers (two for a looser match);
    never when both carry numbers and one's are not all in the other ("Update No. 237" is
    not "Update No. 238"; the short post gives fewer of the article's figures, not others)."""
    if min(len(a.words), len(b.words)) < MIN_WORDS:
        return False
    if a.numbers and b.numbers and not (a.numbers <= b.numbers or b.numbers <= a.numbers):
        return False
    union = len(a.pairs | b.pairs)
    if union and len(a.pairs & b.pairs) / union >= NEAR_COPY:
        return True
    evidence = len(a.names & b.names) + len(a.numbers & b.numbers)
    shared = len(a.words & b.words)
    if not evidence or shared < MIN_SHARED_WORDS:
        return False
    containment = shared / min(len(a.words), len(b.words))
    return containment >= (WORD_CONTAINMENT if evidence >= 2 else ONE_NAME_CONTAINMENT)
