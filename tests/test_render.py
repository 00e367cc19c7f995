"""Mission pages and the index: what a reader of the published site sees."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from aggregator.cli import cli
from aggregator.models import Media
from aggregator.render import render_site
from aggregator.render.cards import linkify, safe_url
from tests.test_render_support import (
    MISSION_FILES,
    X_SOURCE,
    hide,
    make_post,
    make_project,
    make_test_app,
    pin,
    save,
)


def _read(root: Path, rel: str) -> str:
    return (root / "output" / rel).read_text(encoding="utf-8")


def _post_ids(html: str) -> list[str]:
    return re.findall(r'href="https://unmik\.example\.org/news/(\d+)"', html)


def test_index_lists_every_mission_with_counts(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    save(app, [make_post(i) for i in range(1, 4)])
    render_site(app)
    html = _read(tmp_path, "index.html")
    assert 'href="missions/unmik/index.html"' in html
    assert 'href="missions/unamid/index.html"' in html
    assert "3 posts" in html
    assert "no posts yet" in html  # UNAMID has none
    assert "Closed missions" in html
    fr = _read(tmp_path, "fr/index.html")
    assert '<html lang="fr">' in fr and "Missions terminées" in fr and "3 publications" in fr


def test_mission_page_shows_profile_and_newest_visible_posts_pinned_first(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    save(app, [make_post(i) for i in range(1, 6)])
    hide(app, "p0002")
    app.store.db.execute("UPDATE posts SET availability = 'withheld' WHERE id = 'p0003'")
    app.store.db.conn.commit()
    pin(app, "p0005")
    render_site(app)
    html = _read(tmp_path, "missions/unmik/index.html")
    assert _post_ids(html) == ["5", "1", "4"]  # pinned first, then newest; hidden/withheld absent
    assert "Pinned" in html
    for words in ("Resolution 1244 (1999) remains its legal basis.", "Why it matters", "374",
                  "total personnel", "as of 2025", "Resolution 1244 adopted", "Peter N. Due"):
        assert words in html
    assert "Tagged because it uses the hashtag <q>#UNMIK</q>" in html
    assert 'rel="noopener nofollow ugc"' in html
    assert "<main" in html and "<header" in html and "<footer" in html
    assert 'datetime="2026-11-28T10:55:00Z"' in html  # post 1: 65 minutes before NOW
    assert "Last updated" in html


def test_index_says_1_post_not_1_posts(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    save(app, [make_post(1)])
    render_site(app)
    html = _read(tmp_path, "index.html")
    assert "1 post ·" in html and "1 posts" not in html
    fr = _read(tmp_path, "fr/index.html")
    assert "1 publication ·" in fr and "1 publications" not in fr


def test_undated_figures_are_not_shown_as_a_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where a source gives no date, the files say so in words ("undated (mission website)",
    # "circa 2018"): the page shows those words, not "as of undated (mission website)".
    unmik = copy.deepcopy(MISSION_FILES["UNMIK"])
    unmik["profile"]["head"]["as_of"] = "undated mission page"
    unmik["profile"]["figures"] = [
        {**unmik["profile"]["figures"][0], "as_of": "undated (mission website)"},
        {"label": "police", "value": "1,227", "as_of": "circa 2009",
         "source_url": "https://unmik.unmissions.org/police"},
        {"label": "military", "value": "40", "as_of": "2021-07",
         "source_url": "https://unmik.unmissions.org/military"},
    ]
    monkeypatch.setitem(MISSION_FILES, "UNMIK", unmik)
    app = make_test_app(tmp_path)
    render_site(app)
    html = _read(tmp_path, "missions/unmik/index.html")
    assert "as of undated" not in html and "as of circa" not in html
    assert "Peter N. Due (undated mission page)" in html
    assert "(undated (mission website), <a" in html
    assert "(circa 2009, <a" in html
    assert "(as of 2021-07, <a" in html
    french = _read(tmp_path, "fr/missions/unmik/index.html")
    assert "(au 2021-07, <a" in french and "(circa 2009, <a" in french


def test_feeds_are_linked_as_alternates(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    render_site(app)
    html = _read(tmp_path, "missions/unmik/index.html")
    for ext, ctype in (("xml", "application/atom+xml"), ("rss", "application/rss+xml"),
                       ("json", "application/feed+json")):
        assert f'<link rel="alternate" type="{ctype}"' in html
        assert f'href="../../feeds/unmik.{ext}"' in html


def test_empty_mission_page_explains_itself(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    render_site(app)
    html = _read(tmp_path, "missions/unamid/index.html")
    assert "Nothing to show yet" in html
    assert "No post concerning UNAMID has been collected yet" in html
    assert "not collected yet" in html
    fr = _read(tmp_path, "fr/missions/unamid/index.html")
    assert "Rien à afficher pour l’instant" in fr


def test_replies_hidden_and_retweets_shown_by_default_settings(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    save(app, [make_post(1, retweet=True), make_post(2, reply=True), make_post(3)])
    render_site(app)
    assert _post_ids(_read(tmp_path, "missions/unmik/index.html")) == ["1", "3"]


def test_settings_can_hide_retweets_and_show_replies(tmp_path: Path) -> None:
    app = make_test_app(tmp_path, show_retweets=False, show_replies=True)
    save(app, [make_post(1, retweet=True), make_post(2, reply=True), make_post(3)])
    render_site(app)
    assert _post_ids(_read(tmp_path, "missions/unmik/index.html")) == ["2", "3"]


def test_images_only_from_local_copies_else_a_link(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    local = Media(url="https://cdn.example.org/a.jpg", alt="Patrol near Mitrovica",
                  local_path="media/ab/cdef.webp", width=600, height=400)
    remote = Media(url="https://cdn.example.org/b.jpg", alt="Town hall meeting")
    save(app, [make_post(1, media=[local, remote])])
    render_site(app)
    html = _read(tmp_path, "missions/unmik/index.html")
    imgs = re.findall(r"<img [^>]*>", html)
    assert imgs == ['<img src="../../media/ab/cdef.webp" alt="Patrol near Mitrovica" width="600" height="400" loading="lazy" decoding="async">']
    assert 'href="https://cdn.example.org/b.jpg" rel="noopener nofollow ugc"' in html
    assert "Town hall meeting" in html


def test_pages_request_nothing_from_other_hosts(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    save(app, [make_post(1, media=[Media(url="https://cdn.example.org/b.jpg")])])
    render_site(app)
    for page in ("index.html", "missions/unmik/index.html", "widget/index.html", "widget/unmik.html"):
        html = _read(tmp_path, page)
        for attr in re.findall(r'(?:src|<link [^>]*href)="([^"]+)"', html):
            assert not attr.startswith(("http:", "https:", "//")), (page, attr)


def test_templates_can_be_overridden_by_name(tmp_path: Path) -> None:
    custom = tmp_path / "mytemplates"
    custom.mkdir()
    (custom / "index.html").write_text("<p>Custom index: {{ rows|length }} missions</p>\n")
    app = make_test_app(tmp_path, templates_dir="mytemplates")
    render_site(app)
    assert _read(tmp_path, "index.html") == "<p>Custom index: 2 missions</p>\n"
    assert "<main" in _read(tmp_path, "missions/unmik/index.html")  # others stay built-in


def test_a_broken_override_template_is_named_with_a_hint(tmp_path: Path) -> None:
    custom = tmp_path / "mytemplates"
    custom.mkdir()
    (custom / "index.html").write_text("{% for r in rows %}never closed\n")
    config = make_project(tmp_path, templates_dir="mytemplates")
    result = CliRunner().invoke(cli, ["--config", str(config), "render"])
    assert result.exit_code == 1
    assert "index.html" in result.output and "templates_dir" in result.output
    assert "Traceback" not in result.output


def test_rendering_twice_changes_nothing_and_one_mission_only(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    save(app, [make_post(1)])
    assert render_site(app)
    assert render_site(app) == []
    save(app, [make_post(2)])
    changed = {p.relative_to(tmp_path / "output").as_posix() for p in render_site(app, ["unmik"])}
    assert "missions/unmik/index.html" in changed and "widget/unmik.html" in changed
    assert not any("unamid" in p for p in changed)


def test_x_posts_link_hashtags_and_mentions(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    post = make_post(1, kind="x", source_id=X_SOURCE, author="UNAMID", handle="unamidnews",
                     text="#PhotoOfTheDay with @UN in El Fasher https://t.co/abc.", url="https://x.com/unamidnews/status/1")
    save(app, [post], mission="UNAMID")
    render_site(app)
    html = _read(tmp_path, "missions/unamid/index.html")
    assert 'href="https://x.com/hashtag/PhotoOfTheDay"' in html
    assert 'href="https://x.com/UN"' in html
    assert '>t.co/abc</a>.' in html
    assert "@unamidnews" in html


def test_render_command_and_unknown_mission(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(config), "render", "--mission", "unmik"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "output/missions/unmik/index.html").exists()
    assert not (tmp_path / "output/missions/unamid/index.html").exists()
    bad = runner.invoke(cli, ["--config", str(config), "render", "--mission", "nope"])
    assert bad.exit_code == 2
    assert "unknown mission 'nope'" in bad.output and "UNAMID, UNMIK" in bad.output


def test_serve_command_serves_the_rendered_site(tmp_path: Path, project_root: Path) -> None:
    config = make_project(tmp_path)
    exe = project_root / ".venv/bin/aggregator"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "aggregator.cli"]
    subprocess.run([*cmd, "--config", str(config), "render"], check=True, capture_output=True)
    proc = subprocess.Popen([*cmd, "--config", str(config), "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        deadline = time.monotonic() + 10
        while True:
            try:
                body = urllib.request.urlopen(url.group(0) + "missions/unmik/", timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert "United Nations Interim Administration Mission in Kosovo" in body
        with urllib.request.urlopen(url.group(0) + "feeds/unmik.rss", timeout=5) as feed:
            assert feed.headers["Content-Type"].startswith("application/rss+xml")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@given(st.text())
def test_safe_url_only_passes_http_urls(url: str) -> None:
    result = safe_url(url)
    assert result is None or (result == url and url.lower().startswith(("http://", "https://")))


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300), st.sampled_from(["feed", "x"]))
def test_linkify_never_lets_markup_through(text: str, kind: str) -> None:
    html = str(linkify(text, kind=kind))
    stripped = re.sub(r'<a href="https?://[^"<>]*" rel="noopener nofollow ugc" target="_blank">|</a>|<span class="tag">|</span>', "", html)
    assert "<" not in stripped and ">" not in stripped
    assert "javascript:" not in re.sub(r'>[^<]*<', "><", html).lower() or "javascript:" in text.lower()


_anything = st.one_of(st.none(), st.text(max_size=80), st.integers(), st.sampled_from(
    ["javascript:alert(1)", " https://ok.example/a", "https://ok.example/a b", "data:image/png;base64,AA",
     "//evil.example/x", "https://ok.example/x\"onmouseover=1", "media/../../etc/passwd", "media/ab/c.webp"]))


@given(url=_anything, media_url=_anything, local=_anything, lang=_anything, kind=st.sampled_from(["feed", "x"]))
def test_cards_only_carry_safe_urls_paths_and_languages(
    url: object, media_url: object, local: object, lang: object, kind: str
) -> None:
    from aggregator.render.cards import card

    row = {"id": "p1", "kind": kind, "url": url, "author": "a", "title": "t", "text": "x",
           "published_at": "2026-11-28T10:00:00Z", "language": lang,
           "media": [{"url": media_url, "local_path": local, "alt": "alt", "kind": "image"}]}
    c = card(row)
    for value in [c.url, *(m.href for m in c.media)]:
        assert value is None or (value.startswith(("http://", "https://")) and " " not in value and '"' not in value)
    for m in c.media:
        assert m.src is None or (m.src.startswith("media/") and ".." not in m.src)
    assert c.lang is None or re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", c.lang)


def test_a_render_with_nothing_new_rewrites_no_file(tmp_path: Path) -> None:
    from datetime import timedelta

    from aggregator.app import make_app
    from aggregator.config import load_config
    from tests.test_render_support import NOW

    now = [NOW]
    app = make_app(load_config(make_project(tmp_path)), clock=lambda: now[0], env={})
    save(app, [make_post(i) for i in range(1, 4)])
    app.store.finish_run(app.store.start_run(NOW), NOW, [])
    assert render_site(app)
    page = tmp_path / "output" / "missions" / "unmik" / "index.html"
    before = page.read_bytes()
    now[0] = NOW + timedelta(minutes=10)  # a collection that found nothing new
    app.store.finish_run(app.store.start_run(now[0]), now[0], [])
    assert render_site(app) == [], "only the build time would have changed"
    assert page.read_bytes() == before
    save(app, [make_post(9, minutes_ago=1)])
    assert page in render_site(app)
    html = page.read_text(encoding="utf-8")
    assert '<time data-updated datetime="2026-11-28T12:10:00Z">' in html, "the new time"
