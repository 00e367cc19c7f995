"""Compile mission rules (``feeds/*.yaml``) into one token index the tagger scans once.

Text and rule phrases go through the same :func:`normalize` and :func:`tokenize`, so a rule
written "United Nations Interim Force in Lebanon" matches "UN Interim Force in Lebanon",
"U.N. interim force in lebanon" and accented or curly-quoted variants alike. Matching is by
whole tokens: "UNMIS" never matches inside "UNMISS", and "UNMIK-ut" still yields "unmik".

The index maps a phrase's first token to the phrases starting with it (longest first), so
tagging a post is one pass over its tokens with a dictionary lookup each: no per-mission
loop and no regular expression per rule.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from aggregator.models import Mission

CueKind = Literal[
    "name", "place", "term", "hashtag", "mention", "lookalike", "topic", "elsewhere",
    "un", "force", "peacekeeping",
]

# "UN", "U.N." and "United Nations" all become one token that plain words cannot collide with
# (French "un", Italian "un" stay words).
UN_TOKEN = "unorg"
_UN_RE = re.compile(r"U(?:\.\s?N\.?(?![\w.])|N(?!\w)|NITED\s+NATIONS|nited\s+[Nn]ations)|united\s+[Nn]ations")
_TOKEN_RE = re.compile(r"[#@]?[\w\u0900-\u0DFF]+")
_MARKS_RE = re.compile(r"[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_ARABIC_RE = re.compile(r"[\u0600-\u06ff]")
# Arabic writes conjunctions, prepositions and the article onto the word ("واليونيفيل").
_ARABIC_PREFIXES = ("و", "ف", "ب", "ل", "ك", "وب", "ول", "لل", "ال", "وال", "بال", "فال")
GAP = "..."  # "A ... B": B follows A within MAX_GAP tokens
MAX_GAP = 3


def normalize(text: str) -> str:
    """Case- and accent-fold ``text`` and mark every spelling of "United Nations"."""
    text = _UN_RE.sub(_un, text).casefold()
    if not text.isascii():
        text = _MARKS_RE.sub("", unicodedata.normalize("NFKD", text))
        text = text.replace("\u0640", "")  # Arabic tatweel
    return text


def _un(match: re.Match[str]) -> str:
    start = match.start()
    if start and (match.string[start - 1].isalnum() or match.string[start - 1] in "@#._"):
        return match.group(0)  # "@UN" stays a handle, "#UN" a hashtag
    return f" {UN_TOKEN} "


def tokenize(text: str) -> list[str]:
    """Whole-word tokens of already normalized text; hashtags keep "#", mentions "@".

    The article "the" is dropped so "Republic of the Congo" and "Republic of Congo" agree.
    """
    return [t for t in _TOKEN_RE.findall(text) if t != "the"]


def phrase_tokens(phrase: str) -> tuple[str, ...]:
    return tuple(t.lstrip("#@") for t in tokenize(normalize(phrase)))


@dataclass(frozen=True)
class Cue:
    """What one matched phrase says: which mission (None: no mission), how, how strongly."""

    mission: str | None
    kind: CueKind
    weight: float
    label: str  # the rule's phrase as written in the mission file


@dataclass(frozen=True)
class GeneralRules:
    """Vocabulary that belongs to no mission, from ``feeds/_general.yaml`` ``rules:``.

    - ``topics``: general peacekeeping topics (A4P, Peacekeepers Day): no mission by themselves.
    - ``elsewhere``: other UN bodies and UN presences outside the 18 missions (UNHCR, UNSOM,
      Somalia...): a post about them is not a mission's even from a mission's own site.
    - ``lookalikes``: acronyms and names that resemble a mission but are not one (UNMIS, MISCA).
    - ``un_words``, ``force_words``, ``peacekeeping_words``: the context that turns a host
      country or town into a mission ("UN peacekeepers in Liberia", "the UN mission in Kosovo");
      ``mission_words`` (force words too) do it alone right beside a place ("Haiti mission").
    - ``handles``: general UN accounts (@UNPeacekeeping): a mention of one is no mission.
    """

    topics: tuple[str, ...] = ()
    elsewhere: tuple[str, ...] = ()
    lookalikes: tuple[str, ...] = ()
    un_words: tuple[str, ...] = ()
    force_words: tuple[str, ...] = ()
    mission_words: tuple[str, ...] = ()
    peacekeeping_words: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Window:
    """A mission's active period as ISO dates (inclusive); None: open."""

    start: str | None
    end: str | None


