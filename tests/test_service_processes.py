"""The real `aggregator` executable as separate processes: one writer, collect beside run."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_crash_harness import RollingFeed
from tests.test_service_support import write_project

ROOT = Path(__file__).resolve().parent.parent
AGGREGATOR = ROOT / ".venv" / "bin" / "aggregator"
NAMES = ("a", "b", "c", "d", "e", "f")


def _until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _ticked(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute(
                "SELECT 1 FROM service_state WHERE key = 'last_tick'"
            ).fetchone() is not None
    except sqlite3.OperationalError:
        return False


def _run(config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(AGGREGATOR), "--config", str(config), "run", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_two_services_on_one_database_exactly_one_runs(tmp_path: Path) -> None:
    with RollingFeed(NAMES[:2], every=1000) as feed:
        config = write_project(tmp_path, feed_urls={"UNMIK": [feed.url(n) for n in NAMES[:2]]},
                               extra_settings="log_format: text\n")
        first = _run(config, "--tick-seconds", "0.2")
        try:
            _until(lambda: _ticked(tmp_path / "data" / "test.db"))
            second = subprocess.run(
                [str(AGGREGATOR), "--config", str(config), "run", "--tick-seconds", "0.2"],
                capture_output=True, text=True, timeout=30,
            )
            assert second.returncode == 5
            assert f"pid {first.pid}" in second.stderr and "already writing" in second.stderr
            assert first.poll() is None, "the first service keeps running"
        finally:
            first.send_signal(signal.SIGINT)  # Ctrl-C
            _, err = first.communicate(timeout=30)
        assert first.returncode == 0, err
        assert "service stopped" in err


def test_collect_beside_run_never_fetches_a_source_twice_in_one_due_window(
    tmp_path: Path,
) -> None:
    with RollingFeed(NAMES, every=1000) as feed:
        config = write_project(tmp_path, feed_urls={"UNMIK": [feed.url(n) for n in NAMES]},
                               extra_settings="default_interval_minutes: 30\nlog_format: json\n")
        service = _run(config, "--tick-seconds", "0.05")
        crons = [
            subprocess.Popen([str(AGGREGATOR), "--config", str(config), "collect", "--due"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        try:
            for cron in crons:
                _, err = cron.communicate(timeout=60)
                assert cron.returncode == 0, err
            _until(lambda: all(feed.requests[n] >= 1 for n in NAMES))
            time.sleep(0.5)  # several more ticks: nothing is due for 30 minutes
        finally:
            service.send_signal(signal.SIGTERM)
            service.communicate(timeout=30)
        assert service.returncode == 0
        assert feed.requests == {n: 1 for n in NAMES}, feed.requests


def test_the_systemd_unit_example_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (the unit is checked where it is)")
    unit = (ROOT / "deploy" / "aggregator.service").read_text(encoding="utf-8")
    assert "ExecStart=/srv/aggregator/.venv/bin/aggregator run" in unit
    local = tmp_path / "aggregator.service"  # the example's paths, pointed at this checkout
    local.write_text(unit.replace("/srv/aggregator", str(ROOT)), encoding="utf-8")
    out = subprocess.run([analyze, "verify", str(local)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "aggregator.service" not in out.stderr, out.stderr


def _processes_with(mark: str) -> list[str]:
    """Every live process whose environment carries ``mark`` (its command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if mark.encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile, or not ours
        if state != "Z":
            found.append(f"{entry.name}: {command[:120]}")
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("command", [["collect"], ["run", "--tick-seconds", "0.05"]])
def test_kill_9_leaves_no_parse_worker_forkserver_or_resource_tracker(
    tmp_path: Path, command: list[str]
) -> None:
    import os
    import sys
    import uuid

    from tests.test_crash import HARNESS

    mark = f"AGGREGATOR_TEST_PROCESS={uuid.uuid4().hex}"
    marker = tmp_path / "marker.txt"
    with RollingFeed(NAMES, every=1000) as feed:  # six never-fetched feeds: the pool parses
        config = write_project(tmp_path, feed_urls={"UNMIK": [feed.url(n) for n in NAMES]},
                               extra_settings="parse_workers: 2\nlog_format: json\n")
        env = {**os.environ, mark.split("=")[0]: mark.split("=")[1],
               "CRASH_HARNESS_MARKER": str(marker), "CRASH_HARNESS_PAUSE": "2"}
        proc = subprocess.Popen([sys.executable, str(HARNESS), "--config", str(config), *command],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            _until(lambda: marker.exists() and "tx" in marker.read_text())  # posts parsed
            assert len(_processes_with(mark)) >= 3, "the collector, its forkserver, workers"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _processes_with(mark) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = _processes_with(mark)
        for line in left:  # never leave them on the machine, even when the test fails
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        assert left == [], "left behind 5 s after kill -9"


def test_health_says_unhealthy_within_a_second_of_a_kill_9(tmp_path: Path) -> None:
    from datetime import timedelta

    from aggregator.app import make_app
    from aggregator.config import load_config
    from aggregator.service.health import health as health_of

    with RollingFeed(NAMES[:2], every=1000) as feed:
        config = write_project(tmp_path, feed_urls={"UNMIK": [feed.url(n) for n in NAMES[:2]]},
                               extra_settings="log_format: json\n")
        service = _run(config, "--tick-seconds", "0.2")
        health = [str(AGGREGATOR), "--config", str(config), "health"]
        try:
            _until(lambda: _ticked(tmp_path / "data" / "test.db"))
            alive = subprocess.run(health, capture_output=True, text=True, timeout=30)
            assert alive.returncode == 0 and alive.stdout.startswith("ok:"), alive.stdout
        finally:
            service.send_signal(signal.SIGKILL)
        # not reaped yet: a zombie still answers kill(pid, 0)
        started = time.monotonic()
        with make_app(load_config(config), readonly=True) as app:
            healthy, reason = health_of(app, max_age=timedelta(minutes=10))
        took = time.monotonic() - started
        dead = subprocess.run(health, capture_output=True, text=True, timeout=60)
        service.wait(timeout=10)
        # gone, or still exiting (its lock already released): unhealthy either way
        assert not healthy and f"pid {service.pid}" in reason, reason
        assert took < 1, f"the check took {took:.2f} s"
        assert dead.returncode == 4, dead.stdout  # the heartbeat is seconds old: no waiting
        assert f"the service (pid {service.pid}) is not running" in dead.stdout


def test_run_logs_one_line_per_failing_source(tmp_path: Path) -> None:
    refused = "http://127.0.0.1:9/gone.xml"  # nothing listens on the discard port
    config = write_project(tmp_path, feed_urls={"UNMIK": [refused]},
                           extra_settings="log_format: json\n")
    done = subprocess.run([str(AGGREGATOR), "--config", str(config), "run", "--ticks", "1",
                           "--tick-seconds", "0.05"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    about = [line for line in done.stderr.splitlines() if "127.0.0.1:9/gone.xml" in line]
    assert len(about) == 1, about
    assert json.loads(about[0])["level"] == "warning"
