"""The real `aggregator` executable as separate processes: one writer, collect beside run."""

from __future__ import annotations

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
