"""Small test projects (no tests of its own): mission files written from a few facts.

Each area's support module (moderation, search, service) builds its own project of missions
and sources; the mission file itself is written here, once, as the loader expects it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


def feed(url: str, name: str) -> dict[str, str]:
    return {"kind": "feed", "url": url, "name": name}


def x_account(handle: str) -> dict[str, str]:
    return {"kind": "x", "handle": handle, "name": f"@{handle}"}


def write_mission(
    feeds: Path, acronym: str, *, name: str | None = None, country: str = "Testland",
    established: int = 2000, closed: int | None = None,
    sources: Sequence[dict[str, str]] = (), hosts: Sequence[str] = (),
) -> Path:
    """``feeds/<acronym>.yaml``: a valid mission whose only rule is its acronym (and hosts)."""
    rules: dict[str, Any] = {"names": [acronym]}
    if hosts:
        rules["hosts"] = list(hosts)
    mission = {
        "acronym": acronym,
        "names": {"en": name or f"{acronym} mission"},
        "country": country,
        "status": "closed" if closed else "active",
        "established": established,
        "closed": closed,
        "profile": {
            "summary": f"{acronym} summary for tests.",
            "mandate": f"{acronym} mandate for tests.",
            "why_it_matters": f"{acronym} matters for tests.",
        },
        "sources": list(sources),
        "rules": rules,
    }
    feeds.mkdir(parents=True, exist_ok=True)
    path = feeds / f"{acronym.lower()}.yaml"
    path.write_text(yaml.safe_dump(mission, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
