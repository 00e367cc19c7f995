"""Where storing runs (issue #2): the cold collection's CPU work, with no HTTP, done two ways.

    .venv/bin/python benchmarks/storing.py          # medians of 3, writes docs/benchmarks.md
    .venv/bin/python benchmarks/storing.py --quick  # 100 feeds, one repetition, no write

The same 1,000 feeds x 20 entries as ``benchmarks/collect.py`` (made in memory, no server),
parsed, normalized and tagged by two worker processes started like the collector's pool
(``forkserver``, parsing modules preloaded), into a fresh archive:

- **collector stores** (the design `aggregator collect` uses): each worker returns a
  source's tagged posts; the main process stores them, 25 sources per transaction;
- **workers store** (a design considered for the 3x target): each worker also writes its
  own chunk of 25 sources to the archive, in one transaction, through its own connection;
  the two take turns at SQLite's write lock.

Both skip what a real run adds around this work (HTTP, fetch state, leases, the run log), so
they bound what each design could reach. The two are alternated, each run in a fresh
archive; the orchestrator takes the medians of the wall time and of the CPU the run's
processes spent (the main one from its start of work, the workers whole, start-up included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collect import PER_HOST, ROOT, _cpu_seconds, _tree, make_feed

CHUNK = 25  # sources per transaction, in both designs
SPEC_ID = "feed:bench"
_store: Any = None  # in a worker of the "workers store" design: its own Store


def _config(folder: Path) -> Any:
    from aggregator.config import load_config

    path = folder / "config.yaml"
    path.write_text(f"database: {folder}/bench.db\nmissions_dir: {ROOT / 'feeds'}\n")
    return load_config(path)


def _spec() -> Any:
    from aggregator.models import SourceSpec

    return SourceSpec(id=SPEC_ID, kind="feed", name="bench", mission=None, url="http://bench/")


def _init(config: Any, database: str) -> None:
    """Pool initializer: the tagger, like the collector's workers, and for the second
    design a connection to the archive."""
    global _store
    from aggregator.prepare import init_worker

    init_worker(config)
    if database:
        from aggregator.store import Store

        _store = Store(Path(database))


def prepare(i: int) -> Any:
    """Parse, normalize and tag feed ``i`` (what one pool task does in a collection)."""
    from aggregator.prepare import prepare_posts
    from aggregator.sources.feed_parse import parse_body

    base = f"http://127.0.0.{2 + i // PER_HOST}:8000"
    out = parse_body(make_feed(i, base), f"{base}/feed/{i}.xml", "application/xml",
                     _spec(), prepare_posts, datetime.now(UTC))
    return out["prepared"]


def prepare_and_store(ids: list[int]) -> int:
    """Prepare a chunk of feeds and store them in one transaction of this worker's own."""
    prepared = [prepare(i) for i in ids]
    with _store.transaction():
        for tagged, _problems in prepared:
            _store.save_posts(tagged)
    return len(ids)


def run_once(design: str, n: int) -> dict[str, float]:
    """One measured run in this process: a fresh archive, a fresh pool of two workers. CPU is
    this process's and its workers' (read from /proc before the workers stop)."""
    from aggregator.sources.pool import LazyProcessPool
    from aggregator.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = _config(folder)
        database = str(folder / "bench.db")
        with Store(Path(database)) as store:
            store.sync_sources([_spec()])
            pool = LazyProcessPool(2, _init, (config, database if design == "workers" else ""))
            cpu_before = time.process_time()
            started = time.perf_counter()
            try:
                if design == "workers":
                    chunks = [list(range(i, min(n, i + CHUNK))) for i in range(0, n, CHUNK)]
                    for done in [pool.submit(prepare_and_store, c) for c in chunks]:
                        done.result()
                else:
                    waiting: list[Any] = []
                    for future in [pool.submit(prepare, i) for i in range(n)]:
                        waiting.append(future.result())
                        if len(waiting) == CHUNK:
                            _store_batch(store, waiting)
                            waiting = []
                    _store_batch(store, waiting)
                seconds = time.perf_counter() - started
                workers = sum(_cpu_seconds(p) or 0.0 for p in _tree(os.getpid())[1:])
            finally:
                pool.shutdown()
            cpu = time.process_time() - cpu_before + workers
            posts = store.count_posts()
    return {"seconds": seconds, "posts": posts, "cpu": cpu}


def _store_batch(store: Any, prepared: list[Any]) -> None:
    if prepared:
        with store.transaction():
            for tagged, _problems in prepared:
                store.save_posts(tagged)


# --- the orchestrator ----------------------------------------------------------------


def _measure(design: str, n: int) -> dict[str, float]:
    """A fresh process per run."""
    out = subprocess.run(
        [sys.executable, __file__, "--run", design, "--n", str(n)],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    return {"seconds": float(out[0]), "posts": float(out[1]), "cpu": float(out[2])}


def orchestrate(n: int, reps: int) -> str:
    runs: dict[str, list[dict[str, float]]] = {"collector": [], "workers": []}
    for _ in range(reps):
        for design in runs:
            runs[design].append(_measure(design, n))
    med = {d: {k: statistics.median(r[k] for r in rs) for k in ("seconds", "posts", "cpu")}
           for d, rs in runs.items()}
    c, w = med["collector"], med["workers"]
    return "\n".join([
        "## Where storing runs (`benchmarks/storing.py`, #2)",
        "",
        f"The cold collection's CPU work without HTTP: {n} of the collection benchmark's feeds"
        f" x 20 entries, parsed, normalized and tagged by two worker processes into a fresh"
        f" archive, {CHUNK} sources per transaction; medians of {reps}, the two designs"
        f" alternated; {os.cpu_count()} cores. Measured {datetime.now(UTC):%Y-%m-%d}.",
        "",
        "| design | wall | CPU, all processes | posts |",
        "| --- | ---: | ---: | ---: |",
        f"| collector stores (what `collect` does) | {c['seconds']:.2f} s | {c['cpu']:.1f} s"
        f" | {c['posts']:,.0f} |",
        f"| workers store, each its own chunk | {w['seconds']:.2f} s | {w['cpu']:.1f} s"
        f" | {w['posts']:,.0f} |",
        "",
        f"Storing in the workers takes {w['seconds'] / c['seconds']:.2f}x the time of storing"
        " in the collector. Neither includes fetching, fetch state, leases or the run log,"
        " which a real run adds (see the collection section for a real cold run and"
        " `reader`'s time on the same feeds).",
    ])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="100 feeds, one repetition, no write")
    p.add_argument("--run", choices=["collector", "workers"], help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=1000, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run:
        result = run_once(args.run, args.n)
        print(f"{result['seconds']:.4f} {result['posts']:.0f} {result['cpu']:.3f}")
    elif args.quick:
        print(orchestrate(100, 1))
    else:
        from _report import write_section

        text = orchestrate(1000, 3)
        write_section("storing", text)
        print(text)


if __name__ == "__main__":
    main()
