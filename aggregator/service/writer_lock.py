"""The one writer of an archive: ``aggregator run`` holds an exclusive lock beside it.

:class:`WriterLock` is an ``fcntl`` lock on ``<database>.lock`` holding the service's pid;
the kernel drops it when the process dies (even by ``kill -9``), so no stale lock is left.
:func:`service_gone` lets ``aggregator health`` tell, without touching the lock, whether the
process a heartbeat names is still running and still holds it (issue 15).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from aggregator.errors import LockedError


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class WriterLock:
    """An exclusive ``fcntl`` lock on ``<database>.lock``, held while the service runs.

    The kernel drops the lock when the process dies (even by ``kill -9``), so a crash never
    leaves a stale lock behind.
    """

    def __init__(self, database: Path) -> None:
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise LockedError(
                f"another `aggregator run` (pid {holder}) is already writing to "
                f"{self.path.with_suffix('')}",
                hint="stop that service first, or point --config at another database",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()



def process_running(pid: int) -> bool:
    """Is ``pid`` a live process on this machine (a zombie, killed but not reaped, is not)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc here: the signal check is all there is
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def lock_holders(database: Path) -> set[int] | None:
    """The pids holding the writer lock, from ``/proc/locks``; None where it cannot be told.

    Read-only: trying the lock instead could make a service starting at that instant
    believe another one runs.
    """
    try:
        inode = os.stat(lock_path(database)).st_ino
    except FileNotFoundError:
        return set()
    except OSError:
        return None
    try:
        lines = Path("/proc/locks").read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return None
    holders = set()
    for line in lines:
        parts = line.split()  # "1: FLOCK ADVISORY WRITE <pid> <maj>:<min>:<inode> 0 EOF"
        if len(parts) < 6 or parts[1] != "FLOCK" or not parts[4].isdigit():
            continue  # a waiter ("1: -> FLOCK ..."), or a POSIX lock
        if parts[5].rsplit(":", 1)[-1] == str(inode):
            holders.add(int(parts[4]))
    return holders


def service_gone(database: Path, pid: int) -> str | None:
    """Why the service with ``pid`` (on this machine) is not running, or None if it is."""
    if not process_running(pid):
        return f"the service (pid {pid}) is not running"
    holders = lock_holders(database)
    if holders is not None and pid not in holders:
        return f"pid {pid} does not hold the writer lock {lock_path(database)}: it is not the service"
    return None


__all__ = ["WriterLock", "lock_holders", "lock_path", "process_running", "service_gone"]
