"""Editors' decisions through the store and `aggregator moderate`/`audit`: the lifecycle.

Hide, re-collect, still hidden; pin, retag, still pinned; remove a rule-made tag, retag,
still removed; every step in the audit log.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator.app import App
from aggregator.cli import cli
from aggregator.errors import UsageError
from tests.conftest import need
from tests.test_moderation_support import (  # noqa: F401 (fixtures)
    app_fixture,
    clock_fixture,
    make_post,
    project_fixture,
    rule_tag,
    save,
)


def _public_ids(app: App, mission: str) -> set[str]:
    return {r["id"] for r in app.store.visible_posts(mission, limit=100)}


def _retag(app: App) -> None:
    """Run the project's real retag when it exists; the same rules tag the same posts."""
    need(importlib.util.find_spec("aggregator.retag") is not None, "aggregator.retag not built yet")
    from aggregator.retag import retag

    retag(app, dry_run=False)


def test_hidden_post_stays_hidden_after_recollection(app: App) -> None:
    post = make_post("p1", text="UNMIK patrol in Mitrovica")
    save(app, (post, [rule_tag("UNMIK")]))
    assert "p1" in _public_ids(app, "UNMIK")

    app.store.moderate("p1", "hide", editor="ana", note="duplicate of p2")
    assert "p1" not in _public_ids(app, "UNMIK")

    # The same post collected again, and then an edited version of it.
    save(app, (post, [rule_tag("UNMIK")]))
    edited = make_post("p1", text="UNMIK patrol in Mitrovica (updated)")
    added, updated, _ = save(app, (edited, [rule_tag("UNMIK")]))
    assert (added, updated) == (0, 1)
    assert "p1" not in _public_ids(app, "UNMIK")
    assert "p1" not in {r["id"] for r in app.store.visible_posts(None, limit=100)}
    assert app.store.mission_counts().get("UNMIK", (0, None))[0] == 0
    # Editors still see it in the queue, flagged.
    row = next(r for r in app.store.moderation_queue("UNMIK") if r["id"] == "p1")
    assert row["hidden"] == 1 and row["hidden_note"] == "duplicate of p2"

    app.store.moderate("p1", "show", editor="ana", note="not a duplicate after all")
    assert "p1" in _public_ids(app, "UNMIK")


def test_pinned_post_stays_pinned_and_first(app: App) -> None:
    old = make_post("old", minutes_ago=600)
    new = make_post("new", minutes_ago=1)
    save(app, (old, [rule_tag("UNMIK")]), (new, [rule_tag("UNMIK")]))
    assert [r["id"] for r in app.store.visible_posts("UNMIK")][:2] == ["new", "old"]

    app.store.moderate("old", "pin", editor="ana", note="mandate renewal")
    save(app, (make_post("old", minutes_ago=600, text="changed"), [rule_tag("UNMIK")]))
    assert [r["id"] for r in app.store.visible_posts("UNMIK")][:2] == ["old", "new"]

    app.store.moderate("old", "unpin", editor="ana", note="renewal is old news")
    assert [r["id"] for r in app.store.visible_posts("UNMIK")][:2] == ["new", "old"]


def test_removed_rule_tag_stays_removed_when_rules_tag_it_again(app: App) -> None:
    post = make_post("p1", text="Abyei and Kosovo")
    save(app, (post, [rule_tag("UNMIK"), rule_tag("UNISFA", "Abyei")]))
    app.store.moderate(
        "p1", "remove_mission", editor="ana", note="Abyei is only a comparison", mission="UNISFA"
    )
    assert "p1" not in _public_ids(app, "UNISFA")
    assert "p1" in _public_ids(app, "UNMIK")

    # Re-collection with a new version: the rules still say UNISFA; the decision wins.
    save(app, (make_post("p1", text="Abyei and Kosovo, v2"), [rule_tag("UNMIK"), rule_tag("UNISFA")]))
    assert "p1" not in _public_ids(app, "UNISFA")
    assert [t.mission for t in app.store.tags_of("p1")] == ["UNMIK"]


