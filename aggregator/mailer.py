"""Build MIME messages and send them with ``smtplib``; sign unsubscribe tokens.

One :class:`SmtpSender` is one SMTP connection for one run (opened on the first message),
with a per-run rate limit. smtplib errors are wrapped into :class:`SendFailed`, which says
whether the server refused this address for good (a 5xx to RCPT about the mailbox: do not
retry it), refused this message only for now (4xx), refused the sender, the session or every
message (MAIL FROM, a 5xx to DATA, 421, a relay denial: stop, retry everyone later), or whether
the connection was lost before we know (the message may or may not have arrived).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import smtplib
import ssl
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING
from urllib.parse import quote

from aggregator.errors import DeliveryError

if TYPE_CHECKING:
    from aggregator.app import App
    from aggregator.settings import Settings

log = logging.getLogger("aggregator.mailer")
# Kept as they are in a URI header: RFC 3986's reserved and unreserved characters and "%"
# (already percent-encoded); anything else (spaces, non-ASCII, "<>") is percent-encoded.
_URI_SAFE = ":/?#[]@!$&'()*+,;=-._~%"
_ADDR_SPEC = re.compile(r"[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:.]+")


# Replies to RCPT that are about the session, not the address (RFC 5321, RFC 4954).
_SESSION_CODES = frozenset({421, 500, 502, 503, 504, 521, 530, 534, 535, 538})


class SendFailed(DeliveryError):
    """One message was not accepted. ``code`` is the SMTP reply code when there was one.

    ``permanent``: refused for good for this recipient only. ``relay``: the refusal is about
    the sender, the session or every message, so sending more now is pointless and nobody is
    given up. ``connection_lost``: the connection is gone (the message may have arrived).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        code: int | None = None,
        connection_lost: bool = False,
        relay: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, permanent=permanent, hint=hint)
        self.code = code
        self.connection_lost = connection_lost
        self.relay = relay


# --- messages -------------------------------------------------------------------------


