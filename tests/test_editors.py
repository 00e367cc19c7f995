"""Editor accounts: `aggregator editors add|remove|list`, password hashing, sessions."""

from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.app import App
from aggregator.cli import cli
from aggregator.store.passwords import hash_password, verify_password
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
    code, out, err = _run(project, "editors", "add", "ana", "--password-stdin", "--admin", input=PASSWORD + "\n")
    assert code == 0, err
    assert "editor ana added" in out
    code, out, _ = _run(project, "editors", "list")
    assert out.startswith("ana\tadmin\t") and "\tactive\tnever signed in" in out
    code, out, _ = _run(project, "editors", "remove", "ana")
    assert code == 0 and "editor ana removed" in out
    code, out, _ = _run(project, "editors", "list")
    assert "removed" in out
    code, out, _ = _run(project, "audit")
    assert [line.split("\t")[2] for line in out.splitlines()] == ["editor_remove", "editor_add"]


def test_password_is_prompted_twice(project: Path) -> None:
    code, _, err = _run(project, "editors", "add", "ana", "--admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert code == 0, err
    code, _, err = _run(project, "editors", "add", "bob", "--admin", input=f"{PASSWORD}\nsomething else\n")
    assert code != 0
    assert "do not match" in err


def test_bad_accounts_are_refused_with_a_hint(project: Path) -> None:
    code, _, err = _run(project, "editors", "add", "ana", "--password-stdin", "--admin", input="short\n")
    assert code == 2 and "too short" in err and "at least 10" in err
    code, _, err = _run(project, "editors", "add", "an a", "--password-stdin", "--admin", input=PASSWORD + "\n")
    assert code == 2 and "invalid editor name" in err
    _run(project, "editors", "add", "ana", "--password-stdin", "--admin", input=PASSWORD + "\n")
    code, _, err = _run(project, "editors", "add", "ana", "--password-stdin", "--admin", input=PASSWORD + "\n")
    assert code == 2 and "already exists" in err and "editors remove ana" in err
    code, _, err = _run(project, "editors", "remove", "nobody")
    assert code == 2 and "no editor named 'nobody'" in err


def test_passwords_are_stored_hashed(app: App) -> None:
    app.store.add_editor("ana", PASSWORD)
    stored = app.store.db.execute("SELECT password_hash FROM editors").fetchone()[0]
    assert PASSWORD not in stored and stored.startswith("$argon2id$")
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
        [str(exe), "--config", str(config), "editors", "add", "ana", "--password-stdin", "--admin"],
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
            [exe, "--config", str(config), "editors", "add", "ana", "--password-stdin", "--admin"],
            input=PASSWORD + "\n", capture_output=True, text=True, timeout=60, check=False,
        )
        assert added.returncode == 0, added.stderr
        assert status("/moderation/sign-in") == 200
    finally:
        server.terminate()
        server.wait(timeout=10)


# --- roles, Argon2id upgrade, sign-out everywhere (issue 17) -----------------------------


def test_an_old_scrypt_hash_is_upgraded_at_the_next_sign_in(app: App) -> None:
    from aggregator.store.passwords import scrypt_hash

    app.store.add_editor("ana", PASSWORD)
    app.store.db.execute("UPDATE editors SET password_hash = ?", [scrypt_hash(PASSWORD)])
    assert not app.store.check_password("ana", "not the password")
    stored = app.store.db.execute("SELECT password_hash FROM editors").fetchone()[0]
    assert stored.startswith("scrypt$")  # a failed try changes nothing
    assert app.store.check_password("ana", PASSWORD)
    stored = app.store.db.execute("SELECT password_hash FROM editors").fetchone()[0]
    assert stored.startswith("$argon2id$")
    assert app.store.check_password("ana", PASSWORD)


