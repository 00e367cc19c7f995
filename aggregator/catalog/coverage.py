"""Which missions the configured sources can bring, and every source as a row (pure).

A mission is covered by its own sources (by evidence level) and by the general sources whose
``covers`` names it; a disabled source covers nothing. A mission with neither must say why in
its file (``sources_reason``), else ``aggregator check`` warns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aggregator.models import EVIDENCE_LEVELS, Mission, SourceSpec


def address(spec: SourceSpec) -> str:
    return f"@{spec.handle}" if spec.kind == "x" else str(spec.url or "")


def coverage(missions: Mapping[str, Mission], general: Iterable[SourceSpec]) -> list[dict[str, Any]]:
    """One row per mission, in acronym order: its own sources by evidence, the general
    sources that cover it, whether anything covers it, and the file's stated reason."""
    general = list(general)
    rows = []
    for acronym in sorted(missions):
        m = missions[acronym]
        own = {level: [address(s) for s in m.sources if s.evidence == level and not s.disabled]
               for level in EVIDENCE_LEVELS}
        covering = [address(s) for s in general if acronym in s.covers and not s.disabled]
        rows.append({
            "mission": acronym,
            "status": m.status,
            "own": own,
            "own_count": sum(len(v) for v in own.values()),
            "covered_by": covering,
            "covered": bool(covering) or any(own.values()),
            "disabled": [address(s) for s in m.sources if s.disabled],
            "reason": m.sources_reason or None,
            "not_collected": [dict(n) for n in m.not_collected],
        })
    return rows


def uncovered(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Missions with no enabled own or covering source and no stated reason."""
    return [r["mission"] for r in rows if not r["covered"] and not r["reason"]]


def source_rows(specs: Iterable[SourceSpec], states: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every source for ``sources list``: what the file says, with the archive's state."""
    rows = []
    for s in specs:
        state = states.get(s.id, {})
        rows.append({
            "id": s.id,
            "mission": s.mission,
            "kind": s.kind,
            "address": address(s),
            "name": s.name,
            "evidence": s.evidence,
            "evidence_note": s.evidence_note or None,
            "covers": list(s.covers),
            "via": ("bridge" if s.via_bridge else "api") if s.kind == "x" else None,
            "last_probed": s.last_probed,
            "last_attempt_at": state.get("last_attempt_at"),
            "last_success_at": state.get("last_success_at"),
            "state": "disabled" if s.disabled else str(state.get("state") or "new"),
            "last_error": state.get("last_error"),
        })
    return rows


def check_findings(missions: Mapping[str, Mission], general: Iterable[SourceSpec],
                   bridge_template: str) -> tuple[list[str], list[str]]:
    """``aggregator check``'s part for sources: (warnings, problems). Warnings: a mission
    with no own or covering source and no stated reason; sources never probed. Problems: a
    ``via: bridge`` source while no bridge template is set (it could never be read)."""
    general = list(general)
    rows = coverage(missions, general)
    warnings = [f"{a}: no source of its own and no general source covers it; add one"
                f" (`aggregator sources add URL --mission {a}`) or state a sources_reason in its file"
                for a in uncovered(rows)]
    specs = [s for m in missions.values() for s in m.sources] + general
    never = [s for s in specs if not s.last_probed and not s.disabled]
    if never:
        warnings.append(f"{len(never)} of {len(specs)} sources were never probed;"
                        " run `aggregator sources probe --write` on a connected machine")
    problems = [f"{s.id} ({s.mission or 'general'}): via: bridge but x.bridge_template is not set"
                for s in specs if s.via_bridge and not bridge_template]
    return warnings, problems
