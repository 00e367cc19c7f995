"""`aggregator search --format ...` and `aggregator export`: what analysts take away."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from aggregator.cli import cli
from tests.test_search_support import ALL_IDS, search_project

__all__ = ["search_project"]


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_csv_export_round_trips_non_latin_text(search_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "unifil.csv"
    code, _, err = run(search_project, "export", "--mission", "UNIFIL", "--format", "csv", "--out", str(out))
    assert code == 0, err
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {"unifil-arabic", "unifil-naqoura"}
    assert by_id["unifil-arabic"]["text"] == "اليونيفيل تواصل دورياتها في جنوب لبنان مع الجيش اللبناني."
    assert by_id["unifil-arabic"]["language"] == "ar"
    assert by_id["unifil-arabic"]["source_url"] == "https://unifil.unmissions.org/rss.xml"
    assert by_id["unifil-naqoura"]["permalink"] == "http://127.0.0.1:8000/post/unifil-naqoura"


def test_export_readme_names_fields_query_time_and_sources(search_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "minusma.jsonl"
    code, _, err = run(search_project, "export", "--mission", "MINUSMA", "--to", "2023-12-31",
                       "--format", "jsonl", "--out", str(out))
    assert code == 0, err
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["minusma-gao", "minusma-tombouctou"]  # newest first
    readme = (tmp_path / "minusma.jsonl.README.md").read_text(encoding="utf-8")
    assert "mission:MINUSMA to:2023-12-31" in readme
    assert "`aggregator export --mission MINUSMA --to 2023-12-31 --format jsonl --out minusma.jsonl`" in readme
    assert "- Generated: 2" in readme
    assert "| feed:https://minusma.unmissions.org/rss.xml | MINUSMA news | https://minusma.unmissions.org/rss.xml | 2 |" in readme
    for field in records[0]:
        assert f"| {field} |" in readme


def test_export_keeps_hidden_and_tombstoned_posts_flagged(search_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "unmiss.csv"
    code, _, _ = run(search_project, "export", "--mission", "UNMISS", "--out", str(out))
    assert code == 0
    rows = {r["id"]: r for r in csv.DictReader(out.open(encoding="utf-8", newline=""))}
    assert rows["unmiss-hidden"]["hidden"] == "1"
    assert rows["unmiss-deleted"]["availability"] == "deleted"
    assert rows["unmiss-deleted"]["availability_note"] == "deleted by the author (X compliance)"


def test_ids_only_export(search_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "ids.csv"
    code, _, _ = run(search_project, "export", "--mission", "MONUSCO", "--ids-only", "--out", str(out))
    assert code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert list(rows[0]) == ["id", "kind", "external_id", "source_id", "sort_at"]
    assert {r["id"] for r in rows} == {"monusco-goma-rt", "monusco-bunia-reply"}
    assert "rehydrate" in (tmp_path / "ids.csv.README.md").read_text(encoding="utf-8")


def test_search_formats_put_data_on_stdout_and_messages_on_stderr(search_project: Path) -> None:
    code, out, err = run(search_project, "search", "abyei", "--format", "jsonl", "--sort", "newest")
    assert code == 0
    ids = [json.loads(line)["id"] for line in out.splitlines()]
    assert ids == ["unisfa-migration", "unisfa-reunion", "unmiss-abyei-x"]
    assert "3 posts" in err
    code, out, _ = run(search_project, "search", "abyei", "--format", "json")
    assert {r["id"] for r in json.loads(out)} == set(ids)
    code, out, _ = run(search_project, "search", "mission:UNISFA", "--format", "csv", "--limit", "0")
    assert {r["id"] for r in csv.DictReader(io.StringIO(out))} == set(ids)


def test_search_table_flags_hidden_and_deleted_posts(search_project: Path) -> None:
    code, out, _ = run(search_project, "search", "Bentiu", "--sort", "newest")
    assert code == 0
    assert "[HIDDEN (posted by mistake)]" in out
    assert "[DELETED AT SOURCE (deleted by the author (X compliance))]" in out
    code, out, _ = run(search_project, "search", "Bentiu", "--public")
    assert "unmiss-cholera" in out and "HIDDEN" not in out and "DELETED" not in out


def test_search_table_pages_with_a_cursor(search_project: Path) -> None:
    code, out, err = run(search_project, "search", "", "--limit", "10", "--sort", "newest")
    assert code == 0 and "more: --cursor " in err
    cursor = err.split("more: --cursor ")[1].split()[0]
    code, out2, err2 = run(search_project, "search", "", "--limit", "10", "--sort", "newest", "--cursor", cursor)
    assert code == 0 and "more:" not in err2
    first = {line.split()[0] for line in out.splitlines() if line.startswith("    ") and "http" in line}
    second = {line.split()[0] for line in out2.splitlines() if line.startswith("    ") and "http" in line}
    assert first | second == ALL_IDS and not first & second


def test_search_facets_flag(search_project: Path) -> None:
    code, _, err = run(search_project, "search", "abyei", "--facets")
    assert code == 0
    assert "3 posts match" in err and "mission: UNISFA 3, UNMISS 1" in err
    code, _, err = run(search_project, "search", "Naqoura", "--facets")
    assert code == 0 and err.startswith("1 post matches\n")
    # Issue 18: sources by name as on the search page, not by id...
    assert "source: UNIFIL news 1" in err and "feed:" not in err
    # ...and no empty facet lines when nothing matches.
    code, _, err = run(search_project, "search", "zzzzunknownword", "--facets")
    assert code == 0 and err.splitlines()[:2] == ["0 posts match", "no posts match"]


def test_bad_query_exits_2_with_the_position(search_project: Path) -> None:
    code, out, err = run(search_project, "search", 'cholera "Bentiu')
    assert code == 2
    assert out == ""
    assert err.strip() == 'error: unclosed quote: add a closing " at position 8'


def test_black_box_search_and_export(search_project: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("aggregator")
    env = {**os.environ, "AGGREGATOR_CONFIG": str(search_project)}
    done = subprocess.run([str(exe), "search", "réunion", "--format", "jsonl"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == ["unisfa-reunion"]
    bad = subprocess.run([str(exe), "search", "(abyei"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and "position 0" in bad.stderr
    out = tmp_path / "all.csv"
    done = subprocess.run([str(exe), "export", "--format", "csv", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(list(csv.DictReader(out.open(encoding="utf-8", newline="")))) == len(ALL_IDS)
