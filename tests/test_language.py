"""Every post has a language: the entry's, else the feed's, else detected (#18 item 1)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.app import make_app
from aggregator.cli import cli
from aggregator.config import load_config
from aggregator.models import Post, SourceSpec
from aggregator.normalize import normalize
from aggregator.normalize.language import UNDETERMINED, detect, resolve, tidy
from aggregator.search import parse
from aggregator.sources.feed_parse import parse_body
from aggregator.sources.feed_result import items_of
from tests.language_support import dev_items, labelled

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "feeds" / "demo"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BCP47 = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


# --- where a language comes from ----------------------------------------------------------


def test_the_entry_wins_then_the_feed_then_the_text() -> None:
    french = "Les casques bleus ont escorté un convoi humanitaire vers Bunia ce matin."
    assert resolve("en-us", "fr", "", french) == resolve("EN-US", None, "", "")
    assert resolve("en-us", "fr", "", french).origin == "entry"
    assert resolve("en-us", "fr", "", french).code == "en-US"
    assert (resolve(None, "fr-ca", "", "").code, resolve(None, "fr-ca", "", "").origin) == ("fr-CA", "feed")
    found = resolve(None, "", "", french)
    assert (found.code, found.origin) == ("fr", "detected")
    assert found.confidence is not None and 0.5 < found.confidence <= 1
    # X's und / zxx / qme are not languages: the text decides
    assert resolve("und", None, "", french).origin == "detected"
    assert resolve("zxx", "English", "", french).code == "fr"


def test_a_post_with_no_words_is_undetermined_not_guessed() -> None:
    for text in ("", "https://t.co/abc123 #PKDay @UNPeacekeeping", "📷 2024", "…"):
        got = detect("", text)
        assert (got.code, got.origin, got.confidence) == (UNDETERMINED, "detected", 0.0)


@given(st.text(max_size=40))
def test_tidy_gives_a_bcp47_tag_or_nothing(code: str) -> None:
    tag = tidy(code)
    assert tag is None or BCP47.match(tag), tag


@settings(deadline=None)  # the first call loads the model
@given(st.text(max_size=400), st.text(max_size=80))
def test_detection_always_answers_with_a_code_and_a_probability(text: str, title: str) -> None:
    got = detect(title, text)
    assert BCP47.match(got.code) and got.origin == "detected"
    assert got.confidence is not None and 0.0 <= got.confidence <= 1.0


RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<title>MINUSCA</title><link>https://minusca.example.org/</link><language>fr</language>
<item><guid>1</guid><title>Patrouille</title><description>Les casques bleus patrouillent à Bangui.</description></item>
</channel></rss>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Mixed</title><id>urn:m</id><updated>2026-11-01T00:00:00Z</updated>
<entry xml:lang="ar"><id>urn:1</id><title>دورية</title><updated>2026-11-01T00:00:00Z</updated>
<summary>قامت قوات حفظ السلام بدورية في المنطقة.</summary></entry>
<entry><id>urn:2</id><title>Patrol</title><updated>2026-11-01T00:00:00Z</updated>
<summary>Peacekeepers patrolled the area near the border on Tuesday morning.</summary></entry>
</feed>"""


def _posts(body: str, ctype: str) -> list[Post]:
    spec = SourceSpec(id="feed:x", kind="feed", url="https://example.org/feed", name="x",
                      mission=None)
    parsed = parse_body(body.encode(), "https://example.org/feed", ctype)
    return [normalize(item, collected_at=NOW) for item in items_of(spec, spec.url or "", parsed)]


def test_the_feeds_language_reaches_posts_that_declare_none() -> None:
    (post,) = _posts(RSS, "application/rss+xml")
    assert (post.language, post.language_origin, post.language_confidence) == ("fr", "feed", None)
    arabic, english = _posts(ATOM, "application/atom+xml")
    assert (arabic.language, arabic.language_origin) == ("ar", "entry")
    assert (english.language, english.language_origin) == ("en", "detected")


# --- accuracy on real texts ---------------------------------------------------------------


@pytest.mark.shared
def test_detection_is_right_on_at_least_95_percent_of_labelled_real_texts(shared: Path) -> None:
    items = labelled(shared)
    right = {"en": [0, 0], "other": [0, 0]}
    misses = []
    for where, title, text, truth in items:
        got = detect(title, text).code.split("-")[0]
        group = right["en" if truth == "en" else "other"]
        group[1] += 1
        if got == truth:
            group[0] += 1
        else:
            misses.append((where, truth, got, (title or text)[:60]))
    assert right["other"][1] >= 70 and right["en"][1] >= 200  # both kinds are really measured
    for ok, total in right.values():
        assert ok / total >= 0.95, misses
    assert len(dev_items(shared)) == 100


