"""``aggregator digest send|preview`` and ``aggregator subscribers add|remove|list``."""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path

import click

from aggregator.app import App, make_app, write_atomic
from aggregator.cli import Context, cli, pass_ctx
from aggregator.commands._output import echo_json
from aggregator.digest import (
    Composer,
    DigestResult,
    preview,
    render_posts,
    send_digest,
    window_post_ids,
)
from aggregator.digest.lists import DigestList, get_list
from aggregator.errors import DeliveryError, UsageError
from aggregator.mailer import SmtpSender, valid_address
from aggregator.mailer import secret_key as _secret_key
from aggregator.models import counted, utc


@cli.group()
def digest() -> None:
    """Send or preview the email digest of a list (lists: the digest_lists file)."""


def _key(app: App, dry_run: bool) -> bytes:
    try:
        return _secret_key(app.config.settings, app.env)
    except DeliveryError:
        if not dry_run:
            raise
        click.echo(
            f"note: {app.config.settings.secret_env} is not set; the unsubscribe links in these"
            " files use a throw-away key and will not work",
            err=True,
        )
        return secrets.token_bytes(32)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


@digest.command("send")
@click.option("--list", "list_name", required=True, help="Digest list name.")
@click.option("--dry-run", is_flag=True, help="Write one .eml file per recipient instead of sending.")
@click.option("--to", "to", metavar="ADDRESS", help="Send one preview to ADDRESS only (not recorded).")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("outbox"),
    show_default=True, help="Folder for --dry-run files (git-ignored, never served).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON (exit codes unchanged).")
@pass_ctx
def send(
    ctx: Context, list_name: str, dry_run: bool, to: str | None, out: Path, as_json: bool
) -> None:
    """Send the list's digest of everything new since its last one, once per recipient."""
    dl = get_list(ctx.config, list_name)
    with make_app(ctx.config, check=True) as app:
        now = app.now()
        if dry_run or to:
            _preview_send(app, dl, now, dry_run=dry_run, to=to, out=out)
            return
        result = send_digest(
            app, dl, now,
            progress=None if as_json else lambda email, mid: click.echo(f"sent {mid} to {email}"),
        )
    if as_json:
        echo_json(asdict(result))
    else:
        _print_result(dl, result)
    if result.status == "empty":
        return
    if result.error or result.status != "complete":
        again = "run the same command again (or let the service tick): it resumes where it stopped"
        raise DeliveryError(
            f"the digest of {dl.name} is not complete: {result.reason or result.error or result.status}",
            hint=f"{result.hint}; then {again}" if result.hint else again,
        )


def _print_result(dl: DigestList, result: DigestResult) -> None:
    if result.status == "empty":
        click.echo(f"{dl.name}: nothing new since the last digest; nothing sent")
        return
    click.echo(
        f"{dl.name}: {result.status}; {counted(result.posts, 'post')}; {result.sent} sent"
        f" ({result.resent_in_flight} resent after an interruption), {len(result.failed)}"
        f" failed, {len(result.deferred)} deferred, {result.pending} not yet served"
    )
    for email in result.failed:
        click.echo(f"failed permanently: {email}", err=True)


def _preview_send(
    app: App, dl: DigestList, now: datetime, *, dry_run: bool, to: str | None, out: Path
) -> None:
    rendered, start, end = preview(app, dl, now)
    composer = Composer(app, dl, rendered, _key(app, dry_run and not to), start, end)
    if to:
        if not valid_address(to):
            raise UsageError(f"--to {to!r} is not an email address")
        msg = composer.message(to, f"<preview.{secrets.token_hex(12)}@{dl.name}.invalid>")
        if dry_run:
            _write_eml(out / dl.name / f"{_safe(to)}.eml", msg)
            return
        with SmtpSender(app.config.settings, app.env) as smtp:
            smtp.send(msg, dl.sender, to)
        click.echo(f"sent one preview of {dl.name} ({counted(rendered.posts, 'post')}) to {to}")
        return
    recipients = [r["email"] for r in app.store.subscribers(dl.name)] or list(dl.seed_subscribers)
    for email in recipients:
        _write_eml(out / dl.name / f"{_safe(email)}.eml", composer.message(email))
    click.echo(
        f"{dl.name}: {counted(rendered.posts, 'post')} since {start:%Y-%m-%d %H:%M} UTC;"
        f" wrote {counted(len(recipients), 'message')} to {out / dl.name} (nothing sent)"
    )