def test_added_mission_shows_the_editors_note_as_the_reason(app: App) -> None:
    save(app, (make_post("p1", text="A patrol near the Blue Line"), []))
    app.store.moderate(
        "p1", "add_mission", editor="ana", note="Blue Line patrol is UNIFIL", mission="unifil"
    )
    rows = app.store.visible_posts("UNIFIL")
    assert [r["id"] for r in rows] == ["p1"]
    tag = next(t for t in rows[0]["tags"] if t.mission == "UNIFIL")
    assert tag.decided_by == "editor"
    assert tag.reason == "an editor's decision: Blue Line patrol is UNIFIL"
    # Re-collection with no rule tag keeps the editor's mission.
    save(app, (make_post("p1", text="A patrol near the Blue Line (v2)"), []))
    assert _public_ids(app, "UNIFIL") == {"p1"}


def test_audit_log_records_every_step(app: App, clock: object) -> None:
    save(app, (make_post("p1"), [rule_tag("UNMIK")]))
    steps = [
        ("hide", None, "spam"),
        ("show", None, "not spam"),
        ("pin", None, "important"),
        ("remove_mission", "UNMIK", "wrong mission"),
        ("add_mission", "UNIFIL", "right mission"),
    ]
    for action, mission, note in steps:
        app.store.moderate("p1", action, editor="ana", note=note, mission=mission)  # type: ignore[arg-type]
    log = app.store.audit_log("p1")
    assert [(r["action"], r["mission"], r["note"], r["editor"]) for r in reversed(log)] == [
        (a, m, n, "ana") for a, m, n in steps
    ]
    assert all(r["at"] == "2026-11-28T09:00:00Z" for r in log)


def test_actions_need_an_editor_a_note_and_a_known_post(app: App) -> None:
    save(app, (make_post("p1"), [rule_tag("UNMIK")]))
    with pytest.raises(UsageError, match="note"):
        app.store.moderate("p1", "hide", editor="ana", note="  ")
    with pytest.raises(UsageError, match="no post 'nope'"):
        app.store.moderate("nope", "hide", editor="ana", note="x")
    assert app.store.audit_log() == []
    assert _public_ids(app, "UNMIK") == {"p1"}


def test_decisions_survive_retag(app: App) -> None:
    save(
        app,
        (make_post("pinned", text="UNMIK opens an office"), [rule_tag("UNMIK")]),
        (make_post("moved", text="UNMIK and UNIFIL exchange staff"), [rule_tag("UNMIK"), rule_tag("UNIFIL")]),
        (make_post("hidden", text="UNMIK spam"), [rule_tag("UNMIK")]),
    )
    app.store.moderate("pinned", "pin", editor="ana", note="top story")
    app.store.moderate("moved", "remove_mission", editor="ana", note="UNIFIL is incidental", mission="UNIFIL")
    app.store.moderate("hidden", "hide", editor="ana", note="spam")
    _retag(app)
    assert app.store.visible_posts("UNMIK")[0]["id"] == "pinned"
    assert "moved" not in _public_ids(app, "UNIFIL")
    assert "hidden" not in _public_ids(app, "UNMIK")
    assert [r["action"] for r in reversed(app.store.audit_log())] == ["pin", "remove_mission", "hide"]


# --- the commands ------------------------------------------------------------------------


