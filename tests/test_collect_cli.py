"""``aggregator collect`` and ``aggregator status``: in-process (CliRunner) and as a process."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator.cli import cli
from tests.conftest import ROOT
from tests.feeds_server import FeedServer, write_config
from tests.test_collect import GENERAL, UNMIK


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.fixture
def config(tmp_path: Path, server: FeedServer) -> Path:
    return write_config(tmp_path, [
        {"kind": "feed", "mission": "UNMIK", "url": server.add("/unmik.xml", body=UNMIK),
         "name": "UNMIK news"},
        {"kind": "feed", "url": server.add("/general.xml", body=GENERAL), "name": "General"},
        {"kind": "feed", "url": server.add("/broken.xml", status=500), "name": "Broken"},
    ])


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_collect_prints_a_summary_and_exits_0_even_when_a_source_fails(config: Path) -> None:
    code, out, err = run(config, "collect", "--no-render")
    assert code == 0
    assert "3 sources (1 error, 2 ok): 3 new posts" in out
    assert "failed: feed:" in err and "HTTP 500" in err


def test_collect_one_mission_or_one_source(config: Path, server: FeedServer) -> None:
    code, out, _ = run(config, "collect", "--mission", "unmik", "--no-render")
    assert code == 0 and out.startswith("1 source (1 ok): 2 new posts")
    code, out, _ = run(config, "collect", "--source", server.url("/general.xml"), "--no-render")
    assert code == 0 and out.startswith("1 source (1 ok): 1 new post,")
    assert server.hits("/broken.xml") == []


@pytest.mark.parametrize(
    ("args", "words"),
    [(["--mission", "UNMIX"], "unknown mission 'UNMIX'"),
     (["--source", "http://nowhere.example/feed"], "unknown source")],
)
def test_unknown_mission_or_source_is_a_usage_error(
    config: Path, args: list[str], words: str
) -> None:
    code, _out, err = run(config, "collect", *args)
    assert code == 2 and words in err


def test_status_shows_each_source_and_json_for_scripts(config: Path) -> None:
    code, out, _ = run(config, "status")
    assert code == 0 and "no sources collected yet" in out
    run(config, "collect", "--no-render")
    code, out, _ = run(config, "status")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["source", "mission", "state"]
    unmik = next(line for line in lines if line.startswith("UNMIK news"))
    assert " UNMIK " in unmik and unmik.split()[-1] == "2"  # posts stored, no error
    broken = next(line for line in lines if line.startswith("Broken"))
    assert "backing_off" in broken and "HTTP 500" in broken
    code, out, _ = run(config, "status", "--json")
    data = {row["name"]: row for row in json.loads(out)}
    assert code == 0 and data["Broken"]["consecutive_failures"] == 1
    assert data["General"]["posts_stored"] == 1 and data["General"]["last_success_at"]


def test_the_installed_command_collects_and_reports(config: Path) -> None:
    exe = ROOT / ".venv" / "bin" / "aggregator"
    if not exe.exists():
        pytest.skip(f"{exe} is not installed")
    env = {**os.environ, "AGGREGATOR_CONFIG": str(config)}
    done = subprocess.run([str(exe), "collect", "--no-render"], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "3 new posts" in done.stdout and "progress" not in done.stdout
    status = subprocess.run([str(exe), "status", "--json"], capture_output=True, text=True,
                            env=env, timeout=60, check=False)
    assert status.returncode == 0
    assert sorted(r["state"] for r in json.loads(status.stdout))[0] == "backing_off"


def test_collect_re_renders_the_missions_that_changed(config: Path, tmp_path: Path) -> None:
    code, out, _ = run(config, "collect", "--mission", "UNMIK")
    assert code == 0 and "files rendered" in out
    page = tmp_path / "output" / "missions" / "unmik" / "index.html"
    assert "UNMIK meets community leaders in Pristina" in page.read_text(encoding="utf-8")


def test_a_feed_answering_429_is_rate_limited_not_failed(tmp_path: Path) -> None:
    """#14: the run says "1 rate limited", status shows no failure and the source waits."""
    from datetime import UTC, datetime

    with FeedServer() as server:
        url = server.add("/busy.xml", status=429, headers={"Retry-After": "7200"})
        config = write_config(tmp_path, [{"kind": "feed", "mission": "UNISFA", "url": url}])
        runner = CliRunner()
        result = runner.invoke(cli, ["--config", str(config), "collect", "--no-render"])
        assert result.exit_code == 0, result.output
        assert "1 rate limited" in result.output and "failed" not in result.output
        again = runner.invoke(cli, ["--config", str(config), "collect", "--due", "--no-render"])
        assert len(server.hits("/busy.xml")) == 1, again.output  # not asked again before Retry-After
    status = json.loads(runner.invoke(cli, ["--config", str(config), "status", "--json"]).output)
    row = next(r for r in status if r["url"] == url)
    assert row["state"] == "rate_limited" and row["consecutive_failures"] == 0
    due = datetime.fromisoformat(row["due_at"].replace("Z", "+00:00"))
    assert (due - datetime.now(UTC)).total_seconds() > 7000
