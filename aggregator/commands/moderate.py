"""``aggregator moderate``, ``aggregator editors`` and ``aggregator audit``: editors' decisions.

    aggregator moderate POST_ID --hide --editor NAME --note "why"
    aggregator moderate --queue [--mission M] [--new]
    aggregator editors add NAME [--password-stdin] (--admin | --mission M ...)
    aggregator editors set-role NAME (--admin | --mission M ...) | sign-out NAME | remove NAME | list
    aggregator audit [--post ID]
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from aggregator import moderation
from aggregator.app import make_app
from aggregator.cli import Context, cli, pass_ctx
from aggregator.commands._output import echo_json
from aggregator.errors import UsageError
from aggregator.models import counted

_FLAGS = ("hide", "show", "pin", "unpin")


def _one_action(flags: dict[str, bool], add: str | None, remove: str | None) -> tuple[str, str | None]:
    chosen: list[tuple[str, str | None]] = [(name, None) for name in _FLAGS if flags[name]]
    if add:
        chosen.append(("add_mission", add))
    if remove:
        chosen.append(("remove_mission", remove))
    if len(chosen) != 1:
        raise UsageError(
            f"give exactly one action, got {len(chosen)}",
            hint="one of --hide, --show, --pin, --unpin, --add-mission M, --remove-mission M",
        )
    return chosen[0]


def _excerpt(row: dict[str, Any], width: int = 90) -> str:
    text = " ".join(str(row.get("title") or row.get("text") or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_queue(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        for row in rows:
            keep = ("id", "source_id", "url", "title", "sort_at", "collected_at", "hidden",
                    "pinned", "reviewed", "tags")
            click.echo(json.dumps({k: row.get(k) for k in keep}, ensure_ascii=False))
        return
    if not rows:
        click.echo("the queue is empty", err=True)
    for row in rows:
        flags = [f for f in ("hidden", "pinned") if row.get(f)]
        if not row.get("reviewed"):
            flags.append("new")
        missions = ",".join(
            t.mission + ("*" if t.decided_by == "editor" else "") for t in row["tags"]
        ) or "-"
        click.echo(f"{row['id']}\t{row['sort_at']}\t{missions}\t{' '.join(flags) or '-'}\t{_excerpt(row)}")


@cli.command()
@click.argument("post_id", required=False)
@click.option("--hide", is_flag=True, help="Hide the post from every public output.")
@click.option("--show", is_flag=True, help="Show a hidden post again.")
@click.option("--pin", is_flag=True, help="Pin the post to the top of its missions' pages.")
@click.option("--unpin", is_flag=True, help="Unpin the post.")
@click.option("--add-mission", metavar="M", help="Put the post on mission M's page, whatever the rules say.")
@click.option("--remove-mission", metavar="M", help="Take the post off mission M's page for good.")
@click.option("--editor", metavar="NAME", help="Who decides (kept in the audit log).")
@click.option("--note", metavar="TEXT", help="Why (kept in the audit log, shown as the reason).")
@click.option("--queue", "show_queue", is_flag=True, help="List the newest posts to review.")
@click.option("--mission", metavar="M", help="With --queue: only posts of mission M.")
@click.option("--new", "only_new", is_flag=True, help="With --queue: only posts no editor acted on.")
@click.option("--limit", default=50, show_default=True, help="With --queue: posts listed.")
@click.option("--json", "as_json", is_flag=True, help="With --queue: one JSON object per line.")
@click.option("--no-render", is_flag=True, help="Do not re-render the changed missions' pages.")
@pass_ctx
def moderate(
    ctx: Context, post_id: str | None, hide: bool, show: bool, pin: bool, unpin: bool,
    add_mission: str | None, remove_mission: str | None, editor: str | None, note: str | None,
    show_queue: bool, mission: str | None, only_new: bool, limit: int, as_json: bool,
    no_render: bool,
) -> None:
    """Hide or show, pin or unpin a post, add or remove a mission; or list the queue.

    Every action needs --editor and --note and is written to the audit log. Decisions win
    over tagging rules and survive re-collection and `aggregator retag`.
    """
    with make_app(ctx.config, check=True) as app:
        if show_queue:
            if post_id:
                raise UsageError("--queue lists posts; do not pass a POST_ID with it")
            acronym = moderation.check_mission(app, mission)
            rows = app.store.moderation_queue(acronym, limit=limit, unreviewed_only=only_new)
            _print_queue(rows, as_json)
            return
        if not post_id:
            raise UsageError("which post?", hint="pass a POST_ID, or --queue to list posts")
        flags = {"hide": hide, "show": show, "pin": pin, "unpin": unpin}
        action, target = _one_action(flags, add_mission, remove_mission)
        if not editor or not note:
            raise UsageError(
                "--editor NAME and --note TEXT are required",
                hint="every decision records who made it and why",
            )
        changed = moderation.apply(
            app, post_id, action, editor=editor, note=note, mission=target,
            rerender=not no_render,
        )
        label = moderation.LABELS[action]
        click.echo(f"{post_id}: {label}" + (f" ({target.upper()})" if target else ""))
        if changed:
            click.echo(f"missions affected: {', '.join(sorted(changed))}", err=True)


@cli.group()
def editors() -> None:
    """Manage editor accounts for the moderation page of `aggregator serve`."""


def _role_missions(app: Any, admin: bool, missions: tuple[str, ...]) -> list[str] | None:
    """--admin -> None (an admin); --mission M ... -> the checked acronyms."""
    if admin == bool(missions):
        raise UsageError(
            "give a role: --admin, or --mission M (repeat it for several missions)",
            hint="an admin acts on every post and manages accounts; an editor acts on the"
            " posts of their missions only",
        )
    if admin:
        return None
    return [str(moderation.check_mission(app, m)) for m in missions]


_ADMIN = click.option("--admin", is_flag=True, help="Acts on every post and manages accounts.")
_MISSIONS = click.option(
    "--mission", "missions", metavar="M", multiple=True,
    help="An editor of mission M (repeat for several): acts only on those missions' posts.",
)


@editors.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@_ADMIN
@_MISSIONS
@pass_ctx
def editors_add(
    ctx: Context, name: str, password_stdin: bool, admin: bool, missions: tuple[str, ...]
) -> None:
    """Create an account: an admin (--admin) or an editor of missions (--mission M ...).

    The password is prompted, or read from stdin with --password-stdin."""
    with make_app(ctx.config, check=True) as app:
        chosen = _role_missions(app, admin, missions)
        password = _password(name, password_stdin)
        app.store.add_editor(name, password, missions=chosen)
        role = app.store.role(name)
    assert role is not None
    click.echo(f"editor {name} added ({role.describe()});"
               " the moderation desk is at /moderation/ in `aggregator serve`")


def _password(name: str, from_stdin: bool) -> str:
    """The first line of stdin, or asked twice on the terminal."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        return str(click.prompt(
            f"Password for {name}", hide_input=True, confirmation_prompt=True, err=True
        ))
    except click.exceptions.Abort:
        if sys.stdin.isatty():
            raise  # Ctrl-C or Ctrl-D at the prompt
        raise UsageError(  # cron, a script, a container: nothing to prompt on
            f"no terminal to ask for the password of {name!r}",
            hint=f"pipe it in: printf '%s\\n' \"$PASSWORD\" | aggregator editors add {name}"
            " --password-stdin",
        ) from None


