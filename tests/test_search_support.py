"""A generated archive of realistic posts for the search, export and backup tests.

Five missions, feeds and X accounts, English, French and Arabic posts, accents, a retweet,
a reply, media, an editor-hidden post and a post deleted at its source. Saved through
``Store.save_posts`` the way collection saves them. The archive is built once per test
session (``search_project``) and opened read-only by the tests that only read it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.app import App, make_app
from aggregator.config import load_config
from aggregator.models import Media, Post, Tag
from tests.projects import feed, write_mission, x_account

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

MISSIONS = {
    "UNMISS": ("United Nations Mission in South Sudan", "South Sudan", 2011, None, "unmiss.unmissions.org", "UNMISSmedia"),
    "UNISFA": ("United Nations Interim Security Force for Abyei", "Sudan", 2011, None, "unisfa.unmissions.org", "UNISFA_1"),
    "MINUSMA": ("United Nations Multidimensional Integrated Stabilization Mission in Mali", "Mali", 2013, 2023, "minusma.unmissions.org", "UN_MINUSMA"),
    "MONUSCO": ("United Nations Organization Stabilization Mission in the DR Congo", "DR Congo", 2010, None, "monusco.unmissions.org", "MONUSCO"),
    "UNIFIL": ("United Nations Interim Force in Lebanon", "Lebanon", 1978, None, "unifil.unmissions.org", "UNIFIL_"),
}


@dataclass(frozen=True)
class P:
    id: str
    mission: str
    title: str
    text: str
    when: str  # YYYY-MM-DD
    lang: str = "en"
    x: bool = False
    also: tuple[str, ...] = ()
    retweet: bool = False
    reply: bool = False
    media: bool = False
    author_handle: str | None = None
    links: tuple[str, ...] = ()


POSTS = (
    P("unmiss-cholera", "UNMISS", "Cholera response in Bentiu",
      "UNMISS engineers help the cholera treatment centre in Bentiu with clean water.", "2024-03-10",
      links=("https://www.who.int/emergencies/disease-outbreak-news",)),
    P("unmiss-abyei-x", "UNMISS", "", "Peacekeepers patrol near Abyei town after clashes on the road.",
      "2024-03-20", x=True, also=("UNISFA",), media=True),
    P("unisfa-reunion", "UNISFA", "Réunion à Abyéi : la FISNUA rencontre les chefs traditionnels",
      "Les Casques bleus de la FISNUA ont tenu une réunion avec les chefs à Abyéi.", "2024-04-15", lang="fr"),
    P("unisfa-migration", "UNISFA", "Abyei cattle migration season begins",
      "UNISFA patrols accompany the seasonal cattle migration through Abyei.", "2024-06-02"),
    P("minusma-gao", "MINUSMA", "MINUSMA completes withdrawal from Gao",
      "The last peacekeepers left the Gao camp as MINUSMA closes.", "2023-12-11"),
    P("minusma-tombouctou", "MINUSMA", "La MINUSMA achève son retrait de Tombouctou",
      "Le camp de Tombouctou a été remis aux autorités maliennes.", "2023-11-20", lang="fr"),
    P("monusco-goma-rt", "MONUSCO", "", "RT Protection of civilians around Goma remains our priority.",
      "2024-05-01", x=True, retweet=True, media=True, author_handle="UNHumanRights"),
    P("monusco-bunia-reply", "MONUSCO", "", "Thank you for the question: our Bunia office is open.",
      "2024-05-02", x=True, reply=True),
    P("unifil-arabic", "UNIFIL", "اليونيفيل تواصل دورياتها",
      "اليونيفيل تواصل دورياتها في جنوب لبنان مع الجيش اللبناني.", "2024-02-02", lang="ar"),
    P("unifil-naqoura", "UNIFIL", "Tripartite meeting in Naqoura",
      "The regular tripartite meeting was held in Naqoura.", "2024-02-20"),
    P("unmiss-election", "UNMISS", "Election preparations in Juba",
      "Voter education ahead of the election continues in Juba.", "2024-07-01"),
    P("unmiss-electoral", "UNMISS", "Electoral commission trained",
      "UNMISS trains staff of the electoral commission in Wau.", "2024-07-05"),
    P("unmiss-peace-conference", "UNMISS", "Peace conference in Malakal",
      "Community leaders met at a peace conference in Malakal.", "2024-08-01"),
    P("unmiss-peace-split", "UNMISS", "Conference on roads",
      "A conference about roads; peace was not on the agenda in Malakal.", "2024-08-02"),
    P("unmiss-hidden", "UNMISS", "Draft statement posted by mistake",
      "Draft statement about Bentiu cholera figures, not for publication.", "2024-03-11"),
    P("unmiss-deleted", "UNMISS", "", "Bentiu flooding update: roads closed near the camp.",
      "2024-03-12", x=True),
)
ALL_IDS = {p.id for p in POSTS}


def write_project(root: Path, *, base_url: str = "http://127.0.0.1:8000/") -> Path:
    feeds = root / "feeds"
    feeds.mkdir(parents=True, exist_ok=True)
    for acronym, (name, country, year, closed, host, handle) in MISSIONS.items():
        write_mission(feeds, acronym, name=name, country=country, established=year, closed=closed,
                      sources=[feed(f"https://{host}/rss.xml", f"{acronym} news"),
                               x_account(handle)])
    config = root / "config.yaml"
    config.write_text(
        f"database: data/archive.db\noutput_dir: output\nmissions_dir: feeds\nbase_url: {base_url}\n",
        encoding="utf-8",
    )
    return config


def to_post(p: P) -> Post:
    _, _, _, _, host, handle = MISSIONS[p.mission]
    when = datetime.fromisoformat(p.when).replace(hour=10, tzinfo=UTC)
    source = f"x:{handle.lower()}" if p.x else f"feed:https://{host}/rss.xml"
    url = f"https://x.com/{handle}/status/{zlib.crc32(p.id.encode())}" if p.x else f"https://{host}/news/{p.id}"
    return Post(
        id=p.id, source_id=source, kind="x" if p.x else "feed", external_id=p.id, url=url,
        author=f"{p.mission} news" if not p.x else handle,
        author_handle=(p.author_handle or handle) if p.x else None,
        title=p.title, text=p.text, html=f"<p>{p.text}</p>", published_at=when, collected_at=NOW,
        language=p.lang,
        media=(Media(url=f"https://{host}/img/{p.id}.jpg", alt="photo"),) if p.media else (),
        is_retweet=p.retweet, is_reply=p.reply, content_hash=f"h-{p.id}", links=p.links,
    )


def build(config: Path) -> None:
    """Create the archive: save every post, hide one, tombstone one."""
    with make_app(load_config(config), clock=lambda: NOW, env={}) as app:
        tagged = [
            (to_post(p), [Tag(m, "own_source" if m == p.mission else "name", m) for m in (p.mission, *p.also)])
            for p in POSTS
        ]
        app.store.save_posts(tagged)
        app.store.moderate("unmiss-hidden", "hide", editor="ana", note="posted by mistake")
        app.store.moderate("unifil-naqoura", "pin", editor="ana", note="tripartite meetings matter")
        app.store.mark_unavailable("unmiss-deleted", "deleted", "deleted by the author (X compliance)", NOW)


@pytest.fixture(scope="session")
def search_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    config = write_project(root)
    build(config)
    return config


@pytest.fixture
def archive_app(search_project: Path) -> Iterator[App]:
    with make_app(load_config(search_project), clock=lambda: NOW, env={}, readonly=True) as app:
        yield app
