"""Storage faults and a damaged archive end every command with one line (issue 15, items 6, 7).

Faults are made for real: a write lock held by another connection, a small file system
(tmpfs in a private mount namespace) that fills up, a file size limit that makes SQLite's
writes fail with an I/O error, and files truncated, emptied or overwritten with garbage.
Each command must name the archive, the cause and what to do in one line, exit with the
fault's own status, and leave the archive as it was (``PRAGMA integrity_check`` ok).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator.app import make_app
from aggregator.cli import cli
from aggregator.config import load_config
from aggregator.errors import ExitStatus
from tests.conftest import ROOT, need
from tests.feeds_server import FeedServer, write_config
from tests.test_search_support import build, write_project

AGGREGATOR = [str(Path(sys.executable).parent / "aggregator")]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "AGGREGATOR_SECRET": "x" * 32}


def _project(tmp_path: Path, extra: str = "") -> tuple[Path, Path]:
    """The search tests' archive (16 posts, 4 missions), offline: nothing leaves the host."""
    cfg = write_project(tmp_path)
    build(cfg)
    with make_app(load_config(cfg), env={}) as app:  # the editor the moderate steps name
        app.store.add_editor("ana", "a long enough password")
    with cfg.open("a", encoding="utf-8") as fh:
        fh.write("offline: true\n" + extra)
    return cfg, tmp_path / "data" / "archive.db"


def _invoke(cfg: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), *args], env={"AGGREGATOR_SECRET": "x" * 32})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: the test fails with it
    return result.exit_code, result.stdout, result.stderr


def _process(cfg: Path, *args: str, **kwargs: object) -> tuple[int, str, str]:
    done = subprocess.run([*AGGREGATOR, "--config", str(cfg), *args], env=ENV,
                          capture_output=True, text=True, timeout=120, **kwargs)  # type: ignore[call-overload]
    return int(done.returncode), str(done.stdout), str(done.stderr)


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    return lines[0]


def _integrity(db: Path) -> tuple[str, int]:
    conn = sqlite3.connect(db)
    try:
        return (conn.execute("PRAGMA integrity_check").fetchone()[0],
                conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0])
    finally:
        conn.close()


# --- a damaged archive -----------------------------------------------------------------

EVERY_COMMAND: list[list[str]] = [
    ["status"], ["status", "--json"], ["health"], ["search", "Bentiu"],
    ["export", "--format", "jsonl"], ["render"], ["collect", "--no-render"],
    ["moderate", "unmiss-cholera", "--hide", "--editor", "ana", "--note", "test", "--no-render"],
    ["audit"], ["retag", "--dry-run"], ["x", "status"], ["editors", "list"],
]
WHOLE_FILE_CHECKED = [["status"], ["collect", "--no-render"], ["backup", "copy.db"]]


def _damage(kind: str, good: bytes) -> bytes:
    half = len(good) // 2 // 4096 * 4096
    if kind == "zero-byte":
        return b""
    if kind == "garbage":
        return os.urandom(len(good))
    if kind == "truncated":
        return good[:half]
    assert kind == "garbage-pages"  # three pages in the middle overwritten
    return good[:half] + os.urandom(3 * 4096) + good[half + 3 * 4096:]


@pytest.mark.parametrize("kind", ["zero-byte", "garbage", "truncated"])
def test_a_damaged_archive_is_named_by_every_command_and_never_written(
    tmp_path: Path, kind: str
) -> None:
    cfg, db = _project(tmp_path)
    damaged = _damage(kind, db.read_bytes())
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(damaged)
    for args in [*EVERY_COMMAND, ["backup", str(tmp_path / "copy.db")]]:
        code, _, err = _invoke(cfg, *args)
        line = _one_line(err)
        assert code == ExitStatus.DAMAGED, (args, err)
        assert str(db) in line and "aggregator backup" in line, (args, line)
        assert "damaged" in line or "empty (0 bytes)" in line, (args, line)
    assert db.read_bytes() == damaged  # not one byte written into it
    assert not (tmp_path / "copy.db").exists()


def test_garbage_pages_in_the_middle_stop_every_command(tmp_path: Path) -> None:
    cfg, db = _project(tmp_path)
    damaged = _damage("garbage-pages", db.read_bytes())
    db.write_bytes(damaged)
    for args in [["status"], ["collect", "--no-render"], ["backup", str(tmp_path / "copy.db")]]:
        code, _, err = _invoke(cfg, *args)
        line = _one_line(err)
        assert code == ExitStatus.DAMAGED and "quick_check" in line, (args, line)
    code, _, err = _process(cfg, "run", "--ticks", "1", "--tick-seconds", "0.1")
    assert code == ExitStatus.DAMAGED and "damaged" in _one_line(err)
    assert db.read_bytes() == damaged  # the writers checked first and wrote nothing
    for args in EVERY_COMMAND:  # every command checks the whole file before it reads
        code, _, err = _invoke(cfg, *args)
        if args == ["health"]:  # the supervisors' probe stays fast: it says so when it reads one
            assert code in (ExitStatus.UNHEALTHY, ExitStatus.DAMAGED), (args, err)
            continue
        assert code == ExitStatus.DAMAGED and "damaged" in _one_line(err), (args, err)
    assert db.read_bytes() == damaged


