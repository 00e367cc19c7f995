"""Sign-in sessions, failed sign-ins and the growing delay they cause, and the web's keys.

A session cookie carries a random token; ``editor_sessions`` keeps only its SHA-256, the
editor, a per-session CSRF token and an expiry. Signing out revokes the row, so a replayed
cookie is refused even before it expires; ``revoke_sessions`` signs an editor out everywhere.

Throttling (issue 16 item 11, issue 17): failed sign-ins are counted per account (since its
last successful sign-in) and per address (in the last day). Below ``max_failures`` nothing
happens; after that each try waits a delay that doubles with every failure (30 s, 1 min,
2 min, ...) up to a cap, so nobody is locked out for good, and a successful sign-in resets
the account's count. The moment an account starts being throttled is audited
(``signin_throttled``), and the editor is told at the next sign-in (``Session.notice``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aggregator.models import iso, parse_iso

if TYPE_CHECKING:
    from sqlite_utils import Database

FIRST_DELAY_SECONDS = 30.0
FAILURE_MEMORY = timedelta(days=1)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def throttle_delay(failures: int, max_failures: int, cap_seconds: float) -> float:
    """Seconds to wait after the last failure: 0 below the limit, then 30 s doubling to a cap."""
    if failures < max_failures:
        return 0.0
    return float(min(cap_seconds, FIRST_DELAY_SECONDS * 2 ** min(failures - max_failures, 30)))


@dataclass(frozen=True)
class Session:
    """A signed-in editor: the cookie token (only at creation) and the CSRF token."""

    editor: str
    csrf_token: str
    expires_at: datetime
    token: str = ""
    notice: str = ""  # "COUNT|LAST_AT|LAST_ADDRESS": failed sign-ins since the previous one


@dataclass(frozen=True)
class Throttle:
    """Why a sign-in must wait: ``scope`` is "account" or "address"."""

    scope: str
    wait_seconds: float
    failures: int


class SigninMixin:
    db: Database
    clock: Callable[[], datetime]

    # --- failed sign-ins -----------------------------------------------------------

    def _failures(self, column: str, value: str, since: datetime) -> tuple[int, datetime | None]:
        row = self.db.execute(
            f"SELECT COUNT(*), MAX(at) FROM signin_failures WHERE {column} = ? AND at > ?",
            [value, iso(since)],
        ).fetchone()
        return int(row[0]), parse_iso(row[1]) if row[1] else None

    def _account_since(self, name: str) -> datetime:
        now = self.clock()
        row = self.db.execute("SELECT last_sign_in_at FROM editors WHERE name = ?", [name]).fetchone()
        last = parse_iso(row[0]) if row and row[0] else None
        return max(last, now - FAILURE_MEMORY) if last else now - FAILURE_MEMORY

    def signin_throttle(
        self, name: str, address: str, *, max_failures: int, cap_seconds: float,
        known_browser: bool = False,
    ) -> Throttle | None:
        """The wait this try must respect, or None. A browser the account signed in from
        before (``known_browser``) is not held back by failures of others on the account."""
        now = self.clock()
        checks = [("address", "address", address, now - FAILURE_MEMORY)]
        if not known_browser:
            checks.insert(0, ("account", "name", name, self._account_since(name)))
        for scope, column, value, since in checks:
            count, last = self._failures(column, value, since)
            delay = throttle_delay(count, max_failures, cap_seconds)
            if delay and last is not None:
                wait = (last + timedelta(seconds=delay) - now).total_seconds()
                if wait > 0:
                    return Throttle(scope, wait, count)
        return None

    def record_failure(self, name: str, address: str, *, max_failures: int = 5) -> None:
        """Count one failed sign-in; the failure that starts the throttling is audited."""
        now = self.clock()
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO signin_failures (at, name, address) VALUES (?, ?, ?)",
                [iso(now), name[:200], address],
            )
            count, _ = self._failures("name", name[:200], self._account_since(name[:200]))
            known = self.db.execute("SELECT 1 FROM editors WHERE name = ?", [name]).fetchone()
            if known and count == max_failures:
                self.db.execute(
                    "INSERT INTO audit_log (at, editor, action, note) VALUES (?, ?, ?, ?)",
                    [iso(now), name, "signin_throttled",
                     f"{count} failed sign-ins, the last from {address or 'an unknown address'};"
                     " further tries wait a growing delay"],
                )
            self.db.execute("DELETE FROM signin_failures WHERE at < ?", [iso(now - 7 * FAILURE_MEMORY)])

    def _notice(self, editor: str) -> str:
        since = self._account_since(editor)
        row = self.db.execute(
            "SELECT COUNT(*), MAX(at) FROM signin_failures WHERE name = ? AND at > ?",
            [editor, iso(since)],
        ).fetchone()
        if not row[0]:
            return ""
        last = self.db.execute(
            "SELECT address FROM signin_failures WHERE name = ? AND at = ? LIMIT 1", [editor, row[1]]
        ).fetchone()
        return f"{row[0]}|{row[1]}|{last[0] if last else ''}"

    # --- sessions ------------------------------------------------------------------

    def create_session(self, editor: str, *, hours: float, address: str = "") -> Session:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.db.atomic():
            session = Session(
                editor=editor, csrf_token=secrets.token_urlsafe(32),
                expires_at=now + timedelta(hours=hours), token=token, notice=self._notice(editor),
            )
            self.db.table("editor_sessions").insert(
                {
                    "token_hash": _token_hash(token), "editor": editor,
                    "csrf_token": session.csrf_token, "created_at": iso(now),
                    "expires_at": iso(session.expires_at), "revoked_at": None,
                    "address": address, "notice": session.notice,
                }
            )
            self.db.execute("UPDATE editors SET last_sign_in_at = ? WHERE name = ?", [iso(now), editor])
            self.db.execute(
                "INSERT INTO audit_log (at, editor, action, note) VALUES (?, ?, ?, ?)",
                [iso(now), editor, "sign_in", f"from {address or 'unknown address'}"],
            )
            self.db.execute(
                "DELETE FROM editor_sessions WHERE expires_at < ?",
                [iso(now - timedelta(days=30))],
            )
        return session

    def session(self, token: str) -> Session | None:
        """The live session for a cookie token: not revoked, not expired, editor enabled."""
        if not token:
            return None
        row = self.db.execute(
            """SELECT s.editor, s.csrf_token, s.expires_at, s.notice FROM editor_sessions s
               JOIN editors e ON e.name = s.editor
               WHERE s.token_hash = ? AND s.revoked_at IS NULL AND e.disabled = 0""",
            [_token_hash(token)],
        ).fetchone()
        if row is None:
            return None
        expires = parse_iso(row[2])
        if expires is None or expires <= self.clock():
            return None
        return Session(editor=row[0], csrf_token=row[1], expires_at=expires, notice=row[3])

    def revoke_session(self, token: str) -> None:
        with self.db.atomic():
            row = self.db.execute(
                "SELECT editor FROM editor_sessions WHERE token_hash = ? AND revoked_at IS NULL",
                [_token_hash(token)],
            ).fetchone()
            if row is None:
                return
            self.db.execute(
                "UPDATE editor_sessions SET revoked_at = ? WHERE token_hash = ?",
                [iso(self.clock()), _token_hash(token)],
            )
            self.db.execute(
                "INSERT INTO audit_log (at, editor, action, note) VALUES (?, ?, ?, '')",
                [iso(self.clock()), row[0], "sign_out"],
            )

    def revoke_sessions(self, editor: str, *, by: str = "(command line)") -> int:
        """Sign ``editor`` out everywhere; return how many live sessions ended."""
        now = iso(self.clock())
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE editor_sessions SET revoked_at = ? WHERE editor = ? AND revoked_at IS NULL"
                " AND expires_at > ?",
                [now, editor, now],
            )
            count = cursor.rowcount
            self.db.execute(
                "INSERT INTO audit_log (at, editor, action, note) VALUES (?, ?, ?, ?)",
                [now, by, "sign_out_everywhere", f"{editor}: {count} session(s) ended"],
            )
        return int(count)

    # --- keys ----------------------------------------------------------------------

    def web_key(self, name: str) -> bytes:
        """A random 256-bit key kept in the archive, made on first use."""
        row = self.db.execute("SELECT key FROM web_keys WHERE name = ?", [name]).fetchone()
        if row is None:
            with self.db.atomic():
                self.db.execute(
                    "INSERT OR IGNORE INTO web_keys (name, key, created_at) VALUES (?, ?, ?)",
                    [name, secrets.token_hex(32), iso(self.clock())],
                )
            row = self.db.execute("SELECT key FROM web_keys WHERE name = ?", [name]).fetchone()
        return bytes.fromhex(row[0])
