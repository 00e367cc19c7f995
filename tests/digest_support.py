"""Shared helpers for the digest, mailer and unsubscribe tests.

- :class:`Inbox`: an aiosmtpd handler that keeps every accepted message (parsed with
  ``email``), and can refuse addresses (550), start failing after N messages (451 or a
  dropped connection), refuse the sender (MAIL FROM) or every message (DATA) after N
  messages, or hang on one message (to kill the sender mid-send).
- :func:`smtp_server`: a real SMTP server on loopback, plain or STARTTLS + AUTH.
- :func:`make_project`: a config.yaml, two missions, a digest lists file and posts in the DB.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from aggregator.app import App, make_app
from aggregator.config import load_config
from aggregator.models import Media, Post, Tag

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
SECRET = "test-secret-key-0123456789abcdef"


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    fail_after: int | None = None  # accept this many, then fail every later message
    fail_mode: str = "451"  # "451" or "drop" (421 and close)
    hang_after: int | None = None  # accept this many, then hang on the next DATA
    refuse_sender_after: int | None = None  # accept this many, then refuse every MAIL FROM
    sender_refusal: str = "550 5.7.1 sender rejected: sending limit reached"
    refuse_data_after: int | None = None  # accept this many, then refuse every DATA
    data_refusal: str = "554 5.7.0 message refused: daily quota exceeded"
    hanging: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_sender_after is not None and len(self.messages) >= self.refuse_sender_after:
            return self.sender_refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox does not exist"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hang_after is not None and len(self.messages) >= self.hang_after:
            self.hanging.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 released without accepting"
        if self.refuse_data_after is not None and len(self.messages) >= self.refuse_data_after:
            return self.data_refusal
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            if self.fail_mode == "drop":
                return "421 4.3.2 service shutting down"
            return "451 4.3.0 temporary failure, try later"
        msg = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(msg, EmailMessage)
        msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 OK queued"

    @property
    def ids(self) -> list[str]:
        return [str(m["Message-ID"]).strip() for m in self.messages]

    @property
    def recipients(self) -> list[str]:
        return [str(m["To"]) for m in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _authenticator(user: str, password: str) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == user.encode() and data.password == password.encode()
        return AuthResult(success=ok, handled=False)

    return check


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@contextlib.contextmanager
def smtp_server(
    inbox: Inbox, *, tls: tuple[Path, Path] | None = None, auth: tuple[str, str] | None = None
) -> Iterator[int]:
    port = free_port()
    kwargs: dict[str, Any] = {}
    if tls is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(tls[0]), str(tls[1]))
        kwargs.update(tls_context=ctx, require_starttls=True)
    if auth is not None:
        kwargs.update(authenticator=_authenticator(*auth), auth_required=True)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        inbox.release.set()
        controller.stop()


LISTS = """lists:
  - name: kosovo
    title: UNMIK daily
    missions: [UNMIK]
    send_at: "07:00"
    timezone: Europe/Belgrade
    sender: "Mission feeds <digest@feeds.example.org>"
    language: en
  - name: liban-fr
    title: FINUL – résumé
    missions: [UNIFIL]
    send_at: "09:00"
    timezone: Asia/Beirut
    sender: "Flux <resume@feeds.example.org>"
    language: fr
  - name: everything
    missions: all
    send_at: "06:00"
    timezone: UTC
    sender: "Mission feeds <digest@feeds.example.org>"
    language: en
"""


def write_config(
    root: Path, *, port: int = 25, security: str = "none", extra: str = "",
    base_url: str = "https://feeds.example.org/",
) -> Path:
    missions = root / "feeds"
    missions.mkdir(parents=True, exist_ok=True)
    # The project's real UNMIK file, and a copy of it standing in for UNIFIL.
    unmik = yaml.safe_load((ROOT / "feeds" / "unmik.yaml").read_text(encoding="utf-8"))
    unmik.pop("sources", None)
    unifil = dict(unmik, acronym="UNIFIL", country="Lebanon", names={
        "en": "United Nations Interim Force in Lebanon",
        "fr": "Force intérimaire des Nations Unies au Liban",
    })
    for data in (unmik, unifil):
        path = missions / f"{data['acronym'].lower()}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (root / "lists.yaml").write_text(LISTS, encoding="utf-8")
    cfg = root / "config.yaml"
    cfg.write_text(
        "database: data/test.db\noutput_dir: output\nmissions_dir: feeds\n"
        f"base_url: {base_url}\ndigest_lists: lists.yaml\n"
        f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: {security}\n"
        "  rate_per_second: 0\n  timeout: 10\n" + extra,
        encoding="utf-8",
    )
    return cfg


def open_app(cfg: Path, now: datetime = NOW, env: dict[str, str] | None = None) -> App:
    clock = [now]
    app = make_app(load_config(cfg), clock=lambda: clock[0], env={"AGGREGATOR_SECRET": SECRET} if env is None else env)
    return app


def post(n: int, mission: str, collected: datetime, *, text: str = "", image: bool = False) -> tuple[Post, list[Tag]]:
    media = (Media(url=f"https://cdn.example.net/{n}.jpg", alt=f"Photo {n}",
                   local_path=f"media/{n}.jpg"),) if image else ()
    p = Post(
        id=f"post-{mission}-{n}", source_id="feed:test", kind="feed", external_id=str(n),
        url=f"https://{mission.lower()}.example.net/news/{n}", author=f"{mission} press",
        author_handle=None, title="", text=text or f"{mission} post number {n} about the day's patrols.",
        html="", published_at=collected - timedelta(minutes=5), collected_at=collected,
        media=media, content_hash=f"h{mission}{n}",
    )
    return p, [Tag(mission=mission, rule="own_source", matched="")]


def add_posts(app: App, posts: Sequence[tuple[Post, list[Tag]]]) -> None:
    store = app.store
    if not store.db.execute("SELECT 1 FROM sources WHERE id = 'feed:test'").fetchone():
        store.db["sources"].insert({"id": "feed:test", "kind": "feed", "name": "test"})  # type: ignore[union-attr]
        store.db.conn.commit()
    store.save_posts(posts)


def make_project(
    root: Path, *, port: int = 25, security: str = "none", extra: str = "", now: datetime = NOW,
    base_url: str = "https://feeds.example.org/",
) -> Path:
    """Config plus six UNMIK and four UNIFIL posts collected in the day before ``now``."""
    cfg = write_config(root, port=port, security=security, extra=extra, base_url=base_url)
    with open_app(cfg, now) as app:
        add_posts(app, [post(i, "UNMIK", now - timedelta(hours=i + 1), image=i == 0) for i in range(6)])
        add_posts(app, [post(i, "UNIFIL", now - timedelta(hours=i + 2),
                             text=f"La FINUL a patrouillé près de la Ligne bleue ({i}). مرحبا") for i in range(4)])
    return cfg


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()