def test_a_connection_that_meets_damage_writes_no_more(tmp_path: Path) -> None:
    """A read met a damaged page: the connection refuses every later statement but a
    rollback, so nothing more goes into the file (not even into its WAL)."""
    from aggregator.errors import ArchiveDamaged
    from aggregator.store import Store

    _, db = _project(tmp_path)
    with sqlite3.connect(db) as conn:  # the pages of the posts table (not the schema's)
        pages = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'posts'")]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert pages
    with db.open("r+b") as fh:
        for page in pages[1:]:  # the root page stays: the schema still reads
            fh.seek((page - 1) * size)
            fh.write(os.urandom(size))
    store = Store(db)
    try:
        with pytest.raises(ArchiveDamaged) as caught:
            store.db.execute("SELECT SUM(LENGTH(raw)), SUM(LENGTH(text)) FROM posts").fetchall()
        assert str(db) in caught.value.message and "quick_check" in caught.value.message
        wal = Path(f"{db}-wal")
        before = (db.read_bytes(), wal.stat().st_size if wal.exists() else 0)
        with pytest.raises(ArchiveDamaged):
            store.set_service_value("note", "x", store.clock())
        assert (db.read_bytes(), wal.stat().st_size if wal.exists() else 0) == before
    finally:
        store.close()


def test_a_new_archive_is_never_seen_empty_and_an_empty_one_is_not_taken_for_new(
    tmp_path: Path,
) -> None:
    cfg, db = _project(tmp_path)
    db.unlink()
    code, _, err = _invoke(cfg, "status")
    assert code == 0  # no archive yet: nothing collected, no error
    code, _, _ = _invoke(cfg, "collect", "--no-render")
    assert code == 0 and db.stat().st_size > 0
    db.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.touch()
    code, _, err = _invoke(cfg, "collect", "--no-render")
    assert code == ExitStatus.DAMAGED and "delete the empty file" in _one_line(err)
    assert db.stat().st_size == 0


# --- a write lock held by another process --------------------------------------------------


