"""``aggregator settings``: print every setting with its default, or the values in force."""

from __future__ import annotations

from dataclasses import asdict

import click

from aggregator.cli import Context, cli, pass_ctx
from aggregator.commands._output import echo_json
from aggregator.settings import display_key, reference_markdown


@cli.command("settings")
@click.option("--reference", is_flag=True, help="Print the reference table (Markdown) and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the settings in force as JSON.")
@pass_ctx
def settings_command(ctx: Context, reference: bool, as_json: bool) -> None:
    """Show the settings in force (after config.yaml), or the reference of every key."""
    if reference:
        click.echo(reference_markdown(), nl=False)
        return
    if as_json:
        echo_json({display_key(name): value for name, value in asdict(ctx.config.settings).items()})
        return
    for name, value in asdict(ctx.config.settings).items():
        click.echo(f"{display_key(name)}: {value!r}")
