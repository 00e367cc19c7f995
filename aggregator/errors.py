"""One exception root for the whole package, and the exit codes commands return.

Foreign exceptions (httpx, feedparser, tweepy, sqlite3, smtplib) are wrapped where they
enter the package, so callers only ever catch ``AggregatorError`` subclasses.
"""

from __future__ import annotations

import enum
from datetime import datetime
from pathlib import Path


class ExitStatus(enum.IntEnum):
    """Exit codes of the ``aggregator`` command."""

    OK = 0
    ERROR = 1  # the command ran but something it was asked to do failed
    USAGE = 2  # the command's own input is wrong (bad query, bad option)
    CONFIG = 3  # config.yaml or feeds/ do not validate
    UNHEALTHY = 4  # `aggregator health`: the service needs attention
    LOCKED = 5  # another writer holds the lock (the service's, or the archive's past the timeout)
    STORAGE = 6  # the archive's disk is full, fails (I/O error) or refuses access
    DAMAGED = 7  # the archive file is damaged: restore it from a backup


class AggregatorError(Exception):
    """Root of every error this package raises on purpose."""

    exit_status: ExitStatus = ExitStatus.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message


class ConfigProblem:
    """One validation problem: which file, which key, what is wrong, what to do."""

    __slots__ = ("file", "hint", "key", "message")

    def __init__(self, file: str, key: str, message: str, hint: str | None = None) -> None:
        self.file = file
        self.key = key
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        text = f"{where}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def __repr__(self) -> str:
        return f"ConfigProblem({self!s})"


class ConfigError(AggregatorError):
    """The configuration is invalid; ``problems`` lists every problem found at once."""

    exit_status = ExitStatus.CONFIG

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} configuration problem(s):\n{lines}")


class UsageError(AggregatorError):
    """The command's own input (an option, a query, a file) is wrong."""

    exit_status = ExitStatus.USAGE


class Refused(UsageError):
    """An editor asked for something their role does not allow (a 403 on the web)."""


class SourceError(AggregatorError):
    """A source could not be read. Stored on the source; never stops the other sources."""

    kind = "error"
    fetch_s = 0.0  # seconds spent fetching before it failed (in the run log's duration)

    def __init__(
        self, message: str, *, source: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.source = source


class FetchError(SourceError):
    """Network, HTTP status, size, timeout or parse problem while fetching a source."""

    kind = "fetch"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        hint: str | None = None,
        http_status: int | None = None,
        retry_after: datetime | None = None,
    ) -> None:
        super().__init__(message, source=source, hint=hint)
        self.http_status = http_status
        self.retry_after = retry_after


class ParseError(FetchError):
    """The body arrived but is not a feed we can read."""

    kind = "parse"


class GoneError(FetchError):
    """HTTP 410, or an account that no longer exists: stop polling the source."""

    kind = "gone"


class AuthError(SourceError):
    """Credentials missing, expired or without the needed access."""

    kind = "auth"


class RateLimited(SourceError):
    """The remote side asked us to wait until ``reset_at``."""

    kind = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        reset_at: datetime,
        source: str | None = None,
        hint: str | None = None,
        scope: str | None = None,
    ) -> None:
        super().__init__(message, source=source, hint=hint)
        self.reset_at = reset_at
        self.scope = scope  # e.g. "x:<token-env>:users_tweets": every source sharing it waits


class BudgetExceeded(SourceError):
    """A run would pass the configured monthly spending limit."""

    kind = "budget"


class StoreError(AggregatorError):
    """The archive could not be read or written."""


class StorageFault(StoreError):
    """SQLite could not use the archive *file* (not a statement's fault): ``path`` and
    ``cause`` name the file and SQLite's reason; every command ends on it with one line."""

    exit_status = ExitStatus.STORAGE

    def __init__(self, message: str, *, path: Path, cause: str, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.cause = cause


class ArchiveLocked(StorageFault):
    """Another process held the archive's write lock for longer than ``database_timeout``."""

    exit_status = ExitStatus.LOCKED


class DiskFull(StorageFault):
    """The disk (or the file system's quota) under the archive is full."""


class StorageIOError(StorageFault):
    """The operating system failed a read or a write of the archive."""


class ArchiveAccessError(StorageFault):
    """The archive cannot be opened or written (missing folder, permissions, read-only)."""


class ArchiveDamaged(StorageFault):
    """The file is not a sound SQLite database: truncated, overwritten, empty."""

    exit_status = ExitStatus.DAMAGED


class LockedError(AggregatorError):
    """Another process holds the writer lock."""

    exit_status = ExitStatus.LOCKED


class DeliveryError(AggregatorError):
    """An email could not be delivered."""

    def __init__(self, message: str, *, permanent: bool = False, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.permanent = permanent


class QuerySyntaxError(UsageError):
    """A search query could not be parsed; ``position`` is a 0-based character offset."""

    def __init__(self, message: str, *, position: int, query: str) -> None:
        super().__init__(f"{message} at position {position}")
        self.position = position
        self.query = query
