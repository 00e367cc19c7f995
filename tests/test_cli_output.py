"""Issue 18: scripts read every command's result as JSON (``--json``), and long commands
draw a progress bar on a terminal while printing exactly what they did before elsewhere."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from aggregator.cli import cli
from tests.conftest import ROOT
from tests.digest_support import SECRET, Inbox, make_project, smtp_server
from tests.feeds_server import FeedServer, write_config
from tests.test_collect import UNMIK
from tests.test_search_support import search_project

__all__ = ["search_project"]


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args],
                                env={"AGGREGATOR_SECRET": SECRET})
    return result.exit_code, result.stdout, result.stderr


def test_settings_json_is_the_values_in_force(search_project: Path) -> None:
    code, out, err = run(search_project, "settings", "--json")
    assert code == 0, err
    values = json.loads(out)
    assert values["base_url"] == "http://127.0.0.1:8000/"
    assert "http.connect_timeout" in values or "http_connect_timeout" in values
    assert len(values) == len(run(search_project, "settings")[1].splitlines())


def test_subscribers_list_json(tmp_path: Path) -> None:
    cfg = make_project(tmp_path)
    run(cfg, "subscribers", "add", "--list", "kosovo", "ana@example.org", "bo@example.org")
    run(cfg, "subscribers", "remove", "--list", "kosovo", "ana@example.org")
    code, out, _ = run(cfg, "subscribers", "list", "--list", "kosovo", "--json")
    assert code == 0 and [r["email"] for r in json.loads(out)] == ["bo@example.org"]
    code, out, _ = run(cfg, "subscribers", "list", "--list", "kosovo", "--all", "--json")
    rows = {r["email"]: r for r in json.loads(out)}
    assert rows["ana@example.org"]["status"] == "unsubscribed"
    assert rows["ana@example.org"]["unsubscribed_via"] == "cli"
    assert rows["bo@example.org"]["status"] == "active" and rows["bo@example.org"]["added_at"]


def test_retag_dry_run_json_writes_nothing(search_project: Path, tmp_path: Path) -> None:
    db = search_project.parent / "archive.db"
    before = db.read_bytes() if db.exists() else b""
    code, out, err = run(search_project, "retag", "--dry-run", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["dry_run"] is True and report["posts"] == 16
    assert report["rendered"] == []
    for counts in report["missions"].values():
        assert set(counts) == {"gained", "lost", "examples"}
    if db.exists():
        assert db.read_bytes() == before


def test_x_estimate_json(search_project: Path) -> None:
    code, out, err = run(search_project, "x", "estimate", "--posts-per-day", "4", "--json")
    assert code == 0, err
    est = json.loads(out)
    assert est["posts_per_day"] == 4 and est["accounts_api"] >= 1
    assert est["usd_month"] >= 0 and est["budget_usd"] > 0
    code, text, _ = run(search_project, "x", "estimate", "--posts-per-day", "4")
    assert f"{est['accounts_api']} X accounts through the API" in text


def _on_a_terminal(config: Path, *args: str) -> tuple[int, str, str]:
    """Run the console script with stderr on a pseudo-terminal; stdout stays a pipe."""
    leader, follower = pty.openpty()
    env = {**os.environ, "AGGREGATOR_SECRET": SECRET, "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from aggregator.cli import main; main()", "--config", str(config), *args],
        stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL, env=env,
    )
    os.close(follower)
    screen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    out = proc.stdout.read() if proc.stdout else b""
    code = proc.wait(60)
    os.close(leader)
    return code, out.decode(), screen.decode(errors="replace")


def test_long_commands_draw_a_bar_on_a_terminal_only(search_project: Path, tmp_path: Path) -> None:
    code, _, screen = _on_a_terminal(search_project, "retag", "--dry-run")
    assert code == 0 and "retag" in screen and "16/16" in screen
    code, out, screen = _on_a_terminal(search_project, "export", "--format", "jsonl")
    assert code == 0 and "export" in screen and len(out.splitlines()) == 16
    code, _, screen = _on_a_terminal(search_project, "backup", str(tmp_path / "copy.db"))
    assert code == 0 and "backup" in screen
    # Not on a terminal (CliRunner, cron, a pipe): no bar, the same output as ever.
    code, _, err = run(search_project, "retag", "--dry-run")
    assert code == 0 and "16/16" not in err


def test_check_json_lists_every_problem_or_the_counts(tmp_path: Path) -> None:
    code, out, _ = run(ROOT / "config.yaml", "check", "--json")
    assert code == 0
    verdict = json.loads(out)
    assert verdict["ok"] is True and verdict["missions"] == 18 and verdict["problems"] == []
    broken = tmp_path / "config.yaml"
    broken.write_text("offline: maybe\nmissions_dir: nowhere\n", encoding="utf-8")
    code, out, _ = run(broken, "check", "--json")
    assert code == 3
    verdict = json.loads(out)
    assert verdict["ok"] is False and len(verdict["problems"]) >= 2
    assert {"file", "key", "message", "hint"} <= set(verdict["problems"][0])


def test_health_json_keeps_the_exit_code(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"missions_dir: {ROOT / 'feeds'}\n", encoding="utf-8")
    code, out, _ = run(config, "health", "--json")
    assert code == 4
    verdict = json.loads(out)
    assert verdict["healthy"] is False and verdict["reason"].startswith("no archive at")


def test_collect_json_summary(tmp_path: Path) -> None:
    with FeedServer() as server:
        config = write_config(tmp_path, [
            {"kind": "feed", "mission": "UNMIK", "url": server.add("/unmik.xml", body=UNMIK),
             "name": "UNMIK news"},
            {"kind": "feed", "url": server.add("/broken.xml", status=500), "name": "Broken"},
        ])
        code, out, err = run(config, "collect", "--no-render", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["sources"] == 2 and summary["failed"] == 1 and summary["posts_added"] >= 1
    outcomes = {r["source_id"].split("/")[-1]: r for r in summary["reports"]}
    assert outcomes["broken.xml"]["outcome"] == "error" and "HTTP 500" in outcomes["broken.xml"]["error"]
    assert outcomes["unmik.xml"]["outcome"] == "ok"


def test_editors_list_json(search_project: Path) -> None:
    code, out, err = run(search_project, "editors", "list", "--json")
    assert code == 0, err
    names = {e["name"]: e for e in json.loads(out)}
    assert all(e["state"] in ("active", "removed") for e in names.values())


def test_digest_send_json_reports_the_outcome(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port, now=datetime.now(UTC).replace(microsecond=0))
        run(cfg, "subscribers", "add", "--list", "kosovo", "ana@example.org", "bo@example.org")
        code, out, err = run(cfg, "digest", "send", "--list", "kosovo", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "complete" and result["sent"] == 2 and result["failed"] == []
    assert len(inbox.messages) == 2 and result["posts"] == 6