# --- the demo: every post has one, lang:en finds every English post --------------------------


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("demo-lang")
    settings = yaml.safe_load((DEMO / "config.yaml").read_text(encoding="utf-8"))
    settings.update(database=str(tmp / "demo.db"), output_dir=str(tmp / "output"),
                    missions_dir=str(ROOT / "feeds"), sources_file=str(DEMO / "sources.yaml"))
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--config", str(config), "demo", "--no-serve", "--feeds-dir", str(DEMO / "feeds")]
    )
    assert result.exit_code == 0, result.output
    return config


def _search(config: Path, query: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(
        cli, ["--config", str(config), "search", query, "--format", "json", "--limit", "0"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


def test_demo_every_post_has_a_language_and_lang_en_finds_every_english_one(demo_config: Path) -> None:
    every = _search(demo_config, "")
    assert len(every) >= 50
    assert all(row["language"] for row in every)
    english = {row["id"] for row in every if str(row["language"]).split("-")[0] == "en"}
    assert len(english) > len(every) // 2
    assert {row["id"] for row in _search(demo_config, "lang:en")} == english
    with make_app(load_config(demo_config)) as app:
        facets = app.store.search_facets(parse(""))
        origins = dict(app.store.db.execute(
            "SELECT language_origin, COUNT(*) FROM posts GROUP BY 1").fetchall())
    assert facets.total == len(every)
    assert sum(n for value, n in facets.lang if value) == facets.total
    assert set(origins) <= {"entry", "feed", "detected"} and origins.get("feed", 0) > 0


# --- relang: the archive collected before ----------------------------------------------------


def _legacy(config: Path) -> None:
    """Make the archive look collected before #18: languages lost, no origin."""
    with make_app(load_config(config)) as app:
        db = app.store.db
        db.execute("UPDATE posts SET language_origin = NULL, language_confidence = NULL")
        db.execute("UPDATE posts SET language = NULL WHERE id IN"
                   " (SELECT id FROM posts ORDER BY id LIMIT 20)")
        db.execute("UPDATE posts SET language = 'EN-us' WHERE id IN"
                   " (SELECT id FROM posts ORDER BY id LIMIT 1 OFFSET 30)")
        db.conn.commit()


def _languages(config: Path) -> dict[str, tuple[object, ...]]:
    with make_app(load_config(config)) as app:
        return {r[0]: tuple(r[1:]) for r in app.store.db.execute(
            "SELECT id, language, language_origin FROM posts").fetchall()}


def test_relang_dry_run_changes_nothing_then_fills_every_language(demo_config: Path) -> None:
    _legacy(demo_config)
    before = _languages(demo_config)
    runner = CliRunner()
    dry = runner.invoke(cli, ["--config", str(demo_config), "relang", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "21 languages would change" in dry.output and "none -> en (detected)" in dry.output
    assert _languages(demo_config) == before
    done = runner.invoke(cli, ["--config", str(demo_config), "relang"])
    assert done.exit_code == 0, done.output
    assert "21 languages changed" in done.output
    after = _languages(demo_config)
    assert all(lang and origin in ("entry", "detected") for lang, origin in after.values())
    assert "en-US" in {lang for lang, _ in after.values()}
    again = runner.invoke(cli, ["--config", str(demo_config), "relang", "--dry-run"])
    assert "0 languages would change" in again.output


def test_the_unpacked_model_answers_like_the_packaged_one() -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from aggregator.normalize.language import _cached_identifier, cache_dir

    cached = _cached_identifier()
    packaged = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    texts = ["Peacekeepers patrolled the border.", "Les casques bleus patrouillent à Bangui.",
             "قامت قوات حفظ السلام بدورية", "Walinda amani kutoka kwa ujumbe wa Umoja wa Mataifa", ""]
    for text in texts:
        (a, p), (b, q) = cached.classify(text), packaged.classify(text)
        assert a == b and abs(p - q) < 1e-6
    assert any(cache_dir().glob("py3langid-*/ptc.npy"))


def test_a_damaged_model_cache_falls_back_to_the_packaged_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib.metadata import version

    from py3langid.langid import MODEL_DIR, MODEL_FILE

    from aggregator.normalize import language

    monkeypatch.setenv("AGGREGATOR_CACHE", str(tmp_path))
    size = (MODEL_DIR / MODEL_FILE).stat().st_size
    folder = tmp_path / f"py3langid-{version('py3langid')}-{size}"
    folder.mkdir()
    (folder / "done").write_text("ok", encoding="utf-8")
    for key in ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat"):
        (folder / f"{key}.npy").write_bytes(b"\x93NUMPY truncated")
    language._identifier.cache_clear()
    try:
        found = language.detect("", "Les casques bleus ont escorté un convoi vers Bunia ce matin.")
    finally:
        language._identifier.cache_clear()
    assert found.code == "fr"
