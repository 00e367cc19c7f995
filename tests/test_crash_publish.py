"""A kill -9 after posts are stored and before pages are rebuilt: the next run publishes them.

The harness wrapper (``test_crash_harness.py``) kills the real `aggregator` process with -9
the moment it starts to render, after its posts are committed. The loopback feed then stays
unchanged (the next fetch is a 304), so only the archive's durable record of the missions
still to render can bring the new posts onto the mission page.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_crash_harness import RollingFeed
from tests.test_service_support import write_project

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "test_crash_harness.py"
AGGREGATOR = ROOT / ".venv" / "bin" / "aggregator"
LATER = {
    "collect": ["collect"],
    "render": ["render"],
    "run": ["run", "--ticks", "1", "--tick-seconds", "0.05"],
}


def _aggregator(config: Path, args: list[str], *, kill_at_render: bool = False,
                tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CRASH_HARNESS_MARKER": str(tmp / "marker.txt")}
    command = [str(AGGREGATOR)]
    if kill_at_render:
        env["CRASH_HARNESS_KILL_AT_RENDER"] = "1"
        command = [sys.executable, str(HARNESS)]
    return subprocess.run([*command, "--config", str(config), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("first", ["collect", "run"])
@pytest.mark.parametrize("later", sorted(LATER))
def test_posts_stored_by_a_run_killed_before_rendering_are_published_by_the_next(
    tmp_path: Path, first: str, later: str
) -> None:
    with RollingFeed(("alpha",), every=1000) as feed:  # one entry, then 304 Not Modified
        config = write_project(tmp_path, feed_urls={"UNMIK": [feed.url("alpha")]},
                               extra_settings="log_format: json\n")
        killed = _aggregator(config, LATER[first], kill_at_render=True, tmp=tmp_path)
        assert killed.returncode == -9, killed.stderr
        with sqlite3.connect(tmp_path / "data" / "test.db") as conn:
            assert conn.execute("SELECT COUNT(*) FROM posts").fetchone() == (1,)
        page = tmp_path / "output" / "missions" / "unmik" / "index.html"
        assert not page.exists(), "the kill came before any page was written"

        again = _aggregator(config, LATER[later], tmp=tmp_path)
        assert again.returncode == 0, again.stderr
        assert "alpha entry 1" in page.read_text(encoding="utf-8")
        with sqlite3.connect(tmp_path / "data" / "test.db") as conn:
            assert conn.execute("SELECT COUNT(*) FROM pending_renders").fetchone() == (0,)


def test_a_mission_marked_again_while_it_renders_stays_pending(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from aggregator.store import Store

    at = datetime(2026, 12, 5, tzinfo=UTC)
    with Store(tmp_path / "a.db") as store:
        with store.transaction():
            store.mark_pending_render({"UNMIK", "UNIFIL"}, at)
        seen = store.pending_renders()  # a render starts: it reads posts after this
        assert seen.missions == {"UNMIK", "UNIFIL"}
        store.mark_pending_render({"UNMIK"}, at)  # new posts committed meanwhile
        store.clear_pending_renders(seen.missions, seen.upto)
        assert store.pending_renders().missions == {"UNMIK"}


def test_a_mark_rolls_back_with_the_posts_it_was_written_with(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from aggregator.store import Store

    with Store(tmp_path / "a.db") as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.mark_pending_render({"UNMIK"}, datetime(2026, 12, 5, tzinfo=UTC))
            raise RuntimeError("the posts could not be stored")
        assert store.pending_renders().missions == frozenset()
