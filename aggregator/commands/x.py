"""``aggregator x status`` and ``aggregator x resolve``; the X section of ``aggregator status``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import click

from aggregator.cli import Context, cli, pass_ctx
from aggregator.commands._output import echo_json
from aggregator.models import SourceSpec, counted, iso, parse_iso
from aggregator.settings import Settings
from aggregator.sources.x_budget import spend
from aggregator.store import Store


def _later(*values: str | None) -> str | None:
    times = [t for t in (parse_iso(v) for v in values if v) if t is not None]
    return iso(max(times)) if times else None


def x_status_rows(
    store: Store, settings: Settings, now: datetime, specs: Iterable[SourceSpec] = ()
) -> list[dict[str, Any]]:
    """Per X source: user id, last success, newest post, next allowed call, reads and spend."""
    if not store.has_x_tables():
        return []
    via = {s.id: ("bridge" if s.via_bridge else "api") for s in specs if s.kind == "x"}
    usage = store.x_usage_by_source(now)
    timeline = store.x_pauses(now).get(f"x:{settings.x_token_env}:users_tweets")
    paused = iso(timeline) if timeline else None
    rows = []
    for row in store.x_source_rows():
        if via and row["id"] not in via:
            continue
        read = usage.get(row["id"], {"post": 0, "user": 0})
        rows.append({
            "id": row["id"],
            "handle": row.get("handle"),
            "mission": row.get("mission"),
            "via": via.get(row["id"], "api"),
            "x_user_id": row.get("x_user_id"),
            "handle_seen": row.get("x_handle_seen"),
            "last_success_at": row.get("last_success_at"),
            "newest_post_at": row.get("newest_post_at"),
            "next_call_at": _later(row.get("due_at"), paused),
            "posts_read_month": read["post"],
            "users_read_month": read["user"],
            "spend_month_usd": round(spend(read, settings), 3),
            "state": row.get("state"),
            "last_error": row.get("last_error"),
            "warnings": (row.get("warnings") or "").splitlines(),
            "catching_up": bool(row.get("x_gap_until")),
            "catching_up_before": row.get("x_gap_until"),
        })
    return rows


def x_spend_summary(store: Store, settings: Settings, now: datetime) -> dict[str, Any]:
    month = store.x_usage(now)
    return {
        "month": f"{now:%Y-%m}",
        "posts_read": month["post"],
        "users_read": month["user"],
        "spend_usd": round(spend(month, settings), 3),
        "budget_usd": settings.x_monthly_budget,
        "paused_until": {scope: iso(t) for scope, t in store.x_pauses(now).items()},
        "recheck": _recheck_summary(store, settings, now),
    }


def _recheck_summary(store: Store, settings: Settings, now: datetime) -> dict[str, Any]:
    """This month's re-checks of stored posts (#14): lookups, posts, their cost, the last run."""
    done = store.x_rechecks_summary(now)
    last = done["last"] or {}
    return {
        "lookups_month": done["lookups"],
        "posts_checked_month": done["posts_checked"],
        "posts_charged_month": done["posts_charged"],
        "spend_month_usd": round(done["posts_charged"] * settings.x_price_per_post, 3),
        "last_at": last.get("at"),
        "last_posts_checked": last.get("posts_checked"),
        "last_changed": last.get("changed"),
        "last_stopped": last.get("note"),
        "days": settings.x_recheck_days,
        "every_hours": settings.x_recheck_hours,
    }


