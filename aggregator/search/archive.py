"""Archive exports: one record shape for CSV, JSON Lines and downloads, with provenance.

Pure formatting: rows come from the store (``Store.iter_search``); this module turns them
into records, writes them to any text stream one at a time (constant memory), and writes
the sidecar README that says what each field means, which query produced the file, when,
and where every record came from. :func:`datasette_metadata` describes the archive for
plain ``datasette`` from the schema's ``DESCRIPTIONS``.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, TextIO

from aggregator import __version__
from aggregator.models import iso

FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "the archive's stable id of the post (same post, same id, on every collection)"),
    ("permalink", "the post's page in the archive (`aggregator serve`: /post/<id>)"),
    ("url", "the post at its source, as the source gave it"),
    ("published_at", "when the source says it was published (UTC, ISO-8601); empty if it gave no date"),
    ("collected_at", "when the collector stored this version (UTC)"),
    ("sort_at", "published_at, or collected_at when the source gave no date"),
    ("missions", "missions the post concerns, space-separated (rules plus editors' decisions)"),
    ("source_id", "where the record was collected: feed:<url> or x:<handle>"),
    ("source_name", "the source's name in feeds/<mission>.yaml"),
    ("source_url", "the feed URL or X account the collector read"),
    ("kind", "feed or x"),
    ("author", "author name as the source gave it"),
    ("author_handle", "X handle of the author, without @"),
    ("language", "language code the source declared, if any"),
    ("title", "title (feeds) or empty (X)"),
    ("text", "the post as plain text"),
    ("is_retweet", "1 for a repost of someone else's post"),
    ("is_reply", "1 for a reply"),
    ("media_count", "images or videos attached"),
    ("links", "outbound links, expanded, space-separated"),
    ("availability", "available, or deleted/protected/withheld/suspended at the source (tombstone)"),
    ("availability_note", "what the collector learned when the post became unavailable"),
    ("hidden", "1 when an editor hid the post from public pages"),
    ("version", "how many different versions of the post were collected"),
    ("content_hash", "hash of the collected content, to check a copy"),
)
ID_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "the archive's stable id of the post"),
    ("kind", "feed or x"),
    ("external_id", "the id at the source: the X status id, or the feed entry's guid/link"),
    ("source_id", "where the record was collected: feed:<url> or x:<handle>"),
    ("sort_at", "published_at, or collected_at when the source gave no date (UTC)"),
)


def _count(value: Any) -> int:
    if not value or value == "[]":
        return 0
    try:
        return len(json.loads(value)) if isinstance(value, str) else len(value or [])
    except ValueError:
        return 0


def _join(value: Any) -> str:
    if not value or value == "[]":
        return ""
    try:
        items = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return ""
    return " ".join(str(i) for i in items or [])


def record(
    row: Mapping[str, Any], *, base_url: str, sources: Mapping[str, tuple[str, str]]
) -> dict[str, Any]:
    """A store row -> the exported record (field order as :data:`FIELDS`)."""
    name, url = sources.get(row["source_id"], ("", ""))
    return {
        "id": row["id"],
        "permalink": f"{base_url.rstrip('/')}/post/{row['id']}",
        "url": row.get("url") or "",
        "published_at": row.get("published_at") or "",
        "collected_at": row.get("collected_at") or "",
        "sort_at": row.get("sort_at") or "",
        "missions": row.get("missions") or "",
        "source_id": row["source_id"],
        "source_name": name,
        "source_url": url,
        "kind": row.get("kind") or "",
        "author": row.get("author") or "",
        "author_handle": row.get("author_handle") or "",
        "language": row.get("language") or "",
        "title": row.get("title") or "",
        "text": row.get("text") or "",
        "is_retweet": int(row.get("is_retweet") or 0),
        "is_reply": int(row.get("is_reply") or 0),
        "media_count": _count(row.get("media")),
        "links": _join(row.get("links")),
        "availability": row.get("availability") or "available",
        "availability_note": row.get("availability_note") or "",
        "hidden": int(row.get("hidden") or 0),
        "version": int(row.get("version") or 1),
        "content_hash": row.get("content_hash") or "",
    }


def id_record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row.get(name) or "" for name, _ in ID_FIELDS}


class Tally:
    """Counts records per source while they stream past (memory: one entry per source)."""

    def __init__(self) -> None:
        self.sources: Counter[str] = Counter()
        self.first: str | None = None
        self.last: str | None = None
        self.total = 0

    def watch(self, records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for rec in records:
            self.total += 1
            self.sources[rec["source_id"]] += 1
            at = rec.get("sort_at") or None
            if at:
                self.first = min(self.first or at, at)
                self.last = max(self.last or at, at)
            yield rec


def lines(records: Iterable[dict[str, Any]], fmt: str, fields: Iterable[str]) -> Iterator[str]:
    """Serialize ``records`` as csv, jsonl or json (an array), one piece of text at a time."""
    names = list(fields)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(names)
        for rec in records:
            writer.writerow([rec.get(k) for k in names])
            if buf.tell() > 65536:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
    elif fmt == "jsonl":
        for rec in records:
            yield json.dumps({k: rec.get(k) for k in names}, ensure_ascii=False) + "\n"
    else:
        sep = "["
        for rec in records:
            yield sep + "\n" + json.dumps({k: rec.get(k) for k in names}, ensure_ascii=False)
            sep = ","
        yield "]\n" if sep == "[" else "\n]\n"


def write_records(
    records: Iterable[dict[str, Any]], out: TextIO, fmt: str, fields: Iterable[str]
) -> int:
    """Write ``records`` to ``out`` (constant memory); return how many were written."""
    counted = _Counted(records)
    for text in lines(counted, fmt, fields):
        out.write(text)
    return counted.n


class _Counted:
    def __init__(self, records: Iterable[dict[str, Any]]) -> None:
        self.records = records
        self.n = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for rec in self.records:
            self.n += 1
            yield rec


def readme(
    *, query: str, command: str, fmt: str, data_file: str, generated: datetime, database: str,
    tally: Tally, sources: Mapping[str, tuple[str, str]], ids_only: bool,
) -> str:
    """The sidecar README: fields, query, time and the source of every record."""
    fields = ID_FIELDS if ids_only else FIELDS
    lines = [
        f"# {data_file}", "",
        f"Exported from the peacekeeping mission archive by aggregator {__version__}.", "",
        f"- Generated: {iso(generated)}",
        f"- Command: `{command}`",
        f"- Query: `{query}`",
        f"- Archive: {database}",
        f"- Format: {fmt} (UTF-8{', RFC 4180, header row' if fmt == 'csv' else ', one JSON object per line'})",
        f"- Records: {tally.total}" + (f", dated {tally.first} to {tally.last}" if tally.first else ""),
        "- Order: newest first; posts hidden by editors and tombstoned posts are included and flagged",
        "", "## Fields", "", "| field | meaning |", "| --- | --- |",
        *(f"| {name} | {meaning} |" for name, meaning in fields),
        "", "## Provenance: where the records came from", "",
        "Each record's `source_id` names the feed or X account it was collected from; `url` is",
        "the post at its source and `collected_at` the time it was read.", "",
        "| source_id | name | address | records |", "| --- | --- | --- | --- |",
    ]
    for sid, count in sorted(tally.sources.items(), key=lambda kv: (-kv[1], kv[0])):
        name, url = sources.get(sid, ("", ""))
        lines.append(f"| {sid} | {name} | {url} | {count} |")
    if ids_only:
        lines += ["", "Only identifiers are exported: X's terms let researchers share post ids, which",
                  "others re-read (\"rehydrate\") through the X API, rather than the posts themselves."]
    lines += ["", "Texts are as the sources published them; the archive keeps posts that were later",
              "deleted at the source, marked in `availability` (see docs/archive.md).", ""]
    return "\n".join(lines)


def datasette_metadata(
    descriptions: Mapping[str, tuple[str, Mapping[str, str]]], *, title: str, database: str
) -> dict[str, Any]:
    """Datasette ``metadata.json`` for the archive: descriptions, search, facets, queries."""
    tables: dict[str, Any] = {}
    for table, (desc, columns) in descriptions.items():
        tables[table] = {"description": desc, "columns": dict(columns)} if columns else {"description": desc}
    tables.setdefault("posts", {}).update(
        {"fts_table": "posts_fts", "fts_pk": "rowid", "sort_desc": "sort_at",
         "facets": ["source_id", "language", "kind", "availability"],
         "label_column": "title"}
    )
    tables.setdefault("post_tags", {}).update({"facets": ["mission", "rule"]})
    mission_search = """SELECT p.id, p.sort_at, t.mission, p.author, p.title,
  snippet(posts_fts, 1, '<b>', '</b>', '…', 24) AS snippet, p.url, p.availability
FROM posts_fts JOIN posts p ON p.rowid = posts_fts.rowid
JOIN post_tags t ON t.post_id = p.id
WHERE posts_fts MATCH :words AND t.mission = upper(:mission)
  AND p.sort_at >= :from_date AND p.sort_at < :to_date
ORDER BY rank LIMIT 200"""
    mission_posts = """SELECT p.id, p.sort_at, p.author, p.title, p.text, p.url, p.availability
FROM post_tags t JOIN posts p ON p.id = t.post_id
WHERE t.mission = upper(:mission) ORDER BY t.sort_at DESC LIMIT 500"""
    return {
        "title": title,
        "description": "Posts published by UN peacekeeping missions, tagged by mission. "
        "Open read-only: datasette --immutable <archive>.db --metadata metadata.json",
        "databases": {
            database: {
                "tables": tables,
                "queries": {
                    "mission_search": {
                        "title": "Search one mission's posts between two dates",
                        "description": "words: FTS5 syntax; dates: YYYY-MM-DD",
                        "sql": mission_search,
                    },
                    "mission_posts": {
                        "title": "Newest posts of one mission",
                        "sql": mission_posts,
                    },
                },
            }
        },
    }
