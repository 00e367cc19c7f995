"""`aggregator digest send|preview` and `aggregator subscribers`, in-process with CliRunner."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.policy import default
from pathlib import Path

from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.config import load_config
from aggregator.digest.lists import load_digest_lists
from tests.digest_support import (
    ROOT,
    SECRET,
    Inbox,
    free_port,
    make_project,
    open_app,
    smtp_server,
    write_config,
)

ENV = {"AGGREGATOR_SECRET": SECRET}


def _run(cfg: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), *args], env=env or ENV)
    return result.exit_code, result.stdout, result.stderr


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def test_subscribers_add_list_remove(tmp_path: Path) -> None:
    cfg = make_project(tmp_path)
    code, out, _ = _run(cfg, "subscribers", "add", "--list", "kosovo", "Ana@Example.org", "bo@example.org")
    assert code == 0 and "2 subscribed" in out
    assert _run(cfg, "subscribers", "list", "--list", "kosovo")[1].split() == [
        "ana@example.org", "bo@example.org"]
    code, out, _ = _run(cfg, "subscribers", "remove", "--list", "kosovo", "ana@example.org")
    assert code == 0 and "1 unsubscribed" in out
    assert _run(cfg, "subscribers", "list", "--list", "kosovo")[1].split() == ["bo@example.org"]
    everyone = _run(cfg, "subscribers", "list", "--list", "kosovo", "--all")[1]
    assert "ana@example.org\tunsubscribed" in everyone


def test_bad_input_is_named_with_a_hint(tmp_path: Path) -> None:
    cfg = make_project(tmp_path)
    code, _, err = _run(cfg, "subscribers", "add", "--list", "kosovo", "not-an-address")
    assert code == 2 and "not-an-address" in err
    code, _, err = _run(cfg, "digest", "send", "--list", "nope", "--dry-run")
    assert code == 2 and "no digest list named 'nope'" in err and "kosovo" in err


def test_dry_run_writes_eml_files_and_sends_nothing(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port, now=_now())
        _run(cfg, "subscribers", "add", "--list", "kosovo", "ana@example.org", "bo@example.org")
        out_dir = tmp_path / "outbox"
        code, out, _ = _run(cfg, "digest", "send", "--list", "kosovo", "--dry-run", "--out", str(out_dir))
    assert code == 0 and "6 posts" in out and "nothing sent" in out
    files = sorted((out_dir / "kosovo").glob("*.eml"))
    assert [f.name for f in files] == ["ana_example.org.eml", "bo_example.org.eml"]
    msg = email.message_from_bytes(files[0].read_bytes(), policy=default)
    assert msg["To"] == "ana@example.org" and msg["List-Unsubscribe-Post"]
    assert inbox.messages == []
    with open_app(cfg) as app:
        assert app.store.digest_runs("kosovo") == []  # the ledger is untouched


def test_send_then_send_again(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port, now=_now())
        _run(cfg, "subscribers", "add", "--list", "kosovo", "ana@example.org", "bo@example.org")
        code, out, _ = _run(cfg, "digest", "send", "--list", "kosovo")
        assert code == 0 and "complete; 6 posts; 2 sent" in out
        code, out, _ = _run(cfg, "digest", "send", "--list", "kosovo")
        assert code == 0 and "nothing new" in out
    assert len(inbox.messages) == 2


def test_to_sends_one_preview_outside_the_ledger(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port, now=_now())
        _run(cfg, "subscribers", "add", "--list", "kosovo", "ana@example.org")
        code, out, _ = _run(cfg, "digest", "send", "--list", "kosovo", "--to", "editor@example.org")
        assert code == 0 and "sent one preview" in out
        assert inbox.recipients == ["editor@example.org"]
        _run(cfg, "digest", "send", "--list", "kosovo")  # the real digest still goes out
    assert inbox.recipients == ["editor@example.org", "ana@example.org"]


def test_an_unreachable_server_fails_with_a_hint_and_resumes_later(tmp_path: Path) -> None:
    cfg = make_project(tmp_path, port=free_port(), now=_now())
    _run(cfg, "subscribers", "add", "--list", "kosovo", "ana@example.org")
    code, _, err = _run(cfg, "digest", "send", "--list", "kosovo")
    assert code == 1 and "cannot connect to the SMTP server" in err and "resumes" in err


def test_preview_writes_html_for_a_browser(tmp_path: Path) -> None:
    cfg = make_project(tmp_path, now=_now())
    target = tmp_path / "p.html"
    code, out, _ = _run(cfg, "digest", "preview", "--list", "liban-fr", "--out", str(target))
    assert code == 0 and "4 posts" in out
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Ligne bleue" in html
    day = (_now() - timedelta(days=3)).strftime("%Y-%m-%d")
    code, out, _ = _run(cfg, "digest", "preview", "--list", "liban-fr", "--date", day, "--out", str(target))
    assert code == 0 and "0 posts" in out


def test_demo_lists_validate_and_name_only_placeholders() -> None:
    config = load_config(ROOT / "feeds" / "demo" / "config.yaml")
    lists = load_digest_lists(config)
    assert lists
    for dl in lists.values():
        assert all(a.endswith("@example.org") for a in dl.seed_subscribers)
        assert dl.sender.rstrip(">").endswith("@example.org")


def test_a_send_that_never_reached_the_relay_is_not_called_an_interruption(
    tmp_path: Path,
) -> None:
    cfg = make_project(tmp_path, port=free_port(), now=_now())  # nothing listens there
    _run(cfg, "subscribers", "add", "--list", "kosovo", "ana@example.org", "bo@example.org")
    code, _, err = _run(cfg, "digest", "send", "--list", "kosovo")
    assert code == 1 and "cannot connect to the SMTP server" in err
    inbox = Inbox()
    with smtp_server(inbox) as port:
        write_config(tmp_path, port=port)  # the relay is back (on another port)
        code, out, _ = _run(cfg, "digest", "send", "--list", "kosovo")
    assert code == 0 and "2 sent (0 resent after an interruption)" in out, out
    assert sorted(inbox.recipients) == ["ana@example.org", "bo@example.org"]
