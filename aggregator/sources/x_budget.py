"""The X cost governor's arithmetic: page sizes, expected cost of a run, spend so far. Pure.

X bills each post and user returned, once per resource per UTC day (docs/x.md). A run is
refused per source, in order, when its expected cost would take this month's spend past
``x.monthly_budget``: the expected cost is one page sized to need (twice when expansions
are counted) plus the lookups it needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from aggregator.errors import BudgetExceeded
from aggregator.models import SourceSpec
from aggregator.settings import Settings


def page_size(row: Mapping[str, Any], settings: Settings) -> int:
    """``max_results`` sized to what is expected: the backfill first, then twice the last yield."""
    if row.get("x_gap_until"):
        return 100  # catching up after a burst: full pages
    if not row.get("cursor"):
        wanted = settings.x_backfill
    else:
        wanted = 2 * int(row.get("last_posts_added") or 0)
    return max(5, min(100, wanted))


def projected_cost(row: Mapping[str, Any], settings: Settings) -> float:
    """Expected spend of one source's run: one page sized to need, plus the lookups."""
    factor = 2 if settings.x_count_expansions else 1
    posts = page_size(row, settings) * factor
    users = (0 if row.get("x_user_id") else 1) + (1 if settings.x_count_expansions else 0)
    return posts * settings.x_price_per_post + users * settings.x_price_per_user


def spend(usage: Mapping[str, int], settings: Settings) -> float:
    """USD for charged reads (``{"post": n, "user": m}``) at the configured unit prices."""
    return usage.get("post", 0) * settings.x_price_per_post + usage.get("user", 0) * settings.x_price_per_user


def within_budget(
    jobs: Sequence[tuple[SourceSpec, Mapping[str, Any]]], spent: float, settings: Settings
) -> dict[str, float]:
    """Sources (id -> expected cost) that still fit this month's budget, taken in job order."""
    allowed: dict[str, float] = {}
    total = spent
    for spec, row in jobs:
        cost = projected_cost(row, settings)
        if total + cost <= settings.x_monthly_budget:
            allowed[spec.id] = cost
            total += cost
    return allowed


def budget_error(
    spec: SourceSpec, row: Mapping[str, Any], spent: float, settings: Settings, now: datetime
) -> BudgetExceeded:
    return BudgetExceeded(
        f"{spec.id}: not collected: this month's X spend ({now:%Y-%m}) is ${spent:.2f} of the "
        f"${settings.x_monthly_budget:.2f} budget and this source could cost "
        f"${projected_cost(row, settings):.2f} more",
        source=spec.id,
        hint="raise x.monthly_budget in config.yaml, poll less often, or read it through a bridge",
    )


def monthly_estimate(
    accounts: int, posts_per_day: float, settings: Settings, *, referenced_share: float = 0.3,
    days: int = 30,
) -> dict[str, float]:
    """Expected monthly reads and USD for ``accounts`` posting ``posts_per_day`` each.

    Polling cadence barely matters: with ``since_id`` an empty answer returns no data and is
    not billed, and a resource read twice the same UTC day is billed once. What costs is each
    new post (plus, when expansions count, the post it retweets or quotes, for a share
    ``referenced_share`` of posts), the account itself once a day it posts (the author
    expansion) and the referenced posts' authors; and once, the backfill and the handle lookup.
    """
    new_posts = accounts * posts_per_day * days
    referenced = new_posts * referenced_share if settings.x_count_expansions else 0.0
    active_days = accounts * days if posts_per_day > 0 else 0
    users = (active_days + referenced) if settings.x_count_expansions else 0.0
    first_month = accounts * (settings.x_backfill * (1 + referenced_share) * settings.x_price_per_post
                              + 2 * settings.x_price_per_user)
    posts = new_posts + referenced
    return {
        "posts": posts,
        "users": users,
        "usd": posts * settings.x_price_per_post + users * settings.x_price_per_user,
        "first_run_usd": first_month,
    }
