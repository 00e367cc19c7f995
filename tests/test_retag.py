"""`aggregator retag`: preview and apply new rules over the archive; editors' decisions stay."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator.app import App, make_app
from aggregator.cli import cli
from aggregator.config import load_config
from aggregator.models import Post, Tag
from aggregator.retag import retag

ROOT = Path(__file__).resolve().parent.parent
WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def _post(pid: str, text: str) -> Post:
    return Post(
        id=pid, source_id="feed:https://reliefweb.int/updates/rss.xml", kind="feed",
        external_id=pid, url=f"https://example.org/{pid}", author="ReliefWeb", author_handle=None,
        title="", text=text, html=f"<p>{text}</p>", published_at=WHEN, collected_at=WHEN,
        content_hash=f"h-{pid}",
    )


@pytest.fixture
def app(tmp_path: Path) -> App:
    shutil.copytree(ROOT / "feeds", tmp_path / "feeds", ignore=shutil.ignore_patterns("demo"))
    config = tmp_path / "config.yaml"
    config.write_text("database: data/a.db\noutput_dir: output\nmissions_dir: feeds\n", encoding="utf-8")
    app = make_app(load_config(config), clock=lambda: WHEN)
    # Tags as older rules left them: some stale, some right, one post with editors' decisions.
    app.store.save_posts([
        (_post("p1", "UN peacekeepers in Bentiu rescued families"), []),
        (_post("p2", "A quiet day in Kosovo"), [Tag("UNMIK", "place", "Kosovo")]),
        (_post("p3", "UNIFIL patrol"), [Tag("UNIFIL", "name", "UNIFIL")]),
        (_post("p4", "Photo of the day"), []),
        (_post("p5", "UNMISS helicopter lands"), [Tag("UNMISS", "name", "UNMISS")]),
    ])
    app.store.moderate("p4", "add_mission", mission="MINUSCA", editor="ed", note="our photo")
    app.store.moderate("p5", "remove_mission", mission="UNMISS", editor="ed", note="not theirs")
    return app


def _missions(app: App) -> dict[str, list[str]]:
    return {pid: [t.mission for t in app.store.tags_of(pid)] for pid in ("p1", "p2", "p3", "p4", "p5")}


def test_dry_run_shows_gains_and_losses_and_changes_nothing(app: App) -> None:
    before = _missions(app)
    report = retag(app, dry_run=True, batch_size=2)
    assert report.posts == 5 and report.posts_changed == 2
    assert report.gains == {"UNMISS": 1} and report.losses == {"UNMIK": 1}
    gained = report.examples["UNMISS"][0]
    assert gained.post_id == "p1" and gained.gained and "Bentiu" in gained.reason
    assert report.examples["UNMIK"][0].post_id == "p2"
    assert _missions(app) == before
    assert report.rendered == []


def test_apply_rewrites_tags_keeps_decisions_and_rerenders(app: App) -> None:
    report = retag(app, dry_run=False, batch_size=2)
    assert report.posts_changed == 2
    after = _missions(app)
    assert after == {"p1": ["UNMISS"], "p2": [], "p3": ["UNIFIL"], "p4": ["MINUSCA"], "p5": []}
    assert app.store.tags_of("p4")[0].decided_by == "editor"
    assert report.missions_changed == {"UNMISS", "UNMIK"}
    assert any("unmiss" in str(p) for p in report.rendered)
    again = retag(app, dry_run=True)
    assert again.posts_changed == 0


def test_retag_command_dry_run_and_apply(app: App) -> None:
    runner = CliRunner()
    config = str(app.config.path)
    app.close()
    dry = runner.invoke(cli, ["--config", config, "retag", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "5 posts read; 2 would change" in dry.stdout
    assert "UNMISS: +1 -0" in dry.stdout and "UNMIK: +0 -1" in dry.stdout
    assert "+ p1:" in dry.stdout
    done = runner.invoke(cli, ["--config", config, "retag"])
    assert done.exit_code == 0, done.output
    assert "2 changed" in done.stdout
    assert "0 would change" in runner.invoke(cli, ["--config", config, "retag", "--dry-run"]).stdout
