"""The archive stays openable by plain Datasette and sqlite3, with descriptions and queries."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.config import load_config
from aggregator.search.archive import datasette_metadata
from aggregator.store.schema import DESCRIPTIONS
from tests.test_search_support import search_project

__all__ = ["search_project"]


def _db(config: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{load_config(config).database_path}?mode=ro", uri=True)


def test_metadata_describes_real_tables_and_columns(search_project: Path) -> None:
    meta = datasette_metadata(DESCRIPTIONS, title="t", database="archive")
    tables = meta["databases"]["archive"]["tables"]
    conn = _db(search_project)
    existing = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    described = set(tables)
    assert {"posts", "post_tags", "sources", "moderation", "posts_fts"} <= described
    assert described <= existing, f"described but absent: {described - existing}"
    for table, spec in tables.items():
        assert spec["description"]
        columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        assert set(spec.get("columns", {})) <= columns, table
        assert set(spec.get("facets", [])) <= columns, table
    assert tables["posts"]["fts_table"] == "posts_fts"


def test_canned_queries_run_on_the_archive(search_project: Path) -> None:
    queries = datasette_metadata(DESCRIPTIONS, title="t", database="archive")["databases"]["archive"]["queries"]
    conn = _db(search_project)
    params = {"words": "abyei", "mission": "unisfa", "from_date": "2024-03-01", "to_date": "2024-06-01"}
    sql = queries["mission_search"]["sql"]
    rows = conn.execute(sql, {k: params[k] for k in re.findall(r":(\w+)", sql)}).fetchall()
    assert {r[0] for r in rows} == {"unmiss-abyei-x", "unisfa-reunion"}
    rows = conn.execute(queries["mission_posts"]["sql"], {"mission": "minusma"}).fetchall()
    assert [r[0] for r in rows] == ["minusma-gao", "minusma-tombouctou"]


def test_datasette_metadata_command(search_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "metadata.json"
    result = CliRunner().invoke(cli, ["--config", str(search_project), "datasette-metadata", "--out", str(out)])
    assert result.exit_code == 0, result.output
    meta = json.loads(out.read_text(encoding="utf-8"))
    assert "archive" in meta["databases"]  # named after the archive file, as Datasette does
