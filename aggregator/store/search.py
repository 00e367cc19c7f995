"""Search over the archive: the SQL behind :mod:`aggregator.search`.

Every value from a query reaches SQLite as a bound parameter; the only text spliced into
SQL is chosen here from fixed fragments. FTS5 expressions come from
:func:`aggregator.search.parse`, where every user word is a quoted FTS5 string.
Ranking is weighted bm25 (``BM25``; the same weights are FTS5's ``rank``, migration 0050).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aggregator.errors import StoreError, UsageError
from aggregator.search import SearchPlan
from aggregator.store.posts import VISIBLE

if TYPE_CHECKING:
    from sqlite_utils import Database

Sort = Literal["relevance", "newest"]
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"  # snippet highlight markers; callers render them
# Weighted bm25: title 4, text 1, author 0.5. Migration 0050 stores the same as FTS5's `rank`
# for sqlite3 and Datasette users; here it is spelled out because `ORDER BY rank` goes through
# the configured-function machinery and measured ~45% slower on broad queries.
BM25 = "bm25(posts_fts, 4.0, 1.0, 0.5)"

_COLUMNS = """p.rowid AS rowid, p.id, p.url, p.title, p.text, p.author, p.author_handle,
    p.source_id, p.kind, p.language, p.sort_at, p.published_at, p.collected_at,
    p.is_retweet, p.is_reply, p.is_quote, p.media, p.links, p.availability,
    p.availability_note, p.availability_at, p.content_hash, p.version,
    COALESCE(m.hidden, 0) AS hidden, m.hidden_note AS hidden_note,
    COALESCE(m.pinned, 0) AS pinned,
    (SELECT group_concat(mission, ' ') FROM
        (SELECT mission FROM post_tags WHERE post_id = p.id ORDER BY mission)) AS missions"""

_IS = {
    "retweet": "p.is_retweet = 1",
    "reply": "p.is_reply = 1",
    "quote": "p.is_quote = 1",
    "hidden": "COALESCE(m.hidden, 0) = 1",
    "removed": "p.availability != 'available'",
    "pinned": "COALESCE(m.pinned, 0) = 1",
}
_HAS = {"media": "p.media != '[]'", "link": "p.links != '[]'"}
# The moderation desk's states (issue 17); not in the query language (``state`` key only).
# The rare ones are written as IN (small set) so SQLite looks their few posts up and sorts
# them, instead of walking the whole time index (6.9 s -> 63 ms with 100,000 posts).
_STATE = {
    "new": "NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.post_id = p.id)",
    "visible": "COALESCE(m.hidden, 0) = 0",
    "hidden": "p.id IN (SELECT post_id FROM moderation WHERE hidden = 1)",
    "pinned": "p.id IN (SELECT post_id FROM moderation WHERE pinned = 1)",
    "flagged": "p.rowid IN (SELECT rowid FROM posts WHERE availability != 'available')",
}
STATES = tuple(_STATE)


@dataclass
class SearchPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    sort: Sort


@dataclass
class Facets:
    total: int
    mission: list[tuple[str, int]] = field(default_factory=list)
    source: list[tuple[str, int]] = field(default_factory=list)
    lang: list[tuple[str, int]] = field(default_factory=list)
    month: list[tuple[str, int]] = field(default_factory=list)  # oldest first: the histogram


@dataclass
class _Sql:
    frm: str
    where: list[str]
    params: list[Any]
    order: str

    def text(self, columns: str) -> str:
        where = " AND ".join(self.where) or "1"
        return f"SELECT {columns} FROM {self.frm} WHERE {where}"


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _filter_sql(key: str, values: Sequence[str]) -> tuple[str, list[Any]]:
    """One filter key with any of ``values`` -> (SQL condition, parameters)."""
    if key in ("mission", "desk_mission"):  # desk_*: the desk's menus, AND-ed with the query
        marks = ",".join("?" * len(values))
        sql = f"EXISTS (SELECT 1 FROM post_tags t WHERE t.post_id = p.id AND t.mission IN ({marks}))"
        return sql, list(values)
    parts: list[str] = []
    params: list[Any] = []
    for v in values:
        if key == "desk_source":
            parts.append("p.source_id = ?")
            params.append(v)
        elif key == "state":
            parts.append(_STATE[v])
        elif key == "source":
            sid = f"x:{v[1:].lower()}" if v.startswith("@") else v
            parts.append(
                "p.source_id IN (SELECT id FROM sources WHERE id = ? OR lower(name) = lower(?)"
                " OR lower(handle) = lower(?) OR url LIKE ? ESCAPE '\\')"
            )
            params += [sid, v, v.lstrip("@"), _like(v)]
        elif key == "author":
            parts.append("(lower(p.author_handle) = lower(?) OR lower(p.author) = lower(?))")
            params += [v, v]
        elif key == "lang":
            parts.append("(lower(p.language) = ? OR lower(p.language) LIKE ? ESCAPE '\\')")
            params += [v, v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%"]
        elif key == "has":
            parts.append(_HAS[v])
        elif key == "is":
            parts.append(_IS[v])
    return "(" + " OR ".join(parts) + ")", params


Walk = Literal["sort", "walk", "probe"]


def _build(plan: SearchPlan, sort: Sort, include_hidden: bool, walk: Walk = "sort") -> _Sql:
    """The query for ``plan``. Newest first with words (see ``SearchMixin._walk``): ``sort``
    reads every match and sorts; ``walk`` scans ``posts_sort`` against the set of matches;
    ``probe`` scans ``posts_sort`` and asks FTS5 about each row (no set to build).
    """
    where: list[str] = []
    params: list[Any] = []
    posts = "posts p INDEXED BY posts_sort" if walk != "sort" else "posts p"
    frm = f"{posts} LEFT JOIN moderation m ON m.post_id = p.id"
    ranked = plan.match is not None and sort == "relevance"
    if plan.match is not None and ranked:
        frm = "posts_fts f JOIN posts p ON p.rowid = f.rowid LEFT JOIN moderation m ON m.post_id = p.id"
        where.append("f.posts_fts MATCH ?")
        params.append(plan.match)
    elif plan.match is not None and walk == "probe":
        where.append("EXISTS (SELECT 1 FROM posts_fts WHERE posts_fts MATCH ? AND rowid = p.rowid)")
        params.append(plan.match)
    elif plan.match is not None:
        where.append("p.rowid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
        params.append(plan.match)
    if plan.exclude is not None:
        where.append("p.rowid NOT IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
        params.append(plan.exclude)
    for key, values in plan.filters.items():
        sql, ps = _filter_sql(key, values)
        where.append(sql)
        params += ps
    for key, values in plan.negated.items():
        sql, ps = _filter_sql(key, values)
        where.append(f"NOT {sql}")
        params += ps
    if plan.since:
        where.append("p.sort_at >= ?")
        params.append(plan.since)
    if plan.until:
        where.append("p.sort_at < ?")
        params.append(plan.until)
    if not include_hidden:
        where.append(f"({VISIBLE})")
    # Newest first follows the posts_sort index exactly: (sort_at DESC, rowid ASC).
    order = f"{BM25}, p.rowid" if ranked else "p.sort_at DESC, p.rowid"
    return _Sql(frm, where, params, order)


def _text_only(plan: SearchPlan) -> bool:
    return (
        plan.match is not None and plan.exclude is None and not plan.filters
        and not plan.negated and plan.since is None and plan.until is None
    )


def encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError
        offset, rowid, at = data.get("offset", 0), data.get("rowid", 0), data.get("at", "")
        if not (isinstance(offset, int) and isinstance(rowid, int) and isinstance(at, str)):
            raise ValueError
        if offset < 0 or offset > 1_000_000 or rowid < 0:
            raise ValueError
        return data
    except (ValueError, UnicodeDecodeError):
        raise UsageError(
            "the page cursor is not valid", hint="start again from the first page"
        ) from None


class SearchMixin:
    db: Database

    def _run(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, list(params))
        except sqlite3.OperationalError as exc:
            raise StoreError(f"search failed: {exc}", hint="report this query as a bug") from exc

    def search(
        self,
        plan: SearchPlan,
        *,
        sort: Sort = "relevance",
        limit: int = 20,
        cursor: str | None = None,
        include_hidden: bool = False,
        snippets: bool = True,
    ) -> SearchPage:
        """One page of results. ``include_hidden``: the local operator and signed-in editors."""
        if plan.match is None:
            sort = "newest"
        q = _build(plan, sort, include_hidden, self._walk(plan, sort))
        state = decode_cursor(cursor) if cursor else {}
        if state and state.get("sort") != sort:
            raise UsageError("the page cursor belongs to another sort order", hint="start again")
        offset = 0
        if sort == "relevance" and _text_only(plan):
            return self._ranked_page(plan, limit, int(state.get("offset", 0)), include_hidden, snippets)
        if sort == "newest" and "at" in state:
            q.where.append("p.sort_at <= ? AND (p.sort_at < ? OR p.rowid > ?)")
            q.params += [state["at"], state["at"], int(state.get("rowid", 0))]
        elif sort == "relevance":
            offset = int(state.get("offset", 0))
        sql = q.text(_COLUMNS) + f" ORDER BY {q.order} LIMIT ? OFFSET ?"
        cur = self._run(sql, [*q.params, limit + 1, offset])
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        more = len(rows) > limit
        rows = rows[:limit]
        if snippets:
            self._add_snippets(plan, rows)
        nxt = None
        if more and rows:
            last = rows[-1]
            nxt = encode_cursor(
                {"sort": sort, "at": last["sort_at"], "rowid": last["rowid"]}
                if sort == "newest" else {"sort": sort, "offset": offset + limit}
            )
        return SearchPage(rows=rows, next_cursor=nxt, sort=sort)

    def _walk(self, plan: SearchPlan, sort: Sort) -> Walk:
        """Newest first with words: how to find the newest matches of N posts.

        Counting the n matches is cheap in FTS5 (no bm25). Reading and sorting them costs
        about n row lookups; walking the time index costs about 20 * N / n steps, so the
        walk wins above roughly sqrt(3 N) matches. Above N / 20 even building the set of
        matches costs more than asking FTS5 about the few rows the walk visits.
        """
        if sort != "newest" or plan.match is None:
            return "sort"
        total = self.db.execute("SELECT COALESCE(MAX(rowid), 0) FROM posts").fetchone()[0]
        n = self._run(
            "SELECT COUNT(*) FROM posts_fts WHERE posts_fts MATCH ?", [plan.match]
        ).fetchone()[0]
        if n > max(2000, total // 20):
            return "probe"
        return "walk" if n > max(500, int((3 * total) ** 0.5)) else "sort"

    def _ranked_page(
        self, plan: SearchPlan, limit: int, offset: int, include_hidden: bool, snippets: bool
    ) -> SearchPage:
        """Relevance without filters: rank in FTS5 alone (the floor), then read the few rows.

        Hidden and removed posts are rare, so the top ``want`` ranks are fetched with a
        margin and the fetch is widened only when too many of them were not visible.
        """
        want = offset + limit + 1
        fetch = want + want // 4 + 10
        while True:
            ranked = self._run(
                f"SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? ORDER BY {BM25} LIMIT ?",
                [plan.match, fetch],
            ).fetchall()
            ids = [r[0] for r in ranked]
            rows = self._rows_by_rowid(ids, include_hidden)
            if len(rows) >= want or len(ids) < fetch:
                break
            fetch *= 4
        rows = rows[offset:want]
        more = len(rows) > limit
        rows = rows[:limit]
        if snippets:
            self._add_snippets(plan, rows)
        nxt = encode_cursor({"sort": "relevance", "offset": offset + limit}) if more else None
        return SearchPage(rows=rows, next_cursor=nxt, sort="relevance")

    def _rows_by_rowid(self, ids: list[int], include_hidden: bool) -> list[dict[str, Any]]:
        if not ids:
            return []
        visible = "" if include_hidden else f" AND ({VISIBLE})"
        found: dict[int, dict[str, Any]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            cur = self._run(
                f"SELECT {_COLUMNS} FROM posts p LEFT JOIN moderation m ON m.post_id = p.id"
                f" WHERE p.rowid IN ({','.join('?' * len(chunk))}){visible}",
                chunk,
            )
            cols = [d[0] for d in cur.description]
            for r in cur.fetchall():
                row = dict(zip(cols, r, strict=True))
                found[row["rowid"]] = row
        return [found[i] for i in ids if i in found]

    def _add_snippets(self, plan: SearchPlan, rows: list[dict[str, Any]]) -> None:
        found: dict[int, tuple[str, str]] = {}
        if plan.match is not None and rows:
            marks = ",".join("?" * len(rows))
            cur = self._run(
                f"SELECT rowid, snippet(posts_fts, 1, ?, ?, '…', 24),"
                f" highlight(posts_fts, 0, ?, ?) FROM posts_fts"
                f" WHERE posts_fts MATCH ? AND rowid IN ({marks})",
                [MARK_OPEN, MARK_CLOSE, MARK_OPEN, MARK_CLOSE, plan.match,
                 *(r["rowid"] for r in rows)],
            )
            found = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
        for row in rows:
            text = row["text"] or ""
            default = (text[:240] + ("…" if len(text) > 240 else ""), row["title"] or "")
            row["snippet"], row["title_highlighted"] = found.get(row["rowid"], default)

    def iter_search(
        self, plan: SearchPlan, *, sort: Sort = "relevance", include_hidden: bool = False,
        limit: int | None = None, batch: int = 500,
    ) -> Iterator[dict[str, Any]]:
        """Stream every result (constant memory): for exports and large downloads."""
        if plan.match is None:
            sort = "newest"
        q = _build(plan, sort, include_hidden, self._walk(plan, sort))
        sql = q.text(_COLUMNS) + f" ORDER BY {q.order} LIMIT ?"
        cur = self._run(sql, [*q.params, -1 if limit is None else limit])
        cols = [d[0] for d in cur.description]
        while True:
            chunk = cur.fetchmany(batch)
            if not chunk:
                return
            for r in chunk:
                yield dict(zip(cols, r, strict=True))

    def search_facets(self, plan: SearchPlan, *, include_hidden: bool = False) -> Facets:
        """Counts per mission, source, language and month for every row the query matches."""
        q = _build(plan, "newest", include_hidden)
        hits = q.text("p.id AS id, p.source_id AS source_id, p.language AS language,"
                      " substr(p.sort_at, 1, 7) AS month")
        sql = f"""WITH hits AS MATERIALIZED ({hits})
            SELECT 'mission', t.mission, COUNT(*) FROM hits JOIN post_tags t ON t.post_id = hits.id
                GROUP BY t.mission
            UNION ALL SELECT 'source', source_id, COUNT(*) FROM hits GROUP BY source_id
            UNION ALL SELECT 'lang', COALESCE(language, ''), COUNT(*) FROM hits GROUP BY 2
            UNION ALL SELECT 'month', month, COUNT(*) FROM hits GROUP BY month
            UNION ALL SELECT 'total', '', COUNT(*) FROM hits"""
        out = Facets(total=0)
        for kind, value, count in self._run(sql, q.params).fetchall():
            if kind == "total":
                out.total = int(count)
            else:
                getattr(out, kind).append((value, int(count)))
        for name in ("mission", "source", "lang"):
            getattr(out, name).sort(key=lambda vc: (-vc[1], vc[0]))
        out.month.sort()
        return out

    def search_post(self, post_id: str) -> dict[str, Any] | None:
        """One post with its missions, editor flags and tombstone (for permalinks)."""
        cur = self._run(
            f"SELECT {_COLUMNS}, p.html FROM posts p LEFT JOIN moderation m ON m.post_id = p.id"
            " WHERE p.id = ?",
            [post_id],
        )
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None

    def source_names(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.db.execute("SELECT id, name FROM sources").fetchall()}
