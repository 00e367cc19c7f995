"""The mailer against real loopback SMTP servers: STARTTLS with AUTH, implicit TLS, errors,
rate limit, ops alerts, and MIME that survives non-Latin text."""

from __future__ import annotations

import email
import logging
import shutil
import ssl
import time
from dataclasses import replace
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.digest import send_digest
from aggregator.digest.lists import get_list
from aggregator.errors import DeliveryError
from aggregator.mailer import (
    SendFailed,
    SmtpSender,
    build_alternative_bytes,
    build_message,
    send_alert,
)
from aggregator.settings import Settings
from tests.conftest import need
from tests.digest_support import (
    NOW,
    SECRET,
    Inbox,
    free_port,
    make_cert,
    make_project,
    open_app,
    parts,
    smtp_server,
)

AUTH = ("digest-bot", "s3cret-pass")


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    need(shutil.which("openssl") is not None, "openssl is needed to make a test certificate")
    return make_cert(tmp_path_factory.mktemp("tls"))


def test_starttls_and_auth_deliver_the_digest(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    inbox = Inbox()
    with smtp_server(inbox, tls=cert, auth=AUTH) as port:
        cfg = make_project(tmp_path, port=port, security="starttls",
                           extra=f"smtp_ca_file: {cert[0]}\n")
        env = {"AGGREGATOR_SECRET": SECRET, "SMTP_USER": AUTH[0], "SMTP_PASSWORD": AUTH[1]}
        with open_app(cfg, env=env) as app:
            app.store.add_subscribers("kosovo", ["ana@example.org", "bo@example.org"], NOW)
            result = send_digest(app, get_list(app.config, "kosovo"), NOW)
    assert result.status == "complete" and result.sent == 2
    assert sorted(inbox.recipients) == ["ana@example.org", "bo@example.org"]
    text, html = parts(inbox.messages[0])
    assert "UNMIK post number 0" in text and "UNMIK post number 0" in html


def test_a_wrong_password_is_reported_with_the_variable_to_fix(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    inbox = Inbox()
    with smtp_server(inbox, tls=cert, auth=AUTH) as port:
        cfg = make_project(tmp_path, port=port, security="starttls",
                           extra=f"smtp_ca_file: {cert[0]}\n")
        env = {"AGGREGATOR_SECRET": SECRET, "SMTP_USER": AUTH[0], "SMTP_PASSWORD": "wrong"}
        with open_app(cfg, env=env) as app:
            app.store.add_subscribers("kosovo", ["ana@example.org"], NOW)
            result = send_digest(app, get_list(app.config, "kosovo"), NOW)
            assert result.status == "open" and result.sent == 0
            assert result.error is not None and "SMTP_PASSWORD" in result.error
    assert inbox.messages == []


def test_an_untrusted_certificate_is_refused(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    inbox = Inbox()
    with smtp_server(inbox, tls=cert) as port:
        s = replace(Settings(), smtp_host="127.0.0.1", smtp_port=port, smtp_security="starttls")
        msg = build_message(sender="a@example.org", to="b@example.org", subject="x", text="x",
                            html=None, date=NOW, message_id="<x@example.org>")
        with SmtpSender(s, {}) as smtp, pytest.raises(SendFailed) as err:
            smtp.send(msg, "a@example.org", "b@example.org")
    assert "127.0.0.1" in str(err.value) and "smtp" in str(err.value).lower()
    assert inbox.messages == []


def test_implicit_tls(cert: tuple[Path, Path]) -> None:
    inbox = Inbox()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=ctx)
    controller.start()
    try:
        s = replace(Settings(), smtp_host="127.0.0.1", smtp_port=port, smtp_security="ssl",
                    smtp_ca_file=str(cert[0]))
        msg = build_message(sender="a@example.org", to="b@example.org", subject="over TLS",
                            text="hello", html="<p>hello</p>", date=NOW, message_id="<t@example.org>")
        with SmtpSender(s, {}) as smtp:
            smtp.send(msg, "a@example.org", "b@example.org")
    finally:
        controller.stop()
    assert [str(m["Subject"]) for m in inbox.messages] == ["over TLS"]


def test_one_connection_per_run_and_the_rate_limit(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        s = replace(Settings(), smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                    smtp_rate_per_second=20.0)
        start = time.monotonic()
        with SmtpSender(s, {}) as smtp:
            for i in range(6):
                msg = build_message(sender="a@example.org", to=f"r{i}@example.org", subject="s",
                                    text="t", html=None, date=NOW, message_id=f"<{i}@example.org>")
                smtp.send(msg, "a@example.org", f"r{i}@example.org")
            first = smtp._smtp
        elapsed = time.monotonic() - start
    assert first is not None and len(inbox.messages) == 6
    assert elapsed >= 5 / 20.0 * 0.9  # 6 messages at 20/s take at least 5 gaps of 50 ms


def test_ops_alert_is_mailed_when_ops_email_is_set(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port, extra="ops_email: ops@example.org\n")
        with open_app(cfg) as app:
            send_alert(app, "3 sources failing for 26 h", "feed:https://example.org/rss: timeout")
    (msg,) = inbox.messages
    assert msg["To"] == "ops@example.org" and "3 sources failing" in str(msg["Subject"])
    assert "timeout" in msg.get_content()


def test_ops_alert_without_ops_email_only_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = make_project(tmp_path, port=free_port())
    with open_app(cfg) as app, caplog.at_level(logging.WARNING, "aggregator.mailer"):
        send_alert(app, "source gone", "feed:x returned 410")
    assert "source gone" in caplog.text


def test_ops_alert_never_raises_when_the_server_is_down(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = make_project(tmp_path, port=free_port(), extra="ops_email: ops@example.org\n")
    with open_app(cfg) as app, caplog.at_level(logging.WARNING, "aggregator.mailer"):
        send_alert(app, "stale", "UNMIK feed stale")
    assert "could not be mailed" in caplog.text


def test_missing_secret_names_the_variable(tmp_path: Path) -> None:
    cfg = make_project(tmp_path, port=free_port())
    with open_app(cfg, env={}) as app, pytest.raises(DeliveryError) as err:
        send_digest(app, get_list(app.config, "kosovo"), NOW)
    assert "AGGREGATOR_SECRET" in str(err.value)


@settings(max_examples=60, deadline=None)
@given(
    subject=st.text(min_size=1, max_size=120).filter(lambda s: s.strip() != ""),
    body=st.text(max_size=2000),
)
def test_any_text_survives_the_mime_round_trip(subject: str, body: str) -> None:
    subject = " ".join(subject.split()) or "x"
    body = body.replace("\r", "")
    msg = build_message(sender="Flux <a@example.org>", to="b@example.org", subject=subject,
                        text=body, html=f"<p>{body}</p>", date=NOW, message_id="<m@example.org>")
    raw = msg.as_bytes()
    assert raw.isascii()  # 7-bit clean on the wire, whatever the script
    back = email.message_from_bytes(raw, policy=default)
    assert str(back["Subject"]) == subject
    plain = back.get_body(preferencelist=("plain",))
    assert plain is not None
    assert plain.get_content().replace("\r\n", "\n").rstrip("\n") == body.rstrip("\n")


@settings(max_examples=60, deadline=None)
@given(
    subject=st.text(min_size=1, max_size=80).map(lambda s: " ".join(s.split()) or "x"),
    text=st.text(max_size=1500).map(lambda s: s.replace("\r", "")),
    html=st.text(max_size=1500).map(lambda s: s.replace("\r", "")),
)
def test_the_fast_digest_mime_parses_like_the_library_built_one(subject: str, text: str, html: str) -> None:
    common = {"sender": "Flux <a@example.org>", "to": "b@example.org", "subject": subject,
              "text": text, "html": html, "date": NOW, "message_id": "<m@example.org>",
              "headers": {"List-Id": "Résumé <l.example.org>"}}
    fast = build_alternative_bytes(**common)  # type: ignore[arg-type]
    slow = build_message(**common).as_bytes()  # type: ignore[arg-type]
    assert fast.isascii() and max(len(line) for line in fast.split(b"\r\n")) <= 998
    a = email.message_from_bytes(fast, policy=default)
    b = email.message_from_bytes(slow, policy=default)
    assert a.defects == [] and a.get_content_type() == "multipart/alternative"
    for name in ("From", "To", "Subject", "Date", "Message-ID", "List-Id"):
        assert str(a[name]) == str(b[name])
    for kind in ("plain", "html"):
        pa, pb = a.get_body(preferencelist=(kind,)), b.get_body(preferencelist=(kind,))
        assert pa is not None and pb is not None and pa.defects == []
        assert pa.get_content().replace("\r\n", "\n").rstrip("\n") == pb.get_content().replace(
            "\r\n", "\n").rstrip("\n")
