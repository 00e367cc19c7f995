"""``aggregator sources import`` and ``export --opml``: OPML as other feed readers write it."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from aggregator.catalog.opml import read_opml
from aggregator.config import load_config
from tests.projects import write_mission
from tests.sources_support import project, run, snapshot

DATA = Path(__file__).parent / "data" / "opml"


def _sources(config: Path) -> set[tuple[str | None, str, str, str]]:
    c = load_config(config)
    return {(s.mission, s.kind, s.url or f"@{s.handle}", s.name) for s in c.all_sources()}


def _empty_project(tmp_path: Path, acronyms: list[str]) -> Path:
    for acronym in acronyms:
        write_mission(tmp_path / "feeds", acronym)
    return project(tmp_path, feeds=False)


def test_a_miniflux_export_goes_by_category_and_lists_the_unknown(tmp_path: Path) -> None:
    config = _empty_project(tmp_path, ["UNMIK", "UNIFIL"])
    # The second category is a mission's full name, as written in its file.
    (tmp_path / "feeds" / "unifil.yaml").write_text(
        (tmp_path / "feeds" / "unifil.yaml").read_text().replace("UNIFIL mission", "United Nations Interim Force in Lebanon"))
    result = run(config, "sources", "import", str(DATA / "miniflux.opml"))
    assert result.exit_code == 0, result.output
    assert "unknown: http://127.0.0.1:9/blog/feed: no category names a mission" in result.output
    got = _sources(config)
    assert ("UNMIK", "feed", "http://127.0.0.1:9/kosovo/rss.xml", "Kosovo desk") in got
    assert ("UNIFIL", "feed", "http://127.0.0.1:9/blue-line.atom", "Blue Line notes") in got
    assert len(got) == 2
    again = run(config, "sources", "import", str(DATA / "miniflux.opml"))
    assert "added 0 source(s)" in again.output and "2 already there" in again.output


def test_a_freshrss_export_with_mission_given_skips_what_is_there(tmp_path: Path) -> None:
    config = project(tmp_path)
    before = snapshot(tmp_path / "feeds")
    dry = run(config, "sources", "import", str(DATA / "freshrss.opml"), "--mission", "UNMISS", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would add 2 source(s)" in dry.output and "1 already there" in dry.output
    assert snapshot(tmp_path / "feeds") == before
    result = run(config, "sources", "import", str(DATA / "freshrss.opml"))
    assert result.exit_code == 0, result.output
    assert "unknown: http://127.0.0.1:9/cooking.xml" in result.output
    unmiss = {s.url: s for s in load_config(config).mission("UNMISS").sources if s.kind == "feed"}
    assert unmiss["http://127.0.0.1:9/juba/feed/"].name == "Juba radio"
    assert unmiss["http://127.0.0.1:9/juba/feed/"].evidence_note == "imported from freshrss.opml"
    changed = {n for n, b in snapshot(tmp_path / "feeds").items() if b != before[n]}
    assert changed == {"unmiss.yaml"}


def test_export_then_import_into_an_empty_project_gives_the_same_sources(tmp_path: Path) -> None:
    config = project(tmp_path / "full")
    out = tmp_path / "sources.opml"
    result = run(config, "sources", "export", "--opml", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0">')
    assert 'type="link"' in text and 'url="https://x.com/UNIFIL_"' in text
    full = load_config(config)
    empty = _empty_project(tmp_path / "empty", sorted(full.missions))
    (tmp_path / "empty" / "feeds" / "_general.yaml").write_text("sources: []\n", encoding="utf-8")
    result = run(empty, "sources", "import", str(out))
    assert result.exit_code == 0, result.output
    assert _sources(empty) == {(s.mission, s.kind, s.url or f"@{s.handle}", s.name) for s in full.all_sources()}


def test_a_file_that_is_not_opml_is_refused(tmp_path: Path) -> None:
    config = project(tmp_path)
    before = snapshot(tmp_path / "feeds")
    bad = tmp_path / "broken.opml"
    bad.write_bytes(b"<opml><body><outline text='x' xmlUrl='http://a/'")
    result = run(config, "sources", "import", str(bad))
    assert result.exit_code != 0
    assert snapshot(tmp_path / "feeds") == before


@given(st.text(max_size=200), st.sampled_from(["UNMIK", None]))
def test_read_opml_never_crashes_on_any_text(text: str, mission: str | None) -> None:
    from aggregator.errors import UsageError

    doc = f"<opml version='2.0'><body><outline text='{text}' xmlUrl='{text}'/></body></opml>"
    try:
        found = read_opml(doc.encode("utf-8", "replace"), {}, mission, "t.opml")
    except UsageError:
        return
    assert all(e["kind"] in ("feed", "x") for _, e in found.entries)
