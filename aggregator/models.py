"""The types that flow through the pipeline, named after its stages.

    SourceSpec --fetch--> FetchResult(RawItem...) --normalize--> Post --tag--> Tag... --store-->

All are frozen dataclasses: stages hand values on, they never mutate what they receive.
Times are timezone-aware ``datetime`` in UTC; the store formats them as ISO-8601 strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

SourceKind = Literal["feed", "x"]
MissionStatus = Literal["active", "closed"]
# How strongly the evidence ties a source to its mission (issue 13), strongest first: a public
# page seen showing it, several independent feed lists naming it, one list, or nothing (a site
# pattern or memory). ``verified`` means the strongest.
EVIDENCE_LEVELS = ("page_seen", "several_lists", "one_list", "unverified")
Evidence = Literal["page_seen", "several_lists", "one_list", "unverified"]


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC datetime (naive input is taken to be UTC)."""
    if dt.tzinfo is UTC:
        return dt
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def iso(dt: datetime | None) -> str | None:
    """Format an aware datetime the one way the archive stores times: ``2024-03-01T12:00:00Z``."""
    if dt is None:
        return None
    dt = utc(dt)
    if dt.year >= 1000:  # isoformat is ~3x faster than strftime and gives the same text
        return dt.isoformat(timespec="seconds")[:19] + "Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")  # the platform's own rendering of years < 1000


# What ``json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str)`` uses, made
# once rather than for every entry (the same text, a microsecond less each).
_RAW_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)
_RAW_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, sort_keys=True, default=str)
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # no pair: json.loads leaves only lone ones
# Characters XML 1.0 forbids: C0 controls but tab, LF and CR; surrogates; U+FFFE, U+FFFF.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def raw_json(entry: Mapping[str, Any]) -> str:
    """A source's raw entry as the JSON text the archive keeps beside the post.

    Made once, where the entry is normalized (a parse worker), so the writer only copies a
    string and the entry crosses the process boundary as one string, not as nested dicts.
    A lone surrogate (an X text cut inside an emoji carries half of a surrogate pair) cannot
    be stored as UTF-8; such an entry is written with JSON's backslash-u escapes instead,
    still exactly itself.
    """
    text = _RAW_ENCODER.encode(entry)
    if not text.isascii() and LONE_SURROGATE.search(text):
        return _RAW_ASCII_ENCODER.encode(entry)
    return text


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its ``user:password@`` part, and that (user, password) when present."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    if "@" not in parts.netloc:
        return url, None
    host = parts.netloc.rsplit("@", 1)[1]
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    public = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return public, (user, password) if user or password else None


def counted(count: int, noun: str) -> str:
    """"1 post", "1,204 posts": a count as people read it in messages and logs."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def parse_iso(text: str | None) -> datetime | None:
    """Inverse of :func:`iso` (also accepts ``+00:00`` offsets and fractions)."""
    if not text:
        return None
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


# --- missions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A personnel figure with its date and where it comes from."""

    label: str  # "military", "police", "authorised military", ...
    value: str  # kept as text: sources say "about 16,316" or "more than 10,000"
    as_of: str
    source_url: str
    verified: bool = True
    note: str = ""


@dataclass(frozen=True)
class Profile:
    """What a mission page says about the mission, in the project's own words."""

    summary: str = ""
    mandate: str = ""
    background: str = ""
    why_it_matters: str = ""
    headquarters: str = ""
    head: str = ""
    head_as_of: str = ""
    figures: tuple[Figure, ...] = ()
    events: tuple[tuple[str, str, str], ...] = ()  # (date, what happened, source URL)
    sources: tuple[str, ...] = ()  # URLs the facts above were taken from
    # The texts above in other languages: {"fr": {"summary": ..., "mandate": ...}}
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def text(self, key: str, lang: str) -> tuple[str, str]:
        """(text, its language): the translation into ``lang`` when written, else English."""
        translated = self.translations.get(lang, {}).get(key, "")
        return (translated, lang) if translated else (str(getattr(self, key)), "en")


