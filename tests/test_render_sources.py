"""A mission page's "Where these posts come from": every source behind a post shown."""

from __future__ import annotations

from pathlib import Path

import yaml

from aggregator.app import make_app
from aggregator.config import load_config
from aggregator.render import render_site
from tests.test_render_support import NOW, make_post, make_project, save

EUROPE = "https://news.un.org/feed/subscribe/en/news/region/europe/feed/rss.xml"


def test_general_sources_that_brought_a_post_are_listed_with_the_own_ones(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    (tmp_path / "feeds" / "_general.yaml").write_text(yaml.safe_dump({"sources": [
        {"kind": "feed", "url": EUROPE, "name": "UN News: Europe", "covers": ["UNMIK"]},
        {"kind": "feed", "url": "https://reliefweb.int/updates/rss.xml", "name": "ReliefWeb updates"},
    ]}), encoding="utf-8")
    app = make_app(load_config(config), clock=lambda: NOW, env={})
    app.store.sync_sources(app.config.all_sources())
    save(app, [make_post(1), make_post(2, source_id=f"feed:{EUROPE}", author="UN News")])
    render_site(app)
    unmik = (tmp_path / "output" / "missions" / "unmik" / "index.html").read_text(encoding="utf-8")
    section = unmik.split("Where these posts come from", 1)[1].split("</ul>", 1)[0]
    assert 'href="https://unmik.example.org/rss.xml"' in section  # its own source
    assert f'href="{EUROPE}"' in section and "UN News: Europe" in section  # brought post 2
    assert "ReliefWeb" not in section  # brought nothing shown here
    fr = (tmp_path / "output" / "fr" / "missions" / "unmik" / "index.html").read_text(encoding="utf-8")
    assert "Provenance de ces publications" in fr and f'href="{EUROPE}"' in fr
    unamid = (tmp_path / "output" / "missions" / "unamid" / "index.html").read_text(encoding="utf-8")
    assert EUROPE not in unamid
    app.close()
