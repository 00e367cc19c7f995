"""``aggregator collect`` and ``aggregator status``."""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from typing import Any

import click

from aggregator.cli import Context, cli, pass_ctx
from aggregator.config import Config
from aggregator.errors import UsageError
from aggregator.models import SourceReport, SourceSpec


def select_sources(
    config: Config, missions: Sequence[str], sources: Sequence[str]
) -> list[SourceSpec] | None:
    """The sources named by ``--mission``/``--source`` (None when neither was given)."""
    if not missions and not sources:
        return None
    chosen: dict[str, SourceSpec] = {}
    everything = config.all_sources()
    for acronym in missions:
        mission = config.mission(acronym)
        if mission is None:
            close = difflib.get_close_matches(acronym.upper(), list(config.missions), n=1)
            raise UsageError(
                f"unknown mission {acronym!r}",
                hint=f"did you mean {close[0]}?" if close else
                f"one of: {', '.join(sorted(config.missions))}",
            )
        for spec in everything:
            if spec.mission == mission.acronym:
                chosen[spec.id] = spec
    for wanted in sources:
        found = [s for s in everything if wanted in _names(s)]
        if not found:
            names = [n for s in everything for n in _names(s)]
            close = difflib.get_close_matches(wanted, names, n=1)
            raise UsageError(
                f"unknown source {wanted!r}",
                hint=f"did you mean {close[0]}?" if close else
                "give a feed URL, a source id (see `aggregator status`) or an @handle",
            )
        chosen.update((s.id, s) for s in found)
    return list(chosen.values())


def _names(spec: SourceSpec) -> set[str]:
    names = {spec.id}
    if spec.url:
        names.add(spec.url)
    if spec.handle:
        names |= {spec.handle, f"@{spec.handle}", spec.handle.lower(), f"@{spec.handle.lower()}"}
    return names


def _publish(app: Any, changed: set[str]) -> list[str]:
    """Fetch pending media and render the changed missions and every mission still marked
    pending in the archive (stored by a run killed before it rendered)."""
    if not changed and not app.store.pending_renders().missions:
        return []
    from aggregator.media import fetch_pending_media
    from aggregator.render import render_site

    copied = fetch_pending_media(app)
    written = render_site(app, missions=changed)
    notes = [f"{copied} images stored", f"{len(written)} files rendered"]
    if written.skipped:
        notes.append(written.skipped_summary())
    return notes


@cli.command("collect")
@click.option("--mission", "missions", multiple=True, metavar="ACRONYM",
              help="Only this mission's own sources (repeatable).")
@click.option("--source", "sources", multiple=True, metavar="URL|ID",
              help="Only this source: its feed URL, its id or an X @handle (repeatable).")
@click.option("--due", is_flag=True, help="Only sources whose due time has come (for cron).")
@click.option("--no-render", is_flag=True, help="Do not re-render changed missions afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as JSON.")
@pass_ctx
def collect_command(
    ctx: Context, missions: tuple[str, ...], sources: tuple[str, ...], due: bool, no_render: bool,
    as_json: bool,
) -> None:
    """Collect posts from the sources now; a failing source is recorded, not fatal."""
    from aggregator.app import make_app
    from aggregator.collect import collect

    config = ctx.config
    only = select_sources(config, missions, sources)
    total = len(only if only is not None else config.all_sources())
    interactive = sys.stdout.isatty() and not as_json
    with make_app(config, check=True) as app:  # never writes into a damaged archive
        # What an earlier run stored but never published is published first, before any fetch.
        earlier = [] if no_render else _publish(app, set())
        bar: AbstractContextManager[Any] = (
            click.progressbar(length=total, label="collecting", show_pos=True)
            if interactive else nullcontext(None)
        )
        with bar as progress:
            step: Callable[[SourceReport], None] | None = (
                (lambda _r: progress.update(1)) if progress is not None else None
            )
            result = collect(app, only=only, due_only=due, progress=step)
        notes = [] if no_render else _publish(app, result.missions_changed)
    if as_json:
        click.echo(json.dumps(_run_json(result, earlier + notes), indent=2, default=str))
        return
    if earlier:
        click.echo(f"published what an earlier run stored: {'; '.join(earlier)}")
    click.echo(result.summary() + "".join(f"; {n}" for n in notes))
    for report in result.reports:  # what succeeded with a note, or was asked to wait (#14)
        for warning in report.warnings:
            click.echo(f"  warning: {report.source_id}: {warning}")
        if report.outcome == "rate_limited":
            click.echo(f"  rate limited: {report.error}")
    for report in result.failed:
        click.echo(f"  failed: {report.error}", err=True)


