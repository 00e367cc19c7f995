"""The moderation page in headless Chromium: sign in, hide, re-collect, pin, move, sign out.

The WSGI app of `aggregator serve` runs on a free loopback port in a thread; every step is
checked in the archive and in the audit log, and the pages pass axe-core (no serious or
critical violations).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.app import App
from tests.browser import axe_violations, open_browser, serve_app
from tests.test_moderation_support import (  # noqa: F401 (fixtures)
    app_fixture,
    clock_fixture,
    make_post,
    project_fixture,
    rule_tag,
    save,
)

PASSWORD = "correct horse battery"


@pytest.fixture(name="base_url")
def base_url_fixture(app: App) -> Iterator[str]:
    with serve_app(app) as url:
        yield url


def _axe(page: Any) -> None:
    bad = axe_violations(page)
    assert not bad, bad


def _act(page: Any, post_id: str, action: str, note: str, mission: str | None = None) -> None:
    card = page.locator(f'li.row[data-post-id="{post_id}"]')
    card.get_by_label("Note (why)").fill(note)
    if mission:
        card.get_by_label("Mission", exact=True).select_option(mission)
    card.locator(f'button[value="{action}"]').click()
    page.wait_for_load_state()


@pytest.mark.browser
def test_moderation_page_lifecycle(app: App, base_url: str, chromium_path: str, tmp_path: Path) -> None:
    app.store.add_editor("ana", PASSWORD)
    posts = [
        (make_post("p1", text="Zebra-word report from Kosovo"), [rule_tag("UNMIK")]),
        (make_post("p2", text="Mandate renewal for UNMIK", minutes_ago=300), [rule_tag("UNMIK")]),
        (make_post("p3", text="Kosovo and Abyei compared", minutes_ago=5),
         [rule_tag("UNMIK"), rule_tag("UNISFA", "Abyei")]),
    ]
    save(app, *posts)

    # bypass_csp lets the test inject axe-core; the page itself allows no script at all.
    with open_browser(chromium_path, tmp_path, bypass_csp=True) as browser:
        page = browser.new_page()
        page.goto(f"{base_url}/moderation/")
        assert page.url.endswith("/moderation/sign-in")
        _axe(page)

        page.get_by_label("Editor name").fill("ana")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        assert "Wrong editor name or password" in page.content()

        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base_url}/moderation/?lang=en")
        cookie = next(c for c in browser.context.cookies() if c["name"] == "agg_editor")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert "Zebra-word report" in page.content()
        _axe(page)

        _act(page, "p1", "hide", "off topic")
        assert "Done: 1 post(s) hidden" in page.content()
        assert app.store.moderation_state("p1")["hidden"] == 1

        # Re-collect the same posts: the editor's decisions stay.
        save(app, *posts)
        page.reload()
        card = page.locator('li.row[data-post-id="p1"]')
        assert "Hidden" in card.inner_text() and "off topic" in card.inner_text()
        assert "p1" not in {r["id"] for r in app.store.visible_posts("UNMIK")}

        _act(page, "p2", "pin", "renewal matters")
        _act(page, "p3", "remove_mission", "Abyei is a comparison", mission="UNISFA")
        assert app.store.visible_posts("UNMIK")[0]["id"] == "p2"
        assert [t.mission for t in app.store.tags_of("p3")] == ["UNMIK"]

        # The queue per mission: UNISFA has no posts left.
        page.get_by_label("Mission", exact=True).first.select_option("UNISFA")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_load_state()
        assert "No post matches these filters" in page.content()

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{base_url}/moderation/sign-in")
        # Replaying the old cookie does not sign back in.
        browser.context.add_cookies([cookie])
        page.goto(f"{base_url}/moderation/")
        assert page.url.endswith("/moderation/sign-in")
        assert not browser.external_requests
        # The one expected error: the wrong password's 401 response.
        assert [e for e in browser.console_errors if "401" not in e] == []

    log = [(r["editor"], r["action"], r["post_id"], r["note"]) for r in reversed(app.store.audit_log())]
    assert [entry for entry in log if entry[2]] == [
        ("ana", "hide", "p1", "off topic"),
        ("ana", "pin", "p2", "renewal matters"),
        ("ana", "remove_mission", "p3", "Abyei is a comparison"),
    ]
