"""``aggregator run`` (the scheduled service) and ``aggregator health`` (for supervisors)."""

from __future__ import annotations

from datetime import timedelta

import click

from aggregator.app import make_app
from aggregator.cli import Context, cli, pass_ctx
from aggregator.commands._output import echo_json
from aggregator.digest.lists import load_digest_lists
from aggregator.errors import ExitStatus
from aggregator.logs import configure
from aggregator.service.health import health
from aggregator.service.scheduler import Service
from aggregator.service.writer_lock import WriterLock


@cli.command("run")
@click.option(
    "--tick-seconds",
    type=click.FloatRange(min=0.05),
    default=None,
    help="Seconds between ticks (default: service.tick_seconds in config.yaml).",
)
@click.option(
    "--ticks",
    "max_ticks",
    type=click.IntRange(min=1),
    default=None,
    help="Stop after this many ticks (default: run until SIGTERM or Ctrl-C).",
)
@pass_ctx
def run_command(ctx: Context, tick_seconds: float | None, max_ticks: int | None) -> None:
    """Run the service: collect due sources, re-render changed missions, send due digests.

    One service per database: a second `aggregator run` on the same archive exits with
    status 5. SIGTERM or Ctrl-C finishes the source in progress and its commit, then exits 0.
    """
    config = ctx.config
    settings = config.settings
    load_digest_lists(config)  # a broken lists file stops the start, not every tick
    configure(settings.log_format, settings.log_level)
    with WriterLock(config.database_path):
        app = make_app(config, check=True)  # never writes into a damaged archive
        try:
            service = Service(app)
            service.serve(tick_seconds or settings.service_tick_seconds, max_ticks=max_ticks)
        finally:
            app.close()


@cli.command("health")
@click.option(
    "--max-age-minutes",
    type=click.FloatRange(min=0.01),
    default=None,
    help="Unhealthy when the last heartbeat or tick is older "
    "(default: service.health_max_age_minutes).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON (exit codes unchanged).")
@pass_ctx
def health_command(ctx: Context, max_age_minutes: float | None, as_json: bool) -> None:
    """Exit 0 when the service is healthy, 4 otherwise; print a one-line reason."""
    config = ctx.config
    minutes = max_age_minutes or config.settings.service_health_max_age_minutes
    states: dict[str, int] = {}
    if not config.database_path.exists():
        ok, reason = False, f"no archive at {config.database_path}: start `aggregator run`"
    else:
        app = make_app(config, readonly=True)
        try:
            ok, reason = health(app, max_age=timedelta(minutes=minutes))
            states = app.store.source_state_counts()
        finally:
            app.close()
    if as_json:
        echo_json({"healthy": ok, "reason": reason, "max_age_minutes": minutes,
                   "source_states": states, "database": str(config.database_path)})
    else:
        click.echo(reason if ok else f"unhealthy: {reason}")
    if not ok:
        raise click.exceptions.Exit(int(ExitStatus.UNHEALTHY))
