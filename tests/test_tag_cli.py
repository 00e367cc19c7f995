"""`aggregator tag --jsonl` and `aggregator tag-eval`, in-process and as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner

from aggregator.cli import cli

ROOT = Path(__file__).resolve().parent.parent
CONFIG = str(ROOT / "config.yaml")

LINES: list[dict[str, object]] = [
    {"id": "a", "text": "UNMISS peacekeepers in Bentiu", "author": "", "source_url": ""},
    {"id": "b", "text": "Floods in Bentiu", "author": "WFP", "source_url": "", "extra": 1},
    {"id": "c", "text": "Minustah troops", "published": "2010-01-12T00:00:00Z"},
]


def _jsonl(items: Sequence[object]) -> str:
    return "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)


def test_tag_reads_stdin_and_writes_one_json_line_per_input() -> None:
    result = CliRunner().invoke(cli, ["--config", CONFIG, "tag", "--jsonl", "-"], input=_jsonl(LINES))
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b", "c"]
    assert out[0]["missions"] == ["UNMISS"] and out[0]["reasons"] == ["UNMISS: names UNMISS"]
    assert out[1] == {"id": "b", "missions": [], "reasons": []}
    assert out[2]["missions"] == ["MINUSTAH"]
    assert "tagged 3 items with 18 missions" in result.stderr


def test_tag_rejects_a_line_that_is_not_json() -> None:
    result = CliRunner().invoke(cli, ["--config", CONFIG, "tag", "--jsonl", "-"], input="{nope\n")
    assert result.exit_code == 2
    assert "line 1" in result.stderr


def test_tag_eval_prints_scores_table_misses_and_false_alarms(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(_jsonl([
        {"id": "1", "text": "UNIFIL patrol near the Blue Line", "missions": ["UNIFIL"]},
        {"id": "2", "text": "A quiet day in Nicosia", "missions": ["UNFICYP"]},
        {"id": "3", "text": "UNMIK statement", "missions": []},
    ]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", CONFIG, "tag-eval", str(labelled)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "micro precision 0.500  recall 0.500  F1 0.500" in out
    assert "false alarms on items with no mission: 1" in out
    assert "2 UNFICYP: not tagged: found Nicosia, but weak cues without peacekeeping context" in out
    assert "3 UNMIK: tagged because names UNMIK" in out
    assert any(line.startswith("UNIFIL ") for line in out.splitlines())


def test_tag_eval_needs_the_truth(tmp_path: Path) -> None:
    unlabelled = tmp_path / "x.jsonl"
    unlabelled.write_text(_jsonl([{"id": "1", "text": "UNMISS"}]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", CONFIG, "tag-eval", str(unlabelled)])
    assert result.exit_code == 2
    assert "missions" in result.stderr


def test_tag_as_a_subprocess_keeps_stdout_for_json() -> None:
    exe = Path(sys.executable).with_name("aggregator")
    proc = subprocess.run([str(exe), "--config", CONFIG, "tag", "--jsonl", "-"],
                          input=_jsonl(LINES), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["id"] for line in proc.stdout.splitlines()] == ["a", "b", "c"]
    assert "tagged 3" in proc.stderr and "tagged" not in proc.stdout
