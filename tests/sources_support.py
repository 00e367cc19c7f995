"""A copy of the shipped feeds/ in a temporary project, and loopback pages that link feeds."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from aggregator.cli import cli

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "feeds"
UN_NEWS_EUROPE = "fixtures/feeds/un_news_europe_2022-04.rss.xml"  # under ../shared


def project(tmp_path: Path, feeds: bool = True, **settings: object) -> Path:
    """config.yaml over a copy of the shipped mission files (or an empty ``feeds/``)."""
    folder = tmp_path / "feeds"
    if feeds:
        shutil.copytree(FEEDS, folder, ignore=shutil.ignore_patterns("demo"))
    else:
        folder.mkdir(parents=True, exist_ok=True)
    data = {
        "database": str(tmp_path / "archive.db"),
        "output_dir": str(tmp_path / "output"),
        "missions_dir": "feeds",
        "http": {"connect_timeout": 2, "read_timeout": 3, "deadline": 5},
        **settings,
    }
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    return config


def run(config: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args],
                              env={"X_BEARER_TOKEN": "", **(env or {})})


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.yaml"))}


def page(*links: str, title: str = "A mission's news") -> bytes:
    """An HTML page whose <head> advertises ``links`` (each a (type, href) 'type href' pair)."""
    tags = "".join(f'<link rel="alternate" type="{t}" href="{h}" title="{title} feed">'
                   for t, h in (link.split(" ", 1) for link in links))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<link rel='stylesheet' href='/s.css'>{tags}</head>"
            f"<body><h1>{title}</h1><p>Press releases</p></body></html>").encode()


HTML = {"Content-Type": "text/html; charset=utf-8"}
