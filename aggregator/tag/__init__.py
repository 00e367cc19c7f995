"""Tag posts with the missions they concern, each with the rule and the words that decided it.

Pure: ``Tagger(missions)`` compiles every mission's rules (``feeds/*.yaml``) once into one
token index (:mod:`aggregator.tag.rules`); ``tag``/``tag_text`` scan a text once.

How a text is decided (docs/tagging.md has the long form):

1. **Strong cues** name a mission: its acronym, full names in any language, aliases,
   predecessor names, its hashtags and handles, and places or terms weighted 1.0 (Abyei,
   Blue Line). Places and terms count only while the mission was active (by the post's date).
2. **Weak cues** (a host country, a town, weighted below 1.0) need peacekeeping context in the
   same text ("UN peacekeepers", "the UN mission", "casques bleus") and are used only when no
   mission is named; a list of three or more host countries is a general piece.
3. **General topics** (A4P, Peacekeepers Day) give no mission; with one, a mission needs its
   handle or hashtag, or two kinds of cue, to be meant rather than mentioned in passing.
4. **Own source** (the collecting source's mission, the page's host, the author) is the
   default when the text names no mission; the text wins when it names another mission, a
   UN body or presence outside the list, or only a general topic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from aggregator.models import Mission, Post, SourceSpec, Tag
from aggregator.tag.dates import date_range, parse_date, url_date
from aggregator.tag.rules import (
    GAP,
    UN_TOKEN,
    Cue,
    GeneralRules,
    Index,
    build_index,
    gapped_match,
    general_rules_from,
    host_of,
    normalize,
    tokenize,
)

if TYPE_CHECKING:
    from aggregator.config import Config

__all__ = ["GAP", "Evidence", "GeneralRules", "Tagger", "url_date"]

CONTEXT_BONUS = 0.5
STRONG = 1.0
END_GRACE = timedelta(days=90)  # reports on a closing mission arrive after its last day
BOUND_WINDOW = 3  # "peacekeepers deployed in Liberia": force word this close to the place


@dataclass
class Evidence:
    """Everything the text says about one mission."""

    strong: list[Cue] = field(default_factory=list)
    weak: list[Cue] = field(default_factory=list)
    bound: str = ""  # the force word right beside one of its weak cues ("Haiti mission")


@dataclass
class Reading:
    """One scan of a text: cues per mission and what the text is about in general."""

    missions: dict[str, Evidence] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    lookalikes: list[str] = field(default_factory=list)
    lookalike_of: set[str] = field(default_factory=set)  # missions a look-alike resembles
    un: list[str] = field(default_factory=list)
    force: list[str] = field(default_factory=list)
    peacekeeping: list[str] = field(default_factory=list)

    @property
    def context(self) -> bool:
        return bool(self.peacekeeping) or bool(self.un and self.force)

    def context_words(self) -> str:
        if self.peacekeeping:
            return self.peacekeeping[0]
        if self.un and self.force:
            return f"{_un_label(self.un[0])} {self.force[0]}"
        return self.force[0] if self.force else ""

    def add(self, cue: Cue) -> None:
        if cue.kind == "lookalike":
            self.lookalikes.append(cue.label)
            if cue.mission is not None:
                self.lookalike_of.add(cue.mission)
            return
        if cue.mission is None:
            self._add_general(cue)
            return
        ev = self.missions.setdefault(cue.mission, Evidence())
        if cue.weight >= STRONG or cue.kind in ("name", "hashtag", "mention"):
            ev.strong.append(cue)
        else:
            ev.weak.append(cue)

    def _add_general(self, cue: Cue) -> None:
        if cue.kind == "topic":
            self.topics.append(cue.label)
        elif cue.kind == "elsewhere":
            self.elsewhere.append(cue.label)
        elif cue.kind == "un":
            self.un.append(cue.label)
        elif cue.kind == "force":
            self.force.append(cue.label)
        elif cue.kind == "peacekeeping":
            self.peacekeeping.append(cue.label)


class Tagger:
    """``Tagger(missions)``: compile once, then ``tag(post)`` or ``tag_text(text, ...)``."""

    def __init__(self, missions: Iterable[Mission], general: GeneralRules | None = None) -> None:
        self.missions = {m.acronym: m for m in missions}
        self.general = general or GeneralRules()
        self.index: Index = build_index(self.missions.values(), self.general)
        self._windows: dict[str, tuple[date | None, date | None]] = {
            code: (parse_date(w.start), parse_date(w.end)) for code, w in self.index.windows.items()
        }
        self._authors: dict[str, Tag | None] = {}  # a source's few authors, decided once

    @classmethod
    def from_config(cls, config: Config) -> Tagger:
        """The tagger every command uses: the configured missions and ``_general.yaml`` rules."""
        from aggregator.missions import read_general_rules

        return cls(config.missions.values(), general_rules_from(read_general_rules(config.missions_path)))

    # --- public API ----------------------------------------------------------------

    def tag(self, post: Post, source: SourceSpec | None = None) -> list[Tag]:
        text = "\n".join(part for part in (post.title, post.text) if part)
        if post.title and post.text and post.text.startswith(post.title):
            text = post.text
        return self.tag_text(
            text,
            author=post.author_handle or post.author,
            source_url=post.url or "",
            source_mission=source.mission if source is not None else None,
            published=post.published_at,
            hashtags=post.hashtags,
            mentions=post.mentions,
            links=post.links,
        )

    def tag_text(
        self,
        text: str,
        *,
        author: str = "",
        source_url: str | None = "",
        source_mission: str | None = None,
        published: datetime | None = None,
        hashtags: Sequence[str] = (),
        mentions: Sequence[str] = (),
        links: Sequence[str] = (),
    ) -> list[Tag]:
        norm = normalize(text)
        reading = self.read(norm, hashtags=hashtags, mentions=mentions)
        dated = any(c.kind in ("place", "term") for ev in reading.missions.values()
                    for c in (*ev.strong, *ev.weak))
        when = date_range(published, source_url or "", norm) if dated else None
        found = self._text_tags(reading, when)
        if found:
            return sorted(found.values(), key=lambda t: t.mission)
        if reading.topics or reading.elsewhere:
            return []  # the text is about a general topic or someone else: no default
        default = self._default(source_mission, source_url or "", author, links)
        return [default] if default is not None else []

    # --- reading -------------------------------------------------------------------

    def read(
        self, norm: str, *, hashtags: Sequence[str] = (), mentions: Sequence[str] = ()
    ) -> Reading:
        """Scan normalized text once; collect every cue."""
        idx = self.index
        tokens = tokenize(norm)
        reading = Reading()
        force_at: list[tuple[int, str]] = []
        weak_at: list[tuple[int, int, Cue]] = []
        seen_tags: set[str] = set()
        seen_mentions: set[str] = set()
        starts = idx.starts
        # Most tokens start no phrase: find the few that matter in one C-speed pass.
        if "#" in norm or "@" in norm:
            hits = [i for i, tok in enumerate(tokens) if tok in starts or tok[0] in "#@"]
        else:  # most texts carry no hashtag or mention: one set lookup per token
            hits = [i for i, tok in enumerate(tokens) if tok in starts]
        until = 0
        for i in hits:
            if i < until:
                continue  # inside a phrase already matched
            tok = tokens[i]
            first = tok[0]
            if first == "#":
                seen_tags.add(tok[1:])
                for cue in idx.hashtags.get(tok[1:], ()):
                    reading.add(_as_hashtag(cue))
                continue
            if first == "@":
                seen_mentions.add(tok[1:])
                for cue in self._mention_cues(tok[1:]):
                    reading.add(cue)
                continue
            until = i + 1
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            for phrase, cues in idx.phrases.get(tok, ()):
                k = len(phrase)
                # The second token rules out most candidates before a slice is built.
                if k == 1 or (phrase[1] == nxt and tuple(tokens[i : i + k]) == phrase):
                    for cue in cues:
                        reading.add(cue)
                        if cue.kind == "force":
                            force_at.append((i, cue.label))
                        elif cue.kind in ("place", "term") and cue.weight < STRONG:
                            weak_at.append((i, i + k, cue))
                    until = i + k
                    break
            for head, tail, cues in idx.gapped.get(tok, ()):
                if gapped_match(tokens, i, head, tail):
                    for cue in cues:
                        reading.add(cue)
        self._extra(reading, hashtags, mentions, seen_tags, seen_mentions)
        _bind(reading, force_at, weak_at)
        return reading

    def _mention_cues(self, handle: str) -> list[Cue]:
        """A listed handle, else a handle that is a mission's name ("@UNMIK")."""
        listed = self.index.mentions.get(handle)
        if listed:
            return listed
        return [Cue(c.mission, "mention", STRONG, f"@{handle}")
                for c in self.index.hashtags.get(handle.replace("_", ""), ()) if c.kind == "name"]

    def _extra(
        self, reading: Reading, hashtags: Sequence[str], mentions: Sequence[str],
        seen_tags: set[str], seen_mentions: set[str],
    ) -> None:
        """Hashtags and mentions the source gave apart from the text (X entities)."""
        for tag in hashtags:
            key = "".join(tokenize(normalize(tag.lstrip("#"))))
            if key and key not in seen_tags:
                for cue in self.index.hashtags.get(key, ()):
                    reading.add(_as_hashtag(cue))
        for handle in mentions:
            key = handle.lstrip("@").casefold()
            if key and key not in seen_mentions:
                for cue in self._mention_cues(key):
                    reading.add(cue)

    # --- deciding ------------------------------------------------------------------

    def _text_tags(self, reading: Reading, when: tuple[date, date] | None) -> dict[str, Tag]:
        found: dict[str, Tag] = {}
        for code, ev in reading.missions.items():
            usable = [c for c in ev.strong if (c.kind != "place" and c.kind != "term")
                      or self._active(code, when)]
            if not usable:
                continue
            if reading.topics and not _meant(usable, ev.weak):
                continue
            found[code] = _strong_tag(code, usable)
        weak = self._weak_tags(reading, when, named=bool(found))
        for code, tag in weak.items():
            found.setdefault(code, tag)
        return found

    def _weak_tags(
        self, reading: Reading, when: tuple[date, date] | None, *, named: bool
    ) -> dict[str, Tag]:
        if reading.topics:
            return {}
        out: dict[str, Tag] = {}
        for code, ev in reading.missions.items():
            if ev.strong or not ev.weak or not self._active(code, when):
                continue
            if not (reading.context or ev.bound in self.index.mission_words):
                continue  # "Israeli troops in the Golan" is no mission; "Haiti mission" is
            if reading.elsewhere and not ev.bound:
                continue  # "UNHCR says South Sudan's refugees...": another UN body's story
            if code in reading.lookalike_of and not (reading.un and reading.force):
                continue  # "AMIS troops in Darfur": the look-alike, not the mission
            if named and not ev.bound:
                continue  # a named mission's text mentions places of others in passing
            score = sum(_distinct_weights(ev.weak)) + CONTEXT_BONUS
            if score >= STRONG:
                out[code] = _weak_tag(code, ev.weak, reading)
        if len(out) >= 3 and not named:
            return {}  # "in CAR, DRC, Mali and South Sudan": a general piece
        return out

    def _active(self, code: str, when: tuple[date, date] | None) -> bool:
        if when is None:
            return True
        start, end = self._windows.get(code, (None, None))
        if start is not None and when[1] < start:
            return False
        return not (end is not None and when[0] > end + END_GRACE)

    def _default(
        self, source_mission: str | None, source_url: str, author: str, links: Sequence[str]
    ) -> Tag | None:
        if source_mission and source_mission.upper() in self.missions:
            return Tag(mission=source_mission.upper(), rule="own_source", matched="")
        host = host_of(source_url)
        owner = self._host_owner(host)
        if owner:
            return Tag(mission=owner, rule="host", matched=host)
        if author:
            named = self._author_owner(author)
            if named is not None:
                return named
        for link in links:
            h = host_of(link)
            owner = self._host_owner(h)
            if owner:
                return Tag(mission=owner, rule="host", matched=h)
        return None

    def _host_owner(self, host: str) -> str | None:
        while host:
            if host in self.index.hosts:
                return self.index.hosts[host]
            _, _, host = host.partition(".")
            if "." not in host:
                return None
        return None

    def _author_owner(self, author: str) -> Tag | None:
        """An author that is a mission ("UNMISS", "@unamidnews") makes it the default."""
        if author not in self._authors:
            if len(self._authors) > 10_000:
                self._authors.clear()
            self._authors[author] = self._read_author(author)
        return self._authors[author]

    def _read_author(self, author: str) -> Tag | None:
        handle = author.strip().lstrip("@").casefold()
        owners = {c.mission for c in self.index.mentions.get(handle, ()) if c.mission}
        if len(owners) == 1:
            return Tag(mission=owners.pop(), rule="own_source", matched=f"@{author.lstrip('@')}")
        reading = self.read(normalize(author))
        named = [(code, ev) for code, ev in reading.missions.items()
                 if any(c.kind in ("name", "mention", "hashtag") for c in ev.strong)]
        if len(named) != 1 or reading.elsewhere:
            return None
        code, ev = named[0]
        return Tag(mission=code, rule="own_source", matched=ev.strong[0].label)


