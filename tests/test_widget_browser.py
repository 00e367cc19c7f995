"""The widget embedded by its snippet in a loopback host page, in headless Chromium.

The widget is served from one loopback origin and the host page from another, as on a
real mission site. Screenshots go to test-artifacts/widget/.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from aggregator.models import Media
from aggregator.render import render_site
from tests.browser import Browser, axe_violations, open_browser, serve_directory
from tests.conftest import ROOT
from tests.test_render_support import make_post, make_test_app, pin, save

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts" / "widget"

HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>UNMIK mission site</title></head>
<body><main><h1>UNMIK</h1><p id="before">Host page content stays untouched.</p>
{placeholders}
<p id="after">More host content.</p></main>
<script>
window.__mutations = [];
window.__globals = Object.keys(window);
new MutationObserver(function (records) {{
  records.forEach(function (r) {{
    var el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    // the parser still appends the loader's <script> and trailing whitespace: not the loader's doing
    if (r.type === 'characterData' && !r.target.data.trim()) return;
    var added = Array.prototype.slice.call(r.addedNodes).filter(function (n) {{
      return n.nodeName !== 'SCRIPT' && !(n.nodeType === 3 && !n.data.trim()); }});
    if (r.type === 'childList' && added.length === 0 && r.removedNodes.length === 0) return;
    window.__mutations.push(el.closest('[data-aggregator-mission]') ? 'inside' : el.nodeName + ':' + r.type);
  }});
}}).observe(document.documentElement, {{subtree: true, childList: true, attributes: true, characterData: true}});
</script>
{snippet_script}
</body></html>
"""


@dataclass
class Served:
    site: str  # the widget's origin (base_url)
    host: str  # the host page's origin
    host_dir: Path


def _image(path: Path, color: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (600, 300), color).save(path, format="WEBP")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    out = tmp_path / "output"
    out.mkdir()
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    with ExitStack() as stack:
        site = stack.enter_context(serve_directory(out, "127.0.0.1"))
        host = stack.enter_context(serve_directory(host_dir, "localhost"))
        app = make_test_app(tmp_path, base_url=site + "/")
        posts = [make_post(i, text=("A long post about the mission in Pristina and Mitrovica. " * 4) + "#UNMIK")
                 for i in range(1, 8)]
        posts.append(make_post(8, retweet=True, text="Reposted: #UNMIK marks a milestone"))
        posts.append(make_post(9, language="ar", text="بعثة الأمم المتحدة في كوسوفو #UNMIK",
                               minutes_ago=3 * 365 * 24 * 60))  # three years old
        posts.append(make_post(10, media=[Media(url="https://cdn.example.org/p.jpg", alt="Patrol in Mitrovica",
                                                local_path="media/aa/patrol.webp", width=600, height=300)]))
        _image(out / "media/aa/patrol.webp", (30, 90, 160))
        save(app, posts)
        pin(app, "p0006")
        render_site(app)
        yield Served(site, host, host_dir)


def _host_page(served: Served, name: str, *placeholders: dict[str, str]) -> str:
    divs = "\n".join(
        "<div " + " ".join(f'{k}="{v}"' for k, v in attrs.items()) + "></div>" for attrs in placeholders
    )
    snippet = f'<script async src="{served.site}/widget/embed.js"></script>'
    (served.host_dir / name).write_text(HOST_PAGE.format(placeholders=divs, snippet_script=snippet))
    return f"{served.host}/{name}"


@pytest.fixture
def browser(chromium_path: str, tmp_path: Path) -> Iterator[Browser]:
    with open_browser(chromium_path, tmp_path, viewport={"width": 1280, "height": 900}) as b:
        yield b
    assert not b.external_requests, b.external_requests
    assert not b.console_errors, b.console_errors


