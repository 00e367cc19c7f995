"""Storing posts: idempotent upserts, versions, and which copy of a post wins."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from aggregator.models import Post, SourceSpec, Tag
from aggregator.store import Store

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "a.db")
    store.sync_sources(
        [
            SourceSpec(id="x:unisfa_1", kind="x", name="@UNISFA_1", mission="UNISFA", handle="UNISFA_1"),
            SourceSpec(id="feed:http://bridge/unisfa", kind="feed", name="bridge", mission="UNISFA", url="http://bridge/unisfa"),
        ]
    )
    return store


def _post(kind: str, text: str) -> Post:
    return Post(
        id="x-123", source_id="x:unisfa_1" if kind == "x" else "feed:http://bridge/unisfa",
        kind=kind, external_id="123", url="https://x.com/UNISFA_1/status/123", author="UNISFA",
        author_handle="UNISFA_1", title="", text=text, html=f"<p>{text}</p>",
        published_at=NOW, collected_at=NOW, content_hash=f"h-{kind}-{text}",
    )


def test_saving_the_same_posts_twice_adds_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    batch = [(_post("x", "Patrol in Abyei"), [Tag("UNISFA", "own_source", "")])]
    assert store.save_posts(batch)[:2] == (1, 0)
    assert store.save_posts(batch) == (0, 0, set())
    assert store.count_posts() == 1


def test_a_changed_post_is_updated_and_its_earlier_version_kept(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.save_posts([(_post("x", "Patrol in Abyei"), [Tag("UNISFA", "own_source", "")])])
    added, updated, _ = store.save_posts([(_post("x", "Patrol in Abyei town"), [])])
    assert (added, updated) == (0, 1)
    row = store.post("x-123")
    assert row is not None and row["text"] == "Patrol in Abyei town" and row["version"] == 2
    versions = store.db.execute("SELECT COUNT(*) FROM post_versions WHERE post_id = 'x-123'")
    assert versions.fetchone()[0] == 2
    assert store.tags_of("x-123") == []


def test_every_raw_version_is_kept_once_and_readable_in_post_history(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for n, text in enumerate(["first", "second", "third"]):
        post = replace(_post("x", text), raw=f'{{"n": {n}}}')
        store.save_posts([(post, [Tag("UNISFA", "own_source", "")])])
    history = store.db.execute(
        "SELECT version, raw, is_current FROM post_history WHERE post_id = 'x-123' ORDER BY version"
    ).fetchall()
    assert history == [(1, '{"n": 0}', 0), (2, '{"n": 1}', 0), (3, '{"n": 2}', 1)]
    stored = store.db.execute(
        "SELECT version, raw FROM post_versions WHERE post_id = 'x-123' ORDER BY version"
    ).fetchall()
    assert stored == [(1, '{"n": 0}'), (2, '{"n": 1}'), (3, None)], "the current raw is posts.raw"
    assert store.db.execute("SELECT raw FROM posts WHERE id = 'x-123'").fetchone()[0] == '{"n": 2}'


def test_a_bridge_copy_never_replaces_the_api_copy(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.save_posts([(_post("x", "Full text from the API"), [Tag("UNISFA", "own_source", "")])])
    assert store.save_posts([(_post("feed", "Cut text from a bridge…"), [])]) == (0, 0, set())
    row = store.post("x-123")
    assert row is not None and row["kind"] == "x" and row["text"] == "Full text from the API"


def test_a_post_twice_in_one_batch_is_stored_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = _post("x", "one")
    second = replace(first, text="two", content_hash="h2")
    added, updated, changed = store.save_posts(
        [(first, [Tag("UNISFA", "own_source", "")]), (second, [Tag("UNISFA", "own_source", "")])]
    )
    assert (added, updated, changed) == (1, 0, {"UNISFA"})
    row = store.post("x-123")
    assert row is not None and row["text"] == "two"
