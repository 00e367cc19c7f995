"""Editing one entry of a mission file: every other byte stays (comments, quotes, layout)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.catalog.edit import SourcesFile
from aggregator.errors import UsageError

FLOW = """\
acronym: AAA   # kept as written
names: {en: "A mission",   fr: 'Une mission'}
sources:
  # Seen on the mission's page (2024).
  - {kind: feed, url: "https://a.example/rss.xml", name: "A news"}  # the main one
  # Found in one list only.
  - {kind: x, handle: A_on_X, name: 'A on X', verified: false}

# Rules follow.
rules:
  names: [AAA]
"""

BLOCK = """\
acronym: AAA
sources:
    -   kind: feed   # indented four
        url: https://a.example/rss.xml
        name: "A news"     # quoted on purpose
        evidence: one_list
    # between entries
    -   kind: x
        handle: A_on_X
rules: {names: [AAA]}
"""


def _doc(tmp_path: Path, text: str) -> SourcesFile:
    path = tmp_path / "aaa.yaml"
    path.write_text(text, encoding="utf-8")
    return SourcesFile(path)


def test_adding_to_a_flow_list_appends_one_flow_line(tmp_path: Path) -> None:
    new = _doc(tmp_path, FLOW).add({"kind": "feed", "url": "https://b.example/feed", "name": "B: radio"})
    line = "  - {kind: feed, url: https://b.example/feed, name: 'B: radio'}\n"
    assert new == FLOW.replace("verified: false}\n", "verified: false}\n" + line)


def test_updating_a_flow_entry_keeps_its_comment_and_the_rest(tmp_path: Path) -> None:
    new = _doc(tmp_path, FLOW).update({0: {"disabled": True}})
    old_line = '  - {kind: feed, url: "https://a.example/rss.xml", name: "A news"}  # the main one\n'
    assert old_line not in new
    assert "disabled: true}  # the main one\n" in new
    assert new.replace(new.splitlines(True)[4], old_line) == FLOW


def test_block_entries_change_line_by_line(tmp_path: Path) -> None:
    doc = _doc(tmp_path, BLOCK)
    new = doc.update({0: {"name": "A daily", "last_probed": "2026-12-05"}})
    assert new == BLOCK.replace('name: "A news"     # quoted on purpose', "name: A daily  # quoted on purpose").replace(
        "        evidence: one_list\n", "        evidence: one_list\n        last_probed: '2026-12-05'\n")
    added = doc.add({"kind": "feed", "url": "https://c.example/atom.xml"})
    assert added == BLOCK.replace("        handle: A_on_X\n", "        handle: A_on_X\n"
                                  "    - kind: feed\n      url: https://c.example/atom.xml\n")
    assert SourcesFile.from_text(doc.path, added).entries[-1]["url"] == "https://c.example/atom.xml"
    removed = doc.remove(0)
    assert removed == BLOCK.replace("""    -   kind: feed   # indented four
        url: https://a.example/rss.xml
        name: "A news"     # quoted on purpose
        evidence: one_list
""", "")


def test_a_value_over_several_lines_is_left_to_the_operator(tmp_path: Path) -> None:
    text = BLOCK.replace('name: "A news"     # quoted on purpose', "name: >-\n          A long\n          name")
    with pytest.raises(UsageError, match="several lines"):
        _doc(tmp_path, text).update({0: {"name": "Short"}})


def test_a_file_that_is_not_yaml_is_refused_before_anything(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not valid YAML"):
        _doc(tmp_path, "sources: [\n")
