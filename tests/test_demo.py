"""The offline demo: the real pipeline on the bundled sample feeds.

Each mission page must show exactly the sample posts labelled with that mission in
feeds/demo/labels.yaml, and the demo must never rewrite the real mission files.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.config import load_config

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "feeds" / "demo"
ITEM_URL = re.compile(r"http://127\.0\.0\.1:8765/items/[a-z0-9-]+/[0-9a-f]{12}")


def _labels() -> dict[str, set[str]]:
    data = yaml.safe_load((DEMO / "labels.yaml").read_text(encoding="utf-8"))
    return {guid: set(missions) for guid, missions in data["labels"].items()}


def _tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.glob("*.yaml")):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Run `aggregator demo --no-serve` once, on a copy of the demo settings in a temp dir."""
    tmp = tmp_path_factory.mktemp("demo")
    settings = yaml.safe_load((DEMO / "config.yaml").read_text(encoding="utf-8"))
    settings.update(
        database=str(tmp / "demo.db"),
        output_dir=str(tmp / "output"),
        missions_dir=str(ROOT / "feeds"),
        sources_file=str(DEMO / "sources.yaml"),
    )
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    before = _tree_hash(ROOT / "feeds")
    result = CliRunner().invoke(
        cli, ["--config", str(config), "demo", "--no-serve", "--feeds-dir", str(DEMO / "feeds")]
    )
    assert result.exit_code == 0, result.output
    assert _tree_hash(ROOT / "feeds") == before, "the demo rewrote the real mission files"
    return config, tmp / "output"


def test_demo_collects_every_sample_feed_without_error(demo_run: tuple[Path, Path]) -> None:
    config, _ = demo_run
    result = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    assert result.exit_code == 0, result.output
    assert "error" not in {row.get("state") for row in _json_rows(result.output)}


def _json_rows(text: str) -> list[dict[str, object]]:
    import json

    data = json.loads(text)
    rows = data["sources"] if isinstance(data, dict) else data
    assert isinstance(rows, list)
    return rows


def test_every_mission_page_shows_exactly_its_labelled_posts(demo_run: tuple[Path, Path]) -> None:
    config, output = demo_run
    labels = _labels()
    missions = load_config(config).missions
    assert len(missions) == 18
    problems = []
    for acronym in missions:
        page = output / "missions" / acronym.lower() / "index.html"
        assert page.exists(), f"no page for {acronym}"
        shown = set(ITEM_URL.findall(page.read_text(encoding="utf-8")))
        expected = {guid for guid, ms in labels.items() if acronym in ms}
        if shown != expected:
            problems.append(
                f"{acronym}: missing {sorted(expected - shown)}, unexpected {sorted(shown - expected)}"
            )
    assert not problems, "\n".join(problems)


def test_index_lists_all_missions(demo_run: tuple[Path, Path]) -> None:
    _, output = demo_run
    index = (output / "index.html").read_text(encoding="utf-8")
    for slug in ("unmik", "unisfa", "unamid", "minusma", "unmit"):
        assert f"missions/{slug}/" in index


def test_demo_refuses_sources_off_loopback(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        'sources:\n  - {kind: feed, mission: UNMIK, url: "http://feeds.example.org/a.xml"}\n',
        encoding="utf-8",
    )
    settings = yaml.safe_load((DEMO / "config.yaml").read_text(encoding="utf-8"))
    settings.update(
        database=str(tmp_path / "d.db"), output_dir=str(tmp_path / "out"),
        missions_dir=str(ROOT / "feeds"), sources_file=str(sources),
    )
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "demo", "--no-serve"])
    assert result.exit_code == 2
    assert "not a loopback address" in result.output
