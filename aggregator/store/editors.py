"""Editor accounts, server-side sign-in sessions and failed sign-in tracking.

Passwords are hashed with ``hashlib.scrypt`` (stdlib; memory-hard) and a random salt per
account. A session cookie carries a random token; the table keeps only its SHA-256, the
editor, a per-session CSRF token and an expiry. Signing out revokes the row, so a replayed
cookie is refused even before it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aggregator.errors import UsageError
from aggregator.models import iso, parse_iso

if TYPE_CHECKING:
    from sqlite_utils import Database

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 10
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (salt and hash base64) for ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Check ``password`` against a :func:`hash_password` value, in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt),
            n=int(n), r=int(r), p=int(p), dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def _dummy_hash() -> str:
    global _DUMMY_HASH  # one lazily computed constant, so unknown names cost as much as known
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_editor_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise UsageError(
            f"invalid editor name {name!r}",
            hint="use 1 to 64 letters, digits, '.', '_', '-' or '@'",
        )
    return name


@dataclass(frozen=True)
class Session:
    """A signed-in editor: the cookie token (only at creation) and the CSRF token."""

    editor: str
    csrf_token: str
    expires_at: datetime
    token: str = ""


class EditorsMixin:
    db: Database
    clock: Callable[[], datetime]

    def _now(self) -> datetime:
        return self.clock()

    # --- accounts ------------------------------------------------------------------

    def add_editor(self, name: str, password: str) -> None:
        """Create an account, or re-enable a removed one with a new password."""
        name = check_editor_name(name)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UsageError(
                f"the password for editor {name!r} is too short",
                hint=f"use at least {MIN_PASSWORD_LENGTH} characters (a passphrase is best)",
            )
        row = self.db.execute("SELECT disabled FROM editors WHERE name = ?", [name]).fetchone()
        if row is not None and not row[0]:
            raise UsageError(
                f"editor {name!r} already exists",
                hint=f"run `aggregator editors remove {name}` first to replace the password",
            )
        values = {
            "name": name, "password_hash": hash_password(password),
            "created_at": iso(self._now()), "disabled": 0, "disabled_at": None,
        }
        with self.db.atomic():
            self.db.table("editors").upsert(values, pk="name")
            self._audit_editor(name, "editor_add")

    def remove_editor(self, name: str) -> None:
        """Disable an account (kept for the audit log) and revoke its sessions."""
        row = self.db.execute("SELECT disabled FROM editors WHERE name = ?", [name]).fetchone()
        if row is None or row[0]:
            raise UsageError(f"no editor named {name!r}", hint="see `aggregator editors list`")
        now = iso(self._now())
        with self.db.atomic():
            self.db.execute(
                "UPDATE editors SET disabled = 1, disabled_at = ? WHERE name = ?", [now, name]
            )
            self.db.execute(
                "UPDATE editor_sessions SET revoked_at = ? WHERE editor = ? AND revoked_at IS NULL",
                [now, name],
            )
            self._audit_editor(name, "editor_remove")

    def _audit_editor(self, name: str, action: str, *, by: str = "(command line)") -> None:
        self.db.execute(
            "INSERT INTO audit_log (at, editor, action, note) VALUES (?, ?, ?, ?)",
            [iso(self._now()), by, action, name],
        )

    def editors(self) -> list[dict[str, Any]]:
        return list(
            self.db.query("SELECT name, created_at, disabled, disabled_at FROM editors ORDER BY name")
        )

    def has_editors(self) -> bool:
        return self.db.execute("SELECT 1 FROM editors WHERE disabled = 0 LIMIT 1").fetchone() is not None

    def check_password(self, name: str, password: str) -> bool:
        row = self.db.execute(
            "SELECT password_hash FROM editors WHERE name = ? AND disabled = 0", [name]
        ).fetchone()
        ok = verify_password(password, row[0] if row else _dummy_hash())
        return ok and row is not None

    # --- failed sign-ins -----------------------------------------------------------

    def recent_failures(self, name: str, address: str, *, window_seconds: int = 60) -> int:
        """Failed sign-ins in the last ``window_seconds`` for this name or this address."""
        since = iso(self._now() - timedelta(seconds=window_seconds))
        row = self.db.execute(
            "SELECT COUNT(*) FROM signin_failures WHERE at > ? AND (name = ? OR address = ?)",
            [since, name, address],
        ).fetchone()
        return int(row[0])

    def record_failure(self, name: str, address: str) -> None:
        now = self._now()
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO signin_failures (at, name, address) VALUES (?, ?, ?)",
                [iso(now), name[:200], address],
            )
            self.db.execute(
                "DELETE FROM signin_failures WHERE at < ?", [iso(now - timedelta(days=1))]
            )

    # --- sessions ------------------------------------------------------------------

    def create_session(self, editor: str, *, hours: float, address: str = "") -> Session:
        token = secrets.token_urlsafe(32)
        now = self._now()
        session = Session(
            editor=editor, csrf_token=secrets.token_urlsafe(32),
            expires_at=now + timedelta(hours=hours), token=token,
        )
        with self.db.atomic():
            self.db.table("editor_sessions").insert(
                {
                    "token_hash": _token_hash(token), "editor": editor,
                    "csrf_token": session.csrf_token, "created_at": iso(now),
                    "expires_at": iso(session.expires_at), "revoked_at": None,
                    "address": address,
                }
            )
            self._audit_editor(f"from {address or 'unknown address'}", "sign_in", by=editor)
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
            """SELECT s.editor, s.csrf_token, s.expires_at FROM editor_sessions s
               JOIN editors e ON e.name = s.editor
               WHERE s.token_hash = ? AND s.revoked_at IS NULL AND e.disabled = 0""",
            [_token_hash(token)],
        ).fetchone()
        if row is None:
            return None
        expires = parse_iso(row[2])
        if expires is None or expires <= self._now():
            return None
        return Session(editor=row[0], csrf_token=row[1], expires_at=expires)

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
                [iso(self._now()), _token_hash(token)],
            )
            self._audit_editor("", "sign_out", by=row[0])
