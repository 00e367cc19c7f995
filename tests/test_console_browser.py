"""The editors' console in headless Chromium (issue 17, "What it must show").

An UNMIK editor signs in, filters the desk to UNMIK, pages to the second page, hides a post
and sees it gone from the public mission page; hiding a UNMISS post is refused (403, nothing
changed, audited); an admin then sees both in /audit. axe-core finds no serious or critical
violation at 375 px and 1280 px.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.app import App, make_app
from aggregator.config import load_config
from aggregator.render import render_site
from tests.browser import axe_violations, open_browser, serve_app
from tests.projects import feed, write_mission
from tests.test_moderation_support import Clock, make_post, rule_tag, save, write_project

PASSWORD = "correct horse battery"
WIDTHS = (375, 1280)


@pytest.fixture(name="app")
def app_fixture(tmp_path: Path) -> Iterator[App]:
    config = write_project(tmp_path / "project")
    write_mission(config.parent / "feeds", "UNMISS", name="United Nations Mission in South Sudan",
                  country="South Sudan", established=2011, hosts=["unmiss.unmissions.org"],
                  sources=[feed("https://unmiss.unmissions.org/rss.xml", "UNMISS news")])
    with config.open("a", encoding="utf-8") as fh:
        fh.write("page_posts: 100\n")
    with make_app(load_config(config), clock=Clock(), env={}) as built:
        yield built


def _axe_at_both_widths(page: Any) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        bad = axe_violations(page)
        assert not bad, (width, page.url, bad)
    page.set_viewport_size({"width": 1280, "height": 900})


def _public(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
        return str(response.read().decode("utf-8"))


@pytest.mark.browser
def test_an_unmik_editor_at_the_desk(app: App, chromium_path: str, tmp_path: Path) -> None:
    app.store.add_editor("chief", PASSWORD)
    app.store.add_editor("kos", PASSWORD, missions=["UNMIK"])
    posts = [(make_post(f"k{i:02}", text=f"Kosovo report number {i:02}", minutes_ago=i),
              [rule_tag("UNMIK")]) for i in range(70)]
    posts += [(make_post(f"s{i}", acronym="UNISFA", text=f"Abyei report {i}", minutes_ago=i),
               [rule_tag("UNISFA")]) for i in range(3)]
    south = make_post("ss1", text="Juba market reopens", minutes_ago=2,
                      source="feed:https://unmiss.unmissions.org/rss.xml",
                      url="https://unmiss.unmissions.org/news/ss1")
    posts.append((south, [rule_tag("UNMISS")]))
    save(app, *posts)
    render_site(app)

    with serve_app(app) as base, open_browser(chromium_path, tmp_path, bypass_csp=True) as browser:
        assert "Kosovo report number 55" in _public(f"{base}/missions/unmik/index.html")
        page = browser.new_page()
        page.goto(f"{base}/moderation/")
        assert page.url.endswith("/moderation/sign-in")
        _axe_at_both_widths(page)
        page.get_by_label("Editor name").fill("kos")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        assert page.url.endswith("/moderation/?lang=en"), page.content()

        # Filter to UNMIK with the keyboard-usable form, then page to the second page.
        page.get_by_label("Mission", exact=True).first.select_option("UNMIK")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_load_state()
        rows = page.locator("li.row")
        assert rows.count() == 50
        assert rows.first.get_attribute("data-post-id") == "k00"
        _axe_at_both_widths(page)
        page.get_by_role("link", name="Older posts").click()
        page.wait_for_load_state()
        assert page.locator("li.row").first.get_attribute("data-post-id") == "k50"
        assert "mission=UNMIK" in page.url and "cursor=" in page.url

        row = page.locator('li.row[data-post-id="k55"]')
        row.get_by_label("Note (why)").fill("duplicate of k54")
        row.get_by_role("button", name="Hide").click()
        page.wait_for_load_state()
        assert "Done: 1 post(s) hidden" in page.content()
        assert "cursor=" in page.url  # back on the page the editor was on
        assert app.store.moderation_state("k55")["hidden"] == 1
        public = _public(f"{base}/missions/unmik/index.html")
        assert "Kosovo report number 55" not in public and "Kosovo report number 54" in public

        # A post of a mission that is not theirs: refused, nothing changed, audited.
        page.goto(f"{base}/moderation/?mission=UNMISS")
        row = page.locator('li.row[data-post-id="ss1"]')
        row.get_by_label("Note (why)").fill("trying")
        with page.expect_response(lambda r: r.url.endswith("/moderation/act")) as answer:
            row.get_by_role("button", name="Hide").click()
        assert answer.value.status == 403
        assert "kos does not edit" in page.content() or "kos edits UNMIK only" in page.content()
        assert app.store.moderation_state("ss1") == {}
        assert "Juba market reopens" in _public(f"{base}/missions/unmiss/index.html")
        _axe_at_both_widths(page)

        page.goto(f"{base}/moderation/")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/moderation/sign-in")
        page.get_by_label("Editor name").fill("chief")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/moderation/?lang=en")
        page.goto(f"{base}/audit?editor=kos")
        entries = page.locator("tbody tr")
        actions = [entries.nth(i).get_attribute("data-action") for i in range(entries.count())]
        assert [a for a in actions if a not in ("sign_in", "sign_out")] == ["refused_hide", "hide"]
        text = page.locator("tbody").inner_text()
        assert "duplicate of k54" in text and "ss1" in text and "k55" in text
        _axe_at_both_widths(page)
        page.goto(f"{base}/status")
        assert "Sources and collection" in page.content()
        _axe_at_both_widths(page)
        assert not browser.external_requests
