"""When to collect each source next, and what state it is in. Pure: no I/O, no clock.

Every decision is a function of the stored ``sources`` row, the last outcome and ``now``:

- :func:`after_success` and :func:`after_failure` return the ``sources`` column values the
  collector writes in the same transaction as the posts (state, reason, due time, interval,
  failure count, ``last_*``);
- :func:`is_due` says whether a row may be collected at ``now``.

States: ``ok``, ``backing_off`` (consecutive failures), ``stale`` (requests succeed but the
newest post is far older than the source's usual cadence), ``rate_limited`` (the remote side
asked us to wait), ``gone`` (HTTP 410 / account removed: not polled again) and ``disabled``
(an editor switched it off: not polled).

Jitter is deterministic: a hash of the source id and ``now``, so that tests can bound it and
2,000 sources configured with the same interval still spread out over time.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from aggregator.errors import FetchError, GoneError, RateLimited, SourceError
from aggregator.models import FetchResult, SourceSpec, iso, parse_iso
from aggregator.settings import Settings

Row = Mapping[str, Any]

INTERVAL_JITTER = 0.10  # due times of healthy sources move by up to +/-10% of the interval
BACKOFF_JITTER = 0.25  # a backoff delay is cut by up to 25%, never lengthened past the cap
RATE_LIMIT_SLACK_S = 60  # spread sources sharing one rate-limit reset over this many seconds
ADAPT_WEIGHT = 0.5  # weight of the newest observation in the publishing-gap estimate
QUIET_GROWTH = 1.5  # an empty poll says the gap is at least this much longer than the wait

STATES = ("new", "ok", "backing_off", "stale", "rate_limited", "gone", "disabled")
STOPPED = frozenset({"gone", "disabled"})


def unit_jitter(source_id: str, now: datetime, salt: str = "") -> float:
    """A number in [0, 1), the same for the same source, time and salt."""
    digest = hashlib.sha256(f"{source_id}|{iso(now)}|{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def base_interval_s(spec: SourceSpec | None, settings: Settings) -> int:
    """The configured interval: the mission file's, else ``default_interval_minutes``."""
    minutes = spec.interval_minutes if spec and spec.interval_minutes else None
    return int((minutes or settings.default_interval_minutes) * 60)


def bounds_s(settings: Settings) -> tuple[int, int]:
    lo = int(settings.min_interval_minutes * 60)
    hi = max(lo, int(settings.max_interval_minutes * 60))
    return lo, hi


def clamp(value: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, value))


def current_interval_s(row: Row, spec: SourceSpec | None, settings: Settings) -> int:
    """The adaptive interval stored on the row, or the configured one for a new source."""
    lo, hi = bounds_s(settings)
    stored = row.get("interval_seconds")
    value = stored if stored else base_interval_s(spec, settings)
    return int(clamp(value, lo, hi))


def adapt_interval_s(
    row: Row,
    spec: SourceSpec | None,
    settings: Settings,
    *,
    posts_added: int,
    newest_post_at: datetime | None,
    now: datetime,
) -> int:
    """Move the poll interval toward the source's observed gap between posts.

    A poll that found ``n`` new posts ``elapsed`` seconds after the last success says the gap
    is about ``elapsed / n``; an empty poll says it is longer than the wait and longer than
    the time since the newest post. The estimate is an exponentially weighted average,
    clamped to ``min_interval_minutes`` .. ``max_interval_minutes``.
    """
    lo, hi = bounds_s(settings)
    old = current_interval_s(row, spec, settings)
    last_success = parse_iso(row.get("last_success_at"))
    if last_success is None:  # first success: the backlog says nothing about the cadence
        return old
    elapsed = max(1.0, (now - last_success).total_seconds())
    if posts_added > 0:
        sample = elapsed / posts_added
    else:
        quiet = elapsed
        if newest_post_at is not None:
            quiet = max(quiet, (now - newest_post_at).total_seconds())
        sample = quiet * QUIET_GROWTH
    new = old + ADAPT_WEIGHT * (sample - old)
    return int(clamp(new, lo, hi))


