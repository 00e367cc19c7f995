"""Crash safety of `aggregator run`: kill -9 at seeded moments, restart, lose nothing.

A loopback server publishes a new entry every few polls and keeps only the newest 10 (with
ETags), so a cursor saved before its posts are committed loses posts. The real service runs
as a subprocess with a short tick; it is killed at seeded moments (some inside a source's
write transaction) over 20+ runs and restarted each time. After every kill the archive must
pass ``PRAGMA integrity_check`` and each stored ETag must cover only entries that are stored;
at the end, no post is duplicated and every entry the server published is stored. The same
check run against a deliberately broken build (state committed before posts) must fail.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.test_crash_harness import KEEP, RollingFeed
from tests.test_service_support import write_project

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "test_crash_harness.py"
FEEDS = ("alpha", "beta")
SEED = 20261128
RUNS = 22

FAST = (
    "default_interval_minutes: 0\nmin_interval_minutes: 0\nmax_interval_minutes: 0\n"
    "log_format: json\n"
)


@dataclass
class Tally:
    runs: int = 0
    killed_in_transaction: int = 0
    killed_between: int = 0
    problems: list[str] = field(default_factory=list)


class Service:
    """One `aggregator run` subprocess through the harness wrapper."""

    def __init__(self, config: Path, marker: Path, log: Path, *, broken: bool = False) -> None:
        env = {**os.environ, "CRASH_HARNESS_MARKER": str(marker)}
        if broken:
            env["CRASH_HARNESS_BROKEN"] = "1"
        self.marker = marker
        self.start_lines = len(_lines(marker))
        with log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(HARNESS), "--config", str(config), "run",
                 "--tick-seconds", "0.05"],
                cwd=ROOT, env=env, stdout=out, stderr=out,
            )

    def new_lines(self) -> list[str]:
        return _lines(self.marker)[self.start_lines:]

    def wait_for(self, word: str, count: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while self.new_lines().count(word) < count:
            assert self.proc.poll() is None, "the service exited on its own"
            assert time.monotonic() < deadline, f"no {word!r} line within {timeout} s"
            time.sleep(0.002)

    def kill(self) -> str:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        lines = _lines(self.marker)
        return lines[-1] if lines else ""


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        return []


def cursor_problems(db: Path, feed: RollingFeed) -> list[str]:
    """Integrity, and every stored ETag covers only entries that are stored."""
    conn = sqlite3.connect(db)
    try:
        problems = []
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            problems.append(f"integrity_check: {check}")
        for name in FEEDS:
            source_id = f"feed:{feed.url(name)}"
            row = conn.execute("SELECT etag FROM sources WHERE id = ?", [source_id]).fetchone()
            stored = {r[0] for r in conn.execute(
                "SELECT url FROM posts WHERE source_id = ?", [source_id])}
            if row and row[0]:
                missing = feed.covered[name][row[0]] - stored
                if missing:
                    problems.append(f"{name}: ETag {row[0]} saved but {len(missing)} of its"
                                    " entries are not stored")
        return problems
    finally:
        conn.close()


def final_problems(db: Path, feed: RollingFeed) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        dupes = conn.execute(
            "SELECT url, COUNT(*) FROM posts GROUP BY source_id, url HAVING COUNT(*) > 1"
        ).fetchall()
        problems = [f"duplicated post {u} x{n}" for u, n in dupes]
        stored = {r[0] for r in conn.execute("SELECT url FROM posts")}
        for name in FEEDS:
            lost = feed.published(name) - stored
            if lost:
                problems.append(f"{name}: {len(lost)} published entries never stored")
        return problems
    finally:
        conn.close()


@pytest.fixture
def rolling() -> Iterator[RollingFeed]:
    with RollingFeed(FEEDS, every=3) as feed:
        yield feed


def _project(tmp: Path, feed: RollingFeed) -> tuple[Path, Path]:
    config = write_project(
        tmp, feed_urls={"UNMIK": [feed.url(n) for n in FEEDS]}, extra_settings=FAST
    )
    return config, tmp / "data" / "test.db"


def crash_runs(config: Path, db: Path, feed: RollingFeed, tmp: Path, *, runs: int,
               broken: bool = False, stop_early: bool = False) -> Tally:
    rng = random.Random(SEED + int(broken))
    tally = Tally()
    marker, log = tmp / "marker.txt", tmp / "service.log"
    for _ in range(runs):
        service = Service(config, marker, log, broken=broken)
        mode = rng.choice(["between"] if broken else ["tx", "tx", "time"])
        if mode == "time":
            service.wait_for("committed", 1)
            time.sleep(rng.uniform(0.0, 0.6))
        else:
            service.wait_for(mode, rng.randint(1, 6))
        last = service.kill()
        tally.runs += 1
        tally.killed_in_transaction += last == "tx"
        tally.killed_between += last == "between"
        tally.problems += cursor_problems(db, feed)
        if stop_early and tally.problems:
            break
    return tally


def finish_cleanly(config: Path, db: Path, feed: RollingFeed, tmp: Path) -> int:
    """Freeze the server, let a clean service catch up, stop it with SIGTERM."""
    feed.frozen = True
    before = dict(feed.requests)
    service = Service(config, tmp / "marker.txt", tmp / "service.log")
    _until(lambda: all(feed.requests[n] >= before[n] + 2 for n in FEEDS))
    time.sleep(0.2)
    service.proc.send_signal(signal.SIGTERM)
    return service.proc.wait(timeout=15)


def _until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_kill_9_at_seeded_moments_loses_and_duplicates_nothing(
    tmp_path: Path, rolling: RollingFeed, capsys: pytest.CaptureFixture[str]
) -> None:
    config, db = _project(tmp_path, rolling)
    tally = crash_runs(config, db, rolling, tmp_path, runs=RUNS)
    assert tally.problems == [], tally.problems
    assert tally.killed_in_transaction >= 5, tally
    assert finish_cleanly(config, db, rolling, tmp_path) == 0, "SIGTERM exits 0"
    assert cursor_problems(db, rolling) == []
    assert final_problems(db, rolling) == []
    published = sum(len(rolling.published(n)) for n in FEEDS)
    assert published > 2 * KEEP, "the feeds rolled past their window"
    with capsys.disabled():
        print(f"\ncrash test: {tally.runs} kill -9 runs, {tally.killed_in_transaction} inside a"
              f" write transaction, {published} entries published (window {KEEP}), all stored")


def test_negative_control_a_cursor_saved_before_its_posts_fails_the_check(
    tmp_path: Path, rolling: RollingFeed
) -> None:
    config, db = _project(tmp_path, rolling)
    tally = crash_runs(config, db, rolling, tmp_path, runs=6, broken=True, stop_early=True)
    assert tally.killed_between >= 1
    assert any("saved but" in p for p in tally.problems), tally


def test_sigterm_inside_a_write_transaction_finishes_that_source_then_exits_0(
    tmp_path: Path, rolling: RollingFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, db = _project(tmp_path, rolling)
    monkeypatch.setenv("CRASH_HARNESS_PAUSE", "0.4")  # read by the harness wrapper only
    service = Service(config, tmp_path / "marker.txt", tmp_path / "service.log")
    service.wait_for("tx", 1)
    service.proc.send_signal(signal.SIGTERM)
    assert service.proc.wait(timeout=15) == 0
    lines = service.new_lines()
    assert lines[-1] == "committed", "the batch of sources in progress was committed"
    assert lines[lines.index("tx"):].count("committed") == 1, "no batch started after SIGTERM"
    assert cursor_problems(db, rolling) == []
