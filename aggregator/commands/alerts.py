"""``aggregator alerts add|list|remove|send``: saved searches that email new matches (#18)."""

from __future__ import annotations

import json

import click

from aggregator.app import make_app
from aggregator.cli import Context, cli, pass_ctx
from aggregator.errors import DeliveryError
from aggregator.models import counted, iso


@cli.group()
def alerts() -> None:
    """Saved searches that email their new matching posts (hourly or daily)."""


@alerts.command("add")
@click.argument("name")
@click.option("--query", "query", required=True, help="The search, as on /search or `search`.")
@click.option("--to", "to", required=True, metavar="EMAIL", help="Who gets the alerts.")
@click.option("--every", type=click.Choice(["hourly", "daily"]), default="daily",
              show_default=True, help="How often new matches are sent (never when none).")
@pass_ctx
def add(ctx: Context, name: str, query: str, to: str, every: str) -> None:
    """Save a search NAME whose new public matches are emailed to EMAIL."""
    from aggregator.alerts import add_alert

    with make_app(ctx.config, check=True) as app:
        created = add_alert(app, name, query, to, every)
    verb = "saved" if created else "replaced"
    click.echo(f"alert {name} {verb}: {query!r} to {to.strip().lower()}, {every};"
               " posts published from now on that match it are sent")


@alerts.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array (for scripts).")
@pass_ctx
def list_(ctx: Context, as_json: bool) -> None:
    """Every saved search with its address, rhythm and state."""
    from aggregator.alerts import alerts as all_alerts

    with make_app(ctx.config, check=True) as app:
        rows = all_alerts(app)
        sent = {a.name: len(app.store.digest_runs(a.list_name)) for a, _ in rows}
    if as_json:
        click.echo(json.dumps([
            {"name": a.name, "query": a.query, "to": a.email, "every": a.every, "state": state,
             "created_at": iso(a.created_at), "created_by": a.created_by}
            for a, state in rows
        ], ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo("no alerts (add one with `aggregator alerts add NAME --query Q --to EMAIL`)")
    for a, state in rows:
        flag = "" if state == "active" else f" [{state}]"
        click.echo(f"{a.name}: {a.query!r} -> {a.email}, {a.every}{flag}"
                   f" ({counted(sent[a.name], 'check')} so far)")


@alerts.command("remove")
@click.argument("name")
@pass_ctx
def remove(ctx: Context, name: str) -> None:
    """Delete the saved search NAME; nothing more is sent for it."""
    from aggregator.alerts import remove_alert

    with make_app(ctx.config, check=True) as app:
        remove_alert(app, name)
    click.echo(f"alert {name} removed")


@alerts.command("send")
@pass_ctx
def send(ctx: Context) -> None:
    """Send the alerts that are due now (the service does this every tick)."""
    from aggregator.alerts import due_alerts

    with make_app(ctx.config, check=True) as app:
        results = due_alerts(app, app.now())
    for r in results:
        name = r.list_name.removeprefix("alert.")
        if r.status == "empty":
            click.echo(f"{name}: nothing new matched; nothing sent")
        else:
            click.echo(f"{name}: {r.status}; {counted(r.posts, 'post')}; {r.sent} sent")
    unfinished = [r for r in results if r.error or r.status not in ("complete", "empty")]
    if unfinished:
        raise DeliveryError(
            f"{counted(len(unfinished), 'alert')} not sent: "
            + "; ".join(f"{r.list_name}: {r.error or r.status}" for r in unfinished),
            hint="run it again (or let the service tick): it resumes where it stopped",
        )
