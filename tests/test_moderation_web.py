"""The moderation page's access rules, through the real WSGI app of `aggregator serve`.

Anonymous requests are refused; a forged CSRF token, a wrong password and a replayed
sign-out cookie change nothing; the sixth failed sign-in in a minute gets 429.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aggregator.app import App, make_app
from aggregator.config import load_config
from aggregator.web import Request, make_wsgi
from aggregator.web.moderation import current_editor
from tests.test_moderation_support import (  # noqa: F401 (fixtures)
    Clock,
    app_fixture,
    clock_fixture,
    make_post,
    project_fixture,
    rule_tag,
    save,
    set_cookies,
    write_project,
    wsgi_call,
)

PASSWORD = "correct horse battery"

Call = Callable[..., tuple[str, dict[str, list[str]], str]]


@pytest.fixture(name="call")
def call_fixture(app: App) -> Call:
    app.store.add_editor("ana", PASSWORD)
    save(app, (make_post("p1", text="A Kosovo post"), [rule_tag("UNMIK")]))
    wsgi = make_wsgi(app)
    return lambda *args, **kwargs: wsgi_call(wsgi, *args, **kwargs)


def _csrf(body: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', body)
    assert match, "no CSRF field in the form"
    return match.group(1)


def sign_in(call: Call, name: str = "ana", password: str = PASSWORD, **kw: Any) -> tuple[str, dict[str, list[str]], str]:
    _, headers, body = call("GET", "/moderation/sign-in", **kw)
    pre = set_cookies(headers)
    form = {"csrf": _csrf(body), "name": name, "password": password}
    return call("POST", "/moderation/sign-in", form=form, cookies=pre, **kw)


def signed_in(call: Call) -> tuple[dict[str, str], str]:
    status, headers, _ = sign_in(call)
    assert status.startswith("303"), status
    cookies = {k: v for k, v in set_cookies(headers).items() if v}
    _, _, body = call("GET", "/moderation/", cookies=cookies)
    return cookies, _csrf(body)


def test_off_unless_an_editor_exists(app: App) -> None:
    wsgi = make_wsgi(app)
    for method, path in [("GET", "/moderation/"), ("GET", "/moderation/sign-in"), ("POST", "/moderation/act")]:
        status, _, _ = wsgi_call(wsgi, method, path, form={} if method == "POST" else None)
        assert status.startswith("404"), (method, path, status)


def test_anonymous_requests_are_refused(app: App, call: Call) -> None:
    status, headers, body = call("GET", "/moderation/")
    assert status.startswith("303") and headers["location"] == ["/moderation/sign-in"]
    assert "A Kosovo post" not in body
    status, _, _ = call("POST", "/moderation/act", form={"post_id": "p1", "action": "hide", "note": "x", "csrf": "x"})
    assert status.startswith("403")
    status, _, _ = call("POST", "/moderation/sign-out", form={"csrf": "x"})
    assert status.startswith("303")
    assert app.store.moderation_state("p1") == {}
    assert app.store.audit_log("p1") == []


def test_signed_in_editor_sees_the_queue_and_can_hide(app: App, call: Call) -> None:
    cookies, csrf = signed_in(call)
    status, headers, body = call("GET", "/moderation/?mission=UNMIK", cookies=cookies)
    assert status.startswith("200")
    assert "A Kosovo post" in body and "Signed in as <strong>ana</strong>" in body
    # Why the post is there, in the words the public pages use.
    assert re.search(r"<strong>UNMIK</strong>: tagged because it (names|uses the hashtag|comes from)", body)
    assert headers["cache-control"] == ["no-store, private"]
    form = {"csrf": csrf, "post_id": "p1", "action": "hide", "note": "off topic", "mission": "UNMIK"}
    status, headers, _ = call("POST", "/moderation/act", form=form, cookies=cookies)
    assert status.startswith("303")
    assert app.store.moderation_state("p1")["hidden"] == 1
    assert app.store.audit_log("p1")[0]["editor"] == "ana"
    assert app.store.audit_log("p1")[0]["mission"] is None


def test_session_cookie_flags(app: App, call: Call) -> None:
    status, headers, _ = sign_in(call)
    assert status.startswith("303")
    session = next(h for h in headers["set-cookie"] if h.startswith("agg_editor="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/" in session
    assert "Secure" not in session  # plain-http loopback
    _, headers, _ = sign_in(call, scheme="https")
    secure = next(h for h in headers["set-cookie"] if h.startswith("__Host-agg_editor="))
    assert "Secure" in secure and "HttpOnly" in secure and "SameSite=Strict" in secure


def test_secure_cookie_when_base_url_is_https(tmp_path: Path) -> None:
    config = load_config(write_project(tmp_path, base_url="https://feeds.example.org/"))
    with make_app(config, clock=Clock(), env={}) as app:
        app.store.add_editor("ana", PASSWORD)
        wsgi = make_wsgi(app)
        status, headers, _ = sign_in(lambda *a, **k: wsgi_call(wsgi, *a, **k))
        assert status.startswith("303")
        assert any(h.startswith("__Host-agg_editor=") and "Secure" in h for h in headers["set-cookie"])


def test_forged_csrf_token_changes_nothing(app: App, call: Call) -> None:
    cookies, csrf = signed_in(call)
    for forged in ["", "x" * len(csrf), csrf[:-1]]:
        form = {"csrf": forged, "post_id": "p1", "action": "hide", "note": "forged"}
        status, _, _ = call("POST", "/moderation/act", form=form, cookies=cookies)
        assert status.startswith("403"), forged
    assert app.store.moderation_state("p1") == {}
    assert app.store.audit_log("p1") == []
    # Another editor's session token does not carry over either.
    app.store.add_editor("bob", PASSWORD + "!")
    other = app.store.create_session("bob", hours=1)
    form = {"csrf": other.csrf_token, "post_id": "p1", "action": "hide", "note": "x"}
    assert call("POST", "/moderation/act", form=form, cookies=cookies)[0].startswith("403")
    assert app.store.moderation_state("p1") == {}


def test_sign_in_form_needs_its_own_token(call: Call) -> None:
    form = {"csrf": "made-up", "name": "ana", "password": PASSWORD}
    status, headers, _ = call("POST", "/moderation/sign-in", form=form, cookies={"agg_signin": "other"})
    assert status.startswith("403")
    assert "agg_editor" not in set_cookies(headers)


def test_wrong_password_changes_nothing(app: App, call: Call) -> None:
    status, headers, body = sign_in(call, password="wrong password")
    assert status.startswith("401")
    assert "Wrong editor name or password" in body
    assert not any(k.endswith("agg_editor") for k in set_cookies(headers))
    status, _, _ = sign_in(call, name="nobody", password=PASSWORD)
    assert status.startswith("401")
    counted = app.store.db.execute("SELECT name FROM signin_failures").fetchall()
    assert sorted(r[0] for r in counted) == ["ana", "nobody"]


def test_replayed_cookie_after_sign_out_is_refused(app: App, call: Call) -> None:
    cookies, csrf = signed_in(call)
    status, headers, _ = call("POST", "/moderation/sign-out", form={"csrf": csrf}, cookies=cookies)
    assert status.startswith("303")
    assert set_cookies(headers)["agg_editor"] == ""
    # Replaying the old cookie: no queue, no action.
    status, _, body = call("GET", "/moderation/", cookies=cookies)
    assert status.startswith("303") and "A Kosovo post" not in body
    form = {"csrf": csrf, "post_id": "p1", "action": "hide", "note": "replay"}
    assert call("POST", "/moderation/act", form=form, cookies=cookies)[0].startswith("403")
    assert app.store.moderation_state("p1") == {}
    # Signing in and out are in the audit log, with who.
    log = [(r["editor"], r["action"]) for r in reversed(app.store.audit_log()) if r["action"].startswith("sign")]
    assert log == [("ana", "sign_in"), ("ana", "sign_out")]


def test_removed_editor_is_signed_out(app: App, call: Call) -> None:
    cookies, csrf = signed_in(call)
    app.store.add_editor("bob", PASSWORD)  # keep the page on
    app.store.remove_editor("ana")
    form = {"csrf": csrf, "post_id": "p1", "action": "hide", "note": "x"}
    assert call("POST", "/moderation/act", form=form, cookies=cookies)[0].startswith("403")


def test_failed_sign_ins_make_a_growing_delay_never_a_lock(app: App, call: Call, clock: Clock) -> None:
    for _ in range(5):
        assert sign_in(call, password="guess")[0].startswith("401")
        clock.advance(5)
    # The sixth try comes 5 s after the fifth failure: 30 s - 5 s to wait.
    status, headers, body = sign_in(call, password="guess")
    assert status.startswith("429") and headers["retry-after"] == ["25"]
    assert "Try again in 25 seconds" in body
    # Even the right password is refused while the delay holds, from another address too.
    assert sign_in(call)[0].startswith("429")
    assert sign_in(call, address="10.0.0.7")[0].startswith("429")
    clock.advance(25)
    assert sign_in(call, password="guess")[0].startswith("401")  # sixth failure: 60 s now
    assert sign_in(call)[0].startswith("429")
    clock.advance(59)
    assert sign_in(call)[0].startswith("429")
    clock.advance(1)
    assert sign_in(call)[0].startswith("303")
    # The start of the throttling is in the audit log, for the editor and the admins.
    assert [r["editor"] for r in app.store.audit_entries(action="signin_throttled")] == ["ana"]


def test_the_delay_is_capped(app: App, call: Call, clock: Clock) -> None:
    for _ in range(12):  # 30 s doubling would reach 64 min; the cap is 15 min
        clock.advance(3600)
        sign_in(call, password="guess")
    status, headers, _ = sign_in(call)
    assert status.startswith("429") and headers["retry-after"] == ["900"]
    clock.advance(900)
    assert sign_in(call)[0].startswith("303")


def test_failures_from_one_address_across_names_are_limited(call: Call) -> None:
    for i in range(5):
        assert sign_in(call, name=f"user{i}", password="guess", address="10.0.0.9")[0].startswith("401")
    status, _, body = sign_in(call, name="ana", address="10.0.0.9")
    assert status.startswith("429") and "from your address" in body
    assert sign_in(call, name="ana", address="10.0.0.10")[0].startswith("303")


def test_expired_session_is_refused(app: App, call: Call, clock: Clock) -> None:
    cookies, _ = signed_in(call)
    clock.advance(13 * 3600)
    assert call("GET", "/moderation/", cookies=cookies)[0].startswith("303")


def test_current_editor(app: App, call: Call) -> None:
    cookies, _ = signed_in(call)

    def request(cookie: str) -> Request:
        return Request({"HTTP_COOKIE": cookie}, "GET", "/search", {})

    assert current_editor(app, request("; ".join(f"{k}={v}" for k, v in cookies.items()))) == "ana"
    assert current_editor(app, request("agg_editor=forged")) is None
    assert current_editor(app, request("")) is None


def test_moving_a_post_needs_a_chosen_mission(app: App, call: Call) -> None:
    cookies, csrf = signed_in(call)
    form = {"csrf": csrf, "post_id": "p1", "action": "remove_mission", "note": "x", "mission": ""}
    status, _, body = call("POST", "/moderation/act", form=form, cookies=cookies)
    assert status.startswith("400") and "needs a mission" in body
    form["mission"] = "MINUXX"
    status, _, body = call("POST", "/moderation/act", form=form, cookies=cookies)
    assert status.startswith("400") and "unknown mission" in body
    assert app.store.tag_decisions("p1") == []
    assert app.store.audit_log("p1") == []
