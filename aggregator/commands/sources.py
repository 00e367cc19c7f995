"""``aggregator sources``: the operator's tools to verify and grow the sources in ``feeds/``.

    aggregator sources list [--mission M] [--json]
    aggregator sources coverage [--json]
    aggregator sources add URL|@HANDLE --mission M [--name N] [--dry-run]
    aggregator sources remove|disable|enable ID|URL|@HANDLE
    aggregator sources probe [--mission M] [--json] [--write]
    aggregator sources import FILE.opml [--mission M] [--dry-run]
    aggregator sources export --opml [FILE]

Every edit keeps the rest of the mission file byte for byte and is written only once it has
fully succeeded (``aggregator.catalog``); a failure exits non-zero and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from aggregator.catalog import coverage as cov
from aggregator.catalog.edit import write_keeping_mode
from aggregator.catalog.files import Catalog, apply
from aggregator.catalog.probe import Probe
from aggregator.cli import Context, cli, pass_ctx
from aggregator.errors import UsageError
from aggregator.models import SourceSpec
from aggregator.store import Store, system_clock


@cli.group("sources")
def sources_group() -> None:
    """List, check, add and remove the sources of feeds/ (see "Adding and verifying sources")."""


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@contextmanager
def _store(ctx: Context, *, create: bool = False) -> Iterator[Store | None]:
    """The archive, when there is one (``create``: open it even if new, for X look-ups)."""
    path = ctx.config.database_path
    if not create and not path.exists():
        yield None
        return
    store = Store(path, readonly=not create)
    try:
        yield store
    finally:
        store.close()


def _specs(ctx: Context, mission: str | None) -> list[SourceSpec]:
    specs = ctx.config.all_sources()
    if mission is None:
        return specs
    if mission.casefold() in ("general", "_general"):
        return [s for s in specs if s.mission is None]
    if ctx.config.mission(mission) is None:
        raise UsageError(f"unknown mission {mission!r}", hint=f"one of {', '.join(sorted(ctx.config.missions))}, or general")
    return [s for s in specs if s.mission == mission.upper()]


@sources_group.command("list")
@click.option("--mission", help="Only this mission's sources (or general).")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of sources.")
@pass_ctx
def list_command(ctx: Context, mission: str | None, as_json: bool) -> None:
    """Every source: mission, kind, address, name, evidence, last check and state."""
    specs = _specs(ctx, mission)
    with _store(ctx) as store:
        states = store.source_states() if store is not None else {}
    rows = cov.source_rows(specs, states)
    if as_json:
        _echo_json(rows)
        return
    for r in rows:
        checked = r["last_probed"] or (r["last_attempt_at"] or "never")[:10]
        click.echo(f"{r['mission'] or 'general':9} {r['kind']:4} {r['state']:12} {r['evidence']:13} "
                   f"checked {checked:10}  {r['address']}  ({r['name']})")


@sources_group.command("coverage")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per mission.")
@pass_ctx
def coverage_command(ctx: Context, as_json: bool) -> None:
    """For each mission: its own sources by evidence level and the general ones covering it."""
    rows = cov.coverage(ctx.config.missions, ctx.config.general_sources)
    if as_json:
        _echo_json({"missions": rows, "uncovered": cov.uncovered(rows)})
        return
    for r in rows:
        own = ", ".join(f"{n} {level}" for level, items in r["own"].items() if (n := len(items)))
        mark = "ok" if r["covered"] else ("reason" if r["reason"] else "NONE")
        click.echo(f"{r['mission']:9} {mark:6} own: {own or 'none'}; covered by {len(r['covered_by'])} general")
        if r["reason"]:
            click.echo(f"          {r['reason']}")


def _report_lines(p: Probe) -> list[str]:
    if not p.ok:
        lines = [f"FAIL {p.address}: {p.error}"]
        lines += [f"     found on the page: {u}" for u in p.feeds_found]
        return lines + ([f"     hint: {p.hint}"] if p.hint else [])
    if p.kind == "x" and p.x_user_id:
        return [f"ok   {p.address}: user id {p.x_user_id}" + (f", newest post {p.newest_entry}" if p.newest_entry else "")
                + (f" ({p.hint})" if p.hint else "")]
    line = (f"ok   {p.address}: {p.format}, {p.entries} entries, newest {p.newest_entry or 'undated'}"
            f"{' (stale)' if p.stale else ''}, language {p.language or 'not declared'}")
    out = [line + (f": {p.title}" if p.title else "")]
    if p.redirect:
        out.append(f"     {p.redirect} redirect to {p.final_url}"
                   + (" (use the new address: --write records it)" if p.suggested_url else ""))
    return out


def probe_all(ctx: Context, specs: Sequence[SourceSpec], store: Store | None) -> list[Probe]:
    from aggregator.catalog.handles import probe_handles
    from aggregator.catalog.probe import probe_feeds

    now = system_clock()
    settings = ctx.config.settings
    feeds = [s for s in specs if s.kind == "feed"]
    handles = [s for s in specs if s.kind == "x"]
    out = {p.source_id: p for p in probe_feeds(settings, feeds, now)}
    if handles:
        import os
        if store is None:
            raise UsageError("no archive to record X look-ups in", hint="run `aggregator collect` once, or probe feeds only")
        out.update({p.source_id: p for p in probe_handles(settings, handles, dict(os.environ), store, now)})
    return [out[s.id] for s in specs]


@sources_group.command("probe")
@click.option("--mission", help="Only this mission's sources (or general).")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of reports.")
@click.option("--write", is_flag=True, help="Record each success's date (and a permanent redirect's new address) in feeds/.")
@pass_ctx
def probe_command(ctx: Context, mission: str | None, as_json: bool, write: bool) -> None:
    """Fetch each source once, store no post, and report what it serves now."""
    specs = _specs(ctx, mission)
    catalog = Catalog(ctx.config) if write else None
    with _store(ctx, create=any(s.kind == "x" for s in specs)) as store:
        reports = probe_all(ctx, specs, store)
    if as_json:
        _echo_json([p.as_json() for p in reports])
    else:
        for p in reports:
            for line in _report_lines(p):
                click.echo(line)
        failed = sum(1 for p in reports if not p.ok)
        click.echo(f"{len(reports) - failed} of {len(reports)} sources answered", err=True)
    if catalog is not None:
        _record(catalog, reports)


def _record(catalog: Catalog, reports: Sequence[Probe]) -> None:
    today = system_clock().date().isoformat()
    edits: dict[Path, list[tuple[str, Any]]] = {}
    for p in reports:
        if not p.ok:
            continue
        found = catalog.locate(p.source_id)
        changes: dict[str, Any] = {"last_probed": today}
        if p.suggested_url and p.kind == "feed":
            changes["url"] = p.suggested_url
        edits.setdefault(found.path, []).append(("update", (found.index, changes)))
    texts = {path: apply(path, ops) for path, ops in edits.items()}  # all checked first
    for path, text in texts.items():
        write_keeping_mode(path, text)
        click.echo(f"recorded in {path}", err=True)

