"""The shipped mission files, and validation that reports every problem at once."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.errors import ConfigProblem
from aggregator.missions import load_missions_dir, read_yaml
from aggregator.models import EVIDENCE_LEVELS

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "feeds"
ACTIVE = {"MINURSO", "MINUSCA", "MONUSCO", "UNDOF", "UNFICYP", "UNIFIL", "UNISFA", "UNMIK",
          "UNMISS", "UNMOGIP", "UNTSO"}
CLOSED = {"UNAMID", "MINUSMA", "MINUSTAH", "UNMIL", "UNOCI", "MINUJUSTH", "UNMIT"}


def test_all_eighteen_missions_load_without_problems() -> None:
    problems: list[ConfigProblem] = []
    missions, general = load_missions_dir(FEEDS, problems)
    assert problems == []
    assert {m for m, v in missions.items() if v.status == "active"} == ACTIVE
    assert {m for m, v in missions.items() if v.status == "closed"} == CLOSED
    for m in missions.values():
        assert m.names.get("en") and m.names.get("fr"), m.acronym
        assert m.profile.summary and m.profile.mandate and m.profile.why_it_matters
        assert m.profile.sources, f"{m.acronym} profile lists no sources"
        assert all(f.source_url.startswith("http") for f in m.profile.figures), m.acronym
        if m.status == "closed":
            assert m.closed and m.rules.active_to, m.acronym
    assert missions["MONUSCO"].predecessors == ("MONUC",)
    assert "ONUCI" in missions["UNOCI"].rules.names
    assert {s.id for s in general} >= {"x:unpeacekeeping", "feed:https://reliefweb.int/updates/rss.xml"}
    assert all(s.mission is None for s in general)


def test_every_source_carries_its_evidence_and_verified_means_a_page_seen() -> None:
    missions, general = load_missions_dir(FEEDS, [])
    specs = [s for m in missions.values() for s in m.sources] + list(general)
    assert all(s.evidence in EVIDENCE_LEVELS and s.evidence_note for s in specs)
    assert all(s.verified == (s.evidence == "page_seen") for s in specs)
    seen = {s.handle for m in missions.values() for s in m.sources if s.kind == "x" and s.verified}
    # Accounts a stored page shows as the mission's (an embedded or quoted post naming them).
    assert seen == {"UNIFIL_", "MONUSCO", "UN_Cyprus", "UN_MINUSMA"}
    europe = next(s for s in general if s.url and "region/europe" in s.url)
    assert europe.evidence == "page_seen" and set(europe.covers) == {"UNMIK", "UNFICYP"}
    assert all(s.mission is None for s in general if s.covers)


def test_evidence_and_coverage_are_validated(tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    shutil.copytree(FEEDS, folder, ignore=shutil.ignore_patterns("demo"))
    data = yaml.safe_load((folder / "unmik.yaml").read_text(encoding="utf-8"))
    data["sources"] = [
        {"kind": "feed", "url": "https://a.example/rss", "verified": True, "evidence": "one_list"},
        {"kind": "feed", "url": "https://b.example/rss", "evidence": "rumour"},
        {"kind": "feed", "url": "https://c.example/rss", "covers": ["UNMIK"]},
    ]
    (folder / "unmik.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    general = yaml.safe_load((folder / "_general.yaml").read_text(encoding="utf-8"))
    general["sources"][0]["covers"] = ["UNMIK", "UNOSOM"]
    (folder / "_general.yaml").write_text(yaml.safe_dump(general, allow_unicode=True), encoding="utf-8")
    problems: list[ConfigProblem] = []
    load_missions_dir(folder, problems)
    where = {(Path(p.file).name, p.key): p for p in problems}
    assert ("unmik.yaml", "sources[0].verified") in where
    assert ("unmik.yaml", "sources[1].evidence") in where
    assert ("unmik.yaml", "sources[2].covers") in where
    assert any(name == "_general.yaml" and "UNOSOM" in p.message for (name, _), p in where.items())


def _broken_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "feeds"
    shutil.copytree(FEEDS, folder, ignore=shutil.ignore_patterns("demo"))
    data = yaml.safe_load((folder / "unmik.yaml").read_text(encoding="utf-8"))
    data["status"] = "paused"
    data["rules"]["places"]["Pristina"] = 3
    data["sources"] = [{"kind": "x", "handle": "not a handle!"}]
    del data["profile"]["mandate"]
    (folder / "unmik.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (folder / "unmiss.yaml").write_text("acronym: UNMISS\nnames: [oops\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("database: db.sqlite\nmissions_dir: feeds\n", encoding="utf-8")
    return config


def test_every_problem_is_reported_at_once_with_file_key_and_hint(tmp_path: Path) -> None:
    config = _broken_copy(tmp_path)
    problems: list[ConfigProblem] = []
    load_missions_dir(config.parent / "feeds", problems)
    where = {(Path(p.file).name, p.key) for p in problems}
    assert ("unmik.yaml", "status") in where
    assert ("unmik.yaml", "rules.places.Pristina") in where
    assert ("unmik.yaml", "sources[0].handle") in where
    assert ("unmik.yaml", "profile.mandate") in where
    assert any(name == "unmiss.yaml" for name, _ in where)
    assert all(p.hint or p.message for p in problems)
    handle = next(p for p in problems if p.key == "sources[0].handle")
    assert handle.hint and "letters" in handle.hint


def test_check_exits_non_zero_on_a_broken_mission_file(tmp_path: Path) -> None:
    config = _broken_copy(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert result.exit_code == 3
    assert "unmik.yaml: status" in result.output and "unmiss.yaml" in result.output


def test_check_passes_on_the_shipped_files_as_a_subprocess() -> None:
    exe = Path(sys.executable).with_name("aggregator")
    proc = subprocess.run([str(exe), "--config", str(ROOT / "config.yaml"), "check"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "18 missions (11 active)" in proc.stdout


def test_no_mission_file_repeats_a_key() -> None:
    """YAML keeps the last of two equal keys silently; a repeated place would hide a weight."""

    class Strict(yaml.SafeLoader):
        pass

    repeats: list[str] = []

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> object:
        keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
        repeats.extend(f"{node.start_mark.name}: {k}" for k in set(keys) if keys.count(k) > 1)
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    for path in sorted(FEEDS.glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            yaml.load(fh, Loader=Strict)
    assert repeats == []


def test_general_rules_are_validated_too(tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    shutil.copytree(FEEDS, folder, ignore=shutil.ignore_patterns("demo"))
    data = yaml.safe_load((folder / "_general.yaml").read_text(encoding="utf-8"))
    data["rules"]["topic"] = ["A4P"]
    data["rules"]["elsewhere"] = "UNHCR"
    (folder / "_general.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    problems: list[ConfigProblem] = []
    load_missions_dir(folder, problems)
    assert {(p.key, p.message) for p in problems} == {
        ("rules.topic", "unknown key"), ("rules.elsewhere", "must be a list of text")}
    assert next(p for p in problems if p.key == "rules.topic").hint


def test_every_shipped_yaml_file_reads_the_same_with_libyaml() -> None:
    # read_yaml uses libyaml's loader when PyYAML has it; it must give what safe_load gives.
    files = sorted({*ROOT.glob("*.yaml"), *FEEDS.rglob("*.yaml")})
    assert len(files) > 20
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert read_yaml(text) == yaml.safe_load(text), path
    awkward = "a: 1_000\nb: 0o17\nc: yes\nd: 2025-06-03\ne: ~\nf: !!str 12\ng: [.inf, -.nan]\n"
    assert str(read_yaml(awkward)) == str(yaml.safe_load(awkward))