def test_accounts_made_before_roles_become_admins(tmp_path: Path) -> None:
    import sqlite3

    from aggregator.store import Store
    from aggregator.store.passwords import scrypt_hash
    from aggregator.store.schema import MIGRATIONS

    path = tmp_path / "old.db"
    store = Store(path)
    store.close()
    conn = sqlite3.connect(path)  # back to the archive as the release before roles left it
    conn.execute("DELETE FROM _sqlite_migrations WHERE name LIKE '0120%'")
    conn.execute("DROP TABLE editor_missions")
    conn.execute("DROP TABLE web_keys")
    conn.execute("DROP INDEX signin_failures_name")
    conn.execute("DROP INDEX signin_failures_address")
    conn.execute("DROP INDEX audit_log_at")
    conn.execute("DROP INDEX posts_flagged")
    conn.execute("ALTER TABLE editors DROP COLUMN role")
    conn.execute("ALTER TABLE editors DROP COLUMN last_sign_in_at")
    conn.execute("ALTER TABLE editor_sessions DROP COLUMN notice")
    conn.execute(
        "INSERT INTO editors (name, password_hash, created_at) VALUES ('old', ?, '2025-01-01T00:00:00Z')",
        [scrypt_hash(PASSWORD)],
    )
    conn.commit()
    conn.close()
    with Store(path) as upgraded:
        assert not MIGRATIONS.pending(upgraded.db)
        role = upgraded.role("old")
        assert role is not None and role.admin
        assert upgraded.check_password("old", PASSWORD)


def test_roles_on_the_command_line(project: Path) -> None:
    code, _, err = _run(project, "editors", "add", "ana", "--password-stdin", input=PASSWORD + "\n")
    assert code == 2 and "give a role" in err
    code, _, err = _run(project, "editors", "add", "ana", "--password-stdin", "--mission", "minusxx",
                        input=PASSWORD + "\n")
    assert code == 2 and "unknown mission 'minusxx'" in err
    code, out, err = _run(project, "editors", "add", "ana", "--password-stdin", "--mission", "unmik",
                          "--mission", "UNIFIL", input=PASSWORD + "\n")
    assert code == 0, err
    assert "editor of UNIFIL, UNMIK" in out
    code, out, _ = _run(project, "editors", "list")
    assert out.startswith("ana\teditor:UNIFIL,UNMIK\t")
    code, out, err = _run(project, "editors", "set-role", "ana", "--admin")
    assert code == 0 and "ana is now admin" in out
    code, _, err = _run(project, "editors", "set-role", "ana", "--admin", "--mission", "UNMIK")
    assert code == 2 and "give a role" in err
    code, _, err = _run(project, "editors", "set-role", "nobody", "--admin")
    assert code == 2 and "no editor named 'nobody'" in err
    code, out, _ = _run(project, "audit")
    assert [ln.split("\t")[2] for ln in out.splitlines()] == ["editor_role", "editor_add"]
    assert "ana: editor of UNIFIL, UNMIK" in out and "ana: admin" in out


def test_sign_out_everywhere(app: App, project: Path) -> None:
    app.store.add_editor("ana", PASSWORD)
    app.store.add_editor("bob", PASSWORD, missions=["UNMIK"])
    year = 24 * 365 * 5  # the command runs on the real clock
    tokens = [app.store.create_session("ana", hours=year).token for _ in range(2)]
    kept = app.store.create_session("bob", hours=year).token
    app.close()
    code, out, err = _run(project, "editors", "sign-out", "ana")
    assert code == 0, err
    assert "ana signed out everywhere (2 sessions ended)" in out
    from aggregator.app import make_app
    from aggregator.config import load_config

    with make_app(load_config(project)) as again:
        assert all(again.store.session(t) is None for t in tokens)
        assert again.store.session(kept) is not None
        assert again.store.audit_entries(action="sign_out_everywhere")[0]["note"].startswith("ana")
    code, _, err = _run(project, "editors", "sign-out", "nobody")
    assert code == 2 and "no editor named 'nobody'" in err
