"""OPML 2.0 in and out, as Miniflux, FreshRSS, Feedly and reader write it.

Export: one category outline per mission (its acronym as text, the English name as title),
then "General" for the sources that belong to none; a feed is ``type="rss"`` with ``xmlUrl``;
an X handle, which no feed reader subscribes to, is a ``type="link"`` outline to its profile
(``url="https://x.com/HANDLE"``) so the list stays valid OPML and the handle survives.

Import reads with listparser (kurtmckee's parser for OPML, RDF/FOAF and iGoogle lists, the
same author as feedparser): nested outlines and the ``category`` attribute both become
categories. A category naming a mission (acronym or full name) picks it; without one (or
with several) the outline is unknown, listed for the operator, never guessed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

import listparser

from aggregator.errors import UsageError
from aggregator.models import Mission, SourceSpec

GENERAL = "General"
_X_PROFILE = re.compile(r"^https?://(?:www\.|mobile\.)?(?:x|twitter)\.com/@?([A-Za-z0-9_]{1,15})/?$")


def export_opml(missions: Mapping[str, Mission], general: Iterable[SourceSpec], now: datetime,
                title: str = "UN peacekeeping missions' sources") -> bytes:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = ET.SubElement(root, "body")
    groups = [(a, missions[a].name, missions[a].sources) for a in sorted(missions)]
    groups.append((GENERAL, "Sources of no one mission", tuple(general)))
    for text, name, specs in groups:
        if not specs:
            continue
        group = ET.SubElement(body, "outline", text=text, title=name)
        for s in specs:
            if s.kind == "x":
                ET.SubElement(group, "outline", type="link", text=s.name, title=s.name,
                              url=f"https://x.com/{s.handle}")
            else:
                attrs = {"type": "rss", "text": s.name, "title": s.name, "xmlUrl": str(s.url)}
                if s.language:
                    attrs["language"] = s.language
                ET.SubElement(group, "outline", attrs)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n").encode("utf-8")


@dataclass
class Imported:
    """An OPML file's outlines, sorted: where each goes, and those we could not place."""

    entries: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)  # (mission, entry)
    unknown: list[tuple[str, str]] = field(default_factory=list)  # (address, why)


def read_opml(data: bytes, missions: Mapping[str, Mission], mission: str | None,
              source: str) -> Imported:
    """The feeds (and X profile links) of an OPML document, placed in missions.

    ``mission``: put every outline there (``--mission``); else each outline's category
    decides. ``source`` names the file in messages and in each entry's ``evidence_note``.
    """
    try:  # listparser reads a cut-off file up to the cut without a word: check it is whole
        ET.fromstring(data)
    except ET.ParseError as exc:
        raise UsageError(f"{source}: not well-formed XML ({exc}); nothing written",
                         hint="export the subscriptions again from the feed reader as OPML") from None
    parsed = listparser.parse(data)
    if parsed.bozo or not parsed.version:
        raise UsageError(f"{source}: not an OPML file ({parsed.get('bozo_exception') or 'no <opml> root'});"
                         " nothing written",
                         hint="export the subscriptions again from the feed reader as OPML")
    names = _mission_names(missions)
    out = Imported()
    for item in [*parsed.feeds, *parsed.lists]:
        url = str(item.get("url") or "").strip()
        title = str(item.get("title") or "").strip()
        handle = _X_PROFILE.match(url)
        entry: dict[str, Any]
        if handle:
            entry = {"kind": "x", "handle": handle.group(1)}
            if title and title.lstrip("@") != handle.group(1):
                entry["name"] = title
        elif url.startswith(("http://", "https://")):
            entry = {"kind": "feed", "url": url, "name": title or url}
        else:
            out.unknown.append((url or title or "(empty outline)", "not an http(s) feed address"))
            continue
        entry.update({"evidence": "unverified", "evidence_note": f"imported from {source}"})
        if mission is not None:
            out.entries.append((None if mission == GENERAL else mission, entry))
            continue
        picked = {names[c.casefold()] for path in item.get("categories") or [] for c in path
                  if c.casefold() in names}
        if len(picked) == 1:
            chosen = picked.pop()
            out.entries.append((None if chosen == GENERAL else chosen, entry))
        else:
            why = ("its categories name several missions: " + ", ".join(sorted(picked)) if picked
                   else "no category names a mission; use --mission")
            out.unknown.append((url, why))
    return out


def _mission_names(missions: Mapping[str, Mission]) -> dict[str, str]:
    names = {GENERAL.casefold(): GENERAL, "_general": GENERAL}
    for acronym, m in missions.items():
        names[acronym.casefold()] = acronym
        for full in m.names.values():
            names[full.casefold()] = acronym
    return names
