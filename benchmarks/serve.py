"""`aggregator serve` under 200 concurrent clients: waitress (#15) against the earlier server.

    .venv/bin/python benchmarks/serve.py [--quick]

Builds the demo archive and site in a temporary folder (`aggregator demo --no-serve`), then
starts each server as its own process on a free loopback port: `aggregator serve` (waitress,
default settings, access log on) and the standard library's threaded `wsgiref` server that
`serve` used before, running the same WSGI app. 200 aiohttp clients at once each make
``ROUNDS`` requests, one after another, to a search (`/search?q=...`, the archive's full-text
query, rendered per request) and to a mission's widget document (a static file). Reported:
requests per second over the whole burst, latency percentiles, failed requests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._report import write_section  # noqa: E402

CLIENTS = 200
AGGREGATOR = ROOT / ".venv" / "bin" / "aggregator"
PATHS = {"search": "/search?q=patrol", "widget": "/widget/unmik.html"}

WSGIREF = """
import socketserver, sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from aggregator.app import make_app
from aggregator.config import load_config
from aggregator.web import make_wsgi

class Threading(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

app = make_app(load_config(sys.argv[1]))
server = make_server("127.0.0.1", 0, make_wsgi(app), server_class=Threading, handler_class=Quiet)
print(f"serving on http://127.0.0.1:{server.server_port}/", file=sys.stderr, flush=True)
server.serve_forever()
"""


def build_site(folder: Path) -> Path:
    demo = ROOT / "feeds" / "demo"
    settings = yaml.safe_load((demo / "config.yaml").read_text(encoding="utf-8"))
    settings.update(database=str(folder / "demo.db"), output_dir=str(folder / "out"),
                    missions_dir=str(ROOT / "feeds"), sources_file=str(demo / "sources.yaml"),
                    digest_lists=str(demo / "digest-lists.yaml"), log_format="json")
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    subprocess.run([str(AGGREGATOR), "--config", str(config), "demo", "--no-serve",
                    "--feeds-dir", str(demo / "feeds")], check=True, capture_output=True)
    return config


def start(name: str, config: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    if name == "waitress":
        command = [str(AGGREGATOR), "--config", str(config), "serve", "--port", "0"]
    else:
        command = [sys.executable, "-c", WSGIREF, str(config)]
    env = {**os.environ, "AGGREGATOR_SECRET": "benchmark-secret-0123456789"}
    err = log.open("wb")
    proc = subprocess.Popen(command, stdout=err, stderr=err, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        if "http://" in text:
            address = text.split("http://", 1)[1].split("/", 1)[0]
            return proc, f"http://{address}"
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{name} did not start: {log.read_text()}")


async def burst(base: str, path: str, rounds: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def client() -> None:
            nonlocal failures
            for _ in range(rounds):
                started = time.perf_counter()
                try:
                    async with session.get(base + path) as response:
                        await response.read()
                        if response.status != 200:
                            failures += 1
                except (aiohttp.ClientError, TimeoutError):
                    failures += 1
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        return time.perf_counter() - began, latencies, failures


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2 requests per client, not 5")
    args = parser.parse_args()
    rounds = 2 if args.quick else 5
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = build_site(folder)
        for name in ("wsgiref", "waitress"):
            proc, base = start(name, config, folder / f"{name}.log")
            try:
                asyncio.run(burst(base, PATHS["widget"], 1))  # warm up: imports, caches
                for label, path in PATHS.items():
                    took, latencies, failures = asyncio.run(burst(base, path, rounds))
                    rows.append(
                        f"| {name} | {label} | {len(latencies)} | {len(latencies) / took:,.0f} |"
                        f" {_ms(latencies, 0.5)} | {_ms(latencies, 0.95)} |"
                        f" {1000 * max(latencies):.0f} | {1000 * statistics.mean(latencies):.0f}"
                        f" | {failures} |"
                    )
                    print(rows[-1], flush=True)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    write_section("serve", "\n".join([
        "## Serve (`benchmarks/serve.py`)",
        "",
        f"{CLIENTS} concurrent aiohttp clients on loopback, each making {rounds} requests in a"
        " row, against `aggregator serve` (waitress, #15: default `serve.threads` 8, access log"
        " on) and the standard library's threaded `wsgiref` server it replaced, both serving"
        " the demo archive and site. `search` is `/search?q=patrol` (a full-text query and page"
        " render per request), `widget` is `/widget/unmik.html` (a static file). Client and"
        " servers share one 2-core machine with seven other engineers' work, so the figures"
        " are indicative: compare the rows, not the absolute numbers.",
        "",
        "| server | path | requests | requests/s | p50 ms | p95 ms | max ms | mean ms | failed |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
    ]))


if __name__ == "__main__":
    main()