def _frame(page: Any, mission: str = "unmik", index: int = 0) -> Any:
    page.wait_for_function(
        f"document.querySelectorAll('[data-aggregator-mission] iframe').length > {index}"
    )
    handle = page.query_selector_all("[data-aggregator-mission] iframe")[index]
    frame = handle.content_frame()
    frame.wait_for_load_state("load")
    return handle, frame


def _settled_height(page: Any, handle: Any, frame: Any) -> None:
    page.wait_for_function(
        "([el, h]) => Math.abs(el.getBoundingClientRect().height - h) <= 2",
        arg=[handle, frame.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")],
        timeout=5000,
    )


def test_snippet_embeds_the_posts_and_the_iframe_fits_them(served: Served, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(_host_page(served, "host.html", {"data-aggregator-mission": "unmik", "data-posts": "20"}))
    handle, frame = _frame(page)
    _settled_height(page, handle, frame)
    visible = frame.locator("li:not([hidden]) article")
    assert visible.count() == 10  # every post, the repost too (show_retweets defaults to true)
    assert frame.locator("li").first.get_attribute("class").strip() == "pin"
    assert frame.locator("img[alt='Patrol in Mitrovica']").count() == 1
    page_height = frame.evaluate("document.documentElement.scrollHeight")
    frame_box = handle.bounding_box()
    assert abs(frame_box["height"] - page_height) <= 2 and frame_box["height"] > 420
    for i in range(visible.count()):  # every post fully inside the resized iframe
        box = visible.nth(i).bounding_box()
        assert box["y"] >= frame_box["y"] - 1 and box["y"] + box["height"] <= frame_box["y"] + frame_box["height"] + 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "host-1280.png"), full_page=True)
    assert page.evaluate("window.__mutations").count("inside") >= 1
    assert set(page.evaluate("window.__mutations")) == {"inside"}  # the host page is untouched
    new_globals = page.evaluate(  # window[0] is the iframe itself; __* are this test's own
        "Object.keys(window).filter(k => !window.__globals.includes(k) && !/^(\\d+|__.*)$/.test(k))")
    assert new_globals == []


def test_theme_options_and_automatic_theme(served: Served, browser: Browser) -> None:
    page = browser.new_page()
    url = _host_page(served, "themes.html",
                     {"data-aggregator-mission": "unmik", "data-theme": "light"},
                     {"data-aggregator-mission": "unmik", "data-theme": "dark"},
                     {"data-aggregator-mission": "unmik"})
    page.emulate_media(color_scheme="light")
    page.goto(url)
    bg = "getComputedStyle(document.body).backgroundColor"
    light = _frame(page, index=0)[1].evaluate(bg)
    dark = _frame(page, index=1)[1].evaluate(bg)
    auto_frame = _frame(page, index=2)[1]
    assert light == "rgb(255, 255, 255)" and dark == "rgb(18, 21, 25)"
    assert auto_frame.evaluate(bg) == light
    page.emulate_media(color_scheme="dark")
    page.wait_for_function("1")
    assert auto_frame.evaluate(bg) == dark  # automatic follows the reader's preference
    assert _frame(page, index=0)[1].evaluate(bg) == light  # an explicit theme does not
    page.screenshot(path=str(ARTIFACTS / "themes.png"), full_page=True)


def test_no_horizontal_overflow_on_a_phone(served: Served, browser: Browser) -> None:
    page = browser.new_page()
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(_host_page(served, "phone.html", {"data-aggregator-mission": "unmik", "data-posts": "10"}))
    handle, frame = _frame(page)
    _settled_height(page, handle, frame)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert frame.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "host-375.png"), full_page=True)
    mission = browser.new_page()
    mission.set_viewport_size({"width": 375, "height": 740})
    mission.goto(f"{served.site}/missions/unmik/index.html")
    assert mission.evaluate("document.documentElement.scrollWidth") <= 375
    # The page prints absolute times (never stale); the reader's browser adds the age.
    stamp = mission.locator("time[data-age]").first
    shown = stamp.text_content() or ""
    printed = stamp.evaluate("t => t.getAttribute('datetime')")
    assert " · " in shown and shown.endswith("UTC"), (shown, printed)
    mission.screenshot(path=str(ARTIFACTS / "mission-375.png"), full_page=True)


