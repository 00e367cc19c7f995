"""One card per story: posts that carry the same story are shown once, with their sources.

The same story often reaches a mission three ways: the mission's website feed, its X account
and UN News. :func:`group_stories` joins post rows

- that share a canonical URL: scheme, ``www.``, default ports, fragments, a trailing slash
  and tracking parameters (``utm_*``, ``fbclid``, ...) do not count (#8);
- or whose texts tell the same story (:mod:`aggregator.stories.text`), when they were
  published within :data:`WINDOW` of each other and share a mission (#19).

Pure: rows in, stories out, in the order of the rows given (pinned first, newest first, as
the store returns them). Links that say nothing about a story are never used to join: a
site's home page (no path) and links to X itself (quoted posts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from aggregator.models import parse_iso
from aggregator.stories.text import Fingerprint, fingerprint, fold, same_story

WINDOW = timedelta(days=3)  # reports of one event: the same day, UN News a day or two later
Prints = MutableMapping[tuple[str, str, str, frozenset[str]], Fingerprint]

TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "mtm_", "hsa_", "_hs")
TRACKING_KEYS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "twclid",
        "ocid", "cmpid", "s_cid", "ref_src", "ref_url", "_ga", "_gl", "spm", "at_medium",
        "at_campaign", "oly_anon_id", "oly_enc_id", "vero_id", "rss", "feature",
    }
)
NOT_A_STORY_HOSTS = frozenset({"x.com", "twitter.com", "mobile.twitter.com", "t.co"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str | None) -> str | None:
    """A scheme-less key for ``url``: ``host[:port]/path[?sorted query]``, or None.

    ``https://www.Example.org/a/?utm_source=x&b=2#top`` -> ``example.org/a?b=2``.
    """
    if not isinstance(url, str) or not url.strip():
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if host.startswith("www."):
        host = host[4:]
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_KEYS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    tail = f"?{urlencode(sorted(query))}" if query else ""
    return f"{host}{path}{tail}"


def _story_key(url: str | None) -> str | None:
    """The canonical URL when it can name a story (not a home page, not X itself)."""
    key = canonical_url(url)
    if key is None:
        return None
    host, _, rest = key.partition("/")
    if not rest or host.split(":")[0] in NOT_A_STORY_HOSTS:
        return None
    return key


@dataclass(frozen=True)
class StorySource:
    """One post of a story: where it came from and where to read it."""

    post_id: str
    source_id: str
    kind: str
    name: str
    url: str | None


@dataclass(frozen=True)
class Story:
    """Posts carrying the same story; ``lead`` is the row the card shows."""

    key: str | None
    lead: Mapping[str, Any]
    rows: tuple[Mapping[str, Any], ...]
    sources: tuple[StorySource, ...]

    @property
    def pinned(self) -> bool:
        return any(bool(r.get("pinned")) for r in self.rows)


def _keys(row: Mapping[str, Any]) -> set[str]:
    own = {_story_key(row.get("canonical_url")), _story_key(row.get("url"))}
    if row.get("kind") == "x":
        links = row.get("links") or ()
        own |= {_story_key(link) for link in links if isinstance(link, str)}
    return {k for k in own if k}


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _when(row: Mapping[str, Any]) -> str:
    return str(row.get("published_at") or row.get("sort_at") or "~")


def _own(row: Mapping[str, Any]) -> bool:
    """Is the post the mission's own (its site or its account, by the tagging rule)?"""
    if row.get("tag_rule") == "own_source":
        return True
    return any(getattr(t, "rule", None) == "own_source" for t in row.get("tags") or ())


