"""When each source is collected next, and the state an editor sees, driven by a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from aggregator.errors import AuthError, FetchError, GoneError, RateLimited
from aggregator.models import FetchResult, SourceSpec, iso, parse_iso
from aggregator.service.schedule import (
    after_failure,
    after_success,
    backoff_delay_s,
    is_due,
    needs_alert,
    publish_gap_s,
)
from aggregator.settings import Settings

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
SETTINGS = Settings(
    default_interval_minutes=30, min_interval_minutes=5, max_interval_minutes=360,
    backoff_cap_hours=24, stale_factor=10, alert_after_hours=24,
)
SPEC = SourceSpec(id="feed:https://example.org/a.xml", kind="feed", name="A", mission="UNMIK")


def row(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": SPEC.id, "state": "new", "consecutive_failures": 0, "disabled": 0}
    base.update(values)
    return base


def ok(status: str = "ok", **kw: Any) -> FetchResult:
    return FetchResult(source_id=SPEC.id, status=status, **kw)  # type: ignore[arg-type]


def succeed(r: dict[str, Any], now: datetime, *, posts: int = 0, newest: datetime | None = None,
            result: FetchResult | None = None, spec: SourceSpec = SPEC) -> dict[str, Any]:
    values = after_success(r, result or ok(), posts_added=posts, newest_post_at=newest, now=now,
                           settings=SETTINGS, spec=spec)
    return {**r, **values}


def fail(r: dict[str, Any], now: datetime, error: Exception) -> dict[str, Any]:
    return {**r, **after_failure(r, error, now=now, settings=SETTINGS, spec=SPEC)}  # type: ignore[arg-type]


def due_in(r: dict[str, Any], now: datetime) -> float:
    due = parse_iso(r["due_at"])
    assert due is not None
    return (due - now).total_seconds()


def test_only_due_sources_are_collected() -> None:
    r = succeed(row(), T0, posts=3, newest=T0)
    wait = due_in(r, T0)
    assert not is_due(r, T0)
    assert not is_due(r, T0 + timedelta(seconds=wait - 1))
    assert is_due(r, T0 + timedelta(seconds=wait))
    assert is_due(row(), T0), "a new source is due at once"


def test_leased_gone_and_disabled_sources_are_not_due() -> None:
    later = T0 + timedelta(days=2)
    leased = row(due_at=iso(T0), lease_owner="run-1", lease_until=iso(T0 + timedelta(minutes=5)))
    assert not is_due(leased, T0)
    assert is_due(leased, T0 + timedelta(minutes=6)), "an expired lease does not block"
    assert not is_due(row(disabled=1), later)
    gone = fail(row(), T0, GoneError("HTTP 410 Gone", http_status=410))
    assert gone["state"] == "gone" and gone["due_at"] is None and not is_due(gone, later)
    assert "feeds/" in gone["state_reason"], "the reason says what to do"


def test_mission_file_interval_is_used_with_jitter_inside_bounds() -> None:
    spec = SourceSpec(id="feed:https://example.org/b.xml", kind="feed", name="B", mission=None,
                      interval_minutes=60)
    for minute in range(200):
        now = T0 + timedelta(minutes=minute)
        r = succeed(row(id=spec.id), now, posts=5, newest=now, spec=spec)
        assert r["interval_seconds"] == 3600
        assert 0.9 * 3600 <= due_in(r, now) <= 1.1 * 3600


@given(st.text(min_size=1, max_size=40), st.integers(min_value=0, max_value=10**6),
       st.integers(min_value=1, max_value=60))
@hsettings(max_examples=200, deadline=None)
def test_backoff_is_jittered_within_bounds_and_capped(source_id: str, minute: int,
                                                     failures: int) -> None:
    now = T0 + timedelta(minutes=minute)
    delay = backoff_delay_s(failures, source_id, now, SETTINGS)
    nominal = min(24 * 3600, 300 * 2 ** (failures - 1))
    assert 0.75 * nominal <= delay <= nominal


def test_backoff_sequence_then_reset_on_success() -> None:
    r = succeed(row(), T0, posts=1, newest=T0)
    now = T0
    delays = []
    for _ in range(12):
        now = now + timedelta(seconds=due_in(r, now))
        r = fail(r, now, FetchError("connection refused", source=SPEC.id))
        delays.append(due_in(r, now))
        assert r["state"] == "backing_off"
    assert r["consecutive_failures"] == 12
    nominal = [min(86400, 300 * 2**i) for i in range(12)]
    assert all(0.75 * n <= d <= n for d, n in zip(delays, nominal, strict=True)), delays
    assert delays[-1] >= 0.75 * 86400, "keeps retrying at the cap, never gives up"
    assert "12 failure(s)" in r["state_reason"] and "connection refused" in r["state_reason"]
    now = now + timedelta(seconds=due_in(r, now))
    r = succeed(r, now, posts=1, newest=now)
    assert r["state"] == "ok" and r["consecutive_failures"] == 0 and r["last_error"] is None
    assert due_in(r, now) <= 1.1 * 3600 * 6


def test_auth_errors_back_off_too() -> None:
    r = fail(row(), T0, AuthError("token expired"))
    assert r["state"] == "backing_off" and r["last_error_kind"] == "auth"


def test_retry_after_is_honoured_on_failure_and_success() -> None:
    later = T0 + timedelta(hours=3)
    r = fail(row(), T0, FetchError("HTTP 503", http_status=503, retry_after=later))
    assert parse_iso(r["due_at"]) == later
    r2 = succeed(row(), T0, posts=1, newest=T0, result=ok(retry_after=later))
    assert parse_iso(r2["due_at"]) == later
    far = T0 + timedelta(days=30)
    r3 = fail(row(), T0, FetchError("HTTP 429", http_status=429, retry_after=far))
    assert due_in(r3, T0) <= 24 * 3600, "an absurd Retry-After is capped at backoff_cap_hours"


def test_cache_max_age_postpones_the_next_poll_within_the_maximum_interval() -> None:
    r = succeed(row(), T0, posts=1, newest=T0, result=ok(max_age_seconds=2 * 3600))
    assert due_in(r, T0) >= 2 * 3600
    r = succeed(row(), T0, posts=1, newest=T0, result=ok(max_age_seconds=30 * 86400))
    assert due_in(r, T0) <= 360 * 60


def test_rate_limit_reset_is_honoured_without_counting_as_failure() -> None:
    reset = T0 + timedelta(minutes=15)
    r = fail(row(consecutive_failures=0), T0, RateLimited("429 from X", reset_at=reset))
    assert r["state"] == "rate_limited" and r["consecutive_failures"] == 0
    assert reset <= parse_iso(r["due_at"]) <= reset + timedelta(seconds=60)  # type: ignore[operator]
    assert not is_due(r, reset - timedelta(seconds=1))


def test_interval_adapts_to_how_often_a_source_publishes() -> None:
    busy, quiet = row(), row()
    now = T0
    busy = succeed(busy, now, posts=20, newest=now)
    quiet = succeed(quiet, now, posts=20, newest=now - timedelta(days=1))
    for _ in range(30):
        now = now + timedelta(seconds=due_in(busy, now))
        busy = succeed(busy, now, posts=3, newest=now)  # about one post every 10 minutes
    assert busy["interval_seconds"] <= 15 * 60
    now = T0
    for _ in range(30):
        now = now + timedelta(seconds=due_in(quiet, now))
        quiet = succeed(quiet, now, posts=0, newest=T0 - timedelta(days=1))
    assert quiet["interval_seconds"] == 360 * 60, "a quiet source slows to max_interval"
    assert busy["interval_seconds"] >= 5 * 60, "never below min_interval"


def test_stale_when_the_newest_post_is_old_even_though_requests_succeed() -> None:
    year_old = T0 - timedelta(days=365)
    r = succeed(row(), T0, posts=10, newest=year_old, result=ok(http_status=200))
    assert r["state"] == "stale"
    assert "365 days" in r["state_reason"]
    fresh = succeed(row(), T0, posts=1, newest=T0 - timedelta(hours=1))
    assert fresh["state"] == "ok"
    r = succeed(r, T0 + timedelta(hours=1), posts=1, newest=T0 + timedelta(hours=1))
    assert r["state"] == "ok", "a new post clears the stale state"


def test_persistent_problems_need_an_alert_transient_ones_do_not() -> None:
    r = fail(succeed(row(), T0, posts=1, newest=T0), T0, FetchError("timeout"))
    assert r["state_since"] == iso(T0)
    assert not needs_alert(r, T0 + timedelta(hours=1), SETTINGS)
    r = fail(r, T0 + timedelta(hours=2), FetchError("timeout"))
    assert r["state_since"] == iso(T0), "the episode keeps its start"
    assert needs_alert(r, T0 + timedelta(hours=25), SETTINGS)
    r = succeed(r, T0 + timedelta(hours=26), posts=1, newest=T0 + timedelta(hours=26))
    assert not needs_alert(r, T0 + timedelta(hours=60), SETTINGS)


def test_stale_is_measured_against_how_often_the_source_publishes() -> None:
    # A mission that posts about weekly: its newest post, 5 days old, is not "stale".
    weekly = [T0 - timedelta(days=5 + 7 * k) for k in range(6)]
    gap = publish_gap_s(weekly)
    assert gap == 7 * 86400
    r = {**row(), **after_success(row(), ok(), posts_added=6, newest_post_at=max(weekly), now=T0,
                                  settings=SETTINGS, spec=SPEC, publish_gap=gap)}
    assert r["state"] == "ok", r["state_reason"]
    # ... and the cadence is remembered for polls that bring nothing (304s).
    later = succeed(r, T0 + timedelta(days=20))
    assert later["state"] == "ok"
    assert succeed(r, T0 + timedelta(days=80))["state"] == "stale"
    # A bridge that serves daily posts from a year ago is stale at once.
    daily_old = [T0 - timedelta(days=365 + k) for k in range(10)]
    r = after_success(row(), ok(), posts_added=10, newest_post_at=max(daily_old), now=T0,
                      settings=SETTINGS, spec=SPEC, publish_gap=publish_gap_s(daily_old))
    assert r["state"] == "stale"
    assert publish_gap_s([T0]) is None
