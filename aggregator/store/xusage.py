"""X collection state: billed reads (the cost governor), rate-limit pauses, rechecks.

X bills reads per resource returned, once per resource per UTC day (see docs/x.md). Every
resource an X response returns is recorded here right after the response arrives, whether or
not its posts are committed later: the money is spent when X answers.
"""

from __future__ import annotations

from collections.abc import Iterable
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

    def x_source_rows(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM sources WHERE kind = 'x' ORDER BY id"))

    # --- re-checks of stored posts (#14) --------------------------------------------------

    def x_recheck_candidates(self, since: datetime) -> list[str]:
        """Stored X posts (ids ``x:<status id>``) published since ``since``, newest first,
        each followed by the posts it retweets or quotes (their text is shown with it)."""
        out: dict[str, None] = {}
        for post_id, ref_id in self.db.execute(
            "SELECT p.id, r.ref_id FROM posts p LEFT JOIN x_refs r ON r.post_id = p.id"
            " AND r.kind IN ('retweeted', 'quoted')"
            " WHERE p.id LIKE 'x:%' AND p.sort_at >= ? ORDER BY p.sort_at DESC, p.id DESC",
            [iso(since)],
        ).fetchall():
            for item in (post_id, ref_id):
                if item and str(item)[2:].isdigit():
                    out[str(item)] = None
        return list(out)

    def record_x_recheck(
        self, at: datetime, trigger: str, *, checked: int, lookups: int, charged: int,
        changed: int, note: str | None,
    ) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO x_rechecks (at, trigger, posts_checked, lookups, posts_charged,"
                " changed, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [iso(at), trigger, checked, lookups, charged, changed, note],
            )

    def x_rechecks_summary(self, at: datetime) -> dict[str, Any]:
        """This month's re-checks (lookups, posts checked and charged) and the last one."""
        if not self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'x_rechecks'"
        ).fetchone():
            return {"lookups": 0, "posts_checked": 0, "posts_charged": 0, "last": None}
        first, last = _days(at, "month")
        row = self.db.execute(
            "SELECT COALESCE(SUM(lookups), 0), COALESCE(SUM(posts_checked), 0),"
            " COALESCE(SUM(posts_charged), 0) FROM x_rechecks WHERE substr(at, 1, 10) BETWEEN ? AND ?",
            [first, last],
        ).fetchone()
        latest = list(self.db.query("SELECT * FROM x_rechecks ORDER BY id DESC LIMIT 1"))
        return {"lookups": int(row[0]), "posts_checked": int(row[1]), "posts_charged": int(row[2]),
                "last": latest[0] if latest else None}
