"""The trends chart and the month histogram in headless Chromium at 375 and 1280 px (#19):
every label on screen, inside the chart, apart from the others and at a readable size."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from aggregator.app import App
from tests.browser import axe_violations, open_browser, serve_app
from tests.test_moderation_support import (  # noqa: F401 (fixtures)
    app_fixture,
    clock_fixture,
    project_fixture,
)
from tests.test_trends import _archive

# Boxes of the chart and of each label the stylesheet shows, in CSS pixels.
MEASURE = """(figure) => {
  const svg = figure.querySelector('svg.chart');
  const box = (e) => { const r = e.getBoundingClientRect(); return {l: r.left, r: r.right, t: r.top, b: r.bottom}; };
  const shown = (e) => getComputedStyle(e).display !== 'none';
  const labels = [...svg.querySelectorAll('text')].filter(shown);
  return {svg: box(svg), bars: svg.querySelectorAll('rect').length,
          x: labels.filter(e => e.classList.contains('xlab')).map(box),
          y: labels.filter(e => e.classList.contains('ylab')).map(box),
          text: labels.map(e => e.textContent),
          sizes: labels.map(e => parseFloat(getComputedStyle(e).fontSize)),
          page: document.documentElement.scrollWidth, view: window.innerWidth};
}"""


def _check(m: dict[str, Any], what: str) -> None:
    svg = m["svg"]
    assert m["page"] <= m["view"], f"{what}: the page scrolls sideways"
    assert m["x"] and m["y"], f"{what}: no axis labels"
    assert min(m["sizes"]) >= 11, f"{what}: labels under 11 px: {m['sizes']}"
    for b in m["x"] + m["y"]:
        assert svg["l"] - 0.5 <= b["l"] and b["r"] <= svg["r"] + 0.5, f"{what}: a label leaves the chart {b} {svg}"
    xs = sorted(m["x"], key=lambda b: b["l"])
    for a, b in pairwise(xs):
        assert a["r"] <= b["l"], f"{what}: month labels overlap: {m['text']}"
    ys = sorted(m["y"], key=lambda b: b["t"])
    for a, b in pairwise(ys):
        assert a["b"] <= b["t"], f"{what}: scale labels overlap"


@pytest.mark.browser
@pytest.mark.parametrize("width", [375, 1280])
def test_trends_and_histogram_are_readable(app: App, chromium_path: str, tmp_path: Path, width: int) -> None:
    _archive(app)
    with serve_app(app) as url, open_browser(chromium_path, tmp_path, bypass_csp=True,
                                             viewport={"width": width, "height": 900}) as b:
        page = b.new_page()
        page.goto(f"{url}/search?q=mission%3AUNISFA")
        trends = page.locator("section.trends figure")
        assert trends.is_visible()
        chart = trends.evaluate(MEASURE)
        assert chart["bars"] == 52
        _check(chart, f"trends at {width}px")
        assert page.get_by_role("cell", name="cholera outbreak", exact=True).is_visible()
        _check(page.locator("figure.histogram").evaluate(MEASURE), f"histogram, many months, {width}px")
        assert axe_violations(page) == []

        page.goto(f"{url}/search?q=Rumajak")  # one post: one month
        one = page.locator("figure.histogram").evaluate(MEASURE)
        assert one["bars"] == 1 and "Nov2026" in one["text"]  # "Nov", and the year below it
        _check(one, f"histogram, one month, {width}px")
        assert not b.external_requests
        assert not b.console_errors
