"""The archive documents itself: every table has a description for Datasette and the docs."""

from __future__ import annotations

from pathlib import Path

from aggregator.store import Store
from aggregator.store.schema import DESCRIPTIONS


def test_every_table_has_a_description(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    tables = {
        r[0] for r in store.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' ESCAPE '\\'"
            " AND name NOT LIKE 'posts_fts_%'"
        ).fetchall()
    }
    missing = sorted(tables - set(DESCRIPTIONS))
    assert not missing, f"tables without a description in store/schema.py: {missing}"


def test_descriptions_do_not_depend_on_which_process_migrated(tmp_path: Path) -> None:
    import subprocess
    import sys

    Store(tmp_path / "a.db").close()  # migrated here; a fresh process only opens it
    code = (
        "import sys; from aggregator.store import Store; from aggregator.store.schema import "
        "DESCRIPTIONS; Store(sys.argv[1]); print(len(DESCRIPTIONS))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.db")],
                         capture_output=True, text=True, check=True)
    assert int(out.stdout) == len(DESCRIPTIONS)


def test_an_archive_from_before_0032_keeps_every_raw_version_once(tmp_path: Path) -> None:
    """Archives made before 0032 stored the current raw entry twice; migrating drops the
    copy in post_versions and loses no version."""
    import sqlite3

    from sqlite_utils import Database, Migrations

    from aggregator.store.schema import MIGRATIONS

    older = Migrations(MIGRATIONS.name)
    older._migrations = [m for m in MIGRATIONS._migrations if m.name < "0032"]
    path = tmp_path / "old.db"
    db = Database(sqlite3.connect(path))
    older.apply(db)
    db.execute("INSERT INTO sources (id, kind, name) VALUES ('s', 'feed', 'S')")
    db.execute(
        "INSERT INTO posts (id, source_id, kind, external_id, author, title, text, html,"
        " collected_at, sort_at, raw, version, content_hash) VALUES ('p', 's', 'feed', 'e', '', 't', 'x', '',"
        " '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z', '{\"v\": 2}', 2, 'h')"
    )
    for version in (1, 2):
        db.execute(
            "INSERT INTO post_versions VALUES ('p', ?, '2026-01-0' || ? || 'T00:00:00Z', 'h', ?)",
            [version, version, f'{{"v": {version}}}'],
        )
    db.conn.commit()
    db.conn.close()

    store = Store(path)
    assert store.db.execute("SELECT version, raw FROM post_versions ORDER BY version").fetchall() == [
        (1, '{"v": 1}'), (2, None)
    ]
    assert store.db.execute("SELECT version, raw FROM post_history ORDER BY version").fetchall() == [
        (1, '{"v": 1}'), (2, '{"v": 2}')
    ]
    triggers = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert "x_availability_on_version" in triggers
