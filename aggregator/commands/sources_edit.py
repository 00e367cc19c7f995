"""``aggregator sources add/remove/disable/enable/import/export``: the edits of ``feeds/``.

Each command decides everything first (fetching, discovery, duplicate checks, the new text
of each file, parsed again) and writes last, so a failure leaves every file unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from aggregator.catalog.discover import common_paths, is_handle
from aggregator.catalog.edit import write_keeping_mode
from aggregator.catalog.files import Catalog, apply, key_of
from aggregator.catalog.opml import export_opml, read_opml
from aggregator.catalog.probe import Probe, probe_feeds
from aggregator.cli import Context, pass_ctx
from aggregator.commands.sources import _store, sources_group
from aggregator.errors import UsageError
from aggregator.models import EVIDENCE_LEVELS, SourceSpec
from aggregator.sources.http import check_allowed
from aggregator.store import system_clock


def _feed_spec(url: str) -> SourceSpec:
    return SourceSpec(id=f"feed:{url}", kind="feed", name=url, mission=None, url=url)


def _fail(p: Probe, what: str) -> UsageError:
    detail = p.error or "no answer"
    return UsageError(f"{what}: {detail}; nothing written", hint=p.hint)


def discover(ctx: Context, url: str) -> tuple[Probe, list[str]]:
    """The feed at ``url``: itself, or the first feed its page links to, or one at a usual
    path of its site. Returns the feed's probe and the lines telling how it was found."""
    settings = ctx.config.settings
    try:
        check_allowed(url, settings, url)
    except Exception as exc:  # FetchError: not http(s), or offline
        raise UsageError(f"{exc}; nothing written", hint=getattr(exc, "hint", None)) from None
    now = system_clock()
    first = probe_feeds(settings, [_feed_spec(url)], now)[0]
    if first.ok:
        return first, []
    if not first.html_page:
        raise _fail(first, f"cannot add {url}")
    advertised = first.feeds_found
    candidates = advertised or common_paths(first.final_url or url)
    how = (f"{url} is a web page that links {len(advertised)} feed(s)" if advertised
           else f"{url} is a web page that links no feed; trying the usual feed paths of its site")
    probes = probe_feeds(settings, [_feed_spec(c) for c in candidates], now)
    for p in probes:
        if p.ok:
            return p, [how, f"found the feed {p.address}"]
    tried = "; ".join(f"{p.address} ({(p.error or '').split(': ', 1)[-1]})" for p in probes)
    raise UsageError(f"no feed found for {url}: {how}; tried {tried}; nothing written",
                     hint="open the page in a browser, find its RSS/Atom link and add that address")


def _x_entry(ctx: Context, handle: str) -> tuple[dict[str, Any], list[str]]:
    from aggregator.catalog.handles import has_token, probe_handles

    settings = ctx.config.settings
    env = dict(os.environ)
    name = handle.lstrip("@")
    spec = SourceSpec(id=f"x:{name.lower()}", kind="x", name=f"@{name}", mission=None, handle=name,
                      via_bridge=not has_token(settings, env) and bool(settings.x_bridge_template))
    with _store(ctx, create=True) as store:
        assert store is not None
        report = probe_handles(settings, [spec], env, store, system_clock())[0]
    if not report.ok:
        raise _fail(report, f"cannot add @{name}")
    entry: dict[str, Any] = {"kind": "x", "handle": name}
    if spec.via_bridge:
        entry["via"] = "bridge"
        return entry, [f"@{name} read through the bridge: {report.entries} posts, newest {report.newest_entry}"]
    return entry, [f"@{name} is X user {report.x_user_id}"]


@sources_group.command("add")
@click.argument("target")
@click.option("--mission", required=True, help="The mission whose file gets the source (or general).")
@click.option("--name", help="The source's name (default: the feed's title).")
@click.option("--evidence", type=click.Choice(EVIDENCE_LEVELS), default="unverified", show_default=True,
              help="How strongly the evidence ties the source to the mission.")
@click.option("--note", help="Where that evidence is (evidence_note).")
@click.option("--covers", multiple=True, help="With --mission general: a mission it can bring (repeatable).")
@click.option("--dry-run", is_flag=True, help="Fetch and show, write nothing.")
@pass_ctx
def add_command(ctx: Context, target: str, mission: str, name: str | None, evidence: str,
                note: str | None, covers: tuple[str, ...], dry_run: bool) -> None:
    """Add a feed (a page's feed is discovered) or an X @handle to a mission's file."""
    catalog = Catalog(ctx.config)
    path = catalog.path_for(mission)
    general = path.name == "_general.yaml"
    if covers and not general:
        raise UsageError("--covers is for general sources only; nothing written",
                         hint="a mission's own source belongs to that mission; use --mission general")
    for acronym in covers:
        catalog.path_for(acronym)  # refuses an unknown mission
    if is_handle(target):
        entry, lines = _x_entry_checked(ctx, catalog, target)
    else:
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            raise UsageError(f"{target!r} is neither an http(s) address nor an @handle; nothing written",
                             hint="give the feed's or the page's full address, or @handle for X")
        catalog.refuse_duplicate({"kind": "feed", "url": target})
        feed, lines = discover(ctx, target)
        url = feed.suggested_url or feed.address
        entry = {"kind": "feed", "url": url, "name": name or feed.title or url}
        if feed.language:
            entry["language"] = feed.language
        lines.append(f"{feed.title or '(untitled)'}: {feed.format}, {feed.entries} entries, "
                     f"newest {feed.newest_entry or 'undated'}, language {feed.language or 'not declared'}")
        entry["last_probed"] = system_clock().date().isoformat()
    if name:
        entry["name"] = name
    entry["evidence"] = evidence
    entry["evidence_note"] = note or f"added with `aggregator sources add {target}`"
    if covers:
        entry["covers"] = [c.upper() for c in covers]
    catalog.refuse_duplicate(entry)
    text = apply(path, [("add", entry)])
    for line in lines:
        click.echo(line)
    if dry_run:
        click.echo(f"would add to {path}: {entry}")
        return
    write_keeping_mode(path, text)
    click.echo(f"added {key_of(entry).split(':', 1)[0]} {entry.get('url') or '@' + entry['handle']} to {path}")