@dataclass
class Index:
    """Phrases by first token, hashtags and mentions, each to the cues they carry."""

    phrases: dict[str, list[tuple[tuple[str, ...], list[Cue]]]] = field(default_factory=dict)
    gapped: dict[str, list[tuple[tuple[str, ...], tuple[str, ...], list[Cue]]]] = field(
        default_factory=dict
    )
    hashtags: dict[str, list[Cue]] = field(default_factory=dict)
    mentions: dict[str, list[Cue]] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)  # host -> mission
    windows: dict[str, Window] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # mission -> English name
    starts: frozenset[str] = frozenset()  # every token a phrase can start with
    mission_words: frozenset[str] = frozenset()  # force words that name a mission

    def freeze(self) -> None:
        self.starts = frozenset(self.phrases) | frozenset(self.gapped)

    def add_phrase(self, phrase: str, cue: Cue) -> None:
        if GAP in phrase:
            head, _, tail = phrase.partition(GAP)
            a, b = phrase_tokens(head), phrase_tokens(tail)
            if a and b:
                self._add_gapped(a, b, cue)
            return
        tokens = phrase_tokens(phrase)
        if not tokens:
            return
        for variant in _variants(tokens):
            bucket = self.phrases.setdefault(variant[0], [])
            for known, cues in bucket:
                if known == variant:
                    # "Mali" and "Malí" are one phrase: keep one cue per mission and kind.
                    if not any(c.mission == cue.mission and c.kind == cue.kind for c in cues):
                        cues.append(cue)
                    break
            else:
                bucket.append((variant, [cue]))
                bucket.sort(key=lambda item: -len(item[0]))
        self.add_hashtag("".join(tokens), cue)

    def _add_gapped(self, a: tuple[str, ...], b: tuple[str, ...], cue: Cue) -> None:
        bucket = self.gapped.setdefault(a[0], [])
        for ka, kb, cues in bucket:
            if ka == a and kb == b:
                cues.append(cue)
                return
        bucket.append((a, b, [cue]))

    def add_hashtag(self, tag: str, cue: Cue) -> None:
        key = "".join(phrase_tokens(tag))
        if key:
            cues = self.hashtags.setdefault(key, [])
            if not any(c.mission == cue.mission and c.kind == cue.kind for c in cues):
                cues.append(cue)

    def add_mention(self, handle: str, cue: Cue) -> None:
        key = handle.lstrip("@").casefold()
        if key:
            cues = self.mentions.setdefault(key, [])
            if cue not in cues:
                cues.append(cue)


def _variants(tokens: tuple[str, ...]) -> Iterable[tuple[str, ...]]:
    yield tokens
    first = tokens[0]
    if _ARABIC_RE.search(first):
        bare = first[2:] if first.startswith("ال") else first
        for prefix in _ARABIC_PREFIXES:
            for stem in {first, bare}:
                candidate = prefix + stem
                if candidate != first:
                    yield (candidate, *tokens[1:])


def build_index(missions: Iterable[Mission], general: GeneralRules | None = None) -> Index:
    index = Index()
    for mission in missions:
        _add_mission(index, mission)
    _add_general(index, general or GeneralRules())
    index.freeze()
    return index


