"""Collection benchmark (issue #2): 1,000 feeds x 20 entries from a slow loopback server.

    .venv/bin/python benchmarks/collect.py          # full run, writes docs/benchmarks.md
    .venv/bin/python benchmarks/collect.py --quick  # 100 feeds, one repetition, no write

Setup: about 22 KB per feed, HTML descriptions with entities, 30% Atom; a separate server
process (asyncio) answers on 127.0.0.2 and up (20 feeds per address) and adds 50 ms to
every response; it honours ETag/If-None-Match, or (in "plain" mode) always sends the full
body with no validators. Each measured run is a fresh subprocess; the orchestrator samples
the resident memory of that process and all its children (/proc) every 20 ms.

Measured, medians of 3: our `collect()` cold (empty archive), all-304 (second run),
same-body-again (server sends 200 with unchanged bodies), posts/s stored when cold, peak RSS;
and the PyPI package `reader` (SQLite + feedparser) cold on the same server, workers 8 and 16.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PER_HOST = 20
DELAY = 0.05
WORDS = ["peacekeepers", "patrol", "village", "water", "school", "council", "report", "mission", "civilians", "road", "election", "humanitarian", "convoy", "training", "police", "community", "engineers", "health", "market", "displaced", "bridge", "rainy", "season", "ceasefire", "observers", "dialogue", "women", "youth"]
PLACES = ["Juba", "Goma", "Bangui", "Pristina", "Nicosia", "Naqoura", "Abyei", "Laayoune", "Bamako"]


# --- the feeds -----------------------------------------------------------------------


def _paragraph(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    words[rng.randrange(n)] = rng.choice(PLACES)
    return " ".join(words).capitalize()


def make_feed(i: int, base: str) -> bytes:
    """Feed ``i``: 20 entries, ~22 KB, escaped HTML with entities; every 10th in 3 is Atom."""
    rng = random.Random(i)
    atom = i % 10 < 3
    entries = []
    for j in range(20):
        link = f"{base}/news/{i}/{j}"
        body = (
            f"<p>{_paragraph(rng, 30)} &ndash; &ldquo;{_paragraph(rng, 10)}&rdquo; &amp; "
            f"officials&rsquo; statement.</p><p>{_paragraph(rng, 36)}&nbsp;&#8230; "
            f"<a href=\"/more/{i}/{j}\">Read more</a> <img src=\"/img/{j}.jpg\" alt=\"Patrol\"></p>"
        )
        esc = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        title = f"Update {j} from {rng.choice(PLACES)}: {_paragraph(rng, 6)}"
        day = 1 + (j % 27)
        if atom:
            entries.append(
                f"<entry><id>{link}</id><title>{title}</title><link href=\"{link}\"/>"
                f"<updated>2026-11-{day:02d}T10:{j:02d}:00Z</updated>"
                f"<author><name>Public Information Office</name></author>"
                f"<summary type=\"html\">{esc}</summary></entry>"
            )
        else:
            entries.append(
                f"<item><guid>{link}</guid><title>{title}</title><link>{link}</link>"
                f"<pubDate>{formatdate(1764000000 + j * 3600 + day * 86400, usegmt=True)}</pubDate>"
                f"<description>{esc}</description></item>"
            )
    if atom:
        doc = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
               f"<title>Feed {i}</title><id>{base}/{i}</id><link href=\"{base}/\"/>"
               f"<updated>2026-11-27T10:00:00Z</updated>{''.join(entries)}</feed>")
    else:
        doc = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
               f"<title>Feed {i}</title><link>{base}/</link><description>d</description>"
               f"{''.join(entries)}</channel></rss>")
    return doc.encode()


def feed_urls(n: int, port: int) -> list[str]:
    return [f"http://127.0.0.{2 + i // PER_HOST}:{port}/feed/{i}.xml" for i in range(n)]


# --- the server (its own process) ----------------------------------------------------


def serve(n: int, port: int) -> None:
    bodies = {f"/feed/{i}.xml": make_feed(i, f"http://127.0.0.{2 + i // PER_HOST}:{port}")
              for i in range(n)}
    mode = {"validators": True}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
                if path.startswith("/_mode/"):
                    mode["validators"] = path.endswith("/etag")
                    status, extra, body = "200 OK", "", b"ok"
                else:
                    await asyncio.sleep(DELAY)
                    body = bodies.get(path, b"")
                    etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
                    if not body:
                        status, extra = "404 Not Found", ""
                    elif mode["validators"] and headers.get("if-none-match") == etag:
                        status, extra, body = "304 Not Modified", f"ETag: {etag}\r\n", b""
                    elif mode["validators"]:
                        status = "200 OK"
                        extra = (f"ETag: {etag}\r\nLast-Modified: Fri, 27 Nov 2026 10:00:00 GMT\r\n"
                                 "Content-Type: application/xml\r\n")
                    else:
                        status, extra = "200 OK", "Content-Type: application/xml\r\n"
                writer.write(f"HTTP/1.1 {status}\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode()
                             + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        hosts = sorted({f"127.0.0.{2 + i // PER_HOST}" for i in range(n)})
        servers = [await asyncio.start_server(handle, h, port, backlog=1024) for h in hosts]
        print("ready", flush=True)
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


# --- one measured run (its own process) ----------------------------------------------


def run_ours(folder: Path, urls: list[str]) -> dict[str, Any]:
    import yaml

    from aggregator.app import make_app
    from aggregator.collect import collect
    from aggregator.config import load_config

    cfg = folder / "config.yaml"
    if not cfg.exists():
        (folder / "sources.yaml").write_text(yaml.safe_dump(
            {"sources": [{"kind": "feed", "url": u, "name": f"feed {i}"} for i, u in enumerate(urls)]}))
        cfg.write_text(yaml.safe_dump({
            "database": str(folder / "bench.db"), "output_dir": str(folder / "out"),
            "missions_dir": str(ROOT / "feeds"), "sources_file": "sources.yaml",
            "http": {"concurrency": 100, "per_host_limit": 2},
        }))
    with make_app(load_config(cfg)) as app:
        started = time.perf_counter()
        result = collect(app)
        seconds = time.perf_counter() - started
        outcomes: dict[str, int] = {}
        for r in result.reports:
            outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        return {"seconds": seconds, "posts": result.posts_added, "outcomes": outcomes}


def run_reader(folder: Path, urls: list[str], workers: int) -> dict[str, Any]:
    from reader import make_reader

    reader = make_reader(str(folder / "reader.sqlite"))
    for url in urls:
        reader.add_feed(url, exist_ok=True)
    started = time.perf_counter()
    reader.update_feeds(workers=workers)
    seconds = time.perf_counter() - started
    posts = reader.get_entry_counts().total
    reader.close()
    return {"seconds": seconds, "posts": posts, "outcomes": {}}


# --- where the CPU goes (one process, CPU time) ----------------------------------------


def stage_costs(n: int = 200) -> dict[str, float]:
    """CPU microseconds per entry of each stage, run one after another in this process on
    ``n`` of the benchmark's feeds: what a cold run spends across its processes."""
    import gc
    import pickle
    import tempfile
    from datetime import UTC, datetime

    import feedparser

    from aggregator.config import load_config
    from aggregator.models import SourceSpec
    from aggregator.normalize import normalize
    from aggregator.sources.feed_parse import parse_body
    from aggregator.sources.feed_result import items_of
    from aggregator.store import Store
    from aggregator.tag import Tagger

    urls = [f"http://127.0.0.{2 + i // PER_HOST}:1/feed/{i}.xml" for i in range(n)]
    bodies = [make_feed(i, url.rsplit("/feed/", 1)[0]) for i, url in enumerate(urls)]
    entries = n * 20
    out: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        gc.collect()
        started = time.process_time()
        value = fn()
        out[name] = (time.process_time() - started) / entries * 1e6
        return value

    parsed = timed("parse", lambda: [parse_body(b, u, "application/xml")
                                     for b, u in zip(bodies, urls, strict=True)])
    spec = SourceSpec(id="feed:bench", kind="feed", name="bench", mission=None, url=urls[0])
    items = [it for u, p in zip(urls, parsed, strict=True) for it in items_of(spec, u, p)]
    now = datetime.now(UTC)
    posts = timed("normalize", lambda: [normalize(it, collected_at=now) for it in items])
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config.yaml"
        cfg.write_text(f"database: {tmp}/s.db\nmissions_dir: {ROOT / 'feeds'}\n")
        config = load_config(cfg)
        tagger = Tagger.from_config(config)
        tagged = timed("tag", lambda: [(p, tagger.tag(p, spec)) for p in posts])
        batches = [tagged[i:i + 20] for i in range(0, len(tagged), 20)]
        blobs = timed("pickle", lambda: [pickle.dumps(b) for b in batches])
        timed("unpickle", lambda: [pickle.loads(b) for b in blobs])
        with Store(Path(tmp) / "s.db") as store:
            store.sync_sources([spec])

            def save() -> None:
                for i in range(0, len(batches), 10):  # ten sources per transaction
                    with store.transaction():
                        for batch in batches[i:i + 10]:
                            store.save_posts(batch)

            timed("store", save)
    # For the record, not part of the sum: feedparser's own share of "parse".
    timed("feedparser alone", lambda: [feedparser.parse(
        b, response_headers={"content-location": u, "content-type": "application/xml"},
        resolve_relative_uris=False, sanitize_html=False) for b, u in zip(bodies, urls, strict=True)])
    return out


