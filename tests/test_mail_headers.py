"""Headers of a sent digest as they are on the wire (#16 items 5 and 8)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import load_config
from aggregator.digest import send_digest
from aggregator.digest.lists import get_list
from aggregator.errors import ConfigError
from tests.digest_support import NOW, Inbox, make_project, open_app, smtp_server, write_config


@dataclass
class RawInbox(Inbox):
    """The loopback server's inbox, keeping each message's bytes as received."""

    raw: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(bytes(envelope.content))
        return await super().handle_DATA(server, session, envelope)


def _header(raw: bytes, name: bytes) -> bytes:
    """The header's bytes as sent, folding included (up to the next header line)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    match = re.search(rb"^" + name + rb":.*?(?=\r\n[^ \t])", head, re.M | re.S | re.I)
    assert match, f"no {name!r} header in {head!r}"
    return match.group(0)


def test_list_unsubscribe_goes_out_as_plain_ascii_uris_never_rfc2047(tmp_path: Path) -> None:
    inbox = RawInbox()
    long_local = "a.reader.with.a.rather.long.address.to.force.folding"
    readers = ["reader@example.org", f"{long_local}@example.org"]
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port)
        with open_app(cfg) as app:
            app.store.add_subscribers("liban-fr", readers, NOW)
            send_digest(app, get_list(app.config, "liban-fr"), NOW)
    assert len(inbox.raw) == 2
    for raw in inbox.raw:
        header = _header(raw, b"List-Unsubscribe")
        assert b"=?" not in header
        assert header.isascii()
        value = re.sub(rb"\r\n[ \t]+", b" ", header).split(b":", 1)[1].strip()
        # RFC 2369 / 8058: <mailto:...>, <https://...>
        assert re.fullmatch(rb"<mailto:[!-~]+>, *<https://feeds\.example\.org/unsubscribe\?token=[!-~]+>",
                            value), value
        assert all(len(line) <= 998 for line in header.split(b"\r\n"))
        assert _header(raw, b"List-Unsubscribe-Post").endswith(b"List-Unsubscribe=One-Click")


def _config_with_host(root: Path, host: str) -> Path:
    cfg = write_config(root, port=25, security="none")
    cfg.write_text(cfg.read_text().replace("host: 127.0.0.1", f"host: '{host}'"))
    return cfg


@pytest.mark.parametrize("host", ["smtp.example.org", "10.0.0.5", "0.0.0.0", "localhost.example.org"])
def test_smtp_security_none_is_refused_for_a_host_that_is_not_loopback(
    tmp_path: Path, host: str
) -> None:
    cfg = _config_with_host(tmp_path, host)
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    text = str(err.value)
    assert "smtp.security" in text and host in text and "starttls" in text


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.0.0.53", "::1"])
def test_smtp_security_none_is_accepted_for_a_loopback_relay(tmp_path: Path, host: str) -> None:
    cfg = _config_with_host(tmp_path, host)
    assert load_config(cfg).settings.smtp_host == host
