"""Tagging: each post gets the missions it concerns, with the rule and words that decided it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.missions import load_missions_dir, read_general_rules
from aggregator.models import Mission, Post, SourceSpec
from aggregator.tag import Tagger, url_date
from aggregator.tag.rules import general_rules_from, normalize, tokenize

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "feeds"

SEED_UNISFA = (
    "The Joint Border Verification and Monitoring Mechanism encourages both #Sudan and #SouthSudan "
    "to resolve border issues by cooperating. @UNISFA_1 is tasked with creating a safe and stable "
    "environment by conducting regular air and ground patrols within a demilitarized border zone. "
    "https://t.co/Bu06QEK2O0"
)
SEED_UNAMID = (
    "RT @unamidnews: #PhotoOfTheDay: Today, 19 August is #WorldHumanitarianDay. UNSG Antonio "
    "Guterres expressed solidarity with people affected…"
)
SEED_GENERAL = (
    "Karin Landgren, former @UN Under-Sec-Gen & head of peace operations in Liberia, Burundi & "
    "Nepal, offers views on the Action for Peacekeeping initiative #A4P in \"Nailing Down the "
    "Primacy of Politics in @UNPeacekeeping: An Insider Perspective\" via https://t.co/AmYAULqJ6F "
    "https://t.co/bWeBTD3EoI"
)


@pytest.fixture(scope="module")
def missions() -> dict[str, Mission]:
    problems: list[object] = []
    found, _ = load_missions_dir(FEEDS, problems)  # type: ignore[arg-type]
    assert not problems
    return found


@pytest.fixture(scope="module")
def tagger(missions: dict[str, Mission]) -> Tagger:
    return Tagger(missions.values(), general_rules_from(read_general_rules(FEEDS)))


def missions_of(tagger: Tagger, text: str, **kw: object) -> list[str]:
    return [t.mission for t in tagger.tag_text(text, **kw)]  # type: ignore[arg-type]


def test_the_three_posts_of_the_original_unmik_page(tagger: Tagger) -> None:
    unisfa = tagger.tag_text(SEED_UNISFA)
    assert [(t.mission, t.rule, t.matched) for t in unisfa] == [("UNISFA", "mention", "@UNISFA_1")]
    assert missions_of(tagger, SEED_UNAMID) == ["UNAMID"]
    assert missions_of(tagger, SEED_GENERAL) == []
    # None of them is about Kosovo, even when shown by UNMIK's own source: the text wins.
    assert missions_of(tagger, SEED_UNISFA, source_mission="UNMIK") == ["UNISFA"]
    assert missions_of(tagger, SEED_GENERAL, source_mission="UNMIK") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Minusca patrols in Bambari", ["MINUSCA"]),  # mixed case
        ("La MINUJUSTH a terminé son mandat en Haïti.", ["MINUJUSTH"]),
        ("Nouvelles de l'ONUCI à Abidjan", ["UNOCI"]),  # French acronym
        ("Archive photo of MONUC troops", ["MONUSCO"]),  # predecessor
        ("Raporti i Zëvendës Përfaqësuesit të UNMIK-ut", ["UNMIK"]),  # inflected
        ("UNTSO's observers", ["UNTSO"]),
        ("قوات اليونيفيل في الجنوب", ["UNIFIL"]),  # Arabic
        ("The U.N. Interim Force in Lebanon said", ["UNIFIL"]),  # U.N. and full name
        ("Mission de l'Organisation des Nations Unies pour la stabilisation en République "
         "démocratique du Congo", ["MONUSCO"]),
        ("#UNMISS peacekeepers", ["UNMISS"]),
        ("Patrol near the Blue Line", ["UNIFIL"]),  # place that decides alone
        ("Thanks @UNMIK for the radio project", ["UNMIK"]),  # a handle that is the acronym
    ],
)
def test_names_aliases_languages_hashtags_and_places(tagger: Tagger, text: str, expected: list[str]) -> None:
    assert missions_of(tagger, text) == expected


def test_whole_words_only(tagger: Tagger) -> None:
    assert missions_of(tagger, "UNMIS, the UN Mission in Sudan, closed in 2011") == []
    assert missions_of(tagger, "UNMISSING data") == []
    assert missions_of(tagger, "MISCA handed over") == []


def test_lookalikes_are_not_missions(tagger: Tagger) -> None:
    for text in ("EULEX judges in Pristina", "KFOR soldiers at the bridge",
                 "OSCE Special Monitoring Mission to Ukraine daily report",
                 "BINUCA opened an office", "AMIS troops in Darfur in 2006"):
        assert missions_of(tagger, text) == [], text


def test_other_bodies_missions_in_south_sudan_are_not_unmiss(tagger: Tagger) -> None:
    for text in ["WFP mission in South Sudan delivers food to Jonglei",
                 "A joint mission in South Sudan by UNICEF and WFP reached Pibor",
                 "UNHCR mission in South Sudan assessed the camps"]:
        assert missions_of(tagger, text) == [], text
    assert missions_of(tagger, "The Mission in South Sudan deployed a team to Cueibet") == ["UNMISS"]
    assert missions_of(tagger, "UNMISS and the WFP mission in South Sudan met in Juba") == ["UNMISS"]


def test_a_weak_place_needs_peacekeeping_context(tagger: Tagger) -> None:
    assert missions_of(tagger, "Floods in Bentiu displace thousands") == []
    assert missions_of(tagger, "UN peacekeepers in Bentiu rescued families") == ["UNMISS"]
    tag = tagger.tag_text("UN peacekeepers in Bentiu rescued families")[0]
    assert tag.rule == "place" and "Bentiu" in tag.matched and "peacekeepers" in tag.matched


def test_a_mission_word_beside_a_place_is_context_but_other_troops_are_not(tagger: Tagger) -> None:
    when = datetime(2017, 7, 1, tzinfo=UTC)
    assert missions_of(tagger, "Brazil prepares the withdrawal of its Haiti mission", published=when) == ["MINUSTAH"]
    assert missions_of(tagger, "Israeli troops in the Golan Heights fired shots") == []
    assert missions_of(tagger, "UN troops in the Golan Heights reported shots") == ["UNDOF"]


def test_a_list_of_host_countries_is_a_general_piece(tagger: Tagger) -> None:
    text = "Peacekeepers in Mali, South Sudan, Lebanon and Cyprus marked the day."
    assert missions_of(tagger, text) == []


def test_general_topics_give_no_mission_unless_one_is_meant(tagger: Tagger) -> None:
    assert missions_of(tagger, "#PKDay: we honour every peacekeeper") == []
    assert missions_of(tagger, "A4P: 150 countries endorsed the declaration") == []
    meant = "#PKDay Peacekeeper of the Day: a nurse with @UN_MINUSMA in Gao"
    assert missions_of(tagger, meant) == ["MINUSMA"]


def test_dates_decide_places(tagger: Tagger) -> None:
    text = "UN peacekeepers in Abyei came under fire"
    assert missions_of(tagger, text, published=datetime(2012, 3, 1, tzinfo=UTC)) == ["UNISFA"]
    # Before UNISFA existed, peacekeepers in Abyei were UNMIS's.
    assert missions_of(tagger, text, published=datetime(2010, 3, 1, tzinfo=UTC)) == []
    assert missions_of(tagger, text, source_url="https://example.org/2009/05/story") == []
    # Haiti: MINUSTAH until October 2017, MINUJUSTH after.
    haiti = "UN peacekeepers patrol Port-au-Prince, Haiti"
    assert missions_of(tagger, haiti, published=datetime(2010, 1, 1, tzinfo=UTC)) == ["MINUSTAH"]
    assert missions_of(tagger, haiti, published=datetime(2018, 6, 1, tzinfo=UTC)) == ["MINUJUSTH"]
    # Without a date or a dated URL, a dateline in the text decides.
    assert missions_of(tagger, "Abyei, 12 May 2010: UN peacekeepers came under fire") == []
    assert missions_of(tagger, "Abyei, March 3, 2014: UN peacekeepers came under fire") == ["UNISFA"]
    # A mission named outright is tagged whatever the date.
    assert missions_of(tagger, "UNAMID archive", published=datetime(2025, 1, 1, tzinfo=UTC)) == ["UNAMID"]


def test_url_dates() -> None:
    assert url_date("https://www.pri.org/stories/2011-06-28/x")[0].isoformat() == "2011-06-28"  # type: ignore[index]
    assert url_date("https://nation.com.pk/18-Jan-2013/loc")[0].isoformat() == "2013-01-18"  # type: ignore[index]
    assert url_date("http://unpprj.blogspot.com/2017/08")[1].isoformat() == "2017-08-31"  # type: ignore[index]
    assert url_date("https://example.org/news/12345") is None


def test_own_source_is_the_default_that_the_text_can_overrule(tagger: Tagger) -> None:
    assert missions_of(tagger, "Today our team met women leaders.", source_mission="UNMISS") == ["UNMISS"]
    tag = tagger.tag_text("Today our team met women leaders.", source_mission="UNMISS")[0]
    assert tag.rule == "own_source"
    assert missions_of(tagger, "The MINUSCA Force held an open day.",
                       source_url="https://unmiss.unmissions.org/en/news") == ["MINUSCA"]
    assert missions_of(tagger, "The Special Representative for Somalia briefed the Council.",
                       source_url="https://unmiss.unmissions.org/en/news") == []
    assert missions_of(tagger, "#PKDay: thank you to every peacekeeper", source_mission="UNIFIL") == []
    host = tagger.tag_text("A new clinic opened.", source_url="https://www.unisfa.unmissions.org/x")
    assert [(t.mission, t.rule, t.matched) for t in host] == [("UNISFA", "host", "unisfa.unmissions.org")]


def test_tag_reads_a_post_and_its_entities(tagger: Tagger) -> None:
    post = Post(
        id="p1", source_id="x:someone", kind="x", external_id="1", url=None, author="Someone",
        author_handle="someone", title="", text="Great work by the team today",
        html="", published_at=datetime(2020, 5, 1, tzinfo=UTC), collected_at=datetime(2020, 5, 1, tzinfo=UTC),
        mentions=("unamidnews",),
    )
    assert [t.mission for t in tagger.tag(post)] == ["UNAMID"]
    spec = SourceSpec(id="x:unifil_", kind="x", name="UNIFIL", mission="UNIFIL", handle="UNIFIL_")
    plain = Post(**{**post.__dict__, "mentions": ()})
    assert [(t.mission, t.rule) for t in tagger.tag(plain, spec)] == [("UNIFIL", "own_source")]
    # An account of a mission seen through a general source (a list, a bridge) is its own.
    by_mission = Post(**{**plain.__dict__, "author": "UNAMID", "author_handle": "unamidnews"})
    assert [(t.mission, t.rule) for t in tagger.tag(by_mission)] == [("UNAMID", "own_source")]


def test_every_tag_explains_itself(tagger: Tagger) -> None:
    for text in ("UNMISS helicopter", "Radio Okapi turns 20 with UN peacekeepers", "@UNIFIL_ statement"):
        for tag in tagger.tag_text(text):
            assert tag.rule and tag.matched and tag.reason


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_tags_without_error_deterministically_with_explained_tags(text: str) -> None:
    tagger = _shared_tagger()
    tags = tagger.tag_text(text)
    assert tags == tagger.tag_text(text)  # deterministic
    rules = {"name", "hashtag", "mention", "place", "term", "own_source", "host"}
    assert all(t.mission in tagger.missions and t.rule in rules and t.reason for t in tags)
    assert all(tok and not any(ch.isspace() for ch in tok) for tok in tokenize(normalize(text)))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["UNMISS", "MINUSCA", "UNIFIL", "MONUSCO", "Unficyp"]),
       st.text(alphabet=" .,;:!?()\n", max_size=5), st.text(alphabet=" .,;:!?()\n", max_size=5))
def test_an_acronym_is_found_whatever_the_punctuation_and_case(
    acronym: str, before: str, after: str
) -> None:
    tagger = _shared_tagger()
    for variant in (acronym, acronym.lower(), acronym.title()):
        assert [t.mission for t in tagger.tag_text(before + variant + after)] == [acronym.upper()]


_CACHE: dict[str, Tagger] = {}


def _shared_tagger() -> Tagger:
    if "t" not in _CACHE:
        found, _ = load_missions_dir(FEEDS, [])
        _CACHE["t"] = Tagger(found.values(), general_rules_from(read_general_rules(FEEDS)))
    return _CACHE["t"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(max_size=120),
    st.builds(lambda y, m, d, sep: f"https://example.org/{y}{sep}{m:02d}{sep}{d:02d}/story",
              st.integers(1900, 2099), st.integers(0, 13), st.integers(0, 32), st.sampled_from("-/_")),
))
def test_url_dates_never_fail_and_give_an_ordered_range(url: str) -> None:
    found = url_date(url)
    assert found is None or found[0] <= found[1]
