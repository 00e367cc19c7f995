"""``aggregator health``: is the service alive and doing its job? One line, for supervisors.

Read-only: from the heartbeat and last tick the service stores (``service_state``) and the
sources' states. Unhealthy when there is no heartbeat or finished tick for ``max_age``, or
when every source that should be collected is failing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aggregator.models import parse_iso

if TYPE_CHECKING:
    from aggregator.app import App


def health(app: App, *, max_age: timedelta) -> tuple[bool, str]:
    """(healthy, one-line reason) from the stored heartbeat, last tick and source states."""
    store = app.store
    now = app.now()
    beat = store.service_value("heartbeat")
    tick = store.service_value("last_tick")
    if beat is None or beat.updated_at is None:
        return False, "the service has never run on this database: start `aggregator run`"
    beat_age = now - beat.updated_at
    if beat_age > max_age:
        return False, f"no heartbeat for {_minutes(beat_age)}: is `aggregator run` running?"
    if tick is None or tick.updated_at is None:
        started = _parse(beat.value.get("started_at") if isinstance(beat.value, dict) else None)
        if started is not None and now - started > max_age:
            return False, f"no tick has finished since the service started {_minutes(now - started)} ago"
    elif now - tick.updated_at > max_age:
        return False, f"no tick has finished for {_minutes(now - tick.updated_at)}"
    counts = store.source_state_counts()
    active = {k: v for k, v in counts.items() if k not in ("gone", "disabled", "new")}
    total = sum(active.values())
    failing = active.get("backing_off", 0)
    if total and failing == total:
        return False, f"every source is failing ({failing} backing off): check the network and `aggregator status`"
    ok = active.get("ok", 0)
    return True, f"ok: last heartbeat {_minutes(beat_age)} ago, {ok}/{total} sources ok"


def _parse(text: Any) -> datetime | None:
    return parse_iso(text) if isinstance(text, str) else None


def _minutes(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes >= 1 else f"{delta.total_seconds():.0f} s"
