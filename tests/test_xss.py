"""Script injection: hostile posts go through the whole pipeline and never run in a browser.

Each payload calls ``window.__pwn(n)``. Feed posts are collected over loopback HTTP by the
real collector (fetch, feedparser, normalize, tag, store); X posts go through
``normalize.normalize`` on RawItems of kind "x". The rendered pages and widget are opened
in Chromium with the canary bound in every frame: none may fire, no dialog may open. A
negative control puts the same payloads, unsanitized, into a page: canaries do fire.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import pytest

from aggregator.app import make_app
from aggregator.collect import collect
from aggregator.config import load_config
from aggregator.models import RawItem, SourceSpec
from aggregator.normalize import normalize
from aggregator.render import render_site
from aggregator.tag import Tagger
from tests.browser import open_browser, serve_directory
from tests.test_render_support import NOW, make_project

pytestmark = pytest.mark.browser


def P(n: int) -> str:
    return f"__pwn({n})"


# (body HTML, link URL or None). Every body payload fires by itself when inserted raw into
# a page, except where a click is needed (javascript: links, which the control clicks).
PAYLOADS: list[tuple[str, str | None]] = [
    (f"<script>{P(1)}</script>", None),
    (f"<img src=x onerror={P(2)}>", None),
    (f"<svg onload={P(3)}></svg>", None),
    (f"<svg><script>{P(4)}</script></svg>", None),
    (f'<iframe srcdoc="<script>parent.{P(5)}</script>"></iframe>', None),
    (f"<body onload={P(6)}>", None),
    (f"<details open ontoggle={P(7)}>x</details>", None),
    (f"<input autofocus onfocus={P(8)}>", None),
    (f'<a href="javascript:{P(9)}">click</a>', None),
    (f'<a href="JaVaScRiPt:{P(10)}">click</a>', None),
    (f'<a href="&#106;avascript:{P(11)}">click</a>', None),
    (f'<a href="java&#x09;script:{P(12)}">click</a>', None),
    (f'<iframe src="javascript:parent.{P(13)}"></iframe>', None),
    (f'<iframe src="data:text/html,<script>parent.{P(14)}</script>"></iframe>', None),
    (f'<object data="javascript:parent.{P(15)}"></object>', None),
    (f'<embed src="javascript:parent.{P(16)}">', None),
    (f"<svg><animate onbegin={P(17)} attributeName=x dur=1s>", None),
    (f'<svg><a xlink:href="javascript:{P(18)}"><text y="20">x</text></a></svg>', None),
    (f"<style>@keyframes k{{}}</style><div style=\"animation-name:k\" onanimationstart={P(19)}></div>", None),
    (f'<div style="background:url(javascript:{P(20)})" onmouseover={P(20)}>hover</div><img src=y onerror="{P(20)}">', None),
    (f"<noscript><p title=\"</noscript><img src=x onerror={P(21)}>\"></noscript>", None),
    (f'<svg></p><style><a id="</style><img src=1 onerror={P(22)}>">', None),
    (f'<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;/mglyph&gt;&lt;img src=1 onerror={P(23)}&gt;">', None),
    ("<img src=x onerror=&#95;&#95;pwn(24)>", None),
    (f"<img src=x onerror=\"eval(atob('{__import__('base64').b64encode(P(25).encode()).decode()}'))\">", None),
    (f"<scr<script>ipt>{P(26)}</scr</script>ipt><img src=x onerror={P(26)}>", None),
    (f"<video><source onerror={P(27)}></video>", None),
    (f"<audio src=x onerror={P(28)}></audio>", None),
    (f'<form><button formaction="javascript:{P(29)}">go</button></form><img src=x onerror={P(29)}>', None),
    (f'<meta http-equiv="refresh" content="0;url=javascript:{P(30)}"><img src=x onerror={P(30)}>', None),
    (f"<marquee onstart={P(31)}>x</marquee>", None),
    (f"<template><img src=x onerror={P(32)}></template><img src=z onerror={P(32)}>", None),
    (f'<base href="javascript:{P(33)}//"><img src=x onerror={P(33)}>', None),
    (f'<link rel=import href="data:text/html,<script>{P(34)}</script>"><img src=x onerror={P(34)}>', None),
    (f"&lt;img src=x onerror={P(35)}&gt;", None),  # entity-encoded: must stay text
    ("safe text", f"javascript:{P(36)}"),  # as the post's link
    ("safe text", f"data:text/html,<script>{P(37)}</script>"),
    (f"<img src=\"x\" alt='\" onerror={P(38)} x=\"'>", None),
]
CLICK_ONLY = {9, 10, 11, 12, 18, 36, 37}  # need a click in the control


def _feed(base: str) -> str:
    items = []
    for i, (body, link) in enumerate(PAYLOADS, 1):
        when = (NOW - timedelta(minutes=i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        items.append(
            "<item>"
            f"<title>{xml_escape(body)} UNMIK {i}</title>"
            f"<link>{xml_escape(link or f'{base}/news/{i}')}</link>"
            f"<guid isPermaLink=\"false\">xss-{i}</guid>"
            f"<description>{xml_escape(body)} #UNMIK Pristina</description>"
            f"<author>x@example.org ({xml_escape(body)})</author>"
            f'<enclosure url="{xml_escape(link or f"javascript:{P(i)}")}" type="image/jpeg" length="1"/>'
            f"<pubDate>{when}</pubDate>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>UNMIK news</title><link>{base}/</link><description>x</description>"
        + "".join(items) + "</channel></rss>"
    )


def _x_item(i: int, body: str, link: str | None) -> RawItem:
    # A week before the feed's items: each X post is its own card, not "also from" under the
    # feed item that carries the same payload (one story across sources, #19).
    created = (NOW - timedelta(days=7, minutes=100 + i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    text = html.escape(body, quote=False) + " #UNMIK https://t.co/abc"
    tweet = {
        "id": str(1000 + i), "text": text, "author_id": "42", "created_at": created,
        "lang": f'en" onmouseover="{P(i)}',
        "entities": {
            "urls": [{"url": "https://t.co/abc", "expanded_url": link or f"javascript:{P(i)}",
                      "display_url": body[:40], "start": len(text) - 23, "end": len(text)}],
            "hashtags": [{"tag": "UNMIK", "start": len(text) - 30, "end": len(text) - 24}],
        },
        "attachments": {"media_keys": [f"m{i}"]},
    }
    includes = {
        "users": [{"id": "42", "username": "UNMIKmedia", "name": body[:100]}],
        "media": [{"media_key": f"m{i}", "type": "photo", "url": f"javascript:{P(i)}", "alt_text": body}],
    }
    return RawItem(source_id="x:unmikmedia", kind="x", data={"tweet": tweet, "includes": includes})


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    feeds_dir = tmp_path / "feedsrv"
    feeds_dir.mkdir()
    out = tmp_path / "output"
    out.mkdir()
    with ExitStack() as stack:
        feed_base = stack.enter_context(serve_directory(feeds_dir))
        site_base = stack.enter_context(serve_directory(out))
        (feeds_dir / "unmik.xml").write_text(_feed(feed_base), encoding="utf-8")
        config_path = make_project(tmp_path, base_url=site_base + "/", page_posts=100, feed_posts=100)
        mission_file = tmp_path / "feeds/unmik.yaml"
        mission_file.write_text(mission_file.read_text().replace(
            "https://unmik.example.org/rss.xml", f"{feed_base}/unmik.xml"))
        config = load_config(config_path)
        app = make_app(config, clock=lambda: NOW + timedelta(hours=1), env={})
        spec = next(s for s in config.all_sources() if s.kind == "feed" and s.mission == "UNMIK")
        result = collect(app, only=[spec])
        assert not [r.error for r in result.reports if r.error], result.reports
        tagger = Tagger(config.missions.values())
        x_spec = SourceSpec(id="x:unmikmedia", kind="x", name="UNMIK media", mission="UNMIK",
                            handle="UNMIKmedia")
        app.store.sync_sources([x_spec])
        tagged = []
        for i, (body, link) in enumerate(PAYLOADS, 1):
            post = normalize(_x_item(i, body, link), collected_at=NOW)
            tagged.append((post, tagger.tag(post, x_spec)))
        app.store.save_posts(tagged)
        counts = app.store.mission_counts()
        assert counts["UNMIK"][0] == 2 * len(PAYLOADS), counts  # every payload reached the page
        render_site(app)
        app.close()
        yield site_base


def _watch(b: Any, page: Any, fired: list[Any]) -> None:
    def dialog(d: Any) -> None:
        fired.append(("dialog", d.message))
        d.dismiss()

    page.on("dialog", dialog)
    page.on("popup", lambda p: fired.append(("popup", p.url)))


def _open(chromium: str, profile: Path) -> Any:
    return open_browser(chromium, profile, viewport={"width": 1280, "height": 900})


def _bind(b: Any, fired: list[Any]) -> None:
    b.context.expose_binding("__pwnHit", lambda source, n: fired.append(("canary", n)))
    b.context.add_init_script("window.__pwn = function (n) { window.__pwnHit(n); };")


def _exercise(page: Any) -> None:
    page.wait_for_load_state("load")
    page.mouse.move(5, 5)
    for y in range(0, 3000, 150):
        page.mouse.move(400, y % 880 + 10)
    for _ in range(15):
        page.keyboard.press("Tab")
    page.wait_for_timeout(300)


def _scheme_problems(frame: Any) -> list[str]:
    found: list[str] = frame.evaluate(
        """() => Array.from(document.querySelectorAll('[href],[src],[action],[formaction],[data],[srcdoc]'))
             .flatMap(el => ['href','src','action','formaction','data','srcdoc'].map(a => [a, el.getAttribute(a)]))
             .filter(([a, v]) => v !== null && (a === 'srcdoc' || a === 'formaction' || /^\\s*(javascript|data|vbscript):/i.test(v)))
             .map(([a, v]) => a + '=' + v)"""
    )
    return found


def test_no_payload_runs_in_pages_or_widget(site: str, chromium_path: str, tmp_path: Path) -> None:
    fired: list[Any] = []
    with _open(chromium_path, tmp_path) as b:
        _bind(b, fired)
        host = tmp_path / "host"
        host.mkdir()
        (host / "index.html").write_text(
            '<!doctype html><html lang="en"><title>host</title><body>'
            '<div data-aggregator-mission="unmik" data-posts="50" data-reasons="true"></div>'
            f'<script async src="{site}/widget/embed.js"></script></body></html>'
        )
        with serve_directory(host, "localhost") as host_url:
            urls = [f"{site}/missions/unmik/index.html", f"{site}/fr/missions/unmik/index.html",
                    f"{site}/index.html", f"{site}/widget/unmik.html?posts=50&reasons=1",
                    f"{site}/widget/index.html", f"{host_url}/index.html"]
            texts = []
            for url in urls:
                page = b.new_page()
                _watch(b, page, fired)
                page.goto(url)
                _exercise(page)
                for frame in page.frames:
                    assert _scheme_problems(frame) == [], (url, frame.url)
                texts.append(page.content())
        assert fired == []
        assert not b.external_requests, b.external_requests
    page_html = texts[0]
    assert len(re.findall(r"<article>", page_html)) == 2 * len(PAYLOADS)  # feed and X posts
    assert "__pwn(1)" in texts[3]  # the payload is there, as text


def test_negative_control_unsanitized_payloads_fire(chromium_path: str, tmp_path: Path) -> None:
    root = tmp_path / "control"
    root.mkdir()
    parts = []
    for i, (body, link) in enumerate(PAYLOADS, 1):
        parts.append(f"<section id=p{i}>{body}</section>")
        if link:
            parts.append(f'<a class="link" href="{link}">link {i}</a>')
    (root / "index.html").write_text(
        "<!doctype html><html><head><title>control</title></head><body>" + "".join(parts) + "</body></html>"
    )
    fired: list[Any] = []
    with _open(chromium_path, tmp_path) as b, serve_directory(root) as url:
        _bind(b, fired)
        page = b.context.new_page()
        _watch(b, page, fired)
        page.goto(url + "/index.html")
        _exercise(page)
        for i in sorted(CLICK_ONLY):
            for link in page.query_selector_all(f"#p{i} a, a.link"):
                with suppress(Exception):
                    link.click(timeout=500, no_wait_after=True)
        page.wait_for_timeout(500)
    canaries = {n for kind, n in fired if kind == "canary"}
    print("control canaries:", sorted(canaries))
    assert len(canaries) >= 28, sorted(canaries)  # the same payloads, unsanitized, do run


def _reader_page(feed: bytes) -> str:
    """What a feed reader that trusts a feed's HTML shows: each item's title and description
    (and content:encoded, Atom's html content and summary) decoded from the XML and put into
    the page as HTML, as many readers do without sanitizing. Atom ``type="text"`` is text."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(feed)
    atom = "{http://www.w3.org/2005/Atom}"
    parts = []
    if root.tag == "rss":
        for item in root.iter("item"):
            for child in item:
                if child.tag in ("title", "description",
                                 "{http://purl.org/rss/1.0/modules/content/}encoded"):
                    parts.append(f"<section>{child.text or ''}</section>")
    else:
        for entry in root.iter(f"{atom}entry"):
            for child in entry:
                if child.tag in (f"{atom}title", f"{atom}summary", f"{atom}content"):
                    text = child.text or ""
                    kind = child.get("type", "text")
                    parts.append(f"<section>{text if kind == 'html' else html.escape(text)}</section>")
    return "<!doctype html><html><head><title>reader</title></head><body>" + "".join(parts) + "</body></html>"


def test_no_payload_runs_from_the_rss_and_atom_feeds(site: str, chromium_path: str, tmp_path: Path) -> None:
    """The feeds opened as HTML, and as a reader that renders their HTML shows them."""
    out = tmp_path / "output" / "feeds"
    reader = tmp_path / "reader"
    reader.mkdir()
    for name in ("unmik.rss", "unmik.xml", "all.rss", "all.xml"):
        feed = (out / name).read_bytes()
        assert feed.count(b"<item>") + feed.count(b"<entry>") >= 2 * len(PAYLOADS)
        (reader / f"{name}.html").write_text(_reader_page(feed), encoding="utf-8")
        (reader / f"raw-{name}.html").write_bytes(feed)  # the XML itself, taken as HTML
    fired: list[Any] = []
    with _open(chromium_path, tmp_path) as b, serve_directory(reader) as url:
        _bind(b, fired)
        for page_file in sorted(reader.iterdir()):
            page = b.new_page()
            _watch(b, page, fired)
            page.goto(f"{url}/{page_file.name}")
            _exercise(page)
            assert _scheme_problems(page.main_frame) == [], page_file.name
        assert fired == [], fired
    rss = (out / "unmik.rss").read_text(encoding="utf-8")
    assert "&amp;lt;script&amp;gt;__pwn(1)&amp;lt;/script&amp;gt;" in rss  # the title, as text


def test_rss_reader_control_unescaped_text_fires(chromium_path: str, tmp_path: Path) -> None:
    """The reader page above does run markup that a feed hands it as HTML."""
    feed = ('<rss version="2.0"><channel><title>c</title><item><title>'
            + xml_escape(f"<img src=x onerror={P(1)}>") + "</title><description>"
            + xml_escape(f"<svg onload={P(2)}></svg>") + "</description></item></channel></rss>")
    root = tmp_path / "control"
    root.mkdir()
    (root / "reader.html").write_text(_reader_page(feed.encode()), encoding="utf-8")
    fired: list[Any] = []
    with _open(chromium_path, tmp_path) as b, serve_directory(root) as url:
        _bind(b, fired)
        page = b.new_page()
        page.goto(f"{url}/reader.html")
        _exercise(page)
    assert {n for kind, n in fired if kind == "canary"} == {1, 2}
