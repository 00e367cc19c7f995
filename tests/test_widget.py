"""The widget document, its loader and the JSON API, read as files."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import jsonschema

from aggregator.models import Media
from aggregator.render import render_site
from aggregator.render.widget import API_SCHEMA
from tests.test_render_support import hide, make_post, make_test_app, pin, save


def _render(tmp_path: Path) -> Path:
    app = make_test_app(tmp_path)
    posts = [make_post(i, language="ar" if i == 2 else "en",
                       text="بعثة الأمم المتحدة في كوسوفو #UNMIK" if i == 2 else "") for i in range(1, 8)]
    posts.append(make_post(8, retweet=True))
    posts.append(make_post(9, media=[Media(url="https://cdn.example.org/a.jpg", alt="Patrol",
                                           local_path="media/aa/bb.webp", width=10, height=10)]))
    save(app, posts)
    hide(app, "p0003")
    pin(app, "p0007")
    render_site(app)
    return tmp_path / "output"


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_widget_document_has_a_strict_csp_matching_its_inline_code(tmp_path: Path) -> None:
    html = (_render(tmp_path) / "widget/unmik.html").read_text()
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert policy
    csp = policy.group(1)
    assert "default-src 'none'" in csp and "img-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert style and len(scripts) == 1
    assert f"style-src {_sha(style.group(1))}" in csp
    assert f"script-src {_sha(scripts[0])}" in csp
    assert "style=" not in html  # inline style attributes would be blocked by the CSP


def test_widget_cards_follow_the_post_card_rules(tmp_path: Path) -> None:
    html = (_render(tmp_path) / "widget/unmik.html").read_text()
    cards = re.findall(r"<li(?: class=\"([^\"]*)\")?><article>(.*?)</article></li>", html, re.S)
    assert cards[0][0].strip() == "pin"  # pinned first
    assert "news/3" not in html  # hidden
    assert any("rt" in cls.split() for cls, _ in cards)  # retweets marked for the option
    arabic = next(body for _, body in cards if "كوسوفو" in body)
    assert '<div dir="auto" lang="ar">' in arabic
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">', arabic)
    assert 'rel="noopener nofollow ugc"' in arabic  # the script adds target="_blank"
    assert '<p class="w" data-r="hashtag">Tagged because it uses the hashtag <q>#UNMIK</q></p>' in arabic
    assert '<img src="../media/aa/bb.webp" alt="Patrol"' in html
    assert '<section aria-labelledby="h">' in html and '<ul role="list">' in html


def test_loader_is_small_and_checks_message_origin(tmp_path: Path) -> None:
    js = (_render(tmp_path) / "widget/embed.js").read_bytes()
    assert len(js) < 3 * 1024
    text = js.decode()
    assert "e.origin!==origin" in text and "contentWindow===e.source" in text
    assert "document.body" not in text and "innerHTML" not in text  # touches only placeholders


def test_api_json_follows_its_published_schema(tmp_path: Path) -> None:
    out = _render(tmp_path)
    doc = json.loads((out / "api/unmik.json").read_text())
    schema = json.loads((out / "api/schema.json").read_text())
    assert schema == API_SCHEMA
    jsonschema.validate(doc, schema, format_checker=jsonschema.FormatChecker())
    assert doc["version"] == "1.0"
    assert [p["id"] for p in doc["posts"]][:2] == ["p0007", "p0001"]
    assert "p0003" not in {p["id"] for p in doc["posts"]}
    media = next(p for p in doc["posts"] if p["media"])["media"][0]
    assert media["src"] == "https://feeds.example.org/site/media/aa/bb.webp"
    doc["posts"][0]["published_at"] = 5
    try:
        jsonschema.validate(doc, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("the API schema accepted a number as a date")


def test_embed_page_offers_a_snippet_per_mission(tmp_path: Path) -> None:
    html = (_render(tmp_path) / "widget/index.html").read_text()
    for slug in ("unmik", "unamid"):
        assert (f"&lt;div data-aggregator-mission=&#34;{slug}&#34;&gt;&lt;/div&gt;" in html)
    assert "https://feeds.example.org/site/widget/embed.js" in html
    assert '<iframe id="preview"' in html and 'src="builder.js"' in html
