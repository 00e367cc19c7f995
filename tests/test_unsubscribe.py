"""One-click unsubscribe through `aggregator serve`: POST with a valid token removes the
recipient; GET only asks; forged, altered or expired tokens change nothing."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.app import App
from aggregator.digest import Composer, send_digest
from aggregator.digest.lists import get_list
from aggregator.digest.render import render_digest
from aggregator.mailer import sign_token, verify_token
from tests.browser import serve_app
from tests.digest_support import (
    NOW,
    SECRET,
    Inbox,
    add_posts,
    make_project,
    open_app,
    post,
    smtp_server,
)

KEY = SECRET.encode()


running = serve_app


def _request(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def _project(tmp_path: Path) -> App:
    cfg = make_project(tmp_path)
    app = open_app(cfg)
    app.store.add_subscribers("kosovo", ["ana@example.org", "bo@example.org"], NOW)
    return app


def _active(app: App) -> list[str]:
    return [r["email"] for r in app.store.subscribers("kosovo")]


def test_one_click_post_with_the_link_from_the_email_unsubscribes(tmp_path: Path) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        cfg = make_project(tmp_path, port=port)
        with open_app(cfg) as app:
            app.store.add_subscribers("kosovo", ["ana@example.org", "bo@example.org"], NOW)
            send_digest(app, get_list(app.config, "kosovo"), NOW)
            msg = next(m for m in inbox.messages if m["To"] == "ana@example.org")
            https = str(msg["List-Unsubscribe"]).split(",")[1].strip(" <>")
            path = https.split("feeds.example.org", 1)[1]
            with running(app) as base:
                status, body = _request(base + path, "POST", b"List-Unsubscribe=One-Click")
            assert status == 200 and "unsubscribed" in body
            assert _active(app) == ["bo@example.org"]
            # the next digest honours it
            app.clock = lambda: NOW + timedelta(days=1)
            add_posts(app, [post(50, "UNMIK", NOW + timedelta(hours=2))])
            send_digest(app, get_list(app.config, "kosovo"), NOW + timedelta(days=1))
    assert [m["To"] for m in inbox.messages[2:]] == ["bo@example.org"]


def test_get_only_shows_a_button_that_posts(tmp_path: Path) -> None:
    with _project(tmp_path) as app, running(app) as base:
        token = sign_token(KEY, "kosovo", "ana@example.org", NOW)
        status, body = _request(f"{base}/unsubscribe?token={token}")
        assert status == 200 and '<form method="post"' in body and "ana@example.org" in body
        assert _active(app) == ["ana@example.org", "bo@example.org"]
        status, body = _request(f"{base}/unsubscribe?token={token}", "POST", b"List-Unsubscribe=One-Click")
        assert status == 200 and _active(app) == ["bo@example.org"]


def test_forged_altered_and_expired_tokens_change_nothing(tmp_path: Path) -> None:
    with _project(tmp_path) as app, running(app) as base:
        good = sign_token(KEY, "kosovo", "ana@example.org", NOW)
        forged = sign_token(b"not-the-secret-key-at-all", "kosovo", "ana@example.org", NOW)
        _payload, mac = good.split(".")
        other = sign_token(KEY, "kosovo", "bo@example.org", NOW).split(".")[0]
        swapped = f"{other}.{mac}"
        expired = sign_token(KEY, "kosovo", "ana@example.org", NOW - timedelta(days=401))
        for token in (forged, swapped, expired, good[:-2], "", "garbage"):
            status, body = _request(f"{base}/unsubscribe?token={token}", "POST", b"List-Unsubscribe=One-Click")
            assert status == 400 and "not valid" in body
        assert _active(app) == ["ana@example.org", "bo@example.org"]


def test_unsubscribe_page_speaks_the_lists_language(tmp_path: Path) -> None:
    with _project(tmp_path) as app, running(app) as base:
        app.store.add_subscribers("liban-fr", ["lea@example.org"], NOW)
        token = sign_token(KEY, "liban-fr", "lea@example.org", NOW)
        status, body = _request(f"{base}/unsubscribe?token={token}", "POST", b"List-Unsubscribe=One-Click")
        assert status == 200 and "désabonné" in body and 'lang="fr"' in body
        assert app.store.subscribers("liban-fr") == []


@settings(max_examples=100, deadline=None)
@given(
    list_name=st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True),
    email=st.emails(),
    flip=st.integers(min_value=0, max_value=10_000),
)
def test_tokens_round_trip_and_any_changed_character_is_refused(list_name: str, email: str, flip: int) -> None:
    token = sign_token(KEY, list_name, email, NOW)
    assert verify_token(KEY, token, now=NOW, max_age_days=1) == (list_name, email.lower())
    i = flip % len(token)
    replacement = "A" if token[i] != "A" else "B"
    tampered = token[:i] + replacement + token[i + 1 :]
    found = verify_token(KEY, tampered, now=NOW, max_age_days=1)
    # base64 padding bits can make two spellings decode to the same bytes; anything else fails
    assert found is None or found == (list_name, email.lower())
    assert verify_token(b"another-key-entirely", token, now=NOW, max_age_days=1) is None


def test_composer_links_carry_a_token_for_that_recipient(tmp_path: Path) -> None:
    with _project(tmp_path) as app:
        dl = get_list(app.config, "kosovo")
        rendered = render_digest(dl, [], missions=app.config.missions, base_url="https://x.example/",
                                 site_title="t", window_start=NOW, window_end=NOW)
        url = Composer(app, dl, rendered, KEY, NOW, NOW).unsubscribe_url("bo@example.org")
        token = url.split("token=")[1]
        assert verify_token(KEY, token, now=NOW, max_age_days=1) == ("kosovo", "bo@example.org")
