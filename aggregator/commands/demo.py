"""``aggregator demo``: the whole pipeline on the bundled sample feeds, offline.

The demo configuration (feeds/demo/config.yaml) points the real mission files at sample
feeds through ``sources_file``. This command serves those files on the loopback address
their URLs name, runs the real collection (HTTP, parse, tag, store) and rendering, stops
the feed server, then serves ``output/`` until interrupted (``--no-serve`` to just build).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from aggregator.app import make_app
from aggregator.cli import Context, cli, pass_ctx
from aggregator.errors import UsageError
from aggregator.models import counted


class _FeedHandler(http.server.SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return "application/xml" if str(path).endswith(".xml") else super().guess_type(path)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _feed_address(urls: list[str]) -> tuple[str, int]:
    """The one loopback host:port every demo source URL points at."""
    addresses = {(urlsplit(u).hostname or "", urlsplit(u).port or 80) for u in urls}
    if len(addresses) != 1:
        raise UsageError(
            f"demo sources point at {len(addresses)} different servers",
            hint="every URL in the demo's sources file must share one loopback host:port",
        )
    host, port = addresses.pop()
    if not (host.startswith("127.") or host == "localhost"):
        raise UsageError(
            f"demo sources point at {host}, not a loopback address",
            hint="the demo only serves sample feeds on 127.0.0.1",
        )
    return host, port


@contextlib.contextmanager
def serve_sample_feeds(folder: Path, host: str, port: int) -> Iterator[None]:
    handler = partial(_FeedHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise UsageError(
            f"cannot serve the sample feeds on {host}:{port}: {exc.strerror}",
            hint="stop whatever uses that port (another demo?) and run the demo again",
        ) from exc
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@cli.command()
@click.option("--no-serve", is_flag=True, help="Build output/ and exit instead of serving it.")
@click.option(
    "--feeds-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of sample feed files [default: feeds/ beside the demo config].",
)
@pass_ctx
def demo(ctx: Context, no_serve: bool, feeds_dir: Path | None) -> None:
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
    host, port = _feed_address([s.url for s in sources if s.url])
    with make_app(config) as app:
        click.echo(f"serving {len(sources)} sample feeds from {folder} on {host}:{port}", err=True)
        with serve_sample_feeds(folder, host, port):
            result = collect(app)
        failed = [r for r in result.reports if r.outcome == "error"]
        added = sum(r.posts_added for r in result.reports)
        click.echo(f"collected {counted(len(result.reports), 'source')}:"
                   f" {counted(added, 'new post')}, {len(failed)} failed")
        for report in failed:
            click.echo(f"  {report.source_id}: {report.error}", err=True)
        written = render_site(app)
        click.echo(f"rendered {counted(len(written), 'file')} into {config.output_path}")
        if no_serve:
            return
        from aggregator.web import serve

        s = config.settings
        server = serve(app, s.serve_host, s.serve_port)
        click.echo(f"serving {config.output_path} on http://{s.serve_host}:{s.serve_port}/ (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
        finally:
            server.server_close()
