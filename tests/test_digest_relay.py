"""A relay that refuses the sender or every message: the digest stops, keeps the rest pending
and the next send delivers them (issue 15 item 9). Only a refusal of one recipient at RCPT is
permanent for that recipient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator.cli import cli
from tests.digest_support import SECRET, Inbox, make_project, open_app, smtp_server

FIFTY = [f"reader{i:02d}@example.org" for i in range(50)]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _send(cfg: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, ["--config", str(cfg), "digest", "send", "--list", "kosovo"],
        env={"AGGREGATOR_SECRET": SECRET},
    )
    return result.exit_code, result.stdout, result.stderr


def _statuses(cfg: Path) -> dict[str, str]:
    with open_app(cfg) as app:
        rows = app.store.db.execute("SELECT email, status FROM digest_sends").fetchall()
    return {r[0]: r[1] for r in rows}


@pytest.mark.parametrize(
    "refusal",
    [
        {"refuse_sender_after": 20},  # 550 at MAIL FROM: the relay refuses us, not a reader
        {"refuse_data_after": 20},  # 554 at DATA: a quota on every message
        {"refuse_sender_after": 20, "sender_refusal": "421 4.7.0 too many messages, closing"},
    ],
    ids=["550-mail-from", "554-data", "421-mail-from"],
)
def test_a_relay_refusing_after_20_of_50_stops_and_the_next_send_delivers_the_other_30(
    tmp_path: Path, refusal: dict[str, object]
) -> None:
    inbox = Inbox(**refusal)  # type: ignore[arg-type]
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port, now=_now())
        with open_app(cfg) as app:
            app.store.add_subscribers("kosovo", FIFTY, app.now())

        code, out, err = _send(cfg)
        assert code != 0
        assert len(inbox.messages) == 20
        assert "30 not yet served" in out
        assert "Traceback" not in err and "run the same command again" in err and err.count("hint") == 1
        statuses = _statuses(cfg)
        assert "failed" not in statuses.values()  # nobody is given up for the relay's refusal
        assert sum(1 for s in statuses.values() if s == "sent") == 20

        inbox.refuse_sender_after = inbox.refuse_data_after = None  # the relay recovers
        code, out, err = _send(cfg)
        assert code == 0, err
        assert "complete" in out

    assert len(inbox.messages) == 50
    assert sorted(inbox.recipients) == FIFTY  # 50 distinct recipients, 0 duplicates
    assert len(set(inbox.ids)) == 50
    assert set(_statuses(cfg).values()) == {"sent"}


def test_a_refused_recipient_is_permanent_for_that_recipient_only(tmp_path: Path) -> None:
    inbox = Inbox(refuse={"reader07@example.org"})
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port, now=_now())
        with open_app(cfg) as app:
            app.store.add_subscribers("kosovo", FIFTY, app.now())
        code, out, err = _send(cfg)
        assert code == 0 and "49 sent" in out and "1 failed" in out
        assert "failed permanently: reader07@example.org" in err
        assert _statuses(cfg)["reader07@example.org"] == "failed"
        code, out, _ = _send(cfg)  # not retried
    assert len(inbox.messages) == 49


def test_a_relay_that_refuses_relaying_at_rcpt_gives_up_on_nobody(tmp_path: Path) -> None:
    """"554 5.7.1 Relay access denied" at RCPT is about the relay, not about the reader."""

    class NoRelay(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
            if len(self.messages) >= 5:
                return "554 5.7.1 <" + address + ">: Relay access denied"
            return await super().handle_RCPT(server, session, envelope, address, options)

    inbox = NoRelay()
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port, now=_now())
        with open_app(cfg) as app:
            app.store.add_subscribers("kosovo", FIFTY[:10], app.now())
        code, out, err = _send(cfg)
        assert code != 0 and "5 not yet served" in out and "Relay access denied" in err
        assert "failed" not in _statuses(cfg).values()
        inbox.messages.clear()
        code, out, _ = _send(cfg)
    assert code == 0 and len(inbox.messages) == 5  # the five pending ones, once each


def test_the_service_keeps_a_refused_digest_open_and_resumes_it(tmp_path: Path) -> None:
    from aggregator.digest import due_digests

    now = _now()
    inbox = Inbox(refuse_sender_after=3)
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port, now=now)
        with open_app(cfg, now) as app:
            app.store.add_subscribers("kosovo", FIFTY[:10], now)
            from aggregator.digest import send_digest
            from aggregator.digest.lists import get_list

            first = send_digest(app, get_list(app.config, "kosovo"), now)
            assert first.status == "open" and first.sent == 3 and first.error
            assert "MAIL FROM" in first.error or "sender" in first.error
            inbox.refuse_sender_after = None
            later = now + timedelta(minutes=1)
            results = [r for r in due_digests(app, later) if r.list_name == "kosovo"]
    assert results and results[0].status == "complete" and results[0].sent == 7
    assert sorted(inbox.recipients) == FIFTY[:10]
