"""``/status`` and ``/audit`` for signed-in editors and admins (issue 17).

``/status``: every configured source with its state, last success, last error (with its
hint), next due time and posts published in the last 7 days; the X section: posts and users
read this month, spend against the budget, rate-limit pauses. ``/audit``: the audit log,
filterable by editor, action, post, mission and dates, 100 entries a page.
Anonymous visitors are sent to the sign-in form; no post text appears on either page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from aggregator import search
from aggregator.errors import QuerySyntaxError
from aggregator.models import iso
from aggregator.sources.x_budget import spend
from aggregator.web import Request, Response
from aggregator.web.console import BASE, query
from aggregator.web.console.auth import editor_session
from aggregator.web.console.desk import Desk

AUDIT_PAGE = 100
AUDIT_FILTERS = ("editor", "action", "post", "mission", "from", "to")


def _split_hint(error: str | None) -> tuple[str, str]:
    text = error or ""
    head, sep, hint = text.rpartition(" (hint: ")
    return (head, hint.rstrip(")")) if sep else (text, "")


class Ops(Desk):
    """The status and audit pages."""

    def status(self, request: Request) -> Response:
        session, _ = editor_session(self.app, request)
        if session is None:
            return self.redirect(f"{BASE}/sign-in")
        store, settings = self.app.store, self.app.config.settings
        now = store.clock()
        week = store.posts_by_source_since(iso(now - timedelta(days=7)) or "")
        known = {s.id: s for s in self.app.config.all_sources()}
        rows = []
        for row in store.source_overview():
            if known and row["id"] not in known:
                continue
            error, hint = _split_hint(row.get("last_error"))
            state = "disabled" if row.get("disabled") else str(row.get("state") or "new")
            rows.append({**row, "state": state, "error": error, "hint": hint,
                         "week": week.get(row["id"], 0)})
        x: dict[str, Any] | None = None
        if store.has_x_tables() and any(s.kind == "x" for s in known.values()):
            month = store.x_usage(now)
            x = {"month": f"{now:%Y-%m}", "posts": month["post"], "users": month["user"],
                 "spend": spend(month, settings), "budget": settings.x_monthly_budget,
                 "pauses": sorted((scope, iso(t)) for scope, t in store.x_pauses(now).items())}
        return self.page(request, "moderation/status.html", session=session, csrf=session.csrf_token,
                         rows=rows, x=x, now=iso(now), nav="status")

    def audit(self, request: Request) -> Response:
        session, _ = editor_session(self.app, request)
        if session is None:
            return self.redirect(f"{BASE}/sign-in")
        q = query(request)
        f = {k: q.get(k, "").strip()[:200] for k in AUDIT_FILTERS}
        status, error = "200 OK", ""
        since = until = ""
        try:
            if f["from"]:
                since = search.date_bounds(f["from"], 0, f["from"])[0]
            if f["to"]:
                until = search.date_bounds(f["to"], 0, f["to"])[1]
        except QuerySyntaxError as exc:
            status, error = "400 Bad Request", exc.message
        before = q.get("before", "")
        rows = self.app.store.audit_entries(
            editor=f["editor"], action=f["action"], post_id=f["post"], mission=f["mission"],
            since=since, until=until, before_id=int(before) if before.isdigit() else None,
            limit=AUDIT_PAGE + 1,
        )
        older = None
        if len(rows) > AUDIT_PAGE:
            rows = rows[:AUDIT_PAGE]
            older = "/audit?" + urlencode(
                {**{k: v for k, v in f.items() if v}, "lang": self.lang(request),
                 "before": rows[-1]["id"]})
        return self.page(
            request, "moderation/audit.html", status, session=session, csrf=session.csrf_token,
            rows=rows, filters=f, error=error, older=older,
            editors=[e["name"] for e in self.app.store.editors()],
            actions=self.app.store.audit_actions(), missions=sorted(self.app.config.missions),
            nav="audit",
        )
