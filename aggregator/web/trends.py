"""A mission's trends (#19): ``GET /trends/<ACRONYM>.json`` for scripts, and the chart and
table the archive page shows for ``/search?q=mission:M``.

Trends are computed from the archive on request (:mod:`aggregator.trends` is the pure core,
``store/trends.py`` the queries) and kept for :data:`TTL` seconds per mission and audience.
Anonymous readers and editors see the same trends: hidden posts are never counted.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import TYPE_CHECKING, Any

from aggregator import trends
from aggregator.models import iso
from aggregator.store import Store
from aggregator.trends.chart import Slot, bar_chart
from aggregator.web import Request, Response, Route

if TYPE_CHECKING:
    from aggregator.app import App
    from aggregator.search import SearchPlan

TTL = 300.0
JSON_HEADERS = [("Cache-Control", "max-age=300"), ("Access-Control-Allow-Origin", "*"),
                ("X-Content-Type-Options", "nosniff")]


def compute(store: Store, mission: str, now: datetime) -> trends.Trends:
    """Posts per week over the last 52 weeks and the rising terms of the last 30 days."""
    first = trends.monday(now.date()) - timedelta(weeks=trends.WEEKS - 1)
    since = datetime.combine(first, clock_time(), UTC)
    counts = store.weekly_counts(mission, iso(since) or "", iso(now) or "")
    split, start = now - trends.RECENT, now - trends.RECENT - trends.BEFORE
    terms, n_recent, n_before = trends.rising(
        store.mission_texts(mission, iso(split) or "", iso(now) or ""),
        store.mission_texts(mission, iso(start) or "", iso(split) or ""),
        ignore=[mission],
    )
    return trends.Trends(mission, now, trends.weekly(counts, now), terms, n_recent, n_before)


def chart(t: trends.Trends) -> dict[str, Any]:
    """The posts-per-week bars, with month labels and a y scale."""
    slots = [Slot(w.start, w.posts, f"{w.start.isoformat()}: {w.posts}") for w in t.weeks]
    return bar_chart(slots, min_slots=trends.WEEKS, monthly=False)


class Cache:
    """Trends per mission for :data:`TTL` seconds: counting a year of texts takes a while."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.entries: dict[str, tuple[float, trends.Trends]] = {}
        self.lock = threading.Lock()

    def get(self, mission: str) -> trends.Trends:
        now = time.monotonic()
        with self.lock:
            hit = self.entries.get(mission)
            if hit is not None and now - hit[0] < TTL:
                return hit[1]
        with Store(self.app.store.path, readonly=True) as store:
            found = compute(store, mission, self.app.now().astimezone(UTC).replace(microsecond=0))
        with self.lock:
            self.entries[mission] = (now, found)
        return found


def only_mission(plan: SearchPlan) -> str | None:
    """``M`` when the query is exactly ``mission:M`` (the mission's archive page)."""
    if plan.has_text or plan.negated or plan.since or plan.until:
        return None
    if set(plan.filters) != {"mission"} or len(plan.filters["mission"]) != 1:
        return None
    return plan.filters["mission"][0]


def page_context(cache: Cache, plan: SearchPlan) -> dict[str, Any]:
    """What ``search/_trends.html`` needs, or nothing when the query is not one mission."""
    mission = only_mission(plan)
    if mission is None:
        return {}
    found = cache.get(mission)
    return {"trends": found, "trends_chart": chart(found), "trends_json": f"/trends/{mission}.json"}


def routes(app: App) -> list[Route]:
    cache = Cache(app)
    known = {m.upper(): m for m in app.config.missions}

    def serve(request: Request) -> Response:
        asked = request.params["mission"]
        mission = known.get(asked.upper())
        if mission is None:
            body = {"error": f"no mission {asked!r}: use an acronym of the configured missions",
                    "missions": sorted(known.values())}
            return Response(json.dumps(body).encode(), "404 Not Found",
                            content_type="application/json; charset=utf-8", headers=list(JSON_HEADERS))
        data = json.dumps(cache.get(mission).as_json(), ensure_ascii=False, indent=1)
        return Response(data.encode("utf-8"), content_type="application/json; charset=utf-8",
                        headers=list(JSON_HEADERS))

    return [Route("GET", r"/trends/(?P<mission>[A-Za-z0-9_-]{1,40})\.json", serve)]