def _jittered(seconds: float, source_id: str, now: datetime) -> float:
    return seconds * (1 + INTERVAL_JITTER * (2 * unit_jitter(source_id, now, "interval") - 1))


def backoff_delay_s(failures: int, source_id: str, now: datetime, settings: Settings) -> float:
    """Exponential backoff from ``min_interval_minutes``, capped at ``backoff_cap_hours``.

    ``failures`` counts this one (1 = first failure). Jitter only shortens the delay, so the
    cap holds; at the cap the source keeps being retried, never dropped.
    """
    start = max(60.0, settings.min_interval_minutes * 60.0)
    cap = max(start, settings.backoff_cap_hours * 3600.0)
    raw = cap if failures > 40 else min(cap, start * 2 ** max(0, failures - 1))
    return raw * (1 - BACKOFF_JITTER * unit_jitter(source_id, now, "backoff"))


def _newest(row: Row, newest_post_at: datetime | None) -> datetime | None:
    stored = parse_iso(row.get("newest_post_at"))
    candidates = [t for t in (stored, newest_post_at) if t is not None]
    return max(candidates) if candidates else None


def _since(row: Row, state: str, now: datetime) -> str | None:
    """When the source entered ``state`` (kept while the state does not change)."""
    if row.get("state") == state and row.get("state_since"):
        return str(row["state_since"])
    return iso(now)


