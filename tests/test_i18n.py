"""Issue 18: one date format everywhere, localised (EN, FR); the archive's search and
permalink pages in French too, with each post's text in its own language and direction;
French pages and digests with a French title and links to the French pages."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.app import App
from aggregator.config import load_config
from aggregator.errors import ConfigError
from aggregator.render import render_site
from aggregator.render.i18n import when, zone_label
from aggregator.settings import Settings
from tests.test_render_support import MISSION_FILES, make_project, make_test_app
from tests.test_search_web import get, site

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["site"]

MOMENT = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)


def test_one_date_format_in_both_languages() -> None:
    assert when(MOMENT, "en") == "5 Mar 2024, 14:30 UTC"
    assert when(MOMENT, "fr") == "5 mars 2024, 14:30 UTC"
    assert when("2024-03-05T14:30:00Z", "fr") == "5 mars 2024, 14:30 UTC"
    # A digest's own time zone is named, the same way in every language.
    assert when(MOMENT, "en", ZoneInfo("Europe/Belgrade")) == "5 Mar 2024, 15:30 UTC+1"
    assert when(MOMENT, "fr", ZoneInfo("Asia/Kolkata")) == "5 mars 2024, 20:00 UTC+5:30"
    assert when(None) == ""


@settings(deadline=None)  # Babel loads a locale's data on first use
@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1),
                    timezones=st.sampled_from([UTC, ZoneInfo("America/St_Johns"), ZoneInfo("Asia/Kathmandu")])))
def test_every_moment_reads_in_the_one_pattern(moment: datetime) -> None:
    for lang in ("en", "fr", "xx"):
        text = when(moment, lang)
        assert re.fullmatch(r"\d{1,2} \S+ \d{4}, \d\d:\d\d UTC", text), text
    local = moment.astimezone(ZoneInfo("America/St_Johns"))
    assert zone_label(local).startswith("UTC-")


def test_permalink_and_hits_use_it(site: tuple[App, str]) -> None:
    app, _ = site
    _, _, body = get(app, "/post/unmiss-cholera")
    assert "10 Mar 2024, 10:00 UTC" in body
    _, _, body = get(app, "/search", {"q": "Bentiu"})
    assert "10 Mar 2024, 10:00 UTC" in body


def test_the_archive_in_french(site: tuple[App, str]) -> None:
    app, _ = site
    status, _, body = get(app, "/fr/search", {"q": "abyei"})
    assert status == "200 OK"
    assert '<html lang="fr">' in body and "Rechercher dans les archives" in body
    assert "publications correspondent" in body and "Flux des missions de maintien de la paix" in body
    # facets, hits and the next page stay in French
    assert 'href="/fr/search?q=abyei+mission%3AUNMISS&amp;sort=relevance"' in body
    assert 'href="/fr/post/unisfa-reunion" lang="fr" dir="auto"' in body
    assert 'hreflang="en" href="/search?q=abyei"' in body
    status, _, body = get(app, "/fr/post/unifil-arabic")
    assert status == "200 OK" and '<html lang="fr">' in body
    assert '<p class="text" lang="ar" dir="auto">' in body and "2 févr. 2024" in body
    assert "classée ici car" in body
    status, _, body = get(app, "/fr/post/unmiss-hidden")
    assert status == "404 Not Found" and "Publication introuvable" in body
    # and the English page is still English
    _, _, body = get(app, "/search", {"q": "abyei"})
    assert '<html lang="en">' in body and "posts match" in body


def test_french_site_title_follows_the_setting() -> None:
    from aggregator.render.i18n import site_title

    assert site_title(Settings(), "fr") == "Flux des missions de maintien de la paix"
    assert site_title(Settings(), "en") == "Peacekeeping mission feeds"
    custom = Settings(site_title="UN feeds")
    assert site_title(custom, "fr") == "UN feeds"
    assert site_title(Settings(site_title="UN feeds", site_title_fr="Flux ONU"), "fr") == "Flux ONU"


def test_french_mission_pages_read_in_french(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unmik = copy.deepcopy(MISSION_FILES["UNMIK"])
    unmik["profile"]["fr"] = {"summary": "Une petite mission civile qui œuvre à la confiance.",
                              "headquarters": "Pristina"}
    monkeypatch.setitem(MISSION_FILES, "UNMIK", unmik)
    app = make_test_app(tmp_path)
    render_site(app)
    french = (tmp_path / "output" / "fr" / "missions" / "unmik" / "index.html").read_text("utf-8")
    assert '<p lang="fr">Une petite mission civile qui œuvre à la confiance.</p>' in french
    # a text not translated yet stays English, and says so to screen readers and browsers
    assert '<p lang="en">Resolution 1244 (1999) remains its legal basis.</p>' in french
    assert "<title>UNMIK: Mission d'administration" in french.replace("&#39;", "'")
    assert "Flux des missions de maintien de la paix</title>" in french
    english = (tmp_path / "output" / "missions" / "unmik" / "index.html").read_text("utf-8")
    assert "œuvre" not in english and "Peacekeeping mission feeds</title>" in english


def test_every_shipped_mission_has_its_profile_in_french() -> None:
    config = load_config(ROOT / "config.yaml")
    for mission in config.missions.values():
        for key in ("summary", "mandate", "why_it_matters", "headquarters"):
            text, lang = mission.profile.text(key, "fr")
            assert lang == "fr" and text, f"{mission.acronym}: profile.fr.{key} is missing"


def test_a_wrong_translation_key_is_a_config_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unmik = copy.deepcopy(MISSION_FILES["UNMIK"])
    unmik["profile"]["fr"] = {"sumary": "faute de frappe"}
    monkeypatch.setitem(MISSION_FILES, "UNMIK", unmik)
    with pytest.raises(ConfigError) as err:
        load_config(make_project(tmp_path))
    assert "profile.fr.sumary" in err.value.message