# --- helpers ----------------------------------------------------------------------------


def _as_hashtag(cue: Cue) -> Cue:
    if cue.mission is None or (cue.kind in ("place", "term") and cue.weight < STRONG):
        return cue
    return Cue(cue.mission, "hashtag", max(cue.weight, STRONG), f"#{cue.label.lstrip('#')}")


def _bind(
    reading: Reading, force_at: list[tuple[int, str]], weak_at: list[tuple[int, int, Cue]]
) -> None:
    for start, end, cue in weak_at:
        for f, word in force_at:
            if start - BOUND_WINDOW <= f < start or f == end:
                assert cue.mission is not None
                reading.missions[cue.mission].bound = word
                break


def _meant(strong: list[Cue], weak: list[Cue]) -> bool:
    """Beside a general topic, is the mission meant rather than mentioned in passing?"""
    kinds = {c.kind for c in strong} | ({"place"} if weak else set())
    return bool(kinds & {"hashtag", "mention"}) or len(kinds) >= 2


def _strong_tag(code: str, cues: list[Cue]) -> Tag:
    order = ("mention", "hashtag", "name", "term", "place")
    best = min(cues, key=lambda c: order.index(c.kind) if c.kind in order else len(order))
    return Tag(mission=code, rule=best.kind, matched=best.label)


def _distinct_weights(cues: list[Cue]) -> list[float]:
    by_label: dict[str, float] = {}
    for c in cues:
        by_label[c.label] = max(by_label.get(c.label, 0.0), c.weight)
    return list(by_label.values())


def _weak_tag(code: str, cues: list[Cue], reading: Reading) -> Tag:
    best = max(cues, key=lambda c: c.weight)
    words = sorted({c.label for c in cues}, key=lambda w: -len(w))
    return Tag(mission=code, rule=best.kind,
               matched=f"{', '.join(words)} + {reading.context_words()}")


def _un_label(label: str) -> str:
    return "UN" if label == UN_TOKEN else label
