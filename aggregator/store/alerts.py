"""Saved searches with alerts (#18 item 2): the ``alerts`` table and which posts are new.

An alert's recipient is a subscriber of the list ``alert.<name>`` and each email is a run of
the digest ledger (``store/digest.py``), so sending is exactly once, resumable and
unsubscribable like a digest.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aggregator.models import iso

if TYPE_CHECKING:
    from sqlite_utils import Database

    from aggregator.search import SearchPlan


def _t(dt: datetime) -> str:
    value = iso(dt)
    assert value is not None
    return value


class AlertsMixin:
    db: Database

    def save_alert(
        self, name: str, query: str, email: str, every: str, now: datetime, by: str
    ) -> bool:
        """Create or replace an alert; True when it is new."""
        with self.db.atomic():
            existed = self.alert(name) is not None
            self.db.execute(
                "INSERT INTO alerts (name, query, email, every, created_at, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " query = excluded.query, email = excluded.email, every = excluded.every",
                [name, query, email, every, _t(now), by],
            )
        return not existed

    def delete_alert(self, name: str) -> bool:
        with self.db.atomic():
            return bool(self.db.execute("DELETE FROM alerts WHERE name = ?", [name]).rowcount)

    def alert(self, name: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM alerts WHERE name = ?", [name]))
        return rows[0] if rows else None

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM alerts ORDER BY name"))

    def alert_post_ids(
        self, list_name: str, plan: SearchPlan, start: datetime, end: datetime
    ) -> list[str]:
        """Public posts matching ``plan`` that entered the archive in (start, end] and that
        no earlier email of ``list_name`` carried."""
        from aggregator.store.search import _build

        q = _build(plan, "newest", include_hidden=False)
        q.where += [
            "p.collected_at > ?",
            "p.collected_at <= ?",
            """NOT EXISTS (
                SELECT 1 FROM digest_run_posts rp JOIN digest_runs r ON r.id = rp.run_id
                WHERE rp.post_id = p.id AND r.list_name = ? AND r.status != 'empty')""",
        ]
        params = [*q.params, _t(start), _t(end), list_name]
        rows = self.db.execute(q.text("p.id") + " ORDER BY p.id", params).fetchall()
        return [str(r[0]) for r in rows]
