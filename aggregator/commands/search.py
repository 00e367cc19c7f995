"""``aggregator search``, ``export``, ``backup`` and ``datasette-metadata``: the analysts' archive.

    aggregator search 'mission:UNMISS abyei from:2024-03 to:2024-05' --format csv --limit 0
    aggregator export --mission MINUSMA --to 2023-12-31 --format csv --out minusma.csv
    aggregator backup backups/archive-2026-11-28.db
    aggregator datasette-metadata --out metadata.json

Results go to stdout, messages to stderr. The CLI is the local operator: posts hidden by
editors or gone at the source are included and flagged (``--public`` shows what anonymous
visitors of ``aggregator serve`` see).
"""

from __future__ import annotations

import contextlib
import json
import shlex
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from aggregator import search
from aggregator.app import App, make_app
from aggregator.cli import Context, cli, pass_ctx
from aggregator.commands._output import on_terminal, progress
from aggregator.errors import UsageError
from aggregator.models import counted
from aggregator.search import archive
from aggregator.store.schema import DESCRIPTIONS
from aggregator.store.search import MARK_CLOSE, MARK_OPEN, Facets, Sort

FORMATS = ("table", "json", "jsonl", "csv")
T = TypeVar("T")


def source_map(app: App) -> dict[str, tuple[str, str]]:
    """source id -> (name, address) for provenance columns."""
    out: dict[str, tuple[str, str]] = {}
    for spec in app.config.all_sources():
        out[spec.id] = (spec.name, spec.url or f"https://x.com/{spec.handle}")
    for sid, name in app.store.source_names().items():
        out.setdefault(sid, (name, sid.split(":", 1)[1] if ":" in sid else ""))
    return out


def _plan(app: App, query: str) -> search.SearchPlan:
    return search.parse(query, missions=set(app.config.missions))


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        yield fh


def _flags(row: dict[str, Any]) -> str:
    flags = []
    if row.get("hidden"):
        flags.append("HIDDEN" + (f" ({row['hidden_note']})" if row.get("hidden_note") else ""))
    if row.get("availability", "available") != "available":
        note = row.get("availability_note")
        flags.append(f"{str(row['availability']).upper()} AT SOURCE" + (f" ({note})" if note else ""))
    return " ".join(f"[{f}]" for f in flags)


def _highlight(text: str) -> str:
    parts = text.replace(MARK_CLOSE, MARK_OPEN).split(MARK_OPEN)
    return "".join(click.style(p, bold=True) if i % 2 else p for i, p in enumerate(parts))


def _print_table(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        when = (row["sort_at"] or "")[:10]
        who = f"@{row['author_handle']}" if row.get("author_handle") else row.get("author") or ""
        head = f"{when}  {row.get('missions') or '-':<16} {who}  {_flags(row)}".rstrip()
        click.echo(head)
        if row.get("title"):
            click.echo("    " + _highlight(" ".join(row["title_highlighted"].split())))
        click.echo("    " + _highlight(" ".join(row["snippet"].split())))
        click.echo(f"    {row['id']}  {row.get('url') or ''}")


def _print_facets(f: Facets, names: dict[str, str]) -> None:
    """The counts the search page shows, in its words: sources by name, no empty lines."""
    click.echo(counted(f.total, "post") + (" matches" if f.total == 1 else " match"), err=True)
    for name in ("mission", "source", "lang", "month"):
        values = getattr(f, name) if name == "month" else getattr(f, name)[:12]
        if name == "source":
            values = [(names.get(v, v), n) for v, n in values]
        counts = ", ".join(f"{v or '?'} {n}" for v, n in values if n)
        if counts:
            click.echo(f"  {name}: {counts}", err=True)


@cli.command("search")
@click.argument("query")
@click.option("--sort", type=click.Choice(["relevance", "newest"]), default="relevance", show_default=True)
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True, help="0: every result")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--cursor", default=None, help="next page: the cursor printed after a table page")
@click.option("--facets", is_flag=True, help="also print counts per mission, source, language, month")
@click.option("--public", is_flag=True, help="only what anonymous visitors see (no hidden posts)")
@pass_ctx
def search_command(
    ctx: Context, query: str, sort: Sort, limit: int, fmt: str, cursor: str | None,
    facets: bool, public: bool,
) -> None:
    """Search the archive. QUERY: words, "phrases", prefix*, AND/OR/NOT, ( ), and filters
    mission: source: author:@handle lang: from: to: has:media is:retweet (see README)."""
    with make_app(ctx.config, readonly=True, check=True) as app:
        plan = _plan(app, query)
        if facets:
            names = {sid: name for sid, (name, _) in source_map(app).items()}
            _print_facets(app.store.search_facets(plan, include_hidden=not public), names)
        if fmt == "table":
            page = app.store.search(
                plan, sort=sort, limit=limit or 1_000_000, cursor=cursor, include_hidden=not public
            )
            _print_table(page.rows)
            if not page.rows:
                click.echo("no posts match", err=True)
            if page.next_cursor:
                click.echo(f"more: --cursor {page.next_cursor}", err=True)
            return
        if cursor:
            raise UsageError("--cursor pages the table format only", hint="use --limit 0 for everything")
        rows = app.store.iter_search(plan, sort=sort, include_hidden=not public, limit=limit or None)
        sources = source_map(app)
        base = app.config.settings.base_url
        records = (archive.record(r, base_url=base, sources=sources) for r in rows)
        n = archive.write_records(records, sys.stdout, fmt, [f for f, _ in archive.FIELDS])
        sys.stdout.flush()
        click.echo(counted(n, "post"), err=True)


