"""``sources probe`` on many sources: does it take about the slowest source's time?

100 feeds, one per loopback host (127.0.0.1 to 127.0.0.100, each its own server), answer the
real UN News Europe capture (../shared) after a delay spread evenly over 0 to 2 s; one more
host hangs until the probe's deadline (``http.deadline``, 5 s here). One at a time this would
take about 105 s, at the collector's usual 16 at once about 12 s; the probe opens one
connection per source (the per-host limit of 2 still holds). Median of 3 runs.

Run: ``.venv/bin/python benchmarks/probing.py``; writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.catalog.probe import probe_feeds  # noqa: E402
from aggregator.models import SourceSpec  # noqa: E402
from aggregator.settings import Settings  # noqa: E402
from benchmarks._report import write_section  # noqa: E402
from tests.feeds_server import FeedServer  # noqa: E402

FEED = ROOT.parent / "shared" / "fixtures" / "feeds" / "un_news_europe_2022-04.rss.xml"
SOURCES = 100
DEADLINE = 5.0


def main() -> None:
    body = FEED.read_bytes()
    servers = [FeedServer(host=f"127.0.0.{i + 1}") for i in range(SOURCES + 1)]
    specs = []
    for i, server in enumerate(servers):
        server.__enter__()
        if i == SOURCES:
            url = server.add("/hangs.xml", hang=True)
        else:
            url = server.add("/rss.xml", body=body, delay=2.0 * i / SOURCES)
        specs.append(SourceSpec(id=f"feed:{url}", kind="feed", name=url, mission=None, url=url))
    settings = replace(Settings(), http_deadline=DEADLINE, http_connect_timeout=2.0,
                       http_read_timeout=DEADLINE)
    times, ok = [], 0
    try:
        for _ in range(3):
            started = time.monotonic()
            reports = probe_feeds(settings, specs, datetime.now(UTC))
            times.append(time.monotonic() - started)
            ok = sum(1 for r in reports if r.ok)
    finally:
        for server in servers:
            threading.Thread(target=server.__exit__, args=(None, None, None)).start()
    took = statistics.median(times)
    print(f"{SOURCES + 1} sources probed in {took:.2f} s (median of 3; {ok} ok, 1 hung to the deadline)")
    write_section("probing", f"""
## Probing sources (`benchmarks/probing.py`, #13)

`aggregator sources probe` on {SOURCES + 1} sources, each on its own loopback host: {SOURCES} answer
the real UN News Europe capture after 0 to 2 s, one hangs until the {DEADLINE:g} s deadline.
Taken on a shared 2-core machine (eight engineers' test runs at once), median of 3.

| sources | slowest (deadline) | probe took | answered |
| --- | --- | --- | --- |
| {SOURCES + 1} | {DEADLINE:g} s | {took:.2f} s | {ok} of {SOURCES + 1} |

One at a time this takes about {SOURCES * 1.0 + DEADLINE:.0f} s, and about 12 s at the collector's
usual `http.concurrency` of 16: the probe opens one connection per source (up to 256), the
per-host limit kept. Parsing the answers (feedparser) is the rest of the time.
""")


if __name__ == "__main__":
    main()