def x_status_lines(store: Store, settings: Settings, now: datetime, specs: Iterable[SourceSpec] = ()) -> list[str]:
    """The X section printed by ``aggregator status`` (empty when no X source exists)."""
    rows = x_status_rows(store, settings, now, specs)
    if not rows:
        return []
    total = x_spend_summary(store, settings, now)
    lines = [
        "",
        f"X this month ({total['month']}, estimated): {total['posts_read']} posts and "
        f"{total['users_read']} users read, ${total['spend_usd']:.2f} of the "
        f"${total['budget_usd']:.2f} budget",
    ]
    for scope, until in total["paused_until"].items():
        lines.append(f"  rate limited: {scope} paused until {until}")
    check = total["recheck"]
    lines.append(
        f"  recheck (posts up to {check['days']:g} days old, "
        + (f"every {check['every_hours']:g} h" if check["every_hours"] > 0 else "by `x recheck` only")
        + f"): this month {counted(check['lookups_month'], 'lookup')}, "
        f"{counted(check['posts_checked_month'], 'post')} checked, "
        f"{counted(check['posts_charged_month'], 'post')} billed, ${check['spend_month_usd']:.2f}; "
        + (f"last {_age(check['last_at'])}, {counted(check['last_changed'] or 0, 'post')} changed"
           if check["last_at"] else "never run")
        + (f" (stopped: {check['last_stopped']})" if check["last_stopped"] else "")
    )
    header = ("X source", "user id", "last success", "newest post", "next call", "posts/month", "spend")
    table = [header] + [
        (
            f"@{r['handle']}" + (" (bridge)" if r["via"] == "bridge" else ""),
            r["x_user_id"] or "-", _age(r["last_success_at"]), _age(r["newest_post_at"]),
            _age(r["next_call_at"]) if r["next_call_at"] else "now", str(r["posts_read_month"]),
            f"${r['spend_month_usd']:.2f}",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]
    lines += [f"  @{r['handle']}: catching up after a burst: posts before id {r['catching_up_before']}"
              " are read over the next runs" for r in rows if r["catching_up"]]
    lines += [f"  @{r['handle']}: {w}" for r in rows for w in r["warnings"]]
    return lines


def render_changed(app: Any, missions: set[str]) -> int:
    """Render the missions whose public files showed posts whose flags changed."""
    from aggregator.render import render_site

    known = [m for m in missions if app.config.mission(m) is not None]
    return len(render_site(app, missions=known)) if known else 0


def _age(value: str | None) -> str:
    return value.replace("T", " ").rstrip("Z") if value else "never"


@cli.group("x")
def x_group() -> None:
    """X accounts: their ids, reads and spend."""


@x_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the X sources and this month's spend as JSON.")
@pass_ctx
def x_status_command(ctx: Context, as_json: bool) -> None:
    """Per X source: user id, last success, newest post, next allowed call, posts read, spend."""
    import json

    from aggregator.app import make_app

    if not ctx.config.database_path.exists():
        click.echo("no archive yet: run `aggregator collect`")
        return
    with make_app(ctx.config, readonly=True, check=True) as app:
        now, settings = app.now(), ctx.config.settings
        specs = ctx.config.all_sources()
        if as_json:
            click.echo(json.dumps({"summary": x_spend_summary(app.store, settings, now),
                                   "sources": x_status_rows(app.store, settings, now, specs)}, indent=2))
            return
        lines = x_status_lines(app.store, settings, now, specs)
        click.echo("\n".join(lines[1:]) if lines else "no X sources configured")


@x_group.command("resolve")
@click.argument("handles", nargs=-1)
@pass_ctx
def x_resolve_command(ctx: Context, handles: tuple[str, ...]) -> None:
    """Look up X handles' user ids now (all configured X handles by default) and keep them."""
    from aggregator.app import make_app
    from aggregator.compliance import apply_flags
    from aggregator.errors import BudgetExceeded, UsageError
    from aggregator.sources.x import XFetcher

    specs = [s for s in ctx.config.all_sources() if s.kind == "x"]
    if handles:
        wanted = {h.lstrip("@").lower() for h in handles}
        unknown = wanted - {(s.handle or "").lower() for s in specs}
        if unknown:
            raise UsageError(f"not a configured X handle: {', '.join(sorted(unknown))}",
                             hint="X handles are listed in the mission files (kind: x)")
        specs = [s for s in specs if (s.handle or "").lower() in wanted]
    with make_app(ctx.config, check=True) as app:
        fetcher = XFetcher(ctx.config.settings, app.env, app.store)
        changed: set[str] = set()
        settings = ctx.config.settings
        for spec in specs:
            spent = spend(app.store.x_usage(app.now()), settings)
            if spent + settings.x_price_per_user > settings.x_monthly_budget:
                raise BudgetExceeded(
                    f"x resolve: not looking up @{spec.handle}: this month's X spend is "
                    f"${spent:.2f} of the ${settings.x_monthly_budget:.2f} budget and a user "
                    f"lookup costs ${settings.x_price_per_user:.3f}",
                    hint="raise x.monthly_budget in config.yaml, or wait for next month")
            user_id, warnings, flags = fetcher.resolve(spec)
            if user_id:
                app.store.update_source(spec.id, {"x_user_id": user_id})
            if flags:
                changed |= apply_flags(app.store, flags, app.now()).missions
            click.echo(f"@{spec.handle}: {user_id or 'not resolved'}")
            for w in warnings:
                click.echo(f"  warning: {w}", err=True)
        if changed:
            rendered = render_changed(app, changed)
            click.echo(f"{counted(len(changed), 'mission')} changed; {rendered} files rendered")


@x_group.command("recheck")
@click.option("--days", type=click.FloatRange(min=0), default=None, metavar="N",
              help="Re-check posts up to N days old (default: x.recheck_days).")
@click.option("--dry-run", is_flag=True, help="Say what would be checked and its cost; call nothing.")
@click.option("--no-render", is_flag=True, help="Do not re-render the missions whose posts changed.")
@pass_ctx
def x_recheck_command(ctx: Context, days: float | None, dry_run: bool, no_render: bool) -> None:
    """Ask X now whether stored posts still exist (100 per lookup, newest first, budgeted)."""
    from aggregator.app import make_app
    from aggregator.compliance.recheck import recheck
    from aggregator.errors import AuthError, ExitStatus

    settings = ctx.config.settings
    if not dry_run and not (os.environ.get(settings.x_token_env) or "").strip():
        raise AuthError(f"x recheck: no X token in ${settings.x_token_env}",
                        hint=f"put a bearer token with read access in {settings.x_token_env}")
    with make_app(ctx.config, check=True) as app:
        report = recheck(app, days=days, dry_run=dry_run, render=not no_render)
        click.echo(report.summary())
        for post_id, state in sorted(report.changed.items()):
            click.echo(f"  {post_id}: {state}")
        if report.rendered:
            click.echo(f"  {counted(report.rendered, 'file')} rendered")
        for warning in report.warnings:
            click.echo(f"  warning: {warning}", err=True)
    if report.stopped:
        raise SystemExit(ExitStatus.ERROR)


@x_group.command("estimate")
@click.option("--posts-per-day", type=float, default=3.0, show_default=True,
              help="New posts each X account publishes per day (assumption).")
@click.option("--referenced-share", type=float, default=0.3, show_default=True,
              help="Share of posts that retweet or quote another post (assumption).")
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
@pass_ctx
def x_estimate_command(
    ctx: Context, posts_per_day: float, referenced_share: float, as_json: bool
) -> None:
    """Estimate the monthly X bill for the configured accounts at their cadence."""
    from aggregator.sources.x_budget import monthly_estimate

    settings = ctx.config.settings
    specs = [s for s in ctx.config.all_sources() if s.kind == "x"]
    api = [s for s in specs if not s.via_bridge]
    calls = sum(1440 / (s.interval_minutes or settings.default_interval_minutes) for s in api) * 30
    est = monthly_estimate(len(api), posts_per_day, settings, referenced_share=referenced_share)
    if as_json:
        echo_json({
            "accounts_api": len(api), "accounts_bridge": len(specs) - len(api),
            "timeline_calls_month": round(calls), "posts_per_day": posts_per_day,
            "referenced_share": referenced_share, "count_expansions": settings.x_count_expansions,
            "posts_month": est["posts"], "users_month": est["users"], "usd_month": est["usd"],
            "first_run_usd": est["first_run_usd"], "budget_usd": settings.x_monthly_budget,
        })
        return
    click.echo(
        f"{len(api)} X accounts through the API ({len(specs) - len(api)} through a bridge), "
        f"about {calls:,.0f} timeline calls a month at the configured intervals"
    )
    click.echo(
        f"assuming {posts_per_day:g} new posts per account per day, {referenced_share:.0%} of them "
        f"retweets or quotes, expansions {'counted' if settings.x_count_expansions else 'not counted'}:"
    )
    click.echo(
        f"  {est['posts']:,.0f} posts and {est['users']:,.0f} users read a month: "
        f"${est['usd']:.2f} a month (budget ${settings.x_monthly_budget:.2f}), "
        f"plus ${est['first_run_usd']:.2f} once for the first run's backfill and lookups"
    )
    click.echo("  empty answers are not billed, so polling more often costs little more")