def _run_json(result: Any, notes: list[str]) -> dict[str, Any]:
    """The run's summary for scripts: totals, then every source's report."""
    def report(r: SourceReport) -> dict[str, Any]:
        data = asdict(r)
        return {k: sorted(v) if isinstance(v, frozenset | set) else v for k, v in data.items()}

    return {
        "sources": len(result.reports), "posts_added": result.posts_added,
        "posts_updated": result.posts_updated, "failed": len(result.failed),
        "missions_changed": sorted(result.missions_changed), "published": notes,
        "reports": [report(r) for r in result.reports],
    }


def _age(value: str | None) -> str:
    return value.replace("T", " ").rstrip("Z") if value else "never"


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print every source's state as JSON.")
@pass_ctx
def status_command(ctx: Context, as_json: bool) -> None:
    """Show every source: state, last success, last error, failures, posts. Always exits 0."""
    from aggregator.store import Store

    config = ctx.config
    path = config.database_path
    rows: list[dict[str, Any]] = []
    x_rows: dict[str, dict[str, Any]] = {}
    x_lines: list[str] = []
    if path.exists():
        store = Store(path, readonly=True, timeout=config.settings.database_timeout, check=True)
        try:
            rows = store.source_overview()
            from aggregator.commands.x import x_status_lines, x_status_rows  # the X section

            now, specs = store.clock(), config.all_sources()
            x_rows = {r["id"]: r for r in x_status_rows(store, config.settings, now, specs)}
            x_lines = x_status_lines(store, config.settings, now, specs)
        finally:
            store.close()
    known = {s.id for s in config.all_sources()}
    rows = [r for r in rows if r["id"] in known] or rows
    if as_json:
        keys = ("id", "kind", "name", "mission", "url", "handle", "state", "state_reason",
                "due_at", "last_attempt_at", "last_success_at", "last_error", "last_error_kind",
                "last_error_at", "consecutive_failures", "posts_added_total", "posts_stored",
                "newest_post_at")
        out = [{k: r.get(k) for k in keys} for r in rows]
        for item, row in zip(out, rows, strict=True):
            item["warnings"] = (row.get("warnings") or "").splitlines()
        for item in out:
            if item["id"] in x_rows:
                item["x"] = x_rows[item["id"]]
        click.echo(json.dumps(out, indent=2))
        return
    if not rows:
        click.echo(f"no sources collected yet (archive: {path}); run `aggregator collect`")
        return
    header = ("source", "mission", "state", "last success", "failures", "posts", "last error")
    table = [header] + [
        (
            str(r["name"])[:40], r.get("mission") or "-", str(r.get("state") or "new"),
            _age(r.get("last_success_at")), str(r.get("consecutive_failures") or 0),
            str(r.get("posts_stored") or 0), (r.get("last_error") or "")[:70],
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())
    noted = [(str(r["name"]), w) for r in rows for w in (r.get("warnings") or "").splitlines()]
    if noted:
        click.echo("\nwarnings of the last successful run:")
        for name, warning in noted:
            click.echo(f"  {name}: {warning}")
    for line in x_lines:
        click.echo(line)