@dataclass(frozen=True)
class TagRules:
    """A mission's tagging rules, kept as data in ``feeds/<acronym>.yaml``.

    ``names`` hold the acronym, full names in every known language, aliases and
    predecessor names (all map to this mission). ``places`` and ``terms`` map a
    word to a weight: 1.0 decides alone, less needs support from another cue.
    """

    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    places: Mapping[str, float] = field(default_factory=dict)
    terms: Mapping[str, float] = field(default_factory=dict)
    hosts: tuple[str, ...] = ()
    lookalikes: tuple[str, ...] = ()
    former_names: tuple[str, ...] = ()  # predecessors' full names (MONUC's), tagged as this mission
    active_from: str | None = None  # ISO date; posts before it cannot be this mission by place alone
    active_to: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    """One place we collect from: a feed URL or an X account, owned by a mission or general."""

    id: str  # "feed:<url>" or "x:<handle lower-case>"
    kind: SourceKind
    name: str
    mission: str | None  # acronym of the owning mission; None for general sources
    url: str | None = None  # feed URL (for X through a bridge: the bridge URL)
    handle: str | None = None  # X handle without "@"
    interval_minutes: int | None = None  # None: the configured default
    verified: bool = False
    language: str | None = None
    via_bridge: bool = False  # an X handle read through an RSS bridge
    evidence: Evidence = "unverified"  # why we believe it is this mission's (EVIDENCE_LEVELS)
    evidence_note: str = ""  # where that evidence is (a page's URL, which lists)
    covers: tuple[str, ...] = ()  # a general source: the missions whose news it can bring
    disabled: bool = False  # kept in the file, never collected (``sources disable``)
    last_probed: str | None = None  # ISO date of the last successful ``sources probe --write``
    # (user, password) taken out of a feed URL's ``user:pass@``; ``url`` and ``id`` never
    # carry them, so nothing published or stored shows them (#16 item 6).
    credentials: tuple[str, str] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Mission:
    acronym: str  # canonical upper-case
    names: Mapping[str, str]  # language code -> full name ("en", "fr", "ar", ...)
    status: MissionStatus
    established: int
    closed: int | None
    country: str
    profile: Profile
    rules: TagRules
    sources: tuple[SourceSpec, ...] = ()
    predecessors: tuple[str, ...] = ()
    website: str | None = None
    sources_reason: str = ""  # why it has few or no sources of its own (a closed mission)
    # Channels that are known but not collected (a Telegram channel, a radio with no feed):
    # each {"what", "url", "evidence_note"}.
    not_collected: tuple[Mapping[str, str], ...] = ()

    @property
    def slug(self) -> str:
        return self.acronym.lower()

    @property
    def name(self) -> str:
        return self.names.get("en") or self.acronym


# --- collection -----------------------------------------------------------------------


@dataclass(frozen=True)
class RawItem:
    """One entry as a source gave it: a feedparser entry or an X post with its includes."""

    source_id: str
    kind: SourceKind
    data: Mapping[str, Any]
    feed_title: str | None = None
    feed_link: str | None = None
    # The feed's declared language (RSS <language>, Atom xml:lang), else the one the source's
    # mission file gives: what a post falls back on when its entry declares none (#18).
    feed_language: str | None = None


@dataclass(frozen=True)
class Availability:
    """What X said about a post, or about an account and so every post of it (#14).

    ``target`` is a post id (``x:<status id>``) or, with ``account=True``, the X source's id.
    ``state`` is ``available`` (X returned it: an earlier flag clears), ``withheld``,
    ``protected``, ``suspended`` or ``deleted``.
    """

    target: str
    state: str
    note: str = ""
    account: bool = False