def build_message(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    date: datetime,
    message_id: str,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A ``multipart/alternative`` message (plain text first, HTML second) in UTF-8.

    The ``email`` package picks quoted-printable or base64 per part, and RFC 2047 encodes
    non-ASCII headers, so Arabic or French text arrives intact.
    """
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["MIME-Version"] = "1.0"
    for name, value in (headers or {}).items():
        msg[name] = value
    # Explicit transfer encodings keep every message 7-bit clean (any server, any script):
    # quoted-printable keeps the text part readable raw; base64 is the fast one for HTML.
    msg.set_content(text, charset="utf-8", cte="base64")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    return msg


def header_block(headers: Sequence[tuple[str, str]]) -> bytes:
    """Headers as wire bytes, encoded (RFC 2047) and folded by the ``email`` package."""
    head = EmailMessage(policy=SMTP)
    for name, value in headers:
        head[name] = value
    return b"".join(SMTP.fold_binary(name, value) for name, value in head.items())


def uri_list_header(name: str, uris: Sequence[str]) -> bytes:
    """A header listing URIs in angle brackets, as RFC 2369 and RFC 8058 show it, in ASCII.

    ``email``'s folding encodes a word longer than a line as RFC 2047 (``=?utf-8?q?...``),
    which mail providers do not decode in ``List-Unsubscribe`` (one-click unsubscribe stops
    working): here each URI is percent-encoded to ASCII and the header is folded only
    between URIs (RFC 5322 allows lines up to 998 characters).
    """
    items = [f"<{quote(uri, safe=_URI_SAFE)}>" for uri in uris]
    return (f"{name}: " + ",\r\n ".join(items) + "\r\n").encode("ascii")


def alternative_body(boundary_seed: str, text: str, html: str) -> tuple[bytes, bytes]:
    """(Content-Type header, body) of a ``multipart/alternative`` with two base64 parts.

    The bodies are encoded in C (``binascii``) rather than by the ``email`` generator, which
    walks a 300 KB digest line by line and costs more than sending it.
    """
    # "=_" never occurs in base64 text, so the boundary cannot collide with a body.
    boundary = "=_" + hashlib.sha256(boundary_seed.encode("utf-8")).hexdigest()[:32]
    content_type = header_block(
        [("Content-Type", f'multipart/alternative; boundary="{boundary}"')]
    )
    chunks = []
    for subtype, body in (("plain", text), ("html", html)):
        if "\r" in body:
            body = body.replace("\r\n", "\n").replace("\r", "\n")
        encoded = binascii.b2a_base64(body.replace("\n", "\r\n").encode("utf-8"), newline=False)
        lines = b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
        chunks.append(
            f"--{boundary}\r\nContent-Type: text/{subtype}; charset=\"utf-8\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n".encode("ascii")
        )
        chunks.append(lines + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode("ascii"))
    return content_type, b"".join(chunks)


def build_alternative_bytes(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    date: datetime,
    message_id: str,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """The same ``multipart/alternative`` message as :func:`build_message`, as wire bytes, fast.

    Tests parse the result with ``email`` and compare it with :func:`build_message`.
    """
    head = header_block([
        ("From", sender), ("To", to), ("Subject", subject), ("Date", format_datetime(date)),
        ("Message-ID", message_id), ("MIME-Version", "1.0"), *(headers or {}).items(),
    ])
    content_type, body = alternative_body(message_id, text, html)
    return head + content_type + b"\r\n" + body


def address_domain(address: str) -> str:
    """``digest@un.example.org`` or ``Name <digest@un.example.org>`` -> ``un.example.org``."""
    return parseaddr(address)[1].rpartition("@")[2].lower() or "localhost"


def valid_address(address: str) -> bool:
    """``local@domain.tld``, alone or as ``Name <local@domain.tld>``."""
    spec = parseaddr(address)[1]
    # ASCII only: internationalized addresses need SMTPUTF8, which many servers lack.
    return bool(spec) and spec.isascii() and _ADDR_SPEC.fullmatch(spec) is not None


# --- unsubscribe tokens -----------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(key: bytes, list_name: str, email: str, issued: datetime) -> str:
    """An HMAC-SHA256 signed token naming one recipient of one list, and when it was made."""
    payload = f"{list_name}\n{email.lower()}\n{int(issued.timestamp())}".encode()
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def verify_token(
    key: bytes, token: str, *, now: datetime, max_age_days: float
) -> tuple[str, str] | None:
    """(list name, email) when ``token`` is ours and not older than ``max_age_days``."""
    try:
        payload_b64, mac_b64 = token.strip().split(".", 1)
        payload, mac = _unb64(payload_b64), _unb64(mac_b64)
        expected = hmac.new(key, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            return None
        list_name, email, issued = payload.decode("utf-8").split("\n")
        age = now.timestamp() - int(issued)
    except (ValueError, UnicodeDecodeError):
        return None
    if age < -300 or age > max_age_days * 86400:
        return None
    return list_name, email


def secret_key(settings: Settings, env: Mapping[str, str]) -> bytes:
    """The signing key from the environment variable named by ``secret_env``."""
    value = env.get(settings.secret_env, "")
    if len(value) < 16:
        raise DeliveryError(
            f"the environment variable {settings.secret_env} must hold the key that signs"
            " unsubscribe links (at least 16 characters)",
            hint=f"export {settings.secret_env}=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')",
        )
    return value.encode("utf-8")


# --- sending ---------------------------------------------------------------------------


class SmtpSender:
    """One SMTP connection for one run; ``send`` one message to one recipient at a time."""

    def __init__(
        self, settings: Settings, env: Mapping[str, str], *, rate_per_second: float | None = None
    ) -> None:
        self.settings = settings
        self.env = env
        rate = settings.smtp_rate_per_second if rate_per_second is None else rate_per_second
        self.min_gap = 1.0 / rate if rate > 0 else 0.0
        self._smtp: smtplib.SMTP | None = None
        self._last_send = 0.0
        self.sent = 0

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        where = f"{s.smtp_host}:{s.smtp_port} ({s.smtp_security})"
        try:
            smtp: smtplib.SMTP
            if s.smtp_security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=self._tls()
                )
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
                if s.smtp_security == "starttls":
                    smtp.starttls(context=self._tls())
            user = self.env.get(s.smtp_user_env, "")
            if user:
                smtp.login(user, self.env.get(s.smtp_password_env, ""))
        except smtplib.SMTPAuthenticationError as exc:
            raise SendFailed(
                f"the SMTP server {where} refused the login of {s.smtp_user_env}",
                code=exc.smtp_code, connection_lost=True,
                hint=f"check {s.smtp_user_env} and {s.smtp_password_env}",
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(
                f"cannot connect to the SMTP server {where}: {exc}", connection_lost=True,
                hint="check smtp.host, smtp.port and smtp.security in config.yaml",
            ) from exc
        return smtp

    def _tls(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.settings.smtp_ca_file or None)
        return ctx

    def _pace(self) -> None:
        if self.min_gap:
            wait = self._last_send + self.min_gap - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self._last_send = time.monotonic()

    def send(self, msg: EmailMessage | bytes, sender: str, recipient: str) -> None:
        """Hand one message to the server; raise :class:`SendFailed` unless it was accepted."""
        if self._smtp is None:
            self._smtp = self._connect()
        self._pace()
        raw = msg if isinstance(msg, bytes) else msg.as_bytes(policy=SMTP)
        envelope_from = parseaddr(sender)[1]
        try:
            refused = self._smtp.sendmail(envelope_from, [recipient], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (550, b""))
            raise self._refused("rcpt", recipient, code, text) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise self._refused("mail", envelope_from, exc.smtp_code, exc.smtp_error) from exc
        except smtplib.SMTPDataError as exc:
            raise self._refused("data", recipient, exc.smtp_code, exc.smtp_error) from exc
        except UnicodeEncodeError as exc:
            raise SendFailed(
                f"{recipient!r} is not an ASCII address; this sender does not use SMTPUTF8",
                permanent=True, hint="subscribe an ASCII address",
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise refusal("session", recipient, exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise SendFailed(
                f"the connection to the SMTP server was lost while sending to {recipient}: {exc}",
                connection_lost=True,
            ) from exc
        if refused:
            code, text = refused.get(recipient, (550, b""))
            raise self._refused("rcpt", recipient, code, text)
        self.sent += 1

    def _refused(self, stage: str, who: str, code: int, text: bytes | str) -> SendFailed:
        """Classify one refusal by the step it answered (``mail``, ``rcpt``, ``data``)."""
        failed = refusal(stage, who, code, text)
        if failed.connection_lost:  # 421: the server is closing the channel
            self._drop()
        return failed

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            finally:
                self._drop()


def refusal(stage: str, who: str, code: int, text: bytes | str) -> SendFailed:
    """What one SMTP refusal means for the digest, from the step it answered and its code.

    Only a 5xx to RCPT about the address (no such mailbox, mailbox disabled) is permanent, and
    only for that recipient. A refusal of the sender (MAIL FROM), of every message (a 5xx to
    DATA: a quota, a policy), of the session (421, authentication, protocol codes) or of
    relaying is about the relay: the run stops and every recipient not yet served stays
    pending. A 4xx to RCPT or DATA defers this one message.
    """
    detail = (text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)).strip()
    lost = code == 421 or stage == "session"
    about_relay = (
        lost or stage == "mail" or code in _SESSION_CODES or "relay" in detail.lower()
        or (stage == "data" and 500 <= code < 600)
    )
    step = {"mail": "the sender", "rcpt": "the recipient", "data": "the message to"}.get(stage)
    what = f"{step} {who}" if step else f"the session while sending to {who}"
    message = f"the SMTP server refused {what}: {code} {detail}".strip()
    if about_relay:
        return SendFailed(
            message, code=code, connection_lost=lost, relay=True,
            hint="this is about the relay, not one reader: sending stopped and everyone not yet"
            " served stays pending; check the relay (sender address, quota, smtp.* settings)",
        )
    permanent = 500 <= code < 600
    return SendFailed(
        message, permanent=permanent, code=code,
        hint=None if permanent else "a temporary refusal: the next run retries this address",
    )


# --- ops alerts ------------------------------------------------------------------------


def send_alert(app: App, subject: str, body: str) -> None:
    """Mail an ops alert to ``ops_email``; always logs it, and never raises.

    Used by the service for persistent problems. With no ``ops_email`` set, or when the mail
    cannot go out, the log line is the alert.
    """
    settings = app.config.settings
    log.warning("ops alert: %s\n%s", subject, body)
    recipients: Sequence[str] = [a.strip() for a in settings.ops_email.split(",") if a.strip()]
    if not recipients:
        return
    sender = settings.ops_sender or f"aggregator@{address_domain(recipients[0])}"
    now = app.now()
    try:
        with SmtpSender(settings, app.env, rate_per_second=0) as smtp:
            for to in recipients:
                digest = hashlib.sha256(f"{to}\n{subject}\n{now.isoformat()}".encode()).hexdigest()
                msg = build_message(
                    sender=sender, to=to, subject=f"[aggregator] {subject}", text=body, html=None,
                    date=now, message_id=f"<alert.{digest[:32]}@{address_domain(sender)}>",
                )
                smtp.send(msg, sender, to)
    except DeliveryError as exc:
        log.error("ops alert %r could not be mailed: %s", subject, exc)
