"""Re-check stored X posts through the tweets lookup: deleted posts are found (#14).

A ``since_id`` timeline never reports a post deleted after it was read. Stored X posts up to
``x.recheck_days`` old are asked about again, newest first, 100 ids per ``GET /2/tweets``;
what X says is applied like a run's flags (``compliance.apply_flags``: flags, history,
retweets and quotes, pending renders) and the changed missions are rendered at once.

Inside the cost governor: each post X returns is a billed read (recorded as the source
``recheck``); before each lookup, this month's spend plus 100 posts at ``x.price_per_post``
must stay within ``x.monthly_budget``, else the re-check stops there and says so. The service
runs it every ``x.recheck_hours``; ``aggregator x recheck`` runs it now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aggregator.compliance import apply_flags
from aggregator.errors import AggregatorError, SourceError
from aggregator.models import counted
from aggregator.sources.x_budget import spend

if TYPE_CHECKING:
    from aggregator.app import App

log = logging.getLogger(__name__)


@dataclass
class RecheckReport:
    candidates: int = 0
    checked: int = 0
    lookups: int = 0
    charged: int = 0  # posts X billed (a post already read this UTC day is not billed again)
    cost_usd: float = 0.0
    changed: dict[str, str] = field(default_factory=dict)  # post id -> new availability
    missions: set[str] = field(default_factory=set)
    rendered: int = 0
    warnings: list[str] = field(default_factory=list)
    stopped: str | None = None
    dry_run: bool = False

    def summary(self) -> str:
        if self.dry_run:
            return (f"would re-check {counted(self.candidates, 'post')} in "
                    f"{counted(self.lookups, 'lookup')}: at most ${self.cost_usd:.2f}")
        text = (f"re-checked {counted(self.checked, 'post')} in {counted(self.lookups, 'lookup')}"
                f" (${self.cost_usd:.2f}, {counted(self.charged, 'post')} billed):"
                f" {counted(len(self.changed), 'post')} changed,"
                f" {counted(len(self.missions), 'mission')} re-rendered")
        if self.stopped:
            text += f"; stopped: {self.stopped}"
        return text


def is_due(app: App, now: datetime) -> bool:
    """Whether the service should re-check now (every ``x.recheck_hours``; 0 = never)."""
    hours = app.config.settings.x_recheck_hours
    if hours <= 0 or not app.store.has_x_tables():
        return False
    last = app.store.x_rechecks_summary(now)["last"]
    from aggregator.models import parse_iso

    at = parse_iso(last["at"]) if last else None
    return at is None or now - at >= timedelta(hours=hours)


def recheck(app: App, *, days: float | None = None, dry_run: bool = False,
            trigger: str = "x recheck", render: bool = True) -> RecheckReport:
    """Ask X about stored posts now; apply and render what changed (see the module)."""
    from aggregator.sources.x import LOOKUP_MAX, XFetcher

    settings = app.config.settings
    store = app.store
    now = app.now()
    window = settings.x_recheck_days if days is None else days
    post_ids = store.x_recheck_candidates(now - timedelta(days=window))
    chunks = [post_ids[i : i + LOOKUP_MAX] for i in range(0, len(post_ids), LOOKUP_MAX)]
    report = RecheckReport(candidates=len(post_ids), lookups=len(chunks), dry_run=dry_run)
    if dry_run:
        report.cost_usd = len(post_ids) * settings.x_price_per_post
        return report
    report.lookups = 0
    fetcher = XFetcher(settings, app.env, store)
    for chunk in chunks:
        spent = spend(store.x_usage(app.now()), settings)
        if spent + len(chunk) * settings.x_price_per_post > settings.x_monthly_budget:
            report.stopped = (f"this month's X spend is ${spent:.2f} of the "
                              f"${settings.x_monthly_budget:.2f} budget (x.monthly_budget)")
            break
        try:
            found = fetcher.lookup([p[2:] for p in chunk], {p[2:]: p for p in chunk})
        except SourceError as exc:
            report.stopped = str(exc)
            break
        report.lookups += 1
        report.checked += len(chunk)
        report.charged += found.charged
        report.warnings += found.warnings
        changes = apply_flags(store, found.flags, app.now())
        report.changed.update(changes.posts)
        report.missions |= changes.missions
    report.cost_usd = report.charged * settings.x_price_per_post
    store.record_x_recheck(now, trigger, checked=report.checked, lookups=report.lookups,
                           charged=report.charged, changed=len(report.changed), note=report.stopped)
    if render and report.missions:
        from aggregator.render import render_site

        known = [m for m in report.missions if app.config.mission(m) is not None]
        report.rendered = len(render_site(app, missions=known)) if known else 0
    return report


def recheck_if_due(app: App) -> RecheckReport | None:
    """The service's re-check, when due and X is read through the API; never raises."""
    specs = [s for s in app.config.all_sources() if s.kind == "x" and not s.via_bridge]
    token = (app.env.get(app.config.settings.x_token_env) or "").strip()
    if not specs or not token or not is_due(app, app.now()):
        return None
    try:
        report = recheck(app, trigger="service", render=False)
    except AggregatorError as exc:
        log.warning("X recheck failed: %s", exc)
        return None
    log.info("X recheck: %s", report.summary())
    return report