def _lead(rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """Pinned first; else the mission's own post over others' (UN News), an article (a
    non-X post) over posts about it, and of several copies the first published (the
    original, not a re-post)."""
    for row in rows:
        if row.get("pinned"):
            return row
    return min(rows, key=lambda r: (not _own(r), r.get("kind") == "x", _when(r)))


def _union(parent: list[int], i: int, j: int) -> None:
    a, b = _find(parent, i), _find(parent, j)
    parent[max(a, b)] = min(a, b)


def _missions(row: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(str(getattr(t, "mission", "")) for t in row.get("tags") or ()) - {""}


@dataclass(frozen=True)
class _Reading:
    index: int
    at: datetime
    missions: frozenset[str]
    print: Fingerprint


def _readings(rows: Sequence[Mapping[str, Any]], prints: Prints) -> list[_Reading]:
    """Rows with a time and enough text to compare, oldest first. ``prints`` keeps each
    post's fingerprint for the next call (a render groups a mission's rows four times)."""
    out = []
    for i, row in enumerate(rows):
        at = parse_iso(row.get("published_at")) or parse_iso(row.get("sort_at"))
        if at is None or not (row.get("text") or row.get("title")):
            continue
        missions = _missions(row)
        ignore = frozenset(fold(m) for m in missions)
        key = (str(row.get("id")), str(row.get("title") or ""), str(row.get("text") or ""), ignore)
        found = prints.get(key)
        if found is None:
            found = prints[key] = fingerprint(row, ignore=ignore)
        out.append(_Reading(i, at, missions, found))
    out.sort(key=lambda r: r.at)
    return out


def _join_by_text(
    rows: Sequence[Mapping[str, Any]], parent: list[int], window: timedelta, prints: Prints
) -> None:
    """Union rows whose texts tell the same story, published within ``window`` of each other
    and sharing a mission (a row without tags is compared with every row, as on a page)."""
    by_mission: dict[str, list[_Reading]] = {}
    untagged: list[_Reading] = []
    for reading in _readings(rows, prints):
        for mission in reading.missions:
            by_mission.setdefault(mission, []).append(reading)
        if not reading.missions:
            untagged.append(reading)
    groups = [sorted([*r, *untagged], key=lambda x: x.at) for r in by_mission.values()] or [untagged]
    for readings in groups:
        start = 0
        for k, b in enumerate(readings):
            while b.at - readings[start].at > window:
                start += 1
            for a in readings[start:k]:
                if not (a.print.names & b.print.names or a.print.pairs & b.print.pairs):
                    continue  # nothing in common: the cheap test that skips most pairs
                if _find(parent, a.index) != _find(parent, b.index) and same_story(a.print, b.print):
                    _union(parent, a.index, b.index)


def group_stories(
    rows: Iterable[Mapping[str, Any]],
    *,
    source_names: Mapping[str, str] | None = None,
    window: timedelta = WINDOW,
    prints: Prints | None = None,
) -> list[Story]:
    """Group post rows into stories, in the order of each story's first row. ``prints``:
    fingerprints kept between calls over the same posts (see :func:`_readings`)."""
    rows = list(rows)
    parent = list(range(len(rows)))
    owner: dict[str, int] = {}
    row_keys = [_keys(row) for row in rows]
    for i, own_keys in enumerate(row_keys):
        for key in sorted(own_keys):
            if key in owner:
                _union(parent, owner[key], i)
            else:
                owner[key] = i
    _join_by_text(rows, parent, window, {} if prints is None else prints)
    groups: dict[int, list[int]] = {}
    for i in range(len(rows)):
        groups.setdefault(_find(parent, i), []).append(i)
    names = source_names or {}
    stories = []
    for members in sorted(groups.values(), key=lambda m: m[0]):
        group = [rows[i] for i in members]
        lead = _lead(group)
        ordered = [lead, *[r for r in group if r is not lead]]
        keys = sorted(set().union(*(row_keys[i] for i in members)))
        stories.append(
            Story(
                key=_story_key(lead.get("canonical_url") or lead.get("url")) or (keys[0] if keys else None),
                lead=lead,
                rows=tuple(ordered),
                sources=_sources(ordered, names),
            )
        )
    return stories


def _sources(rows: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> tuple[StorySource, ...]:
    seen: set[str] = set()
    out = []
    for row in rows:
        source_id = str(row.get("source_id") or "")
        if source_id in seen:
            continue
        seen.add(source_id)
        out.append(
            StorySource(
                post_id=str(row.get("id")),
                source_id=source_id,
                kind=str(row.get("kind") or "feed"),
                name=names.get(source_id) or str(row.get("author") or source_id),
                url=row.get("url") if isinstance(row.get("url"), str) else None,
            )
        )
    return tuple(out)


def collapse(
    rows: Iterable[Mapping[str, Any]],
    *,
    source_names: Mapping[str, str] | None = None,
    prints: Prints | None = None,
) -> list[dict[str, Any]]:
    """One row per story (its lead), with ``story_sources`` listing every source that
    carried it and ``story_post_ids`` every post: what pages, the widget and feeds render."""
    out = []
    for story in group_stories(rows, source_names=source_names, prints=prints):
        row = dict(story.lead)
        row["story_sources"] = story.sources
        row["story_post_ids"] = tuple(str(r.get("id")) for r in story.rows)
        if story.pinned:
            row["pinned"] = 1
        out.append(row)
    return out
