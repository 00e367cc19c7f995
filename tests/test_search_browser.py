"""Headless Chromium against `aggregator serve`: search, apply a mission facet, download CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.app import make_app
from aggregator.config import load_config
from tests.browser import axe_violations, open_browser, serve_app
from tests.test_search_support import NOW, build, write_project


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    config = write_project(tmp_path / "site")
    build(config)
    with make_app(load_config(config), clock=lambda: NOW, env={}) as app, serve_app(app) as url:
        yield url


@pytest.mark.browser
def test_search_facet_and_csv_download(chromium_path: str, server: str, tmp_path: Path) -> None:
    # bypass_csp lets the test inject axe-core; the pages themselves allow no script at all.
    with open_browser(chromium_path, tmp_path, accept_downloads=True, bypass_csp=True) as browser:
        page = browser.new_page()
        page.goto(f"{server}/search")
        page.get_by_label("Words, \"phrases\"").fill("abyei")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url("**/search?q=abyei*")
        assert page.locator("li.hit").count() == 3
        assert page.locator("li.hit mark").first.inner_text().lower().startswith("aby")
        assert axe_violations(page) == []

        page.get_by_role("complementary", name="Refine").get_by_role("link", name="UNMISS", exact=True).click()
        page.wait_for_url("**mission%3AUNMISS*")
        hits = page.locator("li.hit h2 a")
        assert hits.count() == 1
        assert hits.first.get_attribute("href") == "/post/unmiss-abyei-x"
        assert page.get_by_role("status").inner_text().startswith("1 post matches")

        with page.expect_download() as info:
            page.get_by_role("link", name="CSV").click()
        target = tmp_path / "download.csv"
        info.value.save_as(target)
        with target.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [r["id"] for r in rows] == ["unmiss-abyei-x"]
        assert rows[0]["missions"] == "UNISFA UNMISS"

        hits.first.click()
        page.wait_for_url("**/post/unmiss-abyei-x")
        assert "Peacekeepers patrol near Abyei" in page.locator("article").inner_text()
        assert axe_violations(page) == []
        assert not browser.external_requests
        assert not browser.console_errors
