"""X collection state: billed reads (the cost governor), rate-limit pauses, availability marks.

X bills reads per resource returned, once per resource per UTC day (see docs/x.md). Every
resource an X response returns is recorded here right after the response arrives, whether or
not its posts are committed later: the money is spent when X answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aggregator.models import iso, parse_iso

if TYPE_CHECKING:
    from sqlite_utils import Database

UNITS = ("post", "user")


def utc_day(at: datetime) -> str:
    return (iso(at) or "")[:10]


def utc_month(at: datetime) -> str:
    return (iso(at) or "")[:7]


def _days(at: datetime, period: str) -> tuple[str, str]:
    """First and last ``day`` keys of the UTC month (or day) containing ``at``."""
    if period == "month":
        month = utc_month(at)
        return f"{month}-01", f"{month}-31"
    return utc_day(at), utc_day(at)


class XUsageMixin:
    db: Database

    def has_x_tables(self) -> bool:
        """False for an archive opened read-only before migration 0020 was applied."""
        return bool(self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'x_reads'"
        ).fetchone())

    # --- billed reads ----------------------------------------------------------------

    def record_x_reads(
        self, source_id: str | None, at: datetime, *, posts: Iterable[str] = (),
        users: Iterable[str] = (),
    ) -> dict[str, int]:
        """Record resources read; return how many of each unit were newly charged today."""
        day, when = utc_day(at), iso(at)
        charged = {"post": 0, "user": 0}
        with self.db.atomic():
            for unit, ids in (("post", posts), ("user", users)):
                for item_id in dict.fromkeys(str(i) for i in ids):
                    cur = self.db.execute(
                        "INSERT OR IGNORE INTO x_reads (day, unit, item_id, source_id, read_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        [day, unit, item_id, source_id, when],
                    )
                    charged[unit] += cur.rowcount
        return charged

    def x_usage(self, at: datetime, *, period: str = "month") -> dict[str, int]:
        """Charged reads per unit in the UTC month (or day) containing ``at``."""
        first, last = _days(at, period)
        out = dict.fromkeys(UNITS, 0)
        for unit, count in self.db.execute(
            "SELECT unit, COUNT(*) FROM x_reads WHERE day BETWEEN ? AND ? GROUP BY unit",
            [first, last],
        ).fetchall():
            out[unit] = int(count)
        return out

    def x_usage_by_source(self, at: datetime) -> dict[str, dict[str, int]]:
        """Charged reads per source and unit in the UTC month containing ``at``."""
        out: dict[str, dict[str, int]] = {}
        for source_id, unit, count in self.db.execute(
            "SELECT source_id, unit, COUNT(*) FROM x_reads WHERE day BETWEEN ? AND ?"
            " GROUP BY source_id, unit",
            list(_days(at, "month")),
        ).fetchall():
            out.setdefault(source_id or "", dict.fromkeys(UNITS, 0))[unit] = int(count)
        return out

    # --- rate-limit pauses --------------------------------------------------------------

    def set_x_pause(self, scope: str, until: datetime, reason: str, at: datetime) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO x_pauses (scope, until, reason, set_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(scope) DO UPDATE SET until = excluded.until,"
                " reason = excluded.reason, set_at = excluded.set_at",
                [scope, iso(until), reason, iso(at)],
            )

    def x_paused_until(self, scope: str, now: datetime) -> datetime | None:
        row = self.db.execute("SELECT until FROM x_pauses WHERE scope = ?", [scope]).fetchone()
        until = parse_iso(row[0]) if row else None
        return until if until is not None and until > now else None

    def x_pauses(self, now: datetime) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        for scope, until in self.db.execute("SELECT scope, until FROM x_pauses").fetchall():
            when = parse_iso(until)
            if when is not None and when > now:
                out[scope] = when
        return out

    # --- availability -------------------------------------------------------------------

    def mark_availability(self, marks: Mapping[str, tuple[str, str]], at: datetime) -> int:
        """Record what X said about posts (post id -> (availability, note)).

        Posts already stored change now; posts stored later take the mark on insert (a
        trigger). Returns the number of stored posts whose availability changed.
        """
        changed = 0
        with self.db.atomic():
            for post_id, (availability, note) in marks.items():
                self.db.execute(
                    "INSERT OR REPLACE INTO x_availability (post_id, availability, note, at)"
                    " VALUES (?, ?, ?, ?)",
                    [post_id, availability, note, iso(at)],
                )
                cur = self.db.execute(
                    "UPDATE posts SET availability = ?, availability_note = ?,"
                    " availability_at = ? WHERE id = ? AND availability != ?",
                    [availability, note, iso(at), post_id, availability],
                )
                changed += cur.rowcount
        return changed

    def x_post_ids_of_source(self, source_id: str) -> list[str]:
        return [
            r[0] for r in self.db.execute(
                "SELECT id FROM posts WHERE source_id = ? AND kind = 'x'", [source_id]
            ).fetchall()
        ]

    def x_source_rows(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM sources WHERE kind = 'x' ORDER BY id"))
