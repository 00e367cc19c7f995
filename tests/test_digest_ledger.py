"""Exactly once, as far as SMTP allows, checked by Message-ID on a real loopback server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.digest import due_digests, open_or_resume, send_digest
from aggregator.digest.lists import get_list
from tests.digest_support import NOW, ROOT, SECRET, Inbox, make_project, open_app, smtp_server

TEN = [f"r{i}@example.org" for i in range(10)]


def _setup(tmp_path: Path, port: int, now: datetime = NOW) -> Path:
    cfg = make_project(tmp_path, port=port, now=now)
    with open_app(cfg, now) as app:
        app.store.add_subscribers("kosovo", TEN, now)
    return cfg


def _ledger(cfg: Path) -> dict[str, tuple[str, str]]:
    with open_app(cfg) as app:
        rows = app.store.db.execute("SELECT email, status, message_id FROM digest_sends").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


@pytest.mark.parametrize("mode", ["451", "drop"])
def test_server_failing_after_the_third_of_ten_resumes_with_the_other_seven(
    tmp_path: Path, mode: str
) -> None:
    inbox = Inbox(fail_after=3, fail_mode=mode)
    with smtp_server(inbox) as port:
        cfg = _setup(tmp_path, port)
        with open_app(cfg) as app:
            first = send_digest(app, get_list(app.config, "kosovo"), NOW)
        assert first.status == "open" and first.sent == 3 and first.error
        assert len(inbox.messages) == 3
        first_ids = set(inbox.ids)
        inbox.fail_after = None
        with open_app(cfg, NOW + timedelta(minutes=5)) as app:
            second = send_digest(app, get_list(app.config, "kosovo"), NOW + timedelta(minutes=5))
    assert second.status == "complete" and second.sent == 7
    assert len(inbox.messages) == 10
    assert sorted(inbox.recipients) == TEN  # each recipient exactly once
    assert first_ids.isdisjoint(inbox.ids[3:])
    assert len(set(inbox.ids)) == 10
    # the resumed run is the same digest: same window, same posts
    assert {str(m["Subject"]) for m in inbox.messages} == {str(inbox.messages[0]["Subject"])}


def test_the_same_digest_twice_sends_nothing_new(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = _setup(tmp_path, port)
        with open_app(cfg) as app:
            dl = get_list(app.config, "kosovo")
            assert send_digest(app, dl, NOW).sent == 10
            again = send_digest(app, dl, NOW)
            assert again.sent == 0 and again.status == "empty"
            later = send_digest(app, dl, NOW + timedelta(hours=2))  # nothing collected since
            assert later.sent == 0
            assert [r for r in due_digests(app, NOW + timedelta(hours=3)) if r.sent] == []
    assert len(inbox.messages) == 10 and len(set(inbox.ids)) == 10


def test_a_permanent_refusal_is_recorded_and_the_others_still_get_theirs(tmp_path: Path) -> None:
    inbox = Inbox(refuse={"r4@example.org"})
    with smtp_server(inbox) as port:
        cfg = _setup(tmp_path, port)
        with open_app(cfg) as app:
            dl = get_list(app.config, "kosovo")
            result = send_digest(app, dl, NOW)
            assert result.status == "complete" and result.sent == 9
            assert result.failed == ["r4@example.org"]
            row = app.store.db.execute(
                "SELECT status, smtp_code, last_error FROM digest_sends WHERE email = 'r4@example.org'"
            ).fetchone()
            assert row[0] == "failed" and row[1] == 550 and "mailbox does not exist" in row[2]
            assert send_digest(app, dl, NOW + timedelta(minutes=1)).sent == 0  # not retried
    assert sorted(inbox.recipients) == [e for e in TEN if e != "r4@example.org"]


def test_a_second_sender_of_the_same_digest_backs_off(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = _setup(tmp_path, port)
        with open_app(cfg) as app:
            dl = get_list(app.config, "kosovo")
            run, _ = open_or_resume(app, dl, NOW)
            assert run is not None
            later = NOW + timedelta(minutes=1)
            assert app.store.claim_digest_run(int(run["id"]), "other-host:1", later, later + timedelta(minutes=15))
            busy = send_digest(app, dl, NOW + timedelta(minutes=2))
            assert busy.status == "busy" and busy.sent == 0
    assert inbox.messages == []


def test_a_process_killed_mid_send_resends_only_the_in_flight_message_with_its_id(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    inbox = Inbox(hang_after=3)  # accept three, then hold the fourth until the sender dies
    env = {**os.environ, "AGGREGATOR_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    command = [str(Path(sys.executable).parent / "aggregator")]
    if not Path(command[0]).exists():
        command = [sys.executable, "-m", "aggregator.cli"]
    with smtp_server(inbox) as port:
        cfg = _setup(tmp_path, port, now)
        args = [*command, "--config", str(cfg), "digest", "send", "--list", "kosovo"]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert inbox.hanging.wait(30), "the sender never reached the fourth message"
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        ledger = _ledger(cfg)
        accepted = set(inbox.ids)
        assert len(accepted) == 3
        assert sorted(e for e, (s, _) in ledger.items() if s == "sent") == TEN[:3]
        ((in_flight, (_, in_flight_id)),) = [(e, v) for e, v in ledger.items() if v[0] == "in_flight"]
        assert in_flight == "r3@example.org"

        inbox.hang_after = None
        inbox.release.set()
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    later = inbox.ids[3:]
    assert len(later) == 7 and accepted.isdisjoint(later)  # nothing accepted is sent again
    assert in_flight_id in later  # the in-flight one went again, under the same Message-ID
    assert inbox.recipients[3] == "r3@example.org"
    assert sorted(inbox.recipients) == TEN
    assert "resent after an interruption" in done.stdout