def _write_eml(path: Path, raw: bytes) -> None:
    write_atomic(path, raw)
    click.echo(str(path))


@digest.command("preview")
@click.option("--list", "list_name", required=True, help="Digest list name.")
@click.option(
    "--date", "date", type=click.DateTime(["%Y-%m-%d"]), default=None,
    help="Show the digest as it would be sent at the list's send time on this day.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="HTML file to write (default: outbox/<list>.html).",
)
@pass_ctx
def preview_cmd(ctx: Context, list_name: str, date: datetime | None, out: Path | None) -> None:
    """Write the digest's HTML to a file to open in a browser (nothing is sent or recorded)."""
    dl = get_list(ctx.config, list_name)
    with make_app(ctx.config, check=True) as app:
        if date is None:
            rendered, start, end = preview(app, dl, app.now())
        else:
            end = utc(datetime.combine(date.date(), dl.send_at, tzinfo=dl.tz))
            start = end - timedelta(hours=24)
            ids = window_post_ids(app, dl, start, end)
            rendered = render_posts(app, dl, ids, start, end)
        html, _ = rendered.personalize("reader@example.org", "#unsubscribe-preview")
    target = out or Path("outbox") / f"{_safe(dl.name)}.html"
    write_atomic(target, html)
    click.echo(
        f"{target} ({counted(rendered.posts, 'post')} published {start:%Y-%m-%d %H:%M}"
        f" to {end:%Y-%m-%d %H:%M} UTC)"
    )


@cli.group()
def subscribers() -> None:
    """Manage the recipients of a digest list (kept in the database, not in files)."""


def _emails(emails: tuple[str, ...]) -> list[str]:
    bad = [e for e in emails if not valid_address(e)]
    if bad:
        raise UsageError(f"not an email address: {', '.join(bad)}", hint="use name@domain.example")
    return [e.strip().lower() for e in emails]


@subscribers.command("add")
@click.option("--list", "list_name", required=True)
@click.argument("emails", nargs=-1, required=True)
@pass_ctx
def add(ctx: Context, list_name: str, emails: tuple[str, ...]) -> None:
    """Subscribe addresses (re-subscribes those who left)."""
    get_list(ctx.config, list_name)
    with make_app(ctx.config, check=True) as app:
        n = app.store.add_subscribers(list_name, _emails(emails), app.now())
    click.echo(f"{list_name}: {n} subscribed, {len(emails) - n} already subscribed")


@subscribers.command("remove")
@click.option("--list", "list_name", required=True)
@click.argument("emails", nargs=-1, required=True)
@pass_ctx
def remove(ctx: Context, list_name: str, emails: tuple[str, ...]) -> None:
    """Unsubscribe addresses (kept as unsubscribed, so a re-import does not re-add them)."""
    get_list(ctx.config, list_name)
    with make_app(ctx.config, check=True) as app:
        n = sum(app.store.unsubscribe(list_name, e, app.now(), via="cli") for e in _emails(emails))
    click.echo(f"{list_name}: {n} unsubscribed")


@subscribers.command("list")
@click.option("--list", "list_name", required=True)
@click.option("--all", "show_all", is_flag=True, help="Include those who unsubscribed.")
@click.option("--json", "as_json", is_flag=True, help="Print the subscribers as a JSON list.")
@pass_ctx
def list_cmd(ctx: Context, list_name: str, show_all: bool, as_json: bool) -> None:
    """Print one subscriber per line (with status and date when --all)."""
    get_list(ctx.config, list_name)
    with make_app(ctx.config, check=True) as app:
        rows = app.store.subscribers(list_name, include_unsubscribed=show_all)
    if as_json:
        keys = ("email", "status", "added_at", "unsubscribed_at", "unsubscribed_via")
        echo_json([{k: r.get(k) for k in keys} for r in rows])
        return
    for r in rows:
        click.echo(f"{r['email']}\t{r['status']}\t{r['added_at']}" if show_all else r["email"])

