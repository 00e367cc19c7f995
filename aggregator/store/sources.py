"""Sources and their fetch state; collection runs and per-source events."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aggregator.errors import StoreError
from aggregator.models import Mission, Post, SourceReport, SourceSpec, Tag, iso

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
                    "disabled": int(spec.disabled),  # `sources disable` writes it in feeds/
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

    # --- leases: one collector per source at a time ------------------------------------

    def acquire_leases(
        self, source_ids: Iterable[str], owner: str, now: datetime, until: datetime,
        *, due_by: datetime | None = None,
    ) -> set[str]:
        """Lease the sources that nobody else holds (or whose lease ran out); return those.

        With ``due_by``, only sources still due then: another collector may have fetched one
        since the caller read the states (its new due time is checked under the write lock).
        """
        got: set[str] = set()
        due = "" if due_by is None else " AND (due_at IS NULL OR due_at <= ?)"
        with self.db.atomic():
            for sid in source_ids:
                cur = self.db.execute(
                    "UPDATE sources SET lease_owner = ?, lease_until = ? WHERE id = ?"
                    " AND (lease_owner IS NULL OR lease_owner = ? OR lease_until IS NULL"
                    " OR lease_until <= ?)" + due,
                    [owner, iso(until), sid, owner, iso(now),
                     *([] if due_by is None else [iso(due_by)])],
                )
                if cur.rowcount:
                    got.add(sid)
        return got

    def release_leases(self, owner: str, source_ids: Iterable[str] | None = None) -> None:
        """Drop ``owner``'s leases (all of them, or only on ``source_ids``)."""
        with self.db.atomic():
            if source_ids is None:
                self.db.execute(
                    "UPDATE sources SET lease_owner = NULL, lease_until = NULL"
                    " WHERE lease_owner = ?", [owner],
                )
                return
            for sid in source_ids:
                self.db.execute(
                    "UPDATE sources SET lease_owner = NULL, lease_until = NULL"
                    " WHERE id = ? AND lease_owner = ?", [sid, owner],
                )

    def commit_source(
        self,
        source_id: str,
        owner: str,
        tagged: Sequence[tuple[Post, Sequence[Tag]]],
        state: Callable[[int, int], Mapping[str, Any]],
        event: Callable[[int, int, set[str]], tuple[int | None, SourceReport, datetime]]
        | None = None,
    ) -> tuple[int, int, set[str], bool]:
        """Store a source's posts and its new state in ONE transaction, and end the lease.

        ``state(added, updated)`` gives the ``sources`` values (ETag, cursor, schedule...).
        They are written only while ``owner`` still holds the lease, so a collector whose
        lease ran out and was taken over never moves the state (or a cursor) backwards; its
        posts are still stored (upserts are idempotent). ``event(added, updated, changed)``
        gives the run's ``source_events`` row (run id, report, time), written in the same
        transaction, as is the mark that the changed missions need a render
        (``mark_pending_render``). Returns (added, updated, missions changed, whether the state was written).
        """
        try:
            with self.db.atomic():
                if tagged:
                    added, updated, changed = self.save_posts(tagged)  # type: ignore[attr-defined]
                    # with the posts, so a crash before the render loses no re-render
                    self.mark_pending_render(changed, self.clock())  # type: ignore[attr-defined]
                else:
                    added, updated, changed = 0, 0, set()
                written = self._end_lease(source_id, owner, lambda: state(added, updated))
                if event is not None:
                    self.record_event(*event(added, updated, changed))
        except sqlite3.OperationalError as exc:  # the archive, not this source's data
            raise StoreError(
                f"cannot write to the archive while storing {source_id}: {exc}",
                hint="check the disk space and the database file's permissions; a collector"
                " that stopped here fetches the same sources again next time",
            ) from exc
        return added, updated, changed, written

    def _end_lease(
        self, source_id: str, owner: str, state: Callable[[], Mapping[str, Any]]
    ) -> bool:
        row = self.db.execute(
            "SELECT lease_owner, cursor FROM sources WHERE id = ?", [source_id]
        ).fetchone()
        if row is None or row[0] != owner:
            return False
        values = {**state(), "lease_owner": None, "lease_until": None}
        if _is_behind(values.get("cursor"), row[1]):
            values["cursor"] = row[1]
        self._set_source(source_id, values)
        return True

    def _set_source(self, source_id: str, values: Mapping[str, Any]) -> None:
        """One plain UPDATE (the columns are known; no introspection per call)."""
        names = sorted(values)
        for name in names:
            if not name.replace("_", "").isalnum():
                raise ValueError(f"not a column name: {name!r}")
        assignments = ", ".join(f"{name} = ?" for name in names)
        self.db.execute(
            f"UPDATE sources SET {assignments} WHERE id = ?",
            [*(values[n] for n in names), source_id],
        )

    def source_overview(self) -> list[dict[str, Any]]:
        """Every source with its state and number of stored posts (for ``aggregator status``)."""
        return list(
            self.db.query(
                "SELECT s.*, COALESCE(c.n, 0) AS posts_stored FROM sources s"
                " LEFT JOIN (SELECT source_id, COUNT(*) AS n FROM posts GROUP BY source_id) c"
                " ON c.source_id = s.id ORDER BY s.mission IS NULL, s.mission, s.id"
            )
        )

    def posts_by_source_since(self, since: str) -> dict[str, int]:
        """Posts published at or after ``since`` per source (the status page's last 7 days)."""
        return {
            r[0]: r[1] for r in self.db.execute(
                "SELECT source_id, COUNT(*) FROM posts WHERE sort_at >= ? GROUP BY source_id",
                [since],
            ).fetchall()
        }

    # --- runs ------------------------------------------------------------------------

    def start_run(self, started_at: datetime, trigger: str = "collect") -> int:
        with self.db.atomic():
            table = self.db.table("runs")
            table.insert({"started_at": iso(started_at), "trigger": trigger})
            return int(table.last_pk or 0)

    def record_event(self, run_id: int | None, report: SourceReport, at: datetime) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO source_events (run_id, source_id, at, outcome, posts_added,"
                " posts_updated, duration_s, error, error_kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, report.source_id, iso(at), report.outcome, report.posts_added,
                 report.posts_updated, round(report.duration_s, 4), report.error,
                 report.error_kind],
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


def _is_behind(new: Any, old: Any) -> bool:
    """Is the new cursor older than the stored one? (X since_ids compare as numbers.)"""
    if new is None:
        return old is not None
    if old is None:
        return False
    a, b = str(new), str(old)
    if a.isdigit() and b.isdigit():
        return int(a) < int(b)
    return False
