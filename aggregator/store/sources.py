"""Sources and their fetch state; collection runs and per-source events."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aggregator.models import Mission, SourceReport, SourceSpec, iso

if TYPE_CHECKING:
    from sqlite_utils import Database


class SourcesMixin:
    db: Database

    def sync_missions(self, missions: Iterable[Mission]) -> None:
        """Mirror the configured missions (for readable joins in sqlite3 and Datasette)."""
        with self.db.atomic():
            for m in missions:
                self.db.table("missions").upsert(
                    {
                        "acronym": m.acronym,
                        "name": m.name,
                        "status": m.status,
                        "established": m.established,
                        "closed": m.closed,
                        "country": m.country,
                    },
                    pk="acronym",
                )

    def sync_sources(self, specs: Iterable[SourceSpec]) -> None:
        """Insert new sources and refresh descriptive columns; fetch state is never reset."""
        with self.db.atomic():
            for spec in specs:
                desc = {
                    "kind": spec.kind,
                    "name": spec.name,
                    "mission": spec.mission,
                    "url": spec.url,
                    "handle": spec.handle,
                }
                if self.db.execute("SELECT 1 FROM sources WHERE id = ?", [spec.id]).fetchone():
                    self.db.table("sources").update(spec.id, desc)
                else:
                    self.db.table("sources").insert({"id": spec.id, **desc})

    def source_state(self, source_id: str) -> dict[str, Any]:
        rows = list(self.db.query("SELECT * FROM sources WHERE id = ?", [source_id]))
        return rows[0] if rows else {}

    def source_states(self) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in self.db.query("SELECT * FROM sources ORDER BY id")}

    def update_source(self, source_id: str, values: Mapping[str, Any]) -> None:
        with self.db.atomic():
            self.db.table("sources").update(source_id, dict(values))

    # --- runs ------------------------------------------------------------------------

    def start_run(self, started_at: datetime, trigger: str = "collect") -> int:
        with self.db.atomic():
            table = self.db.table("runs")
            table.insert({"started_at": iso(started_at), "trigger": trigger})
            return int(table.last_pk or 0)

    def record_event(self, run_id: int | None, report: SourceReport, at: datetime) -> None:
        with self.db.atomic():
            self.db.table("source_events").insert(
                {
                    "run_id": run_id,
                    "source_id": report.source_id,
                    "at": iso(at),
                    "outcome": report.outcome,
                    "posts_added": report.posts_added,
                    "posts_updated": report.posts_updated,
                    "duration_s": round(report.duration_s, 4),
                    "error": report.error,
                    "error_kind": report.error_kind,
                }
            )

    def finish_run(self, run_id: int, finished_at: datetime, reports: list[SourceReport]) -> None:
        summary = {
            "outcomes": {
                o: sum(1 for r in reports if r.outcome == o)
                for o in {r.outcome for r in reports}
            }
        }
        with self.db.atomic():
            self.db.table("runs").update(
                run_id,
                {
                    "finished_at": iso(finished_at),
                    "sources_total": len(reports),
                    "sources_failed": sum(1 for r in reports if r.outcome == "error"),
                    "posts_added": sum(r.posts_added for r in reports),
                    "posts_updated": sum(r.posts_updated for r in reports),
                    "summary": json.dumps(summary, sort_keys=True),
                },
            )
