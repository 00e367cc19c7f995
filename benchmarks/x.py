"""X collection cost on this machine: normalizing real X pages, and whole fetches through tweepy.

- normalize: every post of the real twarc-csv pages in ../shared (brexit, noflat: 200 posts
  with all expansions) through ``normalize.x``, repeated; posts/s, median of 3.
- fetch: N accounts, each answered by a loopback fake of the X API with the real brexit page
  (100 posts, 59 included posts, 177 users), through tweepy's real HTTP layer, with the cost
  governor recording every read; seconds per account and posts/s, median of 3.

Run: ``.venv/bin/python benchmarks/x.py [--quick]``; writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.server
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.models import RawItem, SourceSpec  # noqa: E402
from aggregator.normalize import normalize  # noqa: E402
from aggregator.settings import Settings  # noqa: E402
from aggregator.sources.x import XFetcher  # noqa: E402
from aggregator.sources.x_payload import pick_includes  # noqa: E402
from aggregator.store import Store  # noqa: E402
from benchmarks._report import write_section  # noqa: E402

PAGES = ROOT.parent / "shared" / "fixtures" / "x_api_v2" / "twarc_csv"
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def page(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAGES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()[0])
    data.pop("__twarc", None)
    return data


def items(p: dict[str, Any]) -> list[RawItem]:
    inc = {k: {str(o.get("media_key" if k == "media" else "id")): o for o in p["includes"].get(k, [])}
           for k in ("users", "tweets", "media")}
    return [RawItem("x:bench", "x", {"tweet": t, "includes": pick_includes(t, inc)}) for t in p["data"]]


def bench_normalize(rounds: int) -> float:
    batch = items(page("brexit")) + items(page("noflat"))
    start = time.perf_counter()
    for _ in range(rounds):
        for item in batch:
            normalize(item, collected_at=NOW)
    return len(batch) * rounds / (time.perf_counter() - start)


class _Fake(http.server.BaseHTTPRequestHandler):
    body = b""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if "/users/by/username/" in self.path:
            handle = self.path.rsplit("/", 1)[1].split("?")[0]
            data = json.dumps({"data": {"id": str(abs(hash(handle)) % 10**9), "username": handle, "name": handle}}).encode()
        else:
            data = self.body
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def bench_fetch(accounts: int) -> tuple[float, float]:
    body = page("brexit")
    body["meta"].pop("next_token", None)
    _Fake.body = json.dumps(body).encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "b.db", clock=lambda: NOW) as store:
            specs = [SourceSpec(id=f"x:acct{i}", kind="x", name=f"@acct{i}", mission=None, handle=f"acct{i}")
                     for i in range(accounts)]
            store.sync_sources(specs)
            settings = Settings(x_api_base=base, x_backfill=100, x_monthly_budget=10_000.0)
            fetcher = XFetcher(settings, {"X_BEARER_TOKEN": "bench"}, store)
            start = time.perf_counter()
            got = sum(len(r.items) for _, r in fetcher.fetch_many([(s, {}) for s in specs]) if not isinstance(r, Exception))
            elapsed = time.perf_counter() - start
    finally:
        server.shutdown()
        server.server_close()
    return elapsed / accounts, got / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small run")
    args = parser.parse_args()
    rounds, accounts = (3, 5) if args.quick else (20, 30)
    norm = statistics.median(bench_normalize(rounds) for _ in range(3))
    fetches = [bench_fetch(accounts) for _ in range(3)]
    per_account = statistics.median(f[0] for f in fetches)
    posts_s = statistics.median(f[1] for f in fetches)
    report = f"""## X collection (`benchmarks/x.py`{' --quick' if args.quick else ''})

Measured {datetime.now(UTC):%Y-%m-%d} on this machine, medians of 3 runs.

| measure | value |
| --- | --- |
| normalize real X posts (brexit + noflat pages, 200 posts x {rounds}) | {norm:,.0f} posts/s |
| fetch one account through tweepy + loopback fake (100 posts, 59 included posts, 177 users; lookup, timeline, cost records), {accounts} accounts | {per_account * 1000:,.1f} ms per account |
| same, posts fetched per second | {posts_s:,.0f} posts/s |

The X side of a run is bound by X's answers, not by this code: 11 accounts cost well under a
second of local work per run.
"""
    write_section("x", report)
    print(report)


if __name__ == "__main__":
    main()