def _run(project: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(project), *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_moderate_command_hides_pins_and_moves_posts(app: App, project: Path) -> None:
    save(app, (make_post("p1", text="Kosovo post"), [rule_tag("UNMIK")]))
    app.store.add_editor("ana", "a long enough password")  # an admin
    app.close()
    code, out, err = _run(project, "moderate", "p1", "--hide", "--editor", "ana", "--note", "off topic")
    assert code == 0, err
    assert "p1: hidden" in out
    code, out, err = _run(project, "moderate", "p1", "--add-mission", "unifil", "--editor", "ana",
                          "--note", "Blue Line")
    assert code == 0, err
    code, out, _ = _run(project, "moderate", "--queue", "--mission", "UNIFIL")
    line = next(ln for ln in out.splitlines() if ln.startswith("p1\t"))
    assert "UNIFIL*" in line and "hidden" in line
    code, out, _ = _run(project, "audit", "--post", "p1")
    assert code == 0
    assert [ln.split("\t")[2] for ln in out.splitlines()] == ["add_mission", "hide"]
    assert "Blue Line" in out.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["p1", "--hide", "--pin", "--editor", "a", "--note", "n"], "exactly one action"),
        (["p1", "--hide", "--note", "n"], "--editor NAME and --note TEXT are required"),
        (["p1", "--add-mission", "MINUSXX", "--editor", "a", "--note", "n"], "unknown mission 'MINUSXX'"),
        (["nope", "--hide", "--editor", "a", "--note", "n"], "no post 'nope'"),
        ([], "pass a POST_ID, or --queue"),
        (["p1", "--hide", "--editor", "nobody", "--note", "n"], "'nobody' is not an editor here"),
        (["p1", "--hide", "--editor", "gone", "--note", "n"], "'gone' is not an editor here"),
    ],
)
def test_moderate_command_refuses_bad_input(app: App, project: Path, args: list[str], message: str) -> None:
    save(app, (make_post("p1"), [rule_tag("UNMIK")]))
    app.store.add_editor("a", "a long enough password")
    app.store.add_editor("gone", "a long enough password")
    app.store.remove_editor("gone")
    app.close()
    code, _, err = _run(project, "moderate", *args)
    assert code == 2
    assert message in err
    assert _run(project, "audit", "--post", "p1")[1] == ""


def test_moderate_rerenders_the_public_pages(app: App, project: Path) -> None:
    need(importlib.util.find_spec("aggregator.render.widget") is not None, "renderer not built yet")
    from aggregator.render import render_site

    save(
        app,
        (make_post("keep", text="Visible Kosovo story"), [rule_tag("UNMIK")]),
        (make_post("gone", text="Secret-word-zebra in Kosovo"), [rule_tag("UNMIK")]),
    )
    render_site(app)
    out = app.config.output_path
    assert any("Secret-word-zebra" in p.read_text("utf-8", "replace") for p in out.rglob("*") if p.is_file())
    app.store.add_editor("ana", "a long enough password", missions=["UNMIK"])
    app.close()
    code, _, err = _run(project, "moderate", "gone", "--hide", "--editor", "ana", "--note", "spam")
    assert code == 0, err
    texts = {p: p.read_text("utf-8", "replace") for p in out.rglob("*") if p.is_file()}
    leaks = [str(p.relative_to(out)) for p, t in texts.items() if "Secret-word-zebra" in t]
    assert not leaks, f"hidden post still in public output: {leaks}"
    assert any("Visible Kosovo story" in t for t in texts.values())


def test_hidden_post_is_left_out_of_email_digests(app: App) -> None:
    from datetime import timedelta

    from tests.test_moderation_support import NOW

    save(app, (make_post("keep"), [rule_tag("UNMIK")]), (make_post("gone"), [rule_tag("UNMIK")]))
    window = (NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    assert set(app.store.window_post_ids("daily", ["UNMIK"], *window)) == {"keep", "gone"}
    app.store.moderate("gone", "hide", editor="ana", note="spam")
    save(app, (make_post("gone", text="spam, collected again"), [rule_tag("UNMIK")]))
    assert app.store.window_post_ids("daily", ["UNMIK"], *window) == ["keep"]
    # A digest opened before the decision does not carry it either.
    assert [r["id"] for r in app.store.digest_posts(["keep", "gone"], None)] == ["keep"]


def test_decisions_survive_reopening_and_migrations(app: App) -> None:
    from aggregator.store import Store

    save(app, (make_post("p1"), [rule_tag("UNMIK"), rule_tag("UNISFA")]))
    app.store.moderate("p1", "pin", editor="ana", note="keep on top")
    app.store.moderate("p1", "remove_mission", editor="ana", note="not Abyei", mission="UNISFA")
    path = app.store.path
    app.close()
    with Store(path) as reopened:  # runs every migration not yet applied, as an upgrade does
        assert reopened.moderation_state("p1")["pinned"] == 1
        assert [t.mission for t in reopened.tags_of("p1")] == ["UNMIK"]
        assert len(reopened.audit_log("p1")) == 2
