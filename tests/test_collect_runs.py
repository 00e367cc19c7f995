"""Collection runs as an operator sees them: killed runs are closed, short runs take turns."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from aggregator.app import make_app
from aggregator.collect import collect
from aggregator.config import load_config
from aggregator.models import FetchResult
from aggregator.sources import Job, Outcome
from tests.feeds_server import FeedServer
from tests.test_service_support import write_project

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "test_crash_harness.py"
AGGREGATOR = ROOT / ".venv" / "bin" / "aggregator"
NAMES = ("a", "b", "c", "d", "e", "f")


def _rss(name: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://example.org/</link><item><guid>{name}-1</guid><title>UNMIK {name}</title>"
        f"<link>http://example.org/{name}/1</link><description>UNMIK news {name}</description>"
        "<pubDate>Wed, 25 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>"
    ).encode()


def test_a_run_killed_with_9_is_closed_by_the_next_start_with_what_it_stored(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "marker.txt"
    with FeedServer() as server:
        urls = [server.add(f"/{n}.xml", body=_rss(n), delay=8.0 if n == "f" else 0.0)
                for n in NAMES]  # five answer at once, "f" keeps the run open
        config = write_project(tmp_path, feed_urls={"UNMIK": urls},
                               extra_settings="log_format: json\n")
        env = {**os.environ, "CRASH_HARNESS_MARKER": str(marker)}
        proc = subprocess.Popen([sys.executable, str(HARNESS), "--config", str(config),
                                 "collect"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while "committed" not in (marker.read_text() if marker.exists() else ""):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        db = tmp_path / "data" / "test.db"
        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
            assert conn.execute("SELECT finished_at FROM runs").fetchall() == [(None,)]
        assert stored == len(NAMES) - 1, "killed while the slow source was being fetched"

        server.add("/f.xml", body=_rss("f"))
        again = subprocess.run([str(AGGREGATOR), "--config", str(config), "collect"],
                               capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT finished_at, interrupted_at, posts_added, sources_total, summary"
            " FROM runs ORDER BY id").fetchall()
    (finished, interrupted, added, total, summary), last = rows
    assert finished is not None and interrupted is not None
    assert (added, total) == (stored, stored), "what the killed run had stored"
    assert json.loads(summary)["interrupted"] is True
    assert last[0] is not None and last[1] is None, "the second run finished normally"


class OneAtATime:
    """A fetcher that fetches each source only when the run asks for the next one."""

    def __init__(self) -> None:
        self.fetched: list[str] = []

    def fetch_many(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        for spec, _row in jobs:
            self.fetched.append(spec.id)
            yield spec, FetchResult(spec.id, "not_modified", http_status=304)


def test_runs_cut_short_start_with_the_least_recently_collected_sources(
    tmp_path: Path,
) -> None:
    urls = [f"http://127.0.0.1:9/{n}.xml" for n in NAMES]
    config = load_config(write_project(tmp_path, feed_urls={"UNMIK": urls}))
    fetched: list[list[str]] = []
    with make_app(config) as app:
        for _ in range(3):  # like a cron job whose timeout allows two sources per run
            fetcher = OneAtATime()
            collect(app, fetchers={"feed": fetcher},
                    should_stop=lambda f=fetcher: len(f.fetched) >= 2)  # type: ignore[misc]
            fetched.append(fetcher.fetched)
            time.sleep(1.01)  # attempt times are stored to the second
    assert [len(run) for run in fetched] == [2, 2, 2]
    assert sorted(i for run in fetched for i in run) == sorted(f"feed:{u}" for u in urls), fetched
