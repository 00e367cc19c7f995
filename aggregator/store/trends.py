"""Queries for a mission's trends (#19): visible posts per week, and the texts of a period.

Both read ``post_tags`` by mission and time (the ``post_tags_mission_sort`` index), joined to
the posts for visibility (``store.posts.VISIBLE``): a hidden post is not a trend.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from aggregator.store.posts import VISIBLE

if TYPE_CHECKING:
    from sqlite_utils import Database

MAX_TEXTS = 50_000  # texts read for one period's terms; the newest first


class TrendsMixin:
    db: Database

    def weekly_counts(self, mission: str, since: str, until: str) -> dict[str, int]:
        """Visible posts of ``mission`` per week (the week's Monday, ``YYYY-MM-DD``), for
        ``since <= sort_at < until`` (ISO timestamps)."""
        rows = self.db.execute(
            f"""SELECT date(t.sort_at, '-6 days', 'weekday 1') AS week, COUNT(*)
                FROM post_tags t JOIN posts p ON p.id = t.post_id
                LEFT JOIN moderation m ON m.post_id = p.id
                WHERE t.mission = ? AND t.sort_at >= ? AND t.sort_at < ? AND {VISIBLE}
                GROUP BY week""",
            [mission, since, until],
        ).fetchall()
        return {str(week): int(n) for week, n in rows if week}

    def mission_texts(self, mission: str, since: str, until: str) -> Iterator[str]:
        """Title and text of each visible post of ``mission`` with ``since <= sort_at < until``."""
        cursor = self.db.execute(
            f"""SELECT p.title, p.text
                FROM post_tags t JOIN posts p ON p.id = t.post_id
                LEFT JOIN moderation m ON m.post_id = p.id
                WHERE t.mission = ? AND t.sort_at >= ? AND t.sort_at < ? AND {VISIBLE}
                ORDER BY t.sort_at DESC LIMIT ?""",
            [mission, since, until, MAX_TEXTS],
        )
        for title, text in cursor:
            title, text = title or "", text or ""
            yield text if not title or text.startswith(title) else f"{title}. {text}"