@editors.command("set-role")
@click.argument("name")
@_ADMIN
@_MISSIONS
@pass_ctx
def editors_set_role(ctx: Context, name: str, admin: bool, missions: tuple[str, ...]) -> None:
    """Make an account an admin (--admin) or an editor of missions (--mission M ...)."""
    with make_app(ctx.config, check=True) as app:
        role = app.store.set_role(name, missions=_role_missions(app, admin, missions))
    click.echo(f"editor {name} is now {role.describe()}")


@editors.command("sign-out")
@click.argument("name")
@pass_ctx
def editors_sign_out(ctx: Context, name: str) -> None:
    """Sign an editor out everywhere (every browser; the account stays)."""
    with make_app(ctx.config, check=True) as app:
        if app.store.role(name) is None:
            raise UsageError(f"no editor named {name!r}", hint="see `aggregator editors list`")
        count = app.store.revoke_sessions(name)
    click.echo(f"editor {name} signed out everywhere ({counted(count, 'session')} ended)")


@editors.command("remove")
@click.argument("name")
@pass_ctx
def editors_remove(ctx: Context, name: str) -> None:
    """Disable an editor account and sign it out everywhere (kept for the audit log)."""
    with make_app(ctx.config, check=True) as app:
        app.store.remove_editor(name)
        left = app.store.has_editors()
    click.echo(f"editor {name} removed")
    if not left:
        click.echo("no editors left: the moderation page is off", err=True)


@editors.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as a JSON list.")
@pass_ctx
def editors_list(ctx: Context, as_json: bool) -> None:
    """List editor accounts (name, role, missions, created, state, last sign-in)."""
    with make_app(ctx.config, check=True) as app:
        rows = app.store.editors()
    if as_json:
        echo_json([{"name": r["name"], "created_at": r["created_at"],
                    "state": "removed" if r["disabled"] else "active",
                    "removed_at": r["disabled_at"], "role": r["role"], "missions": r["missions"],
                    "last_sign_in_at": r["last_sign_in_at"]} for r in rows])
        return
    for row in rows:
        state = f"removed {row['disabled_at']}" if row["disabled"] else "active"
        role = "admin" if row["role"] == "admin" else "editor:" + ",".join(row["missions"])
        last = row["last_sign_in_at"] or "never signed in"
        click.echo(f"{row['name']}\t{role}\t{row['created_at']}\t{state}\t{last}")
    if not rows:
        click.echo("no editors: add one with `aggregator editors add NAME`", err=True)


@cli.command()
@click.option("--post", "post_id", metavar="ID", help="Only this post's history.")
@click.option("--limit", default=200, show_default=True, help="Entries shown, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def audit(ctx: Context, post_id: str | None, limit: int, as_json: bool) -> None:
    """Show the audit log: who did what, when and why, newest first."""
    with make_app(ctx.config, check=True) as app:
        rows = app.store.audit_log(post_id, limit=limit)
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
            continue
        target = row["post_id"] or ""
        if row["mission"]:
            target += f" {row['mission']}"
        click.echo(f"{row['at']}\t{row['editor']}\t{row['action']}\t{target.strip() or '-'}\t{row['note']}")
    if not rows:
        click.echo("the audit log is empty" + (f" for post {post_id}" if post_id else ""), err=True)