@dataclass(frozen=True)
class FetchResult:
    """What one fetch of one source produced.

    ``status``: ``ok`` (new body parsed), ``not_modified`` (HTTP 304),
    ``unchanged`` (same body as last time, not re-parsed).
    State fields (etag, cursor, ...) are what the source's state should become
    once ``items`` are committed, never before.
    """

    source_id: str
    status: Literal["ok", "not_modified", "unchanged"]
    items: tuple[RawItem, ...] = ()
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    permanent_url: str | None = None
    cursor: str | None = None  # X since_id once these items are stored
    retry_after: datetime | None = None
    max_age_seconds: int | None = None
    warnings: tuple[str, ...] = ()
    units_read: Mapping[str, int] = field(default_factory=dict)  # X billing: posts, users
    extra_state: Mapping[str, Any] = field(default_factory=dict)  # e.g. X user id, handle
    # What X said about posts and the account (flags set or cleared with the posts, #14).
    availability: tuple[Availability, ...] = ()
    fetch_s: float = 0.0  # seconds the fetch took (the run log's duration includes them)
    # What the caller's ``after_parse`` made of the items in the parse worker (collect:
    # normalized, tagged posts). When set, ``items`` is empty: the posts carry each entry.
    prepared: Any = None


# --- posts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Media:
    url: str
    kind: str = "image"  # image, video, animated_gif, enclosure
    alt: str = ""
    width: int | None = None
    height: int | None = None
    local_path: str | None = None  # relative to output/, once a copy is stored
    preview_url: str | None = None


@dataclass(frozen=True)
class Post:
    """A normalized post: what every renderer, the tagger and the store read."""

    id: str  # stable: same entry, same id, on every collection
    source_id: str
    kind: SourceKind
    external_id: str  # guid, link, content hash, or the X status id
    url: str | None
    author: str
    author_handle: str | None
    title: str
    text: str  # plain text, for tagging, search and email
    html: str  # sanitized HTML
    published_at: datetime | None
    collected_at: datetime
    updated_at: datetime | None = None
    language: str | None = None  # BCP 47; "und" when there is nothing to tell it from
    language_origin: str | None = None  # entry, feed or detected (#18)
    language_confidence: float | None = None  # the detector's probability, when detected
    media: tuple[Media, ...] = ()
    links: tuple[str, ...] = ()  # expanded outbound URLs
    hashtags: tuple[str, ...] = ()  # without "#"
    mentions: tuple[str, ...] = ()  # without "@"
    is_retweet: bool = False
    is_reply: bool = False
    is_quote: bool = False
    content_hash: str = ""
    raw: str = "{}"  # the source's entry as JSON text (see ``raw_json``), stored as it is
    canonical_url: str | None = None  # for one-card-per-story grouping
    aliases: tuple[str, ...] = ()  # other ids of the same post (an X post's other versions)

    @property
    def sort_time(self) -> datetime:
        return self.published_at or self.collected_at


@dataclass(frozen=True)
class Tag:
    """One mission a post concerns, with the rule and the words that decided it."""

    mission: str
    rule: str  # own_source, hashtag, mention, name, place, term, host, editor
    matched: str
    decided_by: Literal["rule", "editor"] = "rule"

    @property
    def reason(self) -> str:
        if self.decided_by == "editor":
            return f"an editor's decision{': ' + self.matched if self.matched else ''}"
        labels = {
            "own_source": "from the mission's own source",
            "hashtag": "hashtag",
            "mention": "mentions",
            "name": "names",
            "place": "place",
            "term": "term",
            "host": "link to the mission's site",
        }
        label = labels.get(self.rule, self.rule)
        return f"{label} {self.matched}".strip() if self.rule != "own_source" else label


@dataclass(frozen=True)
class SourceReport:
    """The outcome of one source in one run, for logs, `status` and the run log."""

    source_id: str
    outcome: Literal["ok", "not_modified", "unchanged", "error", "rate_limited", "skipped"]
    posts_added: int = 0
    posts_updated: int = 0
    duration_s: float = 0.0
    error: str | None = None
    error_kind: str | None = None
    next_due: datetime | None = None
    missions_changed: frozenset[str] = frozenset()
    warnings: tuple[str, ...] = ()  # what a successful fetch noted (shown by collect and status)
