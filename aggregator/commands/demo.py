"""``aggregator demo``: the whole pipeline on the bundled sample feeds, offline.

The demo configuration (feeds/demo/config.yaml) points the real mission files at sample
feeds through ``sources_file``. This command serves those files on the loopback address
their URLs name (another free port when that one is taken), runs the real collection (HTTP,
parse, tag, store) and rendering, stops the feed server, then serves the demo's own output
folder (``output-demo/``) until interrupted (``--no-serve`` to just build). The site's port is
bound first, so a port in use ends the demo at once with the fix (``--port``).
"""

from __future__ import annotations

import contextlib
import errno
import http.server
import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from aggregator.app import make_app
from aggregator.cli import Context, cli, pass_ctx
from aggregator.config import Config
from aggregator.errors import UsageError
from aggregator.logs import configure
from aggregator.models import SourceSpec, counted
from aggregator.web.server import serve_until_stopped


class _FeedHandler(http.server.SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return "application/xml" if str(path).endswith(".xml") else super().guess_type(path)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _feed_address(config: Config, urls: list[str]) -> tuple[str, int]:
    """The one loopback host:port every demo source URL points at."""
    addresses = {(urlsplit(u).hostname or "", urlsplit(u).port or 80) for u in urls}
    if not config.settings.sources_file or len(addresses) != 1:
        raise UsageError(
            f"`aggregator demo` runs on the demo's sample sources, and {config.path} is not the"
            " demo's configuration",
            hint="run `python3 dev.py demo`, or `aggregator --config feeds/demo/config.yaml demo`",
        )
    host, port = addresses.pop()
    if not (host.startswith("127.") or host == "localhost"):
        raise UsageError(
            f"demo sources point at {host}, not a loopback address",
            hint="the demo only serves sample feeds on 127.0.0.1",
        )
    return host, port


def _feed_server(folder: Path, host: str, port: int) -> http.server.ThreadingHTTPServer:
    """The sample-feed server on ``port``, or on a free port when that one is taken."""
    handler = partial(_FeedHandler, directory=str(folder))
    try:
        return http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise UsageError(f"cannot serve the sample feeds on {host}:{port}: {exc.strerror}",
                             hint="the demo serves them on a loopback address") from exc
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    click.echo(f"port {port} is in use: serving the sample feeds on port"
               f" {server.server_address[1]} instead", err=True)
    return server


@contextlib.contextmanager
def serve_sample_feeds(folder: Path, host: str, port: int) -> Iterator[int]:
    """Serve ``folder`` while the block runs; yields the port actually used."""
    server = _feed_server(folder, host, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _on_port(spec: SourceSpec, port: int) -> SourceSpec:
    """The same source (same id, so its state carries over) fetched from another port."""
    parts = urlsplit(spec.url or "")
    return replace(spec, url=parts._replace(netloc=f"{parts.hostname}:{port}").geturl())


@cli.command()
@click.option("--no-serve", is_flag=True, help="Build the site and exit instead of serving it.")
@click.option(
    "--feeds-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of sample feed files [default: feeds/ beside the demo config].",
)
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port to serve the site on (default: serve.port); 0 picks a free one.")
@pass_ctx
def demo(ctx: Context, no_serve: bool, feeds_dir: Path | None, port: int | None) -> None:
    """Run the real pipeline on the bundled sample feeds, then serve the site."""
    from aggregator.collect import collect
    from aggregator.render import render_site

    config = ctx.config
    sources = [s for s in config.all_sources() if s.url]
    if not sources:
        raise UsageError(
            f"{config.path} lists no sources", hint="use --config feeds/demo/config.yaml"
        )
    folder = feeds_dir or config.root / "feeds"
    host, feed_port = _feed_address(config, [s.url for s in sources if s.url])
    settings = config.settings
    server = None
    with make_app(config) as app:
        if not no_serve:  # the site's port first: a taken one stops the demo before any work
            from aggregator.commands.render import announce, start_server

            configure(settings.log_format, settings.log_level)
            server = start_server(app, settings.serve_host,
                                  settings.serve_port if port is None else port)
        try:
            with serve_sample_feeds(folder, host, feed_port) as used:
                click.echo(f"serving {len(sources)} sample feeds from {folder} on {host}:{used}",
                           err=True)
                only = sources if used == feed_port else [_on_port(s, used) for s in sources]
                result = collect(app, only=only)
            failed = [r for r in result.reports if r.outcome == "error"]
            added = sum(r.posts_added for r in result.reports)
            click.echo(f"collected {counted(len(result.reports), 'source')}:"
                       f" {counted(added, 'new post')}, {len(failed)} failed")
            for report in failed:
                click.echo(f"  {report.source_id}: {report.error}", err=True)
            written = render_site(app)
            click.echo(f"rendered {counted(len(written), 'file')} into {config.output_path}")
        except BaseException:
            if server is not None:
                server.server_close()
            raise
        if server is not None:
            serve_until_stopped(server, lambda: announce(app, server))
