"""`aggregator serve` and `aggregator demo` as an operator runs them: a production server
(waitress) with an access log, a graceful stop on SIGTERM, clear errors for a port in use."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.web.server import Server
from tests.test_service_support import SECRET_ENV, write_project

ROOT = Path(__file__).resolve().parent.parent
AGGREGATOR = ROOT / ".venv" / "bin" / "aggregator"
DEMO = ROOT / "feeds" / "demo"


@contextmanager
def busy_port() -> Iterator[int]:
    """A loopback port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _serve(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(AGGREGATOR), "--config", str(config), "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in {**os.environ, **(env or {})}.items() if v},
    )


def _url(proc: subprocess.Popen[str]) -> str:
    """The address the server announces on stdout."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "serving " in line and "http://" in line, line
    return line.split("http://", 1)[1].split("/", 1)[0]


def test_serve_logs_each_request_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    config = write_project(tmp_path, extra_settings="log_format: json\n")
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "index.html").write_text("<h1>home</h1>", encoding="utf-8")
    proc = _serve(config, env={"AGGREGATOR_SECRET": SECRET_ENV["AGGREGATOR_SECRET"]})
    try:
        address = _url(proc)
        with urllib.request.urlopen(f"http://{address}/?token=secret-token", timeout=10) as r:
            assert r.status == 200 and r.read() == b"<h1>home</h1>"
            assert r.headers["Server"] == "aggregator"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    request = next(line for line in lines if line["message"] == "request")
    assert request["logger"] == "aggregator.web" and request["level"] == "info"
    assert (request["method"], request["path"], request["status"]) == ("GET", "/", "200")
    assert request["bytes"] == 13 and request["client"] == "127.0.0.1"
    assert "secret-token" not in err, "query strings (tokens, searches) stay out of the log"
    assert lines[-1]["message"] == "server stopped"
    assert "Traceback" not in err and "is not set" not in err


def test_serve_warns_at_start_when_the_signing_secret_is_unset(tmp_path: Path) -> None:
    config = write_project(tmp_path, extra_settings="log_format: text\n")
    proc = _serve(config, env={"AGGREGATOR_SECRET": ""})
    try:
        _url(proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    warning = [line for line in err.splitlines() if "AGGREGATOR_SECRET is not set" in line]
    assert warning and "warning" in warning[0]


def test_a_request_in_progress_at_a_stop_is_answered_in_full() -> None:
    started = threading.Event()

    def slow(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        started.set()
        time.sleep(1.0)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"x" * 100_000]

    server = Server(slow, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    got: list[bytes] = []

    def fetch() -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/", timeout=10) as r:
            got.append(r.read())

    client = threading.Thread(target=fetch)
    client.start()
    assert started.wait(10)
    server.shutdown()  # what SIGTERM does
    client.join(15)
    thread.join(15)
    server.server_close()
    assert got == [b"x" * 100_000]
    assert not thread.is_alive()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", server.server_port)) != 0, "no longer listening"


def test_serve_on_a_port_in_use_is_one_line_naming_the_port_option(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    with busy_port() as port:
        result = subprocess.run(
            [str(AGGREGATOR), "--config", str(config), "serve", "--port", str(port)],
            capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr and "Traceback" not in result.stderr


def _demo_config(tmp_path: Path, feed_port: int) -> Path:
    """The demo's settings in a temp dir, with its sources on ``feed_port``."""
    sources = (DEMO / "sources.yaml").read_text(encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(sources.replace(":8765/", f":{feed_port}/"),
                                           encoding="utf-8")
    settings = yaml.safe_load((DEMO / "config.yaml").read_text(encoding="utf-8"))
    settings.update(database=str(tmp_path / "demo.db"), output_dir=str(tmp_path / "out"),
                    missions_dir=str(ROOT / "feeds"), sources_file="sources.yaml",
                    digest_lists=str(DEMO / "digest-lists.yaml"))
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config


def test_demo_serves_its_sample_feeds_on_a_free_port_when_theirs_is_taken(
    tmp_path: Path,
) -> None:
    with busy_port() as taken:
        config = _demo_config(tmp_path, taken)
        result = CliRunner().invoke(cli, ["--config", str(config), "demo", "--no-serve",
                                          "--feeds-dir", str(DEMO / "feeds")])
    assert result.exit_code == 0, result.output
    assert f"port {taken} is in use" in result.output
    sources = (DEMO / "sources.yaml").read_text(encoding="utf-8").count("kind: feed")
    assert f"collected {sources} sources: " in result.output
    assert ", 0 failed" in result.output
    page = tmp_path / "out" / "missions" / "unmik" / "index.html"
    assert "UNMIK" in page.read_text(encoding="utf-8")


def test_demo_on_a_site_port_in_use_stops_before_any_work_naming_the_port_option(
    tmp_path: Path,
) -> None:
    config = _demo_config(tmp_path, 8765)
    with busy_port() as port:
        result = CliRunner().invoke(cli, ["--config", str(config), "demo", "--port", str(port)])
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.output
    assert "--port" in result.output and not (tmp_path / "out").exists()


def test_demo_without_the_demo_configuration_says_how_to_run_it(tmp_path: Path) -> None:
    config = write_project(tmp_path, feed_urls={"UNMIK": ["https://a.example.org/rss.xml",
                                                          "https://b.example.org/rss.xml"]})
    result = CliRunner().invoke(cli, ["--config", str(config), "demo", "--no-serve"])
    assert result.exit_code == 2
    assert "python3 dev.py demo" in result.output
    assert "--config feeds/demo/config.yaml" in result.output


def test_the_demo_and_the_real_configuration_render_into_different_folders() -> None:
    from aggregator.config import load_config

    demo, real = load_config(DEMO / "config.yaml"), load_config(ROOT / "config.yaml")
    assert demo.output_path != real.output_path
    assert not demo.output_path.is_relative_to(real.output_path)
