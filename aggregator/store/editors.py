"""Editor accounts and their roles (issue 17); sessions and sign-in throttling are in
``store/signin.py``.

An account is an ``admin`` (acts on every post, manages accounts) or an ``editor`` of one or
more missions (``editor_missions``). Passwords are Argon2id hashes (``store/passwords.py``);
a scrypt hash from an earlier release is replaced at the account's next successful sign-in.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aggregator.errors import UsageError
from aggregator.models import iso
from aggregator.store.passwords import dummy_hash, hash_password, needs_rehash, verify_password

if TYPE_CHECKING:
    from sqlite_utils import Database

MIN_PASSWORD_LENGTH = 10


def check_editor_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise UsageError(
            f"invalid editor name {name!r}",
            hint="use 1 to 64 letters, digits, '.', '_', '-' or '@'",
        )
    return name


@dataclass(frozen=True)
class Role:
    """What an account may act on: everything (admin) or the posts of some missions."""

    name: str
    admin: bool
    missions: frozenset[str] = frozenset()

    def describe(self) -> str:
        return "admin" if self.admin else "editor of " + ", ".join(sorted(self.missions))


class EditorsMixin:
    db: Database
    clock: Callable[[], datetime]

    def _now(self) -> datetime:
        return self.clock()

    # --- accounts ------------------------------------------------------------------

    def add_editor(
        self, name: str, password: str, *, missions: Collection[str] | None = None
    ) -> None:
        """Create an account, or re-enable a removed one with a new password.

        ``missions=None`` makes an admin; a list of acronyms makes an editor of those."""
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
            self._write_role(name, missions)
            self._audit_editor(name, "editor_add", detail=self.role(name))

    def set_role(self, name: str, *, missions: Collection[str] | None, by: str = "(command line)") -> Role:
        """Make ``name`` an admin (``missions=None``) or an editor of ``missions``."""
        if self.role(name) is None:
            raise UsageError(f"no editor named {name!r}", hint="see `aggregator editors list`")
        with self.db.atomic():
            self._write_role(name, missions)
            role = self.role(name)
            self._audit_editor(name, "editor_role", by=by, detail=role)
        assert role is not None
        return role

    def _write_role(self, name: str, missions: Collection[str] | None) -> None:
        if missions is not None and not missions:
            raise UsageError(
                f"editor {name!r} needs a role",
                hint="pass --admin, or --mission M (once per mission) for an editor of missions",
            )
        self.db.execute(
            "UPDATE editors SET role = ? WHERE name = ?",
            ["admin" if missions is None else "editor", name],
        )
        self.db.execute("DELETE FROM editor_missions WHERE editor = ?", [name])
        for mission in sorted({m.upper() for m in missions or ()}):
            self.db.execute(
                "INSERT INTO editor_missions (editor, mission) VALUES (?, ?)", [name, mission]
            )

    def role(self, name: str) -> Role | None:
        """The active account's role, or None (no such account, or removed)."""
        row = self.db.execute(
            "SELECT role FROM editors WHERE name = ? AND disabled = 0", [name]
        ).fetchone()
        if row is None:
            return None
        missions = self.db.execute(
            "SELECT mission FROM editor_missions WHERE editor = ?", [name]
        ).fetchall()
        return Role(name, row[0] == "admin", frozenset(m[0] for m in missions))

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

    def _audit_editor(
        self, name: str, action: str, *, by: str = "(command line)", detail: Role | None = None
    ) -> None:
        note = f"{name}: {detail.describe()}" if detail else name
        self.db.execute(
            "INSERT INTO audit_log (at, editor, action, note) VALUES (?, ?, ?, ?)",
            [iso(self._now()), by, action, note],
        )

    def editors(self) -> list[dict[str, Any]]:
        rows = list(
            self.db.query(
                "SELECT name, created_at, disabled, disabled_at, role, last_sign_in_at"
                " FROM editors ORDER BY name"
            )
        )
        for row in rows:
            row["missions"] = [
                r[0] for r in self.db.execute(
                    "SELECT mission FROM editor_missions WHERE editor = ? ORDER BY mission",
                    [row["name"]],
                ).fetchall()
            ]
        return rows

    def has_editors(self) -> bool:
        return self.db.execute("SELECT 1 FROM editors WHERE disabled = 0 LIMIT 1").fetchone() is not None

    def check_password(self, name: str, password: str) -> bool:
        """True when ``password`` is the active account's; an old hash is upgraded then."""
        row = self.db.execute(
            "SELECT password_hash FROM editors WHERE name = ? AND disabled = 0", [name]
        ).fetchone()
        ok = verify_password(password, row[0] if row else dummy_hash())
        if not (ok and row is not None):
            return False
        if needs_rehash(row[0]):
            with self.db.atomic():
                self.db.execute(
                    "UPDATE editors SET password_hash = ? WHERE name = ? AND password_hash = ?",
                    [hash_password(password), name, row[0]],
                )
        return True

