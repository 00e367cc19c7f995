"""Editors' password hashes: Argon2id through argon2-cffi, scrypt hashes of earlier releases
still verified (and replaced at the next successful sign-in, issue 17).

argon2-cffi's ``PasswordHasher`` defaults follow RFC 9106's second recommended profile
(Argon2id, t=3, m=64 MiB, p=4); a hash made with older parameters ``needs_rehash``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()  # stateless parameters; safe to share between threads
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    """An Argon2id hash string (``$argon2id$v=19$m=...``) with a random salt."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """Check ``password`` against an Argon2id hash or a legacy ``scrypt$...`` one."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError, ValueError):
        return False


def needs_rehash(stored: str) -> bool:
    """True for a scrypt hash or an Argon2 hash made with weaker parameters than today's."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def dummy_hash() -> str:
    """A hash of a random password, so an unknown name costs as much as a known one."""
    global _DUMMY_HASH  # one lazily computed constant
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def scrypt_hash(password: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    """The format of releases before Argon2 (``scrypt$n$r$p$salt$hash``), kept for tests of
    the upgrade path and for archives restored from a backup."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt),
            n=int(n), r=int(r), p=int(p), dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)
