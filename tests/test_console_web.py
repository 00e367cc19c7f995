"""The editors' console through the WSGI app of `aggregator serve` (issues 16 and 17):
roles per mission, the desk's filters, cursor and bulk actions, /status and /audit, the
__Host- cookie over HTTPS, the signed sign-in token, throttling behind a reverse proxy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aggregator.app import App, make_app
from aggregator.config import load_config
from aggregator.web import make_wsgi
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
    app.store.add_editor("admin", PASSWORD)
    app.store.add_editor("kos", PASSWORD, missions=["UNMIK"])
    posts = [(make_post(f"k{i:03}", text=f"Kosovo item {i:03}", minutes_ago=i), [rule_tag("UNMIK")])
             for i in range(120)]
    posts += [(make_post(f"s{i}", acronym="UNISFA", text=f"Abyei item {i}", minutes_ago=i),
               [rule_tag("UNISFA")]) for i in range(3)]
    posts.append((make_post("both", text="Kosovo and Abyei", minutes_ago=500),
                  [rule_tag("UNMIK"), rule_tag("UNISFA")]))
    save(app, *posts)
    wsgi = make_wsgi(app)
    return lambda *args, **kwargs: wsgi_call(wsgi, *args, **kwargs)


def _csrf(body: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', body)
    assert match, "no CSRF field in the form"
    return match.group(1)


def sign_in(call: Call, name: str, **kw: Any) -> tuple[dict[str, str], str]:
    _, headers, body = call("GET", "/moderation/sign-in", **kw)
    pre = set_cookies(headers)
    status, headers, _ = call("POST", "/moderation/sign-in", form={
        "csrf": _csrf(body), "name": name, "password": PASSWORD}, cookies=pre, **kw)
    assert status.startswith("303"), status
    cookies = {k: v for k, v in set_cookies(headers).items() if v}
    _, _, body = call("GET", "/moderation/", cookies=cookies, **kw)
    return cookies, _csrf(body)


def ids(body: str) -> list[str]:
    return re.findall(r'data-post-id="([^"]+)"', body)


def test_the_desk_filters_and_pages_by_cursor(call: Call) -> None:
    cookies, _ = sign_in(call, "kos")
    status, _, body = call("GET", "/moderation/?mission=UNMIK", cookies=cookies)
    assert status.startswith("200")
    first = ids(body)
    assert len(first) == 50 and first[0] == "k000" and first[-1] == "k049"
    nxt = re.search(r'href="([^"]+)" rel="next"', body)
    assert nxt
    _, _, body = call("GET", nxt.group(1).replace("&amp;", "&"), cookies=cookies)
    assert ids(body)[:2] == ["k050", "k051"] and len(ids(body)) == 50
    _, _, body = call("GET", "/moderation/?mission=UNISFA&q=Abyei", cookies=cookies)
    assert ids(body) == ["s0", "s1", "s2", "both"]
    _, _, body = call("GET", "/moderation/?q=%22item+007%22", cookies=cookies)
    assert ids(body) == ["k007"]
    _, _, body = call("GET", "/moderation/?state=hidden", cookies=cookies)
    assert ids(body) == []
    status, _, body = call("GET", "/moderation/?q=%22unclosed", cookies=cookies)
    assert status.startswith("400") and 'class="error"' in body


def test_an_editor_acts_on_their_missions_only(app: App, call: Call) -> None:
    cookies, csrf = sign_in(call, "kos")
    form = {"csrf": csrf, "post_id": "k010", "action": "hide", "note": "duplicate"}
    assert call("POST", "/moderation/act", form=form, cookies=cookies)[0].startswith("303")
    assert app.store.moderation_state("k010")["hidden"] == 1
    for post_id, action, mission in [("s1", "hide", ""), ("both", "pin", ""),
                                     ("k011", "add_mission", "UNISFA"), ("s1", "add_mission", "UNISFA")]:
        form = {"csrf": csrf, "post_id": post_id, "action": action, "note": "mine?", "mission": mission}
        status, _, body = call("POST", "/moderation/act", form=form, cookies=cookies)
        assert status.startswith("403"), (post_id, action)
        assert "kos edits UNMIK" in body or "does not edit" in body
    assert app.store.moderation_state("s1") == {} and app.store.moderation_state("both") == {}
    assert app.store.post_missions("k011") == {"UNMIK"}
    refused = app.store.audit_entries(editor="kos")
    assert [r["action"] for r in refused][:4] == [
        "refused_add_mission", "refused_add_mission", "refused_pin", "refused_hide"]
    # Adding their own mission to any post is theirs to do.
    form = {"csrf": csrf, "post_id": "s2", "action": "add_mission", "note": "Kosovo too", "mission": "UNMIK"}
    assert call("POST", "/moderation/act", form=form, cookies=cookies)[0].startswith("303")


def test_bulk_actions_apply_to_the_selection(app: App, call: Call) -> None:
    cookies, csrf = sign_in(call, "kos")
    form = [("csrf", csrf), ("action", "hide"), ("note", "spam wave"), ("back", "/moderation/?mission=UNMIK"),
            ("post_id", "k001"), ("post_id", "k002"), ("post_id", "s0")]
    status, _, body = call("POST", "/moderation/act", form=form, cookies=cookies)
    assert status.startswith("403") and "Done: 2 post(s) hidden" in body and "s0" in body
    assert app.store.moderation_state("k001")["hidden"] == 1
    assert app.store.moderation_state("k002")["hidden"] == 1
    assert app.store.moderation_state("s0") == {}
    admin, admin_csrf = sign_in(call, "admin")
    form = [("csrf", admin_csrf), ("action", "pin"), ("note", "top"), ("back", "//evil.example/"),
            ("post_id", "s0"), ("post_id", "both")]
    status, headers, _ = call("POST", "/moderation/act", form=form, cookies=admin)
    assert status.startswith("303") and headers["location"][0].startswith("/moderation/?done=pin")
    _, _, body = call("GET", "/moderation/?state=pinned", cookies=admin)
    assert sorted(ids(body)) == ["both", "s0"]


def test_status_and_audit_are_for_signed_in_users_only(app: App, call: Call) -> None:
    save(app, (make_post("secret", text="Zebra-secret hidden text"), [rule_tag("UNMIK")]))
    app.store.moderate("secret", "hide", editor="admin", note="leak")
    for path in ("/status", "/audit", "/audit?post=secret", "/moderation/?state=hidden"):
        status, _, body = call("GET", path)
        assert status.startswith(("303", "404")), path
        assert "Zebra-secret" not in body and "leak" not in body
    cookies, _ = sign_in(call, "admin")
    status, _, body = call("GET", "/status", cookies=cookies)
    assert status.startswith("200") and "Sources and collection" in body
    status, _, body = call("GET", "/audit?action=hide", cookies=cookies)
    assert status.startswith("200") and "leak" in body and "Zebra-secret" not in body
    _, _, body = call("GET", "/audit?lang=fr", cookies=cookies)
    assert "Qui a fait quoi" in body and 'lang="fr"' in body


def test_the_console_speaks_french(call: Call) -> None:
    _, _, body = call("GET", "/moderation/sign-in", headers={"Accept-Language": "fr-CH, en;q=0.5"})
    assert "Se connecter" in body and '<html lang="fr">' in body
    cookies, _ = sign_in(call, "kos")
    _, _, body = call("GET", "/moderation/?lang=fr", cookies=cookies)
    assert "Bureau de modération" in body and "Masquer" in body and "édition de UNMIK" in body


def test_only_the_host_cookie_counts_over_https(call: Call) -> None:
    cookies, _ = sign_in(call, "kos", scheme="https")
    assert set(cookies) >= {"__Host-agg_editor"}
    assert call("GET", "/moderation/", cookies=cookies, scheme="https")[0].startswith("200")
    # The same token under the plain name (as a cookie planted over http would be) is ignored.
    planted = {"agg_editor": cookies["__Host-agg_editor"]}
    assert call("GET", "/moderation/", cookies=planted, scheme="https")[0].startswith("303")


def test_a_planted_sign_in_cookie_cannot_force_a_sign_in(call: Call) -> None:
    # Double-submit of a value the attacker chose: refused, the token is signed.
    form = {"csrf": "attacker", "name": "kos", "password": PASSWORD}
    assert call("POST", "/moderation/sign-in", form=form, cookies={"agg_signin": "attacker"})[0].startswith("403")
    # A real pair fetched by the attacker from their own address fails from the victim's.
    _, headers, body = call("GET", "/moderation/sign-in", address="203.0.113.66")
    pair = set_cookies(headers)
    form = {"csrf": _csrf(body), "name": "kos", "password": PASSWORD}
    assert call("POST", "/moderation/sign-in", form=form, cookies=pair, address="198.51.100.7")[0].startswith("403")
    # ... and a cross-site POST is refused even with a good pair.
    status, _, _ = call("POST", "/moderation/sign-in", form=form, cookies=pair, address="203.0.113.66",
                        headers={"Origin": "https://evil.example"})
    assert status.startswith("403")
    assert call("POST", "/moderation/sign-in", form=form, cookies=pair, address="203.0.113.66")[0].startswith("303")


def test_behind_a_proxy_one_guesser_does_not_lock_out_every_editor(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    with config.open("a", encoding="utf-8") as fh:
        fh.write("serve:\n  trusted_proxies: [127.0.0.1]\n")
    with make_app(load_config(config), clock=Clock(), env={}) as app:
        app.store.add_editor("kos", PASSWORD, missions=["UNMIK"])
        app.store.add_editor("ana", PASSWORD, missions=["UNMIK"])
        wsgi = make_wsgi(app)

        def call(*args: Any, client: str, **kw: Any) -> tuple[str, dict[str, list[str]], str]:
            return wsgi_call(wsgi, *args, headers={"X-Forwarded-For": f"6.6.6.6, {client}"}, **kw)

        for _ in range(6):
            _, headers, body = call("GET", "/moderation/sign-in", client="192.0.2.9")
            form = {"csrf": _csrf(body), "name": "kos", "password": "guess"}
            call("POST", "/moderation/sign-in", form=form, cookies=set_cookies(headers), client="192.0.2.9")
        failures = app.store.db.execute("SELECT DISTINCT address FROM signin_failures").fetchall()
        assert failures == [("192.0.2.9",)]  # the client, not the proxy nor a forged hop
        _, headers, body = call("GET", "/moderation/sign-in", client="192.0.2.20")
        form = {"csrf": _csrf(body), "name": "ana", "password": PASSWORD}
        status, _, _ = call("POST", "/moderation/sign-in", form=form, cookies=set_cookies(headers),
                            client="192.0.2.20")
        assert status.startswith("303")


def test_an_untrusted_forwarded_for_is_ignored() -> None:
    from aggregator.web.console.auth import client_address

    environ = {"REMOTE_ADDR": "198.51.100.1", "HTTP_X_FORWARDED_FOR": "10.0.0.1"}
    assert client_address(environ, ()) == "198.51.100.1"
    assert client_address(environ, ("192.0.2.0/24",)) == "198.51.100.1"
    environ = {"REMOTE_ADDR": "192.0.2.5", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 10.0.0.1, 192.0.2.7"}
    assert client_address(environ, ("192.0.2.0/24",)) == "10.0.0.1"
    assert client_address({**environ, "HTTP_X_FORWARDED_FOR": "garbage"}, ("192.0.2.0/24",)) == "192.0.2.5"


def test_a_known_browser_still_signs_in_and_the_editor_is_told(app: App, call: Call, clock: Clock) -> None:
    cookies, _ = sign_in(call, "kos", address="192.0.2.1")
    known = {k: v for k, v in cookies.items() if "agg_known" in k}
    assert known
    for _ in range(8):  # someone else guesses kos's password from elsewhere
        clock.advance(1)
        _, headers, body = call("GET", "/moderation/sign-in", address="203.0.113.9")
        form = {"csrf": _csrf(body), "name": "kos", "password": "guess"}
        call("POST", "/moderation/sign-in", form=form, cookies=set_cookies(headers), address="203.0.113.9")
    _, headers, body = call("GET", "/moderation/sign-in", address="192.0.2.50")
    form = {"csrf": _csrf(body), "name": "kos", "password": PASSWORD}
    pre = set_cookies(headers)
    assert call("POST", "/moderation/sign-in", form=form, cookies=pre, address="192.0.2.50")[0].startswith("429")
    status, headers, _ = call("POST", "/moderation/sign-in", form=form, cookies={**pre, **known},
                              address="192.0.2.50")
    assert status.startswith("303")
    session = {k: v for k, v in set_cookies(headers).items() if v}
    _, _, body = call("GET", "/moderation/", cookies=session, address="192.0.2.50")
    # Five failures counted; the next three waited (429) without a password check.
    assert "5 failed sign-in(s) on your account" in body and "203.0.113.9" in body


def test_the_permalink_page_carries_the_actions_for_a_signed_in_editor(app: App, call: Call) -> None:
    status, _, body = call("GET", "/post/k003")
    assert status.startswith("200") and "/moderation/act" not in body
    cookies, _ = sign_in(call, "kos")
    _, _, body = call("GET", "/post/k003", cookies=cookies)
    assert 'action="/moderation/act"' in body
    assert 'name="back" value="/post/k003"' in body
    form = {"csrf": _csrf(body), "post_id": "k003", "action": "pin", "note": "lead story",
            "back": "/post/k003"}
    status, headers, _ = call("POST", "/moderation/act", form=form, cookies=cookies)
    assert status.startswith("303") and headers["location"] == ["/post/k003?done=pin&n=1"]
    assert app.store.moderation_state("k003")["pinned"] == 1
    _, _, body = call("GET", headers["location"][0], cookies=cookies)
    assert "Done: 1 post(s) pinned" in body and ">Unpin<" in body
    _, _, body = call("GET", "/post/s0", cookies=cookies)
    form = {"csrf": _csrf(body), "post_id": "s0", "action": "hide", "note": "not mine", "back": "/post/s0"}
    status, _, body = call("POST", "/moderation/act", form=form, cookies=cookies)
    assert status.startswith("403") and "which kos does not edit (UNMIK only)" in body