def _x_entry_checked(ctx: Context, catalog: Catalog, target: str) -> tuple[dict[str, Any], list[str]]:
    catalog.refuse_duplicate({"kind": "x", "handle": target.lstrip("@")})
    return _x_entry(ctx, target)


@sources_group.command("remove")
@click.argument("target")
@pass_ctx
def remove_command(ctx: Context, target: str) -> None:
    """Remove a source (by id, address or @handle) from its file; its stored posts stay."""
    found = Catalog(ctx.config).locate(target)
    write_keeping_mode(found.path, apply(found.path, [("remove", found.index)]))
    click.echo(f"removed {target} from {found.path}")


def _set_disabled(ctx: Context, target: str, disabled: bool) -> None:
    found = Catalog(ctx.config).locate(target)
    if bool(found.entry.get("disabled")) == disabled:
        click.echo(f"{target} is already {'disabled' if disabled else 'enabled'} in {found.path}")
        return
    change = {"disabled": True if disabled else None}
    write_keeping_mode(found.path, apply(found.path, [("update", (found.index, change))]))
    click.echo(f"{'disabled' if disabled else 'enabled'} {target} in {found.path}")


@sources_group.command("disable")
@click.argument("target")
@pass_ctx
def disable_command(ctx: Context, target: str) -> None:
    """Stop collecting a source, keeping it in its file (state `disabled`)."""
    _set_disabled(ctx, target, True)


@sources_group.command("enable")
@click.argument("target")
@pass_ctx
def enable_command(ctx: Context, target: str) -> None:
    """Collect a disabled source again."""
    _set_disabled(ctx, target, False)


@sources_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mission", help="Put every outline in this mission (or general) instead of by category.")
@click.option("--dry-run", is_flag=True, help="Show what would be added, write nothing.")
@pass_ctx
def import_command(ctx: Context, file: Path, mission: str | None, dry_run: bool) -> None:
    """Add the feeds of an OPML file (Miniflux, FreshRSS, Feedly, reader...) to the mission files."""
    catalog = Catalog(ctx.config)
    chosen = None
    if mission is not None:
        catalog.path_for(mission)  # refuses an unknown mission
        chosen = "General" if mission.casefold() in ("general", "_general") else mission.upper()
    found = read_opml(file.read_bytes(), ctx.config.missions, chosen, file.name)
    edits: dict[Path, list[tuple[str, Any]]] = {}
    seen: set[str] = set()
    skipped = []
    for owner, entry in found.entries:
        try:
            catalog.refuse_duplicate(entry)
            if key_of(entry) in seen:
                raise UsageError("listed twice in the file")
        except UsageError as exc:
            skipped.append(f"{entry.get('url') or '@' + str(entry.get('handle'))}: {exc.args[0].split('; ')[0]}")
            continue
        seen.add(key_of(entry))
        edits.setdefault(catalog.path_for(owner), []).append(("add", entry))
    texts = {path: apply(path, ops) for path, ops in edits.items()}
    for address, why in found.unknown:
        click.echo(f"unknown: {address}: {why}", err=True)
    for line in skipped:
        click.echo(f"skipped: {line}", err=True)
    added = sum(len(ops) for ops in edits.values())
    if not dry_run:
        for path, text in texts.items():
            write_keeping_mode(path, text)
    click.echo(f"{'would add' if dry_run else 'added'} {added} source(s) in {len(texts)} file(s);"
               f" {len(found.unknown)} unknown, {len(skipped)} already there")
    if found.unknown and not found.entries:
        raise UsageError(f"{file}: no outline could be placed in a mission",
                         hint="give --mission, or put the feeds in categories named after missions")


@sources_group.command("export")
@click.option("--opml", "as_opml", is_flag=True, required=True, help="Write OPML 2.0 (the only format).")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def export_command(ctx: Context, as_opml: bool, file: Path | None) -> None:
    """Every source as OPML 2.0, one category per mission, to FILE or stdout."""
    data = export_opml(ctx.config.missions, ctx.config.general_sources, system_clock())
    if file is None:
        click.echo(data.decode("utf-8"), nl=False)
        return
    write_keeping_mode(file, data.decode("utf-8"))
    click.echo(f"wrote {file}", err=True)
