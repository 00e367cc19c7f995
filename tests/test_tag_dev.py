"""Measured accuracy on real labelled texts (../shared/tagging/dev.jsonl, read in place)."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from aggregator.commands.tagging import evaluate, report
from aggregator.missions import load_missions_dir, read_general_rules
from aggregator.models import Mission
from aggregator.tag import Tagger
from aggregator.tag.rules import GAP, general_rules_from, normalize, phrase_tokens, tokenize
from tests.conftest import need

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "feeds"


@pytest.fixture(scope="module")
def dev_items(shared: Path) -> list[dict[str, object]]:
    path = shared / "tagging" / "dev.jsonl"
    need(path.exists(), f"{path} not found")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def missions() -> dict[str, Mission]:
    found, _ = load_missions_dir(FEEDS, [])
    return found


@pytest.mark.shared
def test_dev_set_precision_recall_and_no_false_alarm_on_empty_items(
    dev_items: list[dict[str, object]], missions: dict[str, Mission]
) -> None:
    tagger = Tagger(missions.values(), general_rules_from(read_general_rules(FEEDS)))
    ev = evaluate(tagger, dev_items)
    text = report(ev)
    assert ev.total.precision >= 0.97, text
    assert ev.total.recall >= 0.92, text
    assert ev.empty_false_alarms == 0, text


def _rule_phrases(missions: dict[str, Mission]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for m in missions.values():
        r = m.rules
        for phrase in (*r.names, *r.former_names, *r.places, *r.terms, *r.lookalikes, *r.hashtags):
            out.append((m.acronym, phrase))
    general = read_general_rules(FEEDS)
    for key, values in general.items():
        if isinstance(values, list):
            out.extend((f"_general.{key}", str(v)) for v in values)
    return out


def _own_names(missions: dict[str, Mission]) -> list[tuple[str, ...]]:
    names = [phrase_tokens(n) for m in missions.values() for n in (*m.names.values(), *m.rules.former_names)]
    return [n for n in names if n]


def _is_own_name(tokens: tuple[str, ...], own: list[tuple[str, ...]]) -> bool:
    """Part of a mission's own name, or a spelling variant of one ("Observers Group")."""
    joined = " ".join(tokens)
    for name in own:
        full = " ".join(name)
        if joined in full or difflib.SequenceMatcher(None, joined, full).ratio() >= 0.95:
            return True
    return False


@pytest.mark.shared
def test_no_rule_copies_a_phrase_of_four_or_more_words_from_the_dev_set(
    dev_items: list[dict[str, object]], missions: dict[str, Mission]
) -> None:
    texts = [" ".join(tokenize(normalize(str(item["text"])))) for item in dev_items]
    own = _own_names(missions)
    copied = []
    for owner, phrase in _rule_phrases(missions):
        for part in phrase.split(GAP):
            tokens = phrase_tokens(part)
            if len(tokens) < 4 or _is_own_name(tokens, own):
                continue
            needle = f" {' '.join(tokens)} "
            if any(needle in f" {text} " for text in texts):
                copied.append(f"{owner}: {phrase!r}")
    assert copied == [], "rules copied from dev.jsonl (write general rules instead): " + "; ".join(copied)


def test_the_phrase_check_would_catch_a_copied_rule(missions: dict[str, Mission]) -> None:
    own = _own_names(missions)
    assert not _is_own_name(phrase_tokens("UN peacekeeping force in Lebanon"), own)
    assert _is_own_name(phrase_tokens("UN Interim Force in Lebanon"), own)
    assert _is_own_name(phrase_tokens("Mission in South Sudan"), own)