def _add_mission(index: Index, m: Mission) -> None:
    code = m.acronym
    r = m.rules
    index.names[code] = m.name
    start = r.active_from or (f"{m.established:04d}-01-01" if m.established else None)
    end = r.active_to or (f"{m.closed:04d}-12-31" if m.closed else None)
    index.windows[code] = Window(start, end)
    names = {code, *m.names.values(), *r.names, *r.former_names, *m.predecessors}
    for name in names:
        index.add_phrase(name, Cue(code, "name", 1.0, name))
    for tag in r.hashtags:
        index.add_hashtag(tag, Cue(code, "hashtag", 1.0, f"#{tag}"))
    for handle in r.mentions:
        index.add_mention(handle, Cue(code, "mention", 1.0, f"@{handle}"))
    for src in m.sources:
        if src.handle:
            index.add_mention(src.handle, Cue(code, "mention", 1.0, f"@{src.handle}"))
    _add_weighted(index, code, "place", r.places)
    _add_weighted(index, code, "term", r.terms)
    for phrase in r.lookalikes:
        index.add_phrase(phrase, Cue(code, "lookalike", 0.0, f"{phrase} (not {code})"))
    for host in (*r.hosts, *_host_of(m.website)):
        index.hosts[_bare_host(host)] = code


def _add_weighted(index: Index, code: str, kind: CueKind, words: Mapping[str, float]) -> None:
    for word, weight in words.items():
        index.add_phrase(word, Cue(code, kind, float(weight), word))


def _add_general(index: Index, g: GeneralRules) -> None:
    for phrase in g.topics:
        index.add_phrase(phrase, Cue(None, "topic", 0.0, phrase))
    for phrase in g.elsewhere:
        index.add_phrase(phrase, Cue(None, "elsewhere", 0.0, phrase))
    for phrase in g.lookalikes:  # a UN presence outside the list: like "elsewhere"
        index.add_phrase(phrase, Cue(None, "elsewhere", 0.0, f"{phrase} (not a listed mission)"))
    for phrase in (UN_TOKEN, *g.un_words):
        index.add_phrase(phrase, Cue(None, "un", 0.0, phrase))
    for phrase in (*g.force_words, *g.mission_words):
        index.add_phrase(phrase, Cue(None, "force", 0.0, phrase))
    index.mission_words = frozenset(g.mission_words)
    for phrase in g.peacekeeping_words:
        index.add_phrase(phrase, Cue(None, "peacekeeping", 0.0, phrase))
    for handle in g.handles:  # general UN accounts: reported, never a mission
        index.add_mention(handle, Cue(None, "lookalike", 0.0, f"@{handle.lstrip('@')} (general)"))


def _host_of(url: str | None) -> tuple[str, ...]:
    if not url:
        return ()
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return (host,) if host else ()


def _bare_host(host: str) -> str:
    host = host.casefold().split(":", 1)[0].strip(".")
    return host[4:] if host.startswith("www.") else host


def host_of(url: str | None) -> str:
    """The bare host of ``url`` ("" when there is none)."""
    found = _host_of(url)
    return _bare_host(found[0]) if found else ""


def general_rules_from(data: Mapping[str, object] | None) -> GeneralRules:
    """Build ``GeneralRules`` from the ``rules:`` mapping of ``feeds/_general.yaml``."""
    if not data:
        return GeneralRules()

    def words(key: str) -> tuple[str, ...]:
        value = data.get(key) or ()
        if not isinstance(value, list | tuple):
            return ()
        return tuple(str(v).strip() for v in value if str(v).strip())

    return GeneralRules(
        topics=words("topics"), elsewhere=words("elsewhere"), lookalikes=words("lookalikes"),
        un_words=words("un_words"), force_words=words("force_words"),
        mission_words=words("mission_words"),
        peacekeeping_words=words("peacekeeping_words"), handles=words("handles"),
    )


def gapped_match(tokens: list[str], i: int, head: tuple[str, ...], tail: tuple[str, ...]) -> bool:
    """Does ``head`` start at ``i`` with ``tail`` following within ``MAX_GAP`` tokens?"""
    k = len(head)
    if tokens[i : i + k] != list(head):
        return False
    start = i + k
    for j in range(start, min(start + MAX_GAP + 1, len(tokens))):
        if tokens[j : j + len(tail)] == list(tail):
            return True
    return False