@pytest.fixture
def held_lock(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    cfg, db = _project(tmp_path, "database_timeout: 0.3\n")
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing, and not letting go
    other.execute("UPDATE sources SET name = name")
    try:
        yield cfg, db
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.mark.parametrize("args", [
    ["collect", "--no-render"],
    ["moderate", "unmiss-cholera", "--hide", "--editor", "ana", "--note", "test", "--no-render"],
    ["render"],
    ["editors", "remove", "nobody"],
])
def test_a_write_lock_held_past_the_timeout_is_one_line_and_exit_5(
    held_lock: tuple[Path, Path], args: list[str]
) -> None:
    cfg, db = held_lock
    code, _, err = _invoke(cfg, *args)
    line = _one_line(err)
    assert code == ExitStatus.LOCKED, err
    assert str(db) in line and "locked" in line and "0.3 s" in line and "database_timeout" in line


def test_readers_are_not_stopped_by_a_writer(held_lock: tuple[Path, Path]) -> None:
    cfg, _ = held_lock
    assert _invoke(cfg, "search", "Bentiu")[0] == 0
    assert _invoke(cfg, "status")[0] == 0


def test_the_service_stops_with_one_line_when_the_lock_is_never_released(
    held_lock: tuple[Path, Path],
) -> None:
    cfg, db = held_lock
    code, _, err = _process(cfg, "run", "--tick-seconds", "0.1")  # no --ticks: it must stop
    assert code == ExitStatus.LOCKED, err
    assert str(db) in _one_line(err)


def test_after_the_lock_goes_the_archive_is_intact(tmp_path: Path) -> None:
    cfg, db = _project(tmp_path, "database_timeout: 0.3\n")
    before = _integrity(db)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    assert _invoke(cfg, "moderate", "unmiss-cholera", "--hide", "--editor", "ana",
                   "--note", "test", "--no-render")[0] == ExitStatus.LOCKED
    other.execute("ROLLBACK")
    other.close()
    assert _integrity(db) == before == ("ok", before[1])


# --- a full disk and a failing disk ------------------------------------------------------


def _feed(n: int, tag: str) -> bytes:
    words = " ".join(f"patrol{i} Abyei UNISFA" for i in range(60))
    items = "".join(
        f"<item><title>{tag} {i}</title><link>https://unisfa.example/{tag}/{i}</link>"
        f"<guid>{tag}-{i}</guid><description>{tag} {i}: {words}</description>"
        f"<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>"
        for i in range(n)
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.add("/small.xml", body=_feed(5, "small"))
        server.add("/big.xml", body=_feed(400, "big"))
        yield server


def _feed_config(folder: Path, database: Path, server: FeedServer) -> Path:
    return write_config(folder, [
        {"kind": "feed", "mission": "UNISFA", "url": server.url("/small.xml"), "name": "small"},
        {"kind": "feed", "mission": "UNISFA", "url": server.url("/big.xml"), "name": "big"},
    ], database=str(database), parse_workers=1)


def test_a_full_disk_stops_collect_with_one_line_and_loses_nothing(
    tmp_path: Path, feeds: FeedServer
) -> None:
    """A 16 MB tmpfs holds the archive; a filler leaves 200 KB, which the second collect
    fills up; once the filler is gone, the same collect stores everything."""
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-rm", "true"], capture_output=True)
    need(unshare is not None and probe.returncode == 0,
         "unshare -rm (a private mount namespace for a small tmpfs) is not permitted here")
    disk = tmp_path / "disk"
    disk.mkdir()
    db = disk / "archive.db"
    cfg = _feed_config(tmp_path / "project", db, feeds)
    small, big = feeds.url("/small.xml"), feeds.url("/big.xml")
    report = tmp_path / "report"
    check = ("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);"
             " print(c.execute('PRAGMA integrity_check').fetchone()[0],"
             " c.execute('SELECT COUNT(*) FROM posts').fetchone()[0])")
    agg = " ".join(AGGREGATOR)
    script = f"""
set -u
mount -t tmpfs -o size=16m tmpfs {disk}
{agg} --config {cfg} collect --no-render --source {small} >{report}.1.out 2>{report}.1.err
echo $? >{report}.1.rc
{sys.executable} -c "{check}" {db} >{report}.1.check
head -c $(( $(df -B1 --output=avail {disk} | tail -1) - 200000 )) /dev/zero >{disk}/filler 2>/dev/null
{agg} --config {cfg} collect --no-render --source {big} >{report}.2.out 2>{report}.2.err
echo $? >{report}.2.rc
{sys.executable} -c "{check}" {db} >{report}.2.check
rm {disk}/filler
{agg} --config {cfg} collect --no-render --source {big} >{report}.3.out 2>{report}.3.err
echo $? >{report}.3.rc
{sys.executable} -c "{check}" {db} >{report}.3.check
"""
    subprocess.run([unshare or "unshare", "-rm", "sh", "-c", script], env=ENV, timeout=300,
                   check=True)

    def read(step: int, what: str) -> str:
        return Path(f"{report}.{step}.{what}").read_text(encoding="utf-8").strip()

    assert read(1, "rc") == "0", read(1, "err")
    assert read(1, "check") == "ok 5"
    assert read(2, "rc") == str(int(ExitStatus.STORAGE)), read(2, "err")
    line = _one_line(read(2, "err"))
    assert str(db) in line and "is full" in line and "free space" in line
    assert "check permissions" not in line
    status, stored = read(2, "check").split()
    assert status == "ok" and int(stored) >= 5  # nothing stored before is lost
    assert read(3, "rc") == "0", read(3, "err")  # space freed: the next collect stores them
    assert read(3, "check") == "ok 405"


def test_a_failing_disk_is_an_io_error_with_one_line_and_the_archive_intact(
    tmp_path: Path, feeds: FeedServer
) -> None:
    """A file size limit (as a quota would) makes the kernel refuse SQLite's writes (EFBIG)."""
    db = tmp_path / "archive.db"
    cfg = _feed_config(tmp_path / "project", db, feeds)
    assert _process(cfg, "collect", "--no-render", "--source", feeds.url("/small.xml"))[0] == 0
    limit = max(db.stat().st_size, 1) + 64 * 1024

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    code, _, err = _process(cfg, "collect", "--no-render", "--source", feeds.url("/big.xml"),
                            preexec_fn=limited)
    line = _one_line(err)
    assert code == ExitStatus.STORAGE, err
    assert str(db) in line and ("I/O error" in line or "is full" in line), line
    assert _integrity(db) == ("ok", 5)
    assert _process(cfg, "collect", "--no-render", "--source", feeds.url("/big.xml"))[0] == 0
    assert _integrity(db) == ("ok", 405)