def test_options_change_count_language_heading_and_filters(served: Served, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(_host_page(served, "options.html", {
        "data-aggregator-mission": "unmik", "data-posts": "3", "data-lang": "fr",
        "data-heading": "<b>Nos actualités</b>", "data-retweets": "false", "data-reasons": "true",
        "data-media": "false"}))
    handle, frame = _frame(page)
    assert frame.locator("li:not([hidden])").count() == 3
    assert frame.locator("h1").inner_text() == "<b>Nos actualités</b>"  # text, never markup
    assert frame.evaluate("document.documentElement.lang") == "fr"
    assert frame.locator("li:not([hidden]) a[data-i=original]").first.inner_text() == "Voir l’original"
    assert frame.locator("li:not([hidden]) .w").first.is_visible()
    assert "Classé ici car" in frame.locator("li:not([hidden]) .w").first.inner_text()
    # French quotation marks take narrow no-break spaces inside: « UNMIK », in the widget and
    # on the French pages.
    quotes = frame.locator("li:not([hidden]) .w q").first.evaluate("q => getComputedStyle(q).quotes")
    assert "\u00ab\u202f" in quotes and "\u202f\u00bb" in quotes, quotes
    french = browser.new_page()
    french.goto(f"{served.site}/fr/missions/unmik/index.html")
    quotes = french.locator("p.why q").first.evaluate("q => getComputedStyle(q).quotes")
    assert "\u00ab\u202f" in quotes and "\u202f\u00bb" in quotes, quotes
    assert handle.get_attribute("title") == "Publications : UNMIK"
    page2 = browser.new_page()
    page2.goto(f"{served.site}/widget/unmik.html?posts=50&retweets=0&media=0")
    assert page2.locator("li:not([hidden]).rt").count() == 0
    assert not page2.locator("img").first.is_visible()
    assert page2.locator("li:not([hidden])").count() == 9
    # Ages read like the pages': "3 years ago", not "1,095 days ago"; never in the future.
    ages = page2.locator("li:not([hidden]) time").all_inner_texts()
    assert ages[-1].startswith("3 years ago"), ages[-1]
    assert not any(a.startswith("in ") for a in ages), ages


def test_links_open_outside_with_safe_rel(served: Served, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(f"{served.site}/widget/unmik.html?posts=50")
    hrefs = page.eval_on_selector_all(
        "a[href^='http']", "els => els.map(a => [a.rel, a.target])")
    assert hrefs and all(rel == "noopener nofollow ugc" and target == "_blank" for rel, target in hrefs)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.tagName")
    assert focused == "A"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # visible focus




@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation(served: Served, chromium_path: str, tmp_path: Path, scheme: str) -> None:
    with open_browser(chromium_path, tmp_path / scheme, bypass_csp=True, color_scheme=scheme) as b:
        problems: dict[str, list[str]] = {}
        for path in ("missions/unmik/index.html", "fr/missions/unmik/index.html", "index.html",
                     "missions/unamid/index.html", "widget/index.html",
                     f"widget/unmik.html?posts=50&reasons=1&theme={scheme}",
                     f"widget/unmik.html?posts=50&lang=fr&compact=1&theme={scheme}"):
            page = b.new_page()
            page.goto(f"{served.site}/{path}")
            page.wait_for_load_state("load")
            found = axe_violations(page)
            if found:
                problems[path] = found
            page.screenshot(path=str(ARTIFACTS / f"{path.split('?')[0].replace('/', '_')}-{scheme}.png"), full_page=True)
        assert not problems, problems
        assert not b.external_requests
        assert not b.console_errors, b.console_errors
