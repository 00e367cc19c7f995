"""What X says about posts and accounts: flags set and cleared, with their history (#14).

A flag (``deleted``, ``suspended``, ``protected``, ``withheld``) takes a post out of every
public output (``store.posts.VISIBLE``); ``available`` clears it. Rules:

- a weaker flag never replaces a stronger one (deleted > suspended > protected > withheld):
  it is kept in ``x_availability_history`` with ``applied = 0``, so nothing is lost silently;
- an account that comes back (``Availability(account=True, state="available")``) clears the
  account-level flags of its posts (suspended, protected), never a post's own deletion;
- a post X returns again is available again, whatever it was flagged before;
- a retweet follows the post it retweets (flagged with it, cleared with it); a quote stays up
  with its own text only (``quotes_of``: the caller re-normalizes it from its raw entry).

Every change is written in the caller's transaction with the missions whose pages showed the
post, and those missions are recorded as pending renders in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aggregator.models import Availability, iso

if TYPE_CHECKING:
    from sqlite_utils import Database

RANK = {"available": 0, "withheld": 1, "protected": 2, "suspended": 3, "deleted": 4}
ACCOUNT_STATES = ("protected", "suspended")
GONE = ("deleted", "protected", "suspended", "withheld")


@dataclass
class FlagChanges:
    """What applying marks changed: post id -> new state, and the quotes to re-render."""

    posts: dict[str, str] = field(default_factory=dict)
    quotes: dict[str, bool] = field(default_factory=dict)  # quote post id -> its original gone?
    missions: set[str] = field(default_factory=set)
    ignored: int = 0  # marks kept in the history only (a stronger flag stayed)


class AvailabilityMixin:
    db: Database

    def apply_availability(self, marks: Sequence[Availability], at: datetime) -> FlagChanges:
        """Apply what X said (see the module's rules); returns what changed."""
        out = FlagChanges()
        with self.db.atomic():
            for mark in marks:
                if mark.account:
                    self._apply_account(mark, at, out)
                elif mark.state in RANK:
                    self._apply_post(mark.target, mark.state, mark.note, "post", at, out)
            self._follow(list(out.posts), at, out)
            out.missions = self._missions_of([*out.posts, *out.quotes])
        return out

    def follow_originals(self, post_ids: Sequence[str], at: datetime) -> FlagChanges:
        """For posts just stored: a retweet or quote of a post already gone follows it."""
        out = FlagChanges()
        if not post_ids:
            return out
        with self.db.atomic():
            for chunk in _chunks(post_ids, 400):
                marks = ",".join("?" * len(chunk))
                rows = self.db.execute(
                    "SELECT r.post_id, r.kind, r.ref_id, a.availability FROM x_refs r"
                    " JOIN x_availability a ON a.post_id = r.ref_id"
                    f" WHERE r.post_id IN ({marks}) AND a.availability != 'available'"
                    " AND r.kind IN ('retweeted', 'quoted')", list(chunk),
                ).fetchall()
                for post_id, kind, ref_id, state in rows:
                    if kind == "quoted":
                        out.quotes[post_id] = True
                    else:
                        self._apply_post(post_id, state, _derived_note(ref_id, state),
                                         f"retweet:{ref_id}", at, out)
            out.missions = self._missions_of([*out.posts, *out.quotes])
        return out

    def set_post_text(self, post_id: str, *, title: str, text: str, html: str) -> None:
        """Replace what a post shows (a quote whose original went, or came back)."""
        self.db.execute(
            "UPDATE posts SET title = ?, text = ?, html = ? WHERE id = ?",
            [title, text, html, post_id],
        )

    def post_raw(self, post_id: str) -> tuple[str, str] | None:
        """(source id, raw entry JSON) of a stored post."""
        row = self.db.execute("SELECT source_id, raw FROM posts WHERE id = ?", [post_id]).fetchone()
        return (str(row[0]), str(row[1])) if row and row[1] else None

    def x_flag(self, post_id: str) -> str:
        """The availability X last reported for a post (``available`` when it said nothing)."""
        return self._current(post_id)[0]

    def availability_history(self, post_id: str) -> list[dict[str, Any]]:
        return list(self.db.query(
            "SELECT availability, note, via, at, applied FROM x_availability_history"
            " WHERE post_id = ? ORDER BY id", [post_id],
        ))

    # --- one post ---------------------------------------------------------------------

    def _current(self, post_id: str) -> tuple[str, str]:
        row = self.db.execute(
            "SELECT availability, via FROM x_availability WHERE post_id = ?", [post_id]
        ).fetchone()
        if row is not None:
            return str(row[0]), str(row[1])
        stored = self.db.execute("SELECT availability FROM posts WHERE id = ?", [post_id]).fetchone()
        state = str(stored[0]) if stored else "available"
        return (state if state in RANK else "available"), "post"

    def _apply_post(self, post_id: str, state: str, note: str, via: str, at: datetime,
                    out: FlagChanges) -> None:
        current, current_via = self._current(post_id)
        if state == "available":
            if current == "available":
                return
            if via == "account" and (current not in ACCOUNT_STATES
                                     or current_via not in ("account", "post")):
                return  # the account is back; this post's own flag stays
            if via.startswith("retweet:") and current_via != via:
                return  # flagged for a reason of its own
        elif state == current:
            return
        elif RANK[state] < RANK[current]:
            self._history(post_id, state, note, via, at, applied=False)
            out.ignored += 1
            return
        self._history(post_id, state, note, via, at, applied=True)
        self.db.execute(
            "INSERT INTO x_availability (post_id, availability, note, at, via) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(post_id) DO UPDATE SET availability = excluded.availability,"
            " note = excluded.note, at = excluded.at, via = excluded.via",
            [post_id, state, note, iso(at), via],
        )
        self.db.execute(
            "UPDATE posts SET availability = ?, availability_note = ?, availability_at = ?"
            " WHERE id = ?",
            [state, None if state == "available" else note, iso(at), post_id],
        )
        out.posts[post_id] = state

    def _history(self, post_id: str, state: str, note: str, via: str, at: datetime, *,
                 applied: bool) -> None:
        self.db.execute(
            "INSERT INTO x_availability_history (post_id, availability, note, via, at, applied)"
            " VALUES (?, ?, ?, ?, ?, ?)", [post_id, state, note, via, iso(at), int(applied)],
        )

    def _apply_account(self, mark: Availability, at: datetime, out: FlagChanges) -> None:
        if mark.state == "available":
            rows = self.db.execute(
                "SELECT p.id FROM posts p JOIN x_availability a ON a.post_id = p.id"
                " WHERE p.source_id = ? AND p.id LIKE 'x:%' AND a.availability IN (?, ?)",
                [mark.target, *ACCOUNT_STATES],
            ).fetchall()
        else:
            rows = self.db.execute(
                "SELECT id FROM posts WHERE source_id = ? AND id LIKE 'x:%'", [mark.target]
            ).fetchall()
        for (post_id,) in rows:
            self._apply_post(str(post_id), mark.state, mark.note, "account", at, out)

    # --- what follows -----------------------------------------------------------------

    def _follow(self, changed: Sequence[str], at: datetime, out: FlagChanges) -> None:
        """Retweets follow their original; quotes of it are listed for re-rendering."""
        for chunk in _chunks(changed, 400):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT r.post_id, r.kind, r.ref_id FROM x_refs r JOIN posts p ON p.id = r.post_id"
                f" WHERE r.ref_id IN ({marks}) AND r.kind IN ('retweeted', 'quoted')",
                list(chunk),
            ).fetchall()
            for post_id, kind, ref_id in rows:
                state = out.posts.get(ref_id, "available")
                if kind == "quoted":
                    out.quotes[post_id] = state != "available"
                elif state == "available":
                    self._apply_post(post_id, "available", "", f"retweet:{ref_id}", at, out)
                else:
                    self._apply_post(post_id, state, _derived_note(ref_id, state),
                                     f"retweet:{ref_id}", at, out)

    def _missions_of(self, post_ids: Iterable[str]) -> set[str]:
        missions: set[str] = set()
        ids = list(dict.fromkeys(post_ids))
        for chunk in _chunks(ids, 400):
            marks = ",".join("?" * len(chunk))
            missions |= {
                str(r[0]) for r in self.db.execute(
                    f"SELECT DISTINCT mission FROM post_tags WHERE post_id IN ({marks})", list(chunk)
                ).fetchall()
            }
        return missions


def _derived_note(ref_id: str, state: str) -> str:
    return f"a retweet of {ref_id}, which is {state} on X"


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
