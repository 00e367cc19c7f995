"""Digest subscribers and the exactly-once ledger of digest runs and sends.

A digest run fixes its window and its posts when it opens. Every recipient gets a row in
``digest_sends`` marked ``in_flight`` (with its Message-ID) and committed *before* the message
is handed to SMTP, then ``sent`` once the server accepted it. A run stays ``open`` until
every active subscriber is served (sent or permanently failed), so an interrupted run resumes
with the recipients not yet served and never repeats one that was accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aggregator.models import iso
from aggregator.store.posts import VISIBLE

if TYPE_CHECKING:
    from sqlite_utils import Database


def _t(dt: datetime) -> str:
    value = iso(dt)
    assert value is not None
    return value


class DigestMixin:
    db: Database

    # --- subscribers -------------------------------------------------------------------

    def add_subscribers(self, list_name: str, emails: Iterable[str], now: datetime) -> int:
        """Subscribe (or re-subscribe) addresses; return how many were not active before."""
        changed = 0
        with self.db.atomic():
            for email in emails:
                email = email.strip().lower()
                row = self.db.execute(
                    "SELECT status FROM subscribers WHERE list_name = ? AND email = ?",
                    [list_name, email],
                ).fetchone()
                if row is None:
                    self.db.execute(
                        "INSERT INTO subscribers (list_name, email, added_at) VALUES (?, ?, ?)",
                        [list_name, email, _t(now)],
                    )
                    changed += 1
                elif row[0] != "active":
                    self.db.execute(
                        "UPDATE subscribers SET status = 'active', added_at = ?,"
                        " unsubscribed_at = NULL, unsubscribed_via = NULL"
                        " WHERE list_name = ? AND email = ?",
                        [_t(now), list_name, email],
                    )
                    changed += 1
        return changed

    def unsubscribe(self, list_name: str, email: str, now: datetime, via: str = "link") -> bool:
        """Mark one address unsubscribed; True when it was active."""
        with self.db.atomic():
            cur = self.db.execute(
                "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?,"
                " unsubscribed_via = ? WHERE list_name = ? AND email = ? AND status = 'active'",
                [_t(now), via, list_name, email.strip().lower()],
            )
            return bool(cur.rowcount)

    def subscribers(self, list_name: str, *, include_unsubscribed: bool = False) -> list[dict[str, Any]]:
        where = "" if include_unsubscribed else "AND status = 'active'"
        return list(
            self.db.query(
                f"SELECT * FROM subscribers WHERE list_name = ? {where} ORDER BY email",
                [list_name],
            )
        )

    def subscriber_status(self, list_name: str, email: str) -> str | None:
        row = self.db.execute(
            "SELECT status FROM subscribers WHERE list_name = ? AND email = ?",
            [list_name, email.strip().lower()],
        ).fetchone()
        return str(row[0]) if row else None

    # --- runs --------------------------------------------------------------------------

    def open_digest_run(self, list_name: str) -> dict[str, Any] | None:
        rows = list(
            self.db.query(
                "SELECT * FROM digest_runs WHERE list_name = ? AND status = 'open'"
                " ORDER BY id LIMIT 1",
                [list_name],
            )
        )
        return rows[0] if rows else None

    def last_sent_window_end(self, list_name: str) -> str | None:
        row = self.db.execute(
            "SELECT MAX(window_end) FROM digest_runs WHERE list_name = ? AND status != 'empty'",
            [list_name],
        ).fetchone()
        return str(row[0]) if row and row[0] else None

    def digest_checked_since(self, list_name: str, since: datetime) -> bool:
        """Has any digest of this list (sent, sending or empty) opened at or after ``since``?"""
        row = self.db.execute(
            "SELECT 1 FROM digest_runs WHERE list_name = ? AND window_end >= ? LIMIT 1",
            [list_name, _t(since)],
        ).fetchone()
        return row is not None

    def digest_runs(self, list_name: str) -> list[dict[str, Any]]:
        return list(
            self.db.query("SELECT * FROM digest_runs WHERE list_name = ? ORDER BY id", [list_name])
        )

    def window_post_ids(
        self,
        list_name: str,
        missions: Sequence[str] | None,
        start: datetime,
        end: datetime,
        *,
        late_after: datetime | None = None,
    ) -> list[str]:
        """Visible posts published in (start, end] for these missions (None: any mission),
        leaving out posts an earlier digest of the same list already carried.

        "Published" is ``sort_at``: the publication time, or the collection time of a post
        its source gave no date. A post collected inside the window but published before
        it (after ``late_after``) arrived late and comes too; older posts collected now
        (a backfill, a new source's archive) never count as new (#18)."""
        late = _t(late_after) if late_after is not None else _t(start)
        params: list[Any] = [_t(end), _t(start), _t(start), late]
        mission_filter = ""
        if missions is not None:
            mission_filter = f"AND t.mission IN ({','.join('?' * len(missions))})"
            params.extend(missions)
        params.append(list_name)
        rows = self.db.execute(
            f"""SELECT DISTINCT p.id FROM posts p
                JOIN post_tags t ON t.post_id = p.id
                LEFT JOIN moderation m ON m.post_id = p.id
                WHERE p.sort_at <= ?
                AND (p.sort_at > ? OR (p.collected_at > ? AND p.sort_at > ?))
                AND {VISIBLE} {mission_filter}
                AND NOT EXISTS (
                    SELECT 1 FROM digest_run_posts rp JOIN digest_runs r ON r.id = rp.run_id
                    WHERE rp.post_id = p.id AND r.list_name = ? AND r.status != 'empty')
                ORDER BY p.id""",
            params,
        ).fetchall()
        return [str(r[0]) for r in rows]

    def start_digest_run(
        self,
        list_name: str,
        start: datetime,
        end: datetime,
        post_ids: Sequence[str],
        now: datetime,
        *,
        empty: bool = False,
    ) -> int:
        with self.db.atomic():
            cur = self.db.execute(
                "INSERT INTO digest_runs (list_name, window_start, window_end, status, posts,"
                " opened_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    list_name, _t(start), _t(end), "empty" if empty else "open", len(post_ids),
                    _t(now), _t(now) if empty else None,
                ],
            )
            run_id = int(cur.lastrowid or 0)
            self.db.conn.executemany(
                "INSERT INTO digest_run_posts (run_id, post_id) VALUES (?, ?)",
                [(run_id, pid) for pid in post_ids],
            )
        return run_id

    def claim_digest_run(
        self, run_id: int, owner: str, now: datetime, until: datetime, *, dead_owner: str = ""
    ) -> bool:
        """Take the run's lease so two processes never send the same digest at once.

        ``dead_owner``: a holder known to have died (same host, process gone) is replaced."""
        with self.db.atomic():
            cur = self.db.execute(
                "UPDATE digest_runs SET lease_owner = ?, lease_until = ? WHERE id = ?"
                " AND (lease_until IS NULL OR lease_until < ? OR lease_owner IN (?, ?))",
                [owner, _t(until), run_id, _t(now), owner, dead_owner or owner],
            )
            return bool(cur.rowcount)

    def digest_run_owner(self, run_id: int) -> str:
        row = self.db.execute("SELECT lease_owner FROM digest_runs WHERE id = ?", [run_id]).fetchone()
        return str(row[0]) if row and row[0] else ""

    def release_digest_run(self, run_id: int, owner: str) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE digest_runs SET lease_owner = NULL, lease_until = NULL"
                " WHERE id = ? AND lease_owner = ?",
                [run_id, owner],
            )

    def complete_digest_run(self, run_id: int, now: datetime) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE digest_runs SET status = 'complete', finished_at = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ?",
                [_t(now), run_id],
            )

    def digest_run_post_ids(self, run_id: int) -> list[str]:
        return [
            str(r[0]) for r in self.db.execute(
                "SELECT post_id FROM digest_run_posts WHERE run_id = ?", [run_id]
            ).fetchall()
        ]

    def digest_posts(
        self, post_ids: Sequence[str], missions: Sequence[str] | None
    ) -> list[dict[str, Any]]:
        """Those posts that are still visible, one row per (post, mission), newest first.

        Visibility is checked again at every send: a post hidden (or removed at its source)
        after a digest opened never reaches the recipients not yet served."""
        out: list[dict[str, Any]] = []
        for i in range(0, len(post_ids), 500):
            chunk = list(post_ids[i : i + 500])
            params: list[Any] = list(chunk)
            mission_filter = ""
            join = "LEFT JOIN"  # every mission: an alert's posts may have none ('')
            if missions is not None:
                mission_filter = f"AND t.mission IN ({','.join('?' * len(missions))})"
                params.extend(missions)
                join = "JOIN"
            rows = self.db.execute(
                f"""SELECT p.*, COALESCE(t.mission, '') AS mission FROM posts p
                    {join} post_tags t ON t.post_id = p.id
                    LEFT JOIN moderation m ON m.post_id = p.id
                    WHERE p.id IN ({','.join('?' * len(chunk))}) AND {VISIBLE} {mission_filter}""",
                params,
            )
            cols = [d[0] for d in rows.description]
            for r in rows.fetchall():
                row = dict(zip(cols, r, strict=True))
                row["media"] = json.loads(row.get("media") or "[]")
                out.append(row)
        out.sort(key=lambda r: (r["mission"], r["sort_at"], r["id"]), reverse=True)
        out.sort(key=lambda r: r["mission"])
        return out

    # --- sends -------------------------------------------------------------------------

    def digest_sends(self, run_id: int) -> dict[str, dict[str, Any]]:
        return {
            r["email"]: r
            for r in self.db.query("SELECT * FROM digest_sends WHERE run_id = ?", [run_id])
        }

    def mark_in_flight(self, run_id: int, email: str, message_id: str, now: datetime) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO digest_sends (run_id, email, message_id, status, attempts, updated_at)"
                " VALUES (?, ?, ?, 'in_flight', 1, ?) ON CONFLICT (run_id, email) DO UPDATE SET"
                " status = 'in_flight', attempts = attempts + 1, updated_at = excluded.updated_at",
                [run_id, email, message_id, _t(now)],
            )

    def mark_send(
        self,
        run_id: int,
        email: str,
        status: str,
        now: datetime,
        *,
        error: str | None = None,
        code: int | None = None,
    ) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE digest_sends SET status = ?, last_error = ?, smtp_code = ?, updated_at = ?"
                " WHERE run_id = ? AND email = ?",
                [status, error, code, _t(now), run_id, email],
            )