# --- the orchestrator ----------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def _tree_rss_kb(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next(int(x.split()[1]) for x in fh if x.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
    return total


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process so far."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(args: list[str]) -> dict[str, Any]:
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    peak = [0]
    cpu: dict[int, float] = {}  # the last CPU time seen of every process of the tree

    def sample() -> None:
        while proc.poll() is None:
            pids = _tree(proc.pid)
            peak[0] = max(peak[0], _tree_rss_kb(pids))
            for p in pids:
                seconds = _cpu_seconds(p)
                if seconds is not None:
                    cpu[p] = seconds
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"measured run {args} failed with exit status {proc.returncode}")
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    data["peak_rss_mb"] = peak[0] / 1024
    data["cpu_main_s"] = cpu.get(proc.pid, 0.0)
    data["cpu_others_s"] = sum(v for p, v in cpu.items() if p != proc.pid)
    return data


def set_mode(port: int, mode: str) -> None:
    import httpx

    httpx.get(f"http://127.0.0.2:{port}/_mode/{mode}", timeout=5)


def orchestrate(n: int, reps: int, write: bool) -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        port = s.getsockname()[1]
    load_before = os.getloadavg()[0]
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(n), str(port)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        ours: dict[str, list[dict[str, Any]]] = {"cold": [], "304": [], "same": []}
        theirs: dict[int, list[dict[str, Any]]] = {8: [], 16: []}
        for rep in range(reps):
            with tempfile.TemporaryDirectory() as tmp:
                common = ["--n", str(n), "--port", str(port), "--dir", tmp]
                set_mode(port, "etag")
                ours["cold"].append(measure(["--run", "ours", *common]))
                ours["304"].append(measure(["--run", "ours", *common]))
                set_mode(port, "plain")
                ours["same"].append(measure(["--run", "ours", *common]))
                set_mode(port, "etag")
            for workers in theirs:
                with tempfile.TemporaryDirectory() as tmp:
                    theirs[workers].append(measure(["--run", "reader", "--workers", str(workers),
                                                    "--n", str(n), "--port", str(port), "--dir", tmp]))
            print(f"repetition {rep + 1}/{reps} done", file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait()
    loads = (load_before, os.getloadavg()[0])
    stages = stage_costs(200)
    return report(n, reps, ours, theirs, write, loads, stages)


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def report(n: int, reps: int, ours: dict[str, list[dict[str, Any]]],
           theirs: dict[int, list[dict[str, Any]]], write: bool,
           loads: tuple[float, float] = (0.0, 0.0), stages: dict[str, float] | None = None) -> str:
    cold = _median(ours["cold"], "seconds")
    posts = ours["cold"][0]["posts"]
    best_workers = min(theirs, key=lambda w: _median(theirs[w], "seconds"))
    best = _median(theirs[best_workers], "seconds")
    peak = max(r["peak_rss_mb"] for runs in ours.values() for r in runs)
    ratio = best / cold
    cpu_main = _median(ours["cold"], "cpu_main_s")
    cpu_workers = _median(ours["cold"], "cpu_others_s")
    met = "met" if ratio >= 3 else "NOT met"
    rows = [
        ("cold (empty archive)", f"{cold:.2f} s", f"{posts} posts, {posts / cold:,.0f} posts/s stored",
         "-"),
        ("CPU of the cold run", f"{cpu_main + cpu_workers:.1f} s",
         f"collector process {cpu_main:.1f} s, parse workers {cpu_workers:.1f} s "
         "(whole processes, start-up included)", "-"),
        ("all-304 (second run)", f"{_median(ours['304'], 'seconds'):.2f} s",
         json.dumps(ours["304"][0]["outcomes"]), "< 2 s"),
        ("same body again (no validators)", f"{_median(ours['same'], 'seconds'):.2f} s",
         json.dumps(ours["same"][0]["outcomes"]), "< 2 s"),
        ("peak RSS, process tree", f"{peak:.0f} MB", "collector + parse workers", "< 300 MB"),
    ]
    for w in theirs:
        rows.append((f"reader {_reader_version()} cold, workers={w}",
                     f"{_median(theirs[w], 'seconds'):.2f} s",
                     f"{theirs[w][0]['posts']} entries, peak RSS "
                     f"{max(r['peak_rss_mb'] for r in theirs[w]):.0f} MB, CPU "
                     f"{_median(theirs[w], 'cpu_main_s') + _median(theirs[w], 'cpu_others_s'):.1f} s",
                     "-"))
    rows.append(("cold speed-up over reader's best", f"{ratio:.1f}x",
                 f"reader best: workers={best_workers}", ">= 3x"))
    lines = [
        f"Collection (`benchmarks/collect.py`, #2): {n} feeds x 20 entries (~22 KB each, 30% "
        f"Atom) from a loopback server adding {DELAY * 1000:.0f} ms per response, spread over "
        f"{-(-n // PER_HOST)} addresses (127.0.0.2 and up); medians of {reps}; "
        f"{os.cpu_count()} cores; http.concurrency 100, per_host_limit 2, parse_workers 0 "
        f"(one per core). Measured {time.strftime('%Y-%m-%d')}; load average {loads[0]:.1f} "
        f"before, {loads[1]:.1f} after.",
        "",
        "| measure | result | detail | target |",
        "| --- | --- | --- | --- |",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        f"Target cold >= 3x reader's best: **{met}** ({ratio:.1f}x). All-304 and same-body under "
        f"2 s, peak RSS under 300 MB: "
        f"{'met' if max(_median(ours['304'], 'seconds'), _median(ours['same'], 'seconds')) < 2 else 'NOT met'}, "
        f"{'met' if peak < 300 else 'NOT met'}.",
    ]
    if stages:
        feedparser_us = stages.pop("feedparser alone", 0.0)
        per_entry = sum(stages.values())
        floor = posts * per_entry / 1e6 / (os.cpu_count() or 1)
        lines += [
            "",
            "Where the CPU goes: each stage timed alone in one process (CPU time per entry, "
            "same feeds, 200 of them). A cold run spends these across the collector and the "
            "parse workers, plus what running them side by side costs (pipes, pickling of "
            "bodies, scheduling, cache misses): compare the sum with the run's CPU above.",
            "",
            "| stage | where | CPU per entry |",
            "| --- | --- | ---: |",
            *[f"| {name} | {_WHERE[name]} | {us:.0f} us |" for name, us in stages.items()],
            f"| sum | | {per_entry:.0f} us |",
            "",
            f"At {per_entry:.0f} us per entry, {posts:,} entries need {posts * per_entry / 1e6:.1f} "
            f"s of CPU, {floor:.1f} s on {os.cpu_count()} cores if nothing else ran; 3x reader's "
            f"best is {best / 3:.1f} s. Of the parse stage, feedparser itself is "
            f"{feedparser_us:.0f} us per entry, and it is the parser the project requires.",
        ]
    text = "\n".join(lines)
    if write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _report import write_section

        write_section("collect", "## Collection\n\n" + text)
    return text


_WHERE = {
    "parse": "parse worker (feedparser on the bytes, times to ISO)",
    "normalize": "parse worker (nh3, text, ids, hashes, raw JSON)",
    "tag": "parse worker",
    "pickle": "parse worker (result to the collector)",
    "unpickle": "collector",
    "store": "collector (SQLite: posts, tags, versions, FTS5; 10 sources per transaction)",
}


def _reader_version() -> str:
    try:
        from importlib.metadata import version

        return version("reader")
    except Exception:
        return "?"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="100 feeds, one repetition, no write")
    p.add_argument("--serve", nargs=2, type=int, metavar=("N", "PORT"), help=argparse.SUPPRESS)
    p.add_argument("--run", choices=["ours", "reader"], help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=1000, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--dir", default="", help=argparse.SUPPRESS)
    p.add_argument("--workers", type=int, default=8, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(*args.serve)
    elif args.run:
        urls = feed_urls(args.n, args.port)
        folder = Path(args.dir)
        result = (run_ours(folder, urls) if args.run == "ours"
                  else run_reader(folder, urls, args.workers))
        print(json.dumps(result))
    elif args.quick:
        print(orchestrate(100, 1, write=False))
    else:
        print(orchestrate(1000, 3, write=True))


if __name__ == "__main__":
    main()
