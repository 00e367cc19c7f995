"""``aggregator render`` and ``aggregator serve``."""

from __future__ import annotations

import logging
import mimetypes
from typing import TYPE_CHECKING

import click

from aggregator.app import App, make_app
from aggregator.cli import Context, cli, pass_ctx
from aggregator.commands._output import progress
from aggregator.logs import configure, log_event
from aggregator.web.server import serve_until_stopped

if TYPE_CHECKING:
    from aggregator.web.server import Server

log = logging.getLogger("aggregator.web")


@cli.command()
@click.option("--mission", "missions", multiple=True, metavar="M",
              help="Render only this mission's page, widget and feeds (repeatable).")
@click.option("--fetch-media/--no-fetch-media", default=False, show_default=True,
              help="First copy pending post images into output/media/.")
@pass_ctx
def render(ctx: Context, missions: tuple[str, ...], fetch_media: bool) -> None:
    """Write the site into output/: pages, widget, JSON API and feeds."""
    from aggregator.render import render_site

    with make_app(ctx.config, check=True) as app:
        if fetch_media:
            from aggregator.media import fetch_pending_media

            copied = fetch_pending_media(app)
            click.echo(f"media: {copied} image(s) copied")
        with progress(len(missions or ctx.config.missions), "render") as advance:
            written = render_site(app, missions or None, progress=advance)
    out = ctx.config.output_path
    click.echo(f"rendered into {out}: {len(written)} file(s) changed")
    if written.skipped:
        click.echo(written.skipped_summary(), err=True)


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default: serve.host, loopback).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port (default: serve.port); 0 picks a free one.")
@pass_ctx
def serve(ctx: Context, host: str | None, port: int | None) -> None:
    """Serve output/ and the dynamic routes over HTTP until SIGTERM or Ctrl-C.

    A production server (waitress): serve.threads threads, up to serve.connection_limit
    connections, one access-log line per request. A stop lets requests in progress finish.
    """
    settings = ctx.config.settings
    configure(settings.log_format, settings.log_level)
    host = host or settings.serve_host
    port = settings.serve_port if port is None else port
    with make_app(ctx.config, check=True) as app:
        server = start_server(app, host, port)
        serve_until_stopped(server, lambda: announce(app, server))


def start_server(app: App, host: str, port: int) -> Server:
    """Bind the site's server; warn when unsubscribe links cannot be checked."""
    from aggregator.web import serve as make_server

    # The feeds' own types, so a browser or reader fetching them from `serve` gets them right.
    mimetypes.add_type("application/rss+xml", ".rss")
    mimetypes.add_type("application/atom+xml", ".xml")
    server = make_server(app, host, port)
    secret = app.config.settings.secret_env
    if len(app.env.get(secret, "")) < 16:
        log_event(log, f"{secret} is not set (or shorter than 16 characters): the unsubscribe"
                  " page cannot check any link and refuses every request; set it to the key"
                  " `digest send` signs with", level=logging.WARNING, variable=secret)
    return server


def announce(app: App, server: Server) -> None:
    host, port = server.server_address
    click.echo(f"serving {app.config.output_path} on http://{host}:{port}/"
               f" ({app.config.settings.serve_threads} threads; Ctrl-C or SIGTERM stops)")