def _ago(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{max(1, round(seconds / 60))} minutes"


def stale_reason(
    newest: datetime | None, usual_s: float, now: datetime, settings: Settings
) -> str | None:
    """Why the source is stale, or None when its newest post is recent enough."""
    if newest is None:
        return None
    age = (now - newest).total_seconds()
    if age <= settings.stale_factor * usual_s:
        return None
    return (
        f"newest post is {_ago(age)} old, over {settings.stale_factor:g} x its usual "
        f"interval of {_ago(usual_s)}: check that the source still publishes here"
    )


def publish_gap_s(times: Iterable[datetime]) -> float | None:
    """How often a source publishes: the median gap between the post times of one fetch
    (a feed carries its latest items). None with fewer than two distinct times."""
    ordered = sorted(set(times))
    gaps = [(b - a).total_seconds() for a, b in pairwise(ordered)]
    return float(statistics.median(gaps)) if gaps else None


def after_success(
    row: Row,
    result: FetchResult,
    *,
    posts_added: int,
    newest_post_at: datetime | None,
    now: datetime,
    settings: Settings,
    spec: SourceSpec | None = None,
    publish_gap: float | None = None,
) -> dict[str, Any]:
    """``sources`` values after a fetch that worked (new items, 304 or unchanged body).

    ``publish_gap``: the source's publishing cadence seen in this fetch
    (:func:`publish_gap_s`); kept in the row, it sets what "stale" means for this source.
    """
    source_id = str(row.get("id") or result.source_id)
    _lo, hi = bounds_s(settings)
    if _disabled(row):
        return _stopped(row, "disabled", "disabled by an editor", now)
    interval = adapt_interval_s(
        row, spec, settings, posts_added=posts_added, newest_post_at=newest_post_at, now=now
    )
    due = now + timedelta(seconds=_jittered(interval, source_id, now))
    if result.max_age_seconds:  # Cache-Control max-age / Expires: nothing new before then
        due = max(due, now + timedelta(seconds=min(result.max_age_seconds, hi)))
    if result.retry_after is not None:
        cap = timedelta(hours=settings.backoff_cap_hours)
        due = max(due, min(result.retry_after, now + cap))
    newest = _newest(row, newest_post_at)
    gap = publish_gap if publish_gap is not None else row.get("publish_gap_seconds")
    usual = max(interval, base_interval_s(spec, settings), float(gap or 0))
    reason = stale_reason(newest, usual, now, settings)
    state = "stale" if reason else "ok"
    return {
        "state": state,
        "state_reason": reason or _ok_reason(result, posts_added),
        "state_since": _since(row, state, now),
        "due_at": iso(due),
        "interval_seconds": interval,
        "consecutive_failures": 0,
        "last_attempt_at": iso(now),
        "last_success_at": iso(now),
        "last_error": None,
        "last_error_kind": None,
        "last_posts_added": posts_added,
        "posts_added_total": int(row.get("posts_added_total") or 0) + posts_added,
        "newest_post_at": iso(newest),
        "publish_gap_seconds": int(gap) if gap else None,
    }


def _ok_reason(result: FetchResult, posts_added: int) -> str:
    if result.status == "not_modified":
        return "not modified (HTTP 304)"
    if result.status == "unchanged":
        return "unchanged since the last fetch"
    return f"{posts_added} new post(s)"


def _disabled(row: Row) -> bool:
    return bool(row.get("disabled")) or row.get("state") == "disabled"


def _stopped(row: Row, state: str, reason: str, now: datetime) -> dict[str, Any]:
    return {
        "state": state,
        "state_reason": reason,
        "state_since": _since(row, state, now),
        "due_at": None,
        "last_attempt_at": iso(now),
    }


def after_failure(
    row: Row,
    error: SourceError,
    *,
    now: datetime,
    settings: Settings,
    spec: SourceSpec | None = None,
) -> dict[str, Any]:
    """``sources`` values after a fetch that failed: backoff, rate limit, gone."""
    source_id = str(row.get("id") or error.source or "")
    failures = int(row.get("consecutive_failures") or 0)
    common = {
        "last_attempt_at": iso(now),
        "last_error": str(error),
        "last_error_kind": error.kind,
        "last_error_at": iso(now),
    }
    if _disabled(row):
        return {**_stopped(row, "disabled", "disabled by an editor", now), **common}
    if isinstance(error, GoneError):
        reason = f"gone: {error.message}; remove it from feeds/ or fix its URL, then re-enable it"
        return {**_stopped(row, "gone", reason, now), **common, "consecutive_failures": failures + 1}
    if isinstance(error, RateLimited):
        slack = RATE_LIMIT_SLACK_S * unit_jitter(source_id, now, "rate")
        reset = min(error.reset_at, now + timedelta(hours=settings.backoff_cap_hours))
        due = max(now, reset) + timedelta(seconds=slack)
        return {
            **common,
            "state": "rate_limited",
            "state_reason": f"rate limited until {iso(error.reset_at)}",
            "state_since": _since(row, "rate_limited", now),
            "due_at": iso(due),
            "consecutive_failures": failures,
        }
    failures += 1
    due = now + timedelta(seconds=backoff_delay_s(failures, source_id, now, settings))
    retry_after = error.retry_after if isinstance(error, FetchError) else None
    if retry_after is not None:
        due = max(due, min(retry_after, now + timedelta(hours=settings.backoff_cap_hours)))
    return {
        **common,
        "state": "backing_off",
        "state_reason": f"{failures} failure(s) in a row, retrying at {iso(due)}: {error}",
        "state_since": _since(row, "backing_off", now),
        "due_at": iso(due),
        "consecutive_failures": failures,
    }


def is_due(row: Row, now: datetime) -> bool:
    """May this source be collected at ``now``? Not when stopped, leased, or not yet due."""
    if _disabled(row) or row.get("state") in STOPPED:
        return False
    lease_until = parse_iso(row.get("lease_until"))
    if row.get("lease_owner") and lease_until is not None and lease_until > now:
        return False
    due = parse_iso(row.get("due_at"))
    return due is None or due <= now


def needs_alert(row: Row, now: datetime, settings: Settings) -> bool:
    """Failing or stale for longer than ``alert_after_hours``: a persistent problem."""
    if row.get("state") not in ("backing_off", "stale"):
        return False
    since = parse_iso(row.get("state_since")) or parse_iso(row.get("last_success_at"))
    if since is None:
        return False
    return now - since >= timedelta(hours=settings.alert_after_hours)


__all__ = [
    "after_failure",
    "after_success",
    "backoff_delay_s",
    "base_interval_s",
    "is_due",
    "needs_alert",
    "unit_jitter",
]
