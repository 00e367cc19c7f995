"""``aggregator render`` and ``aggregator serve``."""

from __future__ import annotations

import mimetypes

import click

from aggregator.app import make_app
from aggregator.cli import Context, cli, pass_ctx
from aggregator.commands._output import progress


@cli.command()
@click.option("--mission", "missions", multiple=True, metavar="M",
              help="Render only this mission's page, widget and feeds (repeatable).")
@click.option("--fetch-media/--no-fetch-media", default=False, show_default=True,
              help="First copy pending post images into output/media/.")
@pass_ctx
def render(ctx: Context, missions: tuple[str, ...], fetch_media: bool) -> None:
    """Write the site into output/: pages, widget, JSON API and feeds."""
    from aggregator.render import render_site

    with make_app(ctx.config) as app:
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
@click.option("--host", default=None, help="Address to listen on (default: serve_host, loopback).")
@click.option("--port", type=int, default=None, help="Port (default: serve_port).")
@pass_ctx
def serve(ctx: Context, host: str | None, port: int | None) -> None:
    """Serve output/ and the dynamic routes over HTTP until interrupted."""
    from aggregator.web import serve as make_server

    # The feeds' own types, so a browser or reader fetching them from `serve` gets them right.
    mimetypes.add_type("application/rss+xml", ".rss")
    mimetypes.add_type("application/atom+xml", ".xml")
    settings = ctx.config.settings
    host = host or settings.serve_host
    port = settings.serve_port if port is None else port
    with make_app(ctx.config) as app:
        server = make_server(app, host, port)
        click.echo(f"serving {ctx.config.output_path} on http://{host}:{server.server_port}/ (Ctrl+C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
