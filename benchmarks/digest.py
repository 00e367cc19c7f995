"""Digest sending throughput: 20 lists x 50 recipients (1,000 messages), 200 posts each.

The SMTP server is aiosmtpd's Sink handler in its own process on loopback. Two phases, each
in a fresh process so their peak RSS is their own:

- ``digest``: ``send_digest`` for every list, the real path: window query, one template render
  and CSS inlining per list, one MIME message per recipient, the exactly-once ledger (two
  committed writes per message), one SMTP connection per list.
- ``floor``: plain ``smtplib`` sending the same messages, rendered beforehand, one connection
  per list. Nothing else.

Target: the digest path within 2x of the floor's messages per second.

    .venv/bin/python benchmarks/digest.py           # full run, writes docs/benchmarks.md
    .venv/bin/python benchmarks/digest.py --quick   # 4 lists x 10 recipients, no report
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.app import make_app  # noqa: E402
from aggregator.config import load_config  # noqa: E402
from aggregator.digest import Composer, preview, send_digest  # noqa: E402
from aggregator.digest.lists import load_digest_lists  # noqa: E402
from aggregator.models import Post, Tag  # noqa: E402

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
SECRET = "benchmark-secret-0123456789abcdef"
ENV = {"AGGREGATOR_SECRET": SECRET}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mb() -> float:
    """Peak RSS of this process since its exec (VmHWM; ru_maxrss would include the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(folder: Path, port: int, lists: int, recipients: int, posts: int) -> Path:
    missions_dir = ROOT / "feeds"
    lines = ["lists:"]
    for i in range(lists):
        lines += [
            f"  - name: list-{i:02d}", "    missions: all", '    send_at: "07:00"',
            "    timezone: UTC", '    sender: "Feeds <digest@bench.example.org>"',
            f"    language: {'fr' if i % 2 else 'en'}",
        ]
    (folder / "lists.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = folder / "config.yaml"
    cfg.write_text(
        f"database: bench.db\nmissions_dir: {missions_dir}\nbase_url: https://bench.example.org/\n"
        f"digest_lists: lists.yaml\nsmtp:\n  host: 127.0.0.1\n  port: {port}\n"
        "  security: none\n  rate_per_second: 0\n",
        encoding="utf-8",
    )
    config = load_config(cfg)
    missions = sorted(config.missions)
    with make_app(config, clock=lambda: NOW, env=ENV) as app:
        app.store.db.execute("INSERT INTO sources (id, kind, name) VALUES ('feed:bench', 'feed', 'bench')")
        app.store.db.conn.commit()
        batch = []
        for n in range(posts):
            mission = missions[n % len(missions)]
            at = NOW - timedelta(minutes=5 * n + 1)
            post = Post(
                id=f"bench-{n}", source_id="feed:bench", kind="feed", external_id=str(n),
                url=f"https://{mission.lower()}.example.net/news/{n}", author=f"{mission} press",
                author_handle=None, title=f"Update {n} from {mission}",
                text=f"{mission} reports on patrols, meetings and community projects, day {n}. " * 4,
                html="", published_at=at, collected_at=at, content_hash=f"h{n}",
            )
            batch.append((post, [Tag(mission=mission, rule="own_source", matched="")]))
        app.store.save_posts(batch)
        for i in range(lists):
            emails = [f"reader{j:03d}.{i:02d}@bench.example.org" for j in range(recipients)]
            app.store.add_subscribers(f"list-{i:02d}", emails, NOW)
    return cfg


def phase_digest(cfg: Path) -> dict[str, float]:
    config = load_config(cfg)
    with make_app(config, clock=lambda: NOW, env=ENV) as app:
        start, cpu = time.perf_counter(), time.process_time()
        sent = 0
        for dl in load_digest_lists(config).values():
            result = send_digest(app, dl, NOW)
            assert result.status == "complete", result
            sent += result.sent
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
    return {"messages": sent, "seconds": elapsed, "cpu": cpu, "rss_mb": _peak_rss_mb()}


def prerender(cfg: Path, out: Path) -> tuple[int, int]:
    """The same messages the digest phase sends, as bytes: one file per list in ``out``."""
    config = load_config(cfg)
    count = size = 0
    out.mkdir()
    with make_app(config, clock=lambda: NOW, env=ENV) as app:
        for dl in load_digest_lists(config).values():
            rendered, start, end = preview(app, dl, NOW)
            composer = Composer(app, dl, rendered, SECRET.encode(), start, end)
            msgs = [(r["email"], composer.message(r["email"]))
                    for r in app.store.subscribers(dl.name)]
            (out / f"{dl.name}.pickle").write_bytes(pickle.dumps(msgs))
            count += len(msgs)
            size += sum(len(raw) for _, raw in msgs)
    return count, size


def phase_floor(messages: Path, port: int) -> dict[str, float]:
    elapsed = cpu = 0.0
    sent = 0
    for path in sorted(messages.glob("*.pickle")):
        msgs = pickle.loads(path.read_bytes())  # loading is not timed
        start, cpu_start = time.perf_counter(), time.process_time()
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            for to, raw in msgs:
                smtp.sendmail("digest@bench.example.org", [to], raw)
                sent += 1
        elapsed += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
    return {"messages": sent, "seconds": elapsed, "cpu": cpu, "rss_mb": _peak_rss_mb()}


def _child(args: list[str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 lists x 10 recipients; no report")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each path; best kept")
    parser.add_argument("--phase", choices=["digest", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "digest":
        print(json.dumps(phase_digest(Path(args.path))))
        return
    if args.phase == "floor":
        print(json.dumps(phase_floor(Path(args.path), args.port)))
        return
    lists, recipients, posts = (4, 10, 200) if args.quick else (20, 50, 200)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c",
         "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            cfg = setup(folder, port, lists, recipients, posts)
            count, total = prerender(cfg, folder / "messages")
            floors, ourss = [], []
            for _ in range(args.rounds):  # alternate, so load changes hit both paths alike
                floors.append(_child(["--phase", "floor", "--path", str(folder / "messages"),
                                      "--port", str(port)]))
                shutil.copy(cfg.parent / "bench.db", cfg.parent / "round.db")
                ourss.append(_child(["--phase", "digest", "--path", str(cfg)]))
                for leftover in ("bench.db-wal", "bench.db-shm"):
                    (cfg.parent / leftover).unlink(missing_ok=True)
                shutil.copy(cfg.parent / "round.db", cfg.parent / "bench.db")  # unsent again
            floor = min(floors, key=lambda r: r["seconds"])
            ours = min(ourss, key=lambda r: r["seconds"])
            size = total / max(count, 1) / 1024
    finally:
        server.terminate()
        server.wait(10)
    report(lists, recipients, posts, size, ours, floor, args.rounds, write=not args.quick)


def _wait_for(port: int) -> None:
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the aiosmtpd server did not start")


def report(lists: int, recipients: int, posts: int, size_kb: float,
           ours: dict[str, float], floor: dict[str, float], rounds: int, *, write: bool) -> None:
    ours_rate = ours["messages"] / ours["seconds"]
    floor_rate = floor["messages"] / floor["seconds"]
    ratio = floor_rate / ours_rate
    verdict = "meets" if ratio <= 2 else "misses"
    md = f"""## Email digest (`benchmarks/digest.py`)

{lists} lists x {recipients} recipients = {int(ours['messages'])} messages, {posts} posts in each
digest's window (about {size_kb:.0f} KB per message), sent to aiosmtpd's Sink handler in its own
process on loopback; each phase in its own process, the two alternated {rounds} times, the best
run of each kept (the SMTP server, not the client, sets the pace: compare the two rows, not
the absolute rates, across machines). Measured {datetime.now(UTC):%Y-%m-%d} on
{os.cpu_count()} CPU(s), Python {sys.version.split()[0]}.

| path | messages | seconds | messages/s | client CPU per message | peak RSS |
| --- | ---: | ---: | ---: | ---: | ---: |
| `send_digest` (render once per list, MIME per recipient, ledger, one connection per list) | {int(ours['messages'])} | {ours['seconds']:.2f} | {ours_rate:.0f} | {ours['cpu'] / ours['messages'] * 1000:.1f} ms | {ours['rss_mb']:.0f} MB |
| floor: plain `smtplib`, same pre-rendered messages, one connection per list | {int(floor['messages'])} | {floor['seconds']:.2f} | {floor_rate:.0f} | {floor['cpu'] / floor['messages'] * 1000:.1f} ms | {floor['rss_mb']:.0f} MB |

The digest path takes {ratio:.2f}x the floor's time per message: it {verdict} the target of
"within 2x". The client CPU column is the work the digest path adds (window query, one render
and CSS inlining per list, per-recipient MIME and token, two ledger commits per message),
independent of the server's pace. The rate limit (`smtp.rate_per_second`) is off for the measurement.
"""
    print(md)
    if write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _report import write_section

        write_section("digest", md)


if __name__ == "__main__":
    main()
