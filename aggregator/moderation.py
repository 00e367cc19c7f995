"""Editors' actions on the whole app: check the request, record it, re-render what changed.

``aggregator moderate`` and the moderation page both call :func:`apply`, so a decision
made in a terminal and one made in a browser are the same decision, with the same audit
row, and the public pages of the missions it touches are re-rendered at once (hidden
means gone from every public output, not gone at the next render).

Roles (issue 17): an admin acts on every post; an editor of missions acts on a post only
when every mission the post is under is theirs (hiding or pinning changes all of that
post's pages), and adds or removes only their own missions. A post under no mission is an
admin's. A refused action raises :class:`Refused`, is audited, and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING

from aggregator.errors import Refused, UsageError
from aggregator.store.editors import Role
from aggregator.store.moderation import ACTIONS, Action

if TYPE_CHECKING:
    from aggregator.app import App

log = logging.getLogger(__name__)

LABELS: dict[str, str] = {
    "hide": "hidden",
    "show": "shown again",
    "pin": "pinned",
    "unpin": "unpinned",
    "add_mission": "mission added",
    "remove_mission": "mission removed",
}


def check_action(action: str) -> Action:
    for known in ACTIONS:
        if action == known:
            return known
    raise UsageError(
        f"unknown moderation action {action!r}", hint=f"use one of: {', '.join(ACTIONS)}"
    )


def check_mission(app: App, mission: str | None) -> str | None:
    if mission is None:
        return None
    found = app.config.mission(mission.strip())
    if found is None:
        known = ", ".join(sorted(app.config.missions))
        raise UsageError(f"unknown mission {mission!r}", hint=f"use one of: {known}")
    return found.acronym


def refusal(role: Role, action: Action, post_missions: Collection[str], mission: str | None) -> str:
    """Why ``role`` may not do ``action`` (on a post under ``post_missions``), or "" if it may."""
    if role.admin:
        return ""
    own = ", ".join(sorted(role.missions))
    if mission is not None and mission not in role.missions:
        return f"{role.name} edits {own} only, not {mission}"
    if action == "add_mission":
        return ""  # their own mission, on any post: the post then shows on their page
    others = sorted(set(post_missions) - role.missions)
    if not post_missions:
        return f"the post is under no mission: only an admin may act on it ({role.name} edits {own})"
    if others and action != "remove_mission":
        return f"the post is also under {', '.join(others)}, which {role.name} does not edit ({own} only)"
    return ""


def authorize(app: App, editor: str, post_id: str, action: str, *, note: str = "",
              mission: str | None = None) -> Role:
    """The editor's role if they may do this; else :class:`Refused` (audited when the
    account exists). Unknown or removed names are refused without an audit row."""
    checked = check_action(action)
    role = app.store.role(editor.strip())
    if role is None:
        raise Refused(
            f"{editor.strip() or '(no name)'!r} is not an editor here",
            hint="use the name of an active account (`aggregator editors list`)",
        )
    acronym = mission.upper() if mission else None
    reason = refusal(role, checked, app.store.post_missions(post_id), acronym)
    if reason:
        app.store.audit_refusal(role.name, checked, post_id, acronym, reason, note)
        raise Refused(f"refused: {reason}", hint="ask an admin, or an editor of that mission")
    return role


def apply(
    app: App,
    post_id: str,
    action: str,
    *,
    editor: str,
    note: str,
    mission: str | None = None,
    rerender: bool = True,
) -> set[str]:
    """Record one editor action and re-render the missions it changed; return them."""
    checked = check_action(action)
    by_mission = checked in ("add_mission", "remove_mission")
    acronym = check_mission(app, mission) if by_mission else None
    if by_mission and acronym is None:
        raise UsageError(
            f"{checked.replace('_', ' ')} needs a mission",
            hint="pass --add-mission M or --remove-mission M with a configured acronym",
        )
    authorize(app, editor, post_id, checked, note=note, mission=acronym)
    changed = app.store.moderate(
        post_id, checked, editor=editor.strip(), note=note.strip(), mission=acronym
    )
    if rerender:
        rerender_missions(app, changed)
    return changed


def rerender_missions(app: App, missions: Collection[str]) -> None:
    """Re-render the public pages of ``missions`` (and the site-wide files), if a site exists."""
    known = [m for m in missions if app.config.mission(m) is not None]
    if not app.config.output_path.is_dir():
        return
    from aggregator.render import render_site

    render_site(app, known)
    log.info("re-rendered %s after an editor's decision", ", ".join(sorted(known)) or "index")
