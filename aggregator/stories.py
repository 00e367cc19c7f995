"""One card per story: posts that carry the same article are shown once, with their sources.

The same story often reaches a mission three ways: the mission's website feed, its X account
(a post whose expanded link is the article) and UN News. :func:`group_stories` joins post
rows that share a canonical URL: scheme, ``www.``, default ports, fragments, a trailing slash
and tracking parameters (``utm_*``, ``fbclid``, ...) do not count. Pure: rows in, stories out,
in the order of the rows given (pinned first, newest first, as the store returns them).

Links that say nothing about a story are never used to join: a site's home page (no path)
and links to X itself (quoted posts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

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


def _lead(rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """Pinned first; else the article (a non-X post) over posts that link to it, and of
    several copies of the article the first published (the original, not a re-post)."""
    for row in rows:
        if row.get("pinned"):
            return row
    articles = [r for r in rows if r.get("kind") != "x"]
    if articles:
        return min(articles, key=lambda r: str(r.get("published_at") or r.get("sort_at") or "~"))
    return rows[0]


def group_stories(
    rows: Iterable[Mapping[str, Any]], *, source_names: Mapping[str, str] | None = None
) -> list[Story]:
    """Group post rows into stories, in the order of each story's first row."""
    rows = list(rows)
    parent = list(range(len(rows)))
    owner: dict[str, int] = {}
    for i, row in enumerate(rows):
        for key in sorted(_keys(row)):
            if key in owner:
                a, b = _find(parent, owner[key]), _find(parent, i)
                parent[max(a, b)] = min(a, b)
            else:
                owner[key] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(rows)):
        groups.setdefault(_find(parent, i), []).append(i)
    names = source_names or {}
    stories = []
    for members in sorted(groups.values(), key=lambda m: m[0]):
        group = [rows[i] for i in members]
        lead = _lead(group)
        ordered = [lead, *[r for r in group if r is not lead]]
        keys = sorted(set().union(*(_keys(r) for r in group)))
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
    rows: Iterable[Mapping[str, Any]], *, source_names: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """One row per story (its lead), with ``story_sources`` listing every source that
    carried it and ``story_post_ids`` every post: what pages and the widget render."""
    out = []
    for story in group_stories(rows, source_names=source_names):
        row = dict(story.lead)
        row["story_sources"] = story.sources
        row["story_post_ids"] = tuple(str(r.get("id")) for r in story.rows)
        if story.pinned:
            row["pinned"] = 1
        out.append(row)
    return out
