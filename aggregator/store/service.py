"""The running service's own records: heartbeat, last tick summary, ops alerts sent."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aggregator.models import iso, parse_iso

if TYPE_CHECKING:
    from sqlite_utils import Database

HEARTBEAT = "heartbeat"
LAST_TICK = "last_tick"


@dataclass(frozen=True)
class ServiceRecord:
    value: Any
    updated_at: datetime | None


class ServiceMixin:
    db: Database

    def set_service_value(self, key: str, value: Any, now: datetime) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO service_state (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                [key, json.dumps(value, sort_keys=True, default=str), iso(now)],
            )

    def service_value(self, key: str) -> ServiceRecord | None:
        row = self.db.execute(
            "SELECT value, updated_at FROM service_state WHERE key = ?", [key]
        ).fetchone()
        if row is None:
            return None
        return ServiceRecord(json.loads(row[0]), parse_iso(row[1]))

    def record_heartbeat(self, now: datetime, info: dict[str, Any]) -> None:
        self.set_service_value(HEARTBEAT, info, now)

    def record_tick(self, now: datetime, summary: dict[str, Any]) -> None:
        self.set_service_value(LAST_TICK, summary, now)

    def source_state_counts(self) -> dict[str, int]:
        """How many configured, non-stopped sources are in each state."""
        return {
            str(state): int(count)
            for state, count in self.db.execute(
                "SELECT CASE WHEN disabled THEN 'disabled' ELSE state END, COUNT(*)"
                " FROM sources GROUP BY 1"
            ).fetchall()
        }

    def lease_owners(self) -> list[str]:
        """Every process that holds a lease on some source right now."""
        return [
            str(r[0]) for r in self.db.execute(
                "SELECT DISTINCT lease_owner FROM sources WHERE lease_owner IS NOT NULL"
            ).fetchall()
        ]

    def sources_to_alert(self, before: datetime) -> list[dict[str, Any]]:
        """Sources failing or stale since ``before`` or earlier, not yet alerted this time."""
        return list(
            self.db.query(
                "SELECT * FROM sources WHERE state IN ('backing_off', 'stale')"
                " AND disabled = 0 AND state_since IS NOT NULL AND state_since <= ?"
                " AND (alerted_at IS NULL OR alerted_at < state_since) ORDER BY id",
                [iso(before)],
            )
        )

    def mark_alerted(self, source_ids: Iterable[str], now: datetime) -> None:
        with self.db.atomic():
            for source_id in source_ids:
                self.db.execute(
                    "UPDATE sources SET alerted_at = ? WHERE id = ?", [iso(now), source_id]
                )
