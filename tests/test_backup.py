"""`aggregator backup`: a consistent, checked copy of a live archive, and a restore."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from aggregator.app import make_app
from aggregator.cli import cli
from aggregator.config import load_config
from aggregator.search import parse
from tests.test_search_support import ALL_IDS, NOW, P, build, to_post, write_project


def test_backup_copies_everything_and_restores_searchable(tmp_path: Path) -> None:
    config = write_project(tmp_path / "live")
    build(config)
    target = tmp_path / "backups" / "archive.db"
    result = CliRunner().invoke(cli, ["--config", str(config), "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert f"{len(ALL_IDS)} posts" in result.output and "integrity ok" in result.output
    # Restore = copy the file into place; search, tombstones and editors' flags come back.
    restored = tmp_path / "restored"
    rconfig = write_project(restored)
    (restored / "data").mkdir()
    (restored / "data" / "archive.db").write_bytes(target.read_bytes())
    with make_app(load_config(rconfig), readonly=True) as app:
        rows = app.store.search(parse("Bentiu"), include_hidden=True).rows
        assert {r["id"] for r in rows} == {"unmiss-cholera", "unmiss-hidden", "unmiss-deleted"}
        flags = {r["id"]: (r["hidden"], r["availability"]) for r in rows}
        assert flags["unmiss-hidden"] == (1, "available")
        assert flags["unmiss-deleted"] == (0, "deleted")


def test_backup_refuses_to_overwrite(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    build(config)
    target = tmp_path / "copy.db"
    target.write_text("precious")
    result = CliRunner().invoke(cli, ["--config", str(config), "backup", str(target)])
    assert result.exit_code == 2
    assert "already exists" in result.output
    assert target.read_text() == "precious"


def test_backup_while_a_writer_is_adding_posts_is_consistent(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    build(config)
    stop = threading.Event()

    def writer() -> None:
        with make_app(load_config(config), clock=lambda: NOW, env={}) as app:
            i = 0
            while not stop.is_set() and i < 400:
                post = to_post(P(f"live-{i}", "UNMISS", f"Live post {i}", "Bentiu update", "2024-09-01"))
                app.store.save_posts([(post, [])])
                i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        copies = []
        for n in range(3):
            target = tmp_path / f"copy{n}.db"
            with make_app(load_config(config), readonly=True) as app:
                copies.append(app.store.backup_to(target))
    finally:
        stop.set()
        thread.join()
    for n, counts in enumerate(copies):
        conn = sqlite3.connect(tmp_path / f"copy{n}.db")
        posts = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        indexed = conn.execute(
            "SELECT COUNT(*) FROM posts_fts WHERE posts_fts MATCH 'bentiu'"
        ).fetchone()[0]
        live = conn.execute("SELECT COUNT(*) FROM posts WHERE id LIKE 'live-%'").fetchone()[0]
        conn.close()
        assert posts == counts["posts"] >= len(ALL_IDS)
        assert indexed == 3 + live  # every copied post is in the copied index, no more


class _NotModified:
    """A fetcher for whichever sources the run gives it: every one answers 304."""

    def __init__(self) -> None:
        self.fetched: list[str] = []

    def fetch_many(self, jobs: Any) -> Iterator[Any]:
        from aggregator.models import FetchResult

        for spec, _row in jobs:
            self.fetched.append(spec.id)
            yield spec, FetchResult(spec.id, "not_modified", http_status=304)


def test_a_backup_restored_on_another_machine_collects_at_once(tmp_path: Path) -> None:
    from datetime import timedelta

    from aggregator.collect import collect

    config = write_project(tmp_path / "live")
    build(config)
    with make_app(load_config(config), clock=lambda: NOW, env={}) as app:
        ids = list(app.store.source_states())
        owner = "live-host:4242:0123abcd"  # a collection in progress on the live machine
        assert set(app.store.acquire_leases(ids, owner, NOW, NOW + timedelta(hours=2))) == set(ids)
        app.store.start_run(NOW, "collect", owner)
        target = tmp_path / "archive-copy.db"
        app.store.backup_to(target)
    restored = tmp_path / "restored"
    rconfig = write_project(restored)
    (restored / "data").mkdir()
    (restored / "data" / "archive.db").write_bytes(target.read_bytes())
    fetcher = _NotModified()
    with make_app(load_config(rconfig), clock=lambda: NOW + timedelta(minutes=1), env={}) as app:
        result = collect(app, fetchers={"feed": fetcher, "x": fetcher})
        runs = app.store.db.execute(
            "SELECT owner, finished_at IS NOT NULL, interrupted_at IS NOT NULL FROM runs"
            " ORDER BY id").fetchall()
    assert sorted(fetcher.fetched) == sorted(ids), "no source waits for the live machine's lease"
    assert [r.outcome for r in result.reports if r.outcome == "skipped"] == []
    assert runs[0] == (owner, 1, 1), "the run in progress at the copy is closed, interrupted"
