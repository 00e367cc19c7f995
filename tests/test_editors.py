"""Editor accounts: `aggregator editors add|remove|list`, password hashing, sessions."""

from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.app import App
from aggregator.cli import cli
from aggregator.store.editors import hash_password, verify_password
from tests.conftest import ROOT
from tests.test_moderation_support import (  # noqa: F401 (fixtures)
    Clock,
    app_fixture,
    clock_fixture,
    project_fixture,
    write_project,
)

PASSWORD = "correct horse battery"


def _run(project: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(project), *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_add_list_remove(project: Path) -> None:
    code, out, err = _run(project, "editors", "add", "ana", "--password-stdin", input=PASSWORD + "\n")
    assert code == 0, err
    assert "editor ana added" in out
    code, out, _ = _run(project, "editors", "list")
    assert out.startswith("ana\t") and out.rstrip().endswith("active")
    code, out, _ = _run(project, "editors", "remove", "ana")
    assert code == 0 and "editor ana removed" in out
    code, out, _ = _run(project, "editors", "list")
    assert "removed" in out
    code, out, _ = _run(project, "audit")
    assert [line.split("\t")[2] for line in out.splitlines()] == ["editor_remove", "editor_add"]


def test_password_is_prompted_twice(project: Path) -> None:
    code, _, err = _run(project, "editors", "add", "ana", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0, err
    code, _, err = _run(project, "editors", "add", "bob", input=f"{PASSWORD}\nsomething else\n")
    assert code != 0
    assert "do not match" in err


def test_bad_accounts_are_refused_with_a_hint(project: Path) -> None:
    code, _, err = _run(project, "editors", "add", "ana", "--password-stdin", input="short\n")
    assert code == 2 and "too short" in err and "at least 10" in err
    code, _, err = _run(project, "editors", "add", "an a", "--password-stdin", input=PASSWORD + "\n")
    assert code == 2 and "invalid editor name" in err
    _run(project, "editors", "add", "ana", "--password-stdin", input=PASSWORD + "\n")
    code, _, err = _run(project, "editors", "add", "ana", "--password-stdin", input=PASSWORD + "\n")
    assert code == 2 and "already exists" in err and "editors remove ana" in err
    code, _, err = _run(project, "editors", "remove", "nobody")
    assert code == 2 and "no editor named 'nobody'" in err


def test_passwords_are_stored_hashed(app: App) -> None:
    app.store.add_editor("ana", PASSWORD)
    stored = app.store.db.execute("SELECT password_hash FROM editors").fetchone()[0]
    assert PASSWORD not in stored and stored.startswith("scrypt$")
    assert app.store.check_password("ana", PASSWORD)
    assert not app.store.check_password("ana", PASSWORD.upper())
    assert not app.store.check_password("bob", PASSWORD)


def test_removed_editor_can_be_added_back_with_a_new_password(app: App) -> None:
    app.store.add_editor("ana", PASSWORD)
    session = app.store.create_session("ana", hours=1)
    app.store.remove_editor("ana")
    assert not app.store.has_editors()
    assert app.store.session(session.token) is None
    app.store.add_editor("ana", "a new passphrase")
    assert app.store.check_password("ana", "a new passphrase")
    assert not app.store.check_password("ana", PASSWORD)
    assert app.store.session(session.token) is None  # old sessions stay revoked


def test_sessions_expire_and_are_stored_hashed(app: App, clock: Clock) -> None:
    app.store.add_editor("ana", PASSWORD)
    session = app.store.create_session("ana", hours=2)
    assert app.store.session(session.token) is not None
    tokens = [r[0] for r in app.store.db.execute("SELECT token_hash FROM editor_sessions")]
    assert session.token not in tokens
    clock.advance(2 * 3600 + 1)
    assert app.store.session(session.token) is None


def test_black_box_editors_add(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    exe = ROOT / ".venv" / "bin" / "aggregator"
    done = subprocess.run(
        [str(exe), "--config", str(config), "editors", "add", "ana", "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        [str(exe), "--config", str(config), "editors", "list"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert listed.stdout.startswith("ana\t")


# --- properties of the hash ---------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_only_the_same_password_verifies(password: str, other: str) -> None:
    stored = hash_password(password)
    assert verify_password(password, stored)
    assert verify_password(other, stored) == (other == password)


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=80))
def test_malformed_stored_hashes_never_verify(stored: str) -> None:
    assert verify_password("anything", stored) is False


def test_black_box_serve_turns_the_moderation_page_on(tmp_path: Path) -> None:
    import socket
    import time
    import urllib.error
    import urllib.request

    config = write_project(tmp_path)
    exe = str(ROOT / ".venv" / "bin" / "aggregator")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "output").mkdir()
    server = subprocess.Popen(
        [exe, "--config", str(config), "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy

    def status(path: str) -> int:
        try:
            with opener.open(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        for _ in range(100):
            try:
                status("/")
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        assert status("/moderation/sign-in") == 404  # off: no editors yet
        added = subprocess.run(
            [exe, "--config", str(config), "editors", "add", "ana", "--password-stdin"],
            input=PASSWORD + "\n", capture_output=True, text=True, timeout=60, check=False,
        )
        assert added.returncode == 0, added.stderr
        assert status("/moderation/sign-in") == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