@cli.command("export")
@click.option("--mission", "missions", multiple=True, help="mission acronym (repeat for several)")
@click.option("--from", "date_from", default=None, help="first day: YYYY-MM-DD, YYYY-MM or YYYY")
@click.option("--to", "date_to", default=None, help="last day, included")
@click.option("--query", default="", help="more search terms or filters (search syntax)")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--ids-only", is_flag=True, help="only post ids (for X posts: share ids, not content)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="file to write, with a sidecar <file>.README.md; default stdout (no README)")
@pass_ctx
def export_command(
    ctx: Context, missions: tuple[str, ...], date_from: str | None, date_to: str | None,
    query: str, fmt: str, ids_only: bool, out: Path | None,
) -> None:
    """Export posts of missions between two dates, with a README describing every field."""
    parts = [f"mission:{m}" for m in missions]
    parts += [f"from:{date_from}"] if date_from else []
    parts += [f"to:{date_to}"] if date_to else []
    full_query = " ".join([*parts, query]).strip()
    if out is not None and out.exists():
        raise UsageError(f"{out} already exists", hint="choose a new file name or delete the old export")
    with make_app(ctx.config, readonly=True, check=True) as app:
        plan = _plan(app, full_query)
        sources = source_map(app)
        base = app.config.settings.base_url
        tally = archive.Tally()
        rows = app.store.iter_search(plan, sort="newest", include_hidden=True)
        if ids_only:
            records = tally.watch(archive.id_record(r) for r in rows)
            fields = [f for f, _ in archive.ID_FIELDS]
        else:
            records = tally.watch(archive.record(r, base_url=base, sources=sources) for r in rows)
            fields = [f for f, _ in archive.FIELDS]
        total = app.store.search_facets(plan, include_hidden=True).total if on_terminal() else 0
        with _output(out) as fh, progress(total, "export") as advance:
            n = archive.write_records(_advancing(records, advance), fh, fmt, fields)
        if out is None:
            click.echo(f"{counted(n, 'post')} (no README: pass --out FILE to get one)", err=True)
            return
        text = archive.readme(
            query=full_query or "(everything)", fmt=fmt, data_file=out.name,
            command=_export_command(missions, date_from, date_to, query, fmt, ids_only, out),
            generated=app.now(), database=str(app.config.database_path), tally=tally,
            sources=sources, ids_only=ids_only,
        )
        readme = out.with_name(out.name + ".README.md")
        readme.write_text(text, encoding="utf-8")
        click.echo(f"{counted(n, 'post')} -> {out} (fields and provenance: {readme})", err=True)


def _advancing(items: Iterable[T], advance: Callable[[int], None]) -> Iterator[T]:
    for item in items:
        advance(1)
        yield item


def _export_command(
    missions: tuple[str, ...], date_from: str | None, date_to: str | None, query: str,
    fmt: str, ids_only: bool, out: Path,
) -> str:
    """The export as a command line that reproduces it (for the README)."""
    args = [a for m in missions for a in ("--mission", m)]
    args += ["--from", date_from] if date_from else []
    args += ["--to", date_to] if date_to else []
    args += ["--query", query] if query else []
    args += ["--format", fmt, *(["--ids-only"] if ids_only else []), "--out", out.name]
    return "aggregator export " + shlex.join(args)


@cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def backup_command(ctx: Context, path: Path) -> None:
    """Write a consistent copy of the live archive to PATH (VACUUM INTO), then check it."""
    with (
        make_app(ctx.config, readonly=True, check=True) as app,
        progress(app.store.page_count() if on_terminal() else 0, "backup") as advance,
    ):
        counts = app.store.backup_to(path, progress=advance)
    click.echo(
        f"backup: {path} ({counted(counts['posts'], 'post')}, {counts['tables']} tables, "
        f"{counts['bytes']} bytes; integrity ok)"
    )


@cli.command("datasette-metadata")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@pass_ctx
def datasette_metadata_command(ctx: Context, out: Path | None) -> None:
    """Print Datasette metadata (table and column descriptions, search, canned queries)."""
    config = ctx.config
    meta = archive.datasette_metadata(
        DESCRIPTIONS, title=config.settings.site_title, database=config.database_path.stem
    )
    text = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
