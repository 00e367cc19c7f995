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
