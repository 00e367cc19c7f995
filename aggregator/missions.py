"""Read mission files (``feeds/<acronym>.yaml``) and ``feeds/_general.yaml`` into models.

The file format is documented in README.md ("Mission files"). Validation never stops at
the first problem: each is appended to ``problems`` with its file and key.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from aggregator.errors import ConfigProblem
from aggregator.models import (
    EVIDENCE_LEVELS,
    Figure,
    Mission,
    Profile,
    SourceSpec,
    TagRules,
    split_credentials,
)
from aggregator.yamlfile import YAMLError as YAMLError  # re-exported: callers import them here
from aggregator.yamlfile import YAMLFileError, read_yaml_file
from aggregator.yamlfile import read_yaml as read_yaml

_STATUSES = {"active", "closed"}
_PROFILE_TEXT = ("summary", "mandate", "background", "why_it_matters", "headquarters")


class _Reader:
    """Typed access to one YAML mapping that records problems instead of raising."""

    def __init__(self, file: str, problems: list[ConfigProblem]) -> None:
        self.file = file
        self.problems = problems

    def problem(self, key: str, message: str, hint: str | None = None) -> None:
        self.problems.append(ConfigProblem(self.file, key, message, hint))

    def str_(self, data: dict[str, Any], key: str, prefix: str = "", required: bool = False) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(prefix + key, "is required")
            return ""
        if not isinstance(value, str | int | float):
            self.problem(prefix + key, f"must be text, got {type(value).__name__}")
            return ""
        return str(value).strip()

    def list_(self, data: dict[str, Any], key: str, prefix: str = "") -> tuple[str, ...]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(prefix + key, "must be a list of text")
            return ()
        return tuple(v.strip() for v in value if v.strip())

    def weights(self, data: dict[str, Any], key: str, prefix: str = "") -> dict[str, float]:
        value = data.get(key) or {}
        if isinstance(value, list):
            value = {v: 1.0 for v in value}
        if not isinstance(value, dict):
            self.problem(prefix + key, "must map words to weights (0 to 1) or list words")
            return {}
        out: dict[str, float] = {}
        for word, weight in value.items():
            if not isinstance(weight, int | float) or not 0 < float(weight) <= 1:
                self.problem(f"{prefix}{key}.{word}", f"weight must be in (0, 1], got {weight!r}")
                continue
            out[str(word)] = float(weight)
        return out


def _load_yaml(path: Path, problems: list[ConfigProblem]) -> dict[str, Any] | None:
    try:
        data = read_yaml_file(path)
    except YAMLFileError as exc:
        problems.append(ConfigProblem(str(path), "", exc.message, exc.hint))
        return None
    if not isinstance(data, dict):
        problems.append(ConfigProblem(str(path), "", "must be a mapping", None))
        return None
    return data


def _common(r: _Reader, item: dict[str, Any], prefix: str, general: bool) -> dict[str, Any]:
    """The fields every kind of source has: schedule, language, evidence, coverage, state."""
    interval = item.get("interval_minutes")
    if interval is not None and (not isinstance(interval, int) or interval < 1):
        r.problem(prefix + "interval_minutes", "must be a whole number of minutes, at least 1")
        interval = None
    verified = bool(item.get("verified", False))
    evidence = item.get("evidence") or ("page_seen" if verified else "unverified")
    if evidence not in EVIDENCE_LEVELS:
        r.problem(prefix + "evidence", f"unknown evidence level {evidence!r}", f"use one of {', '.join(EVIDENCE_LEVELS)}")
        evidence = "unverified"
    if verified and evidence != "page_seen":
        r.problem(prefix + "verified", f"verified: true but the evidence is {evidence}", "verified means evidence: page_seen; drop verified, the evidence level says it")
    covers = tuple(c.upper() for c in r.list_(item, "covers", prefix))
    if covers and not general:
        r.problem(prefix + "covers", "only a general source (in _general.yaml) covers missions", "a mission's own source belongs to that mission alone")
        covers = ()
    probed = item.get("last_probed")
    return {
        "interval_minutes": interval, "language": item.get("language"), "evidence": evidence,
        "evidence_note": r.str_(item, "evidence_note", prefix), "covers": covers,
        "disabled": bool(item.get("disabled", False)),
        "last_probed": str(probed) if probed else None,
    }


def _source(r: _Reader, item: dict[str, Any], prefix: str, mission: str | None) -> SourceSpec | None:
    kind = item.get("kind", "feed")
    common = _common(r, item, prefix, mission is None)
    if kind == "feed":
        url = r.str_(item, "url", prefix, required=True)
        if url and not url.startswith(("http://", "https://")):
            r.problem(prefix + "url", f"must be an http(s) URL, got {url!r}")
            return None
        if not url:
            return None
        url, credentials = split_credentials(url)
        return SourceSpec(
            id=f"feed:{url}", kind="feed", name=r.str_(item, "name", prefix) or url,
            mission=mission, url=url, verified=common["evidence"] == "page_seen", **common,
            credentials=credentials,
        )
    if kind == "x":
        handle = r.str_(item, "handle", prefix, required=True).lstrip("@")
        if not handle:
            return None
        if not handle.replace("_", "").isalnum() or len(handle) > 15:
            r.problem(prefix + "handle", f"{handle!r} is not a valid X handle", "letters, digits and _ only, at most 15")
            return None
        via = item.get("via", "api")
        if via not in ("api", "bridge"):
            r.problem(prefix + "via", f"must be api or bridge, got {via!r}", "bridge reads the handle through x.bridge_template")
        return SourceSpec(
            id=f"x:{handle.lower()}", kind="x", name=r.str_(item, "name", prefix) or f"@{handle}",
            mission=mission, handle=handle, verified=common["evidence"] == "page_seen",
            via_bridge=via == "bridge", **common,
        )
    r.problem(prefix + "kind", f"unknown source kind {kind!r}", "use feed or x")
    return None


def _sources(
    r: _Reader, items: Any, mission: str | None, key: str = "sources"
) -> tuple[SourceSpec, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        r.problem(key, "must be a list of sources")
        return ()
    out: list[SourceSpec] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            r.problem(f"{key}[{i}]", "must be a mapping with kind and url or handle")
            continue
        spec = _source(r, item, f"{key}[{i}].", mission)
        if spec is not None:
            out.append(spec)
    return tuple(out)


def _check_covers(file: str, specs: tuple[SourceSpec, ...], missions: dict[str, Mission],
                  problems: list[ConfigProblem]) -> None:
    for spec in specs:
        for acronym in spec.covers:
            if acronym not in missions:
                problems.append(ConfigProblem(
                    file, f"{spec.id}.covers", f"unknown mission {acronym!r}",
                    f"one of {', '.join(sorted(missions))}",
                ))


def _profile(r: _Reader, data: Any) -> Profile:
    if not isinstance(data, dict):
        r.problem("profile", "is required: summary, mandate, background, why_it_matters, figures")
        return Profile()
    texts = {k: r.str_(data, k, "profile.") for k in _PROFILE_TEXT}
    for k in ("summary", "mandate", "why_it_matters"):
        if not texts[k]:
            r.problem(f"profile.{k}", "is required", "write it in your own words, with its sources")
    head = data.get("head") or {}
    figures: list[Figure] = []
    for i, f in enumerate(data.get("figures") or []):
        p = f"profile.figures[{i}]."
        if not isinstance(f, dict):
            r.problem(p[:-1], "must be a mapping")
            continue
        fig = Figure(
            label=r.str_(f, "label", p, required=True), value=r.str_(f, "value", p, required=True),
            as_of=r.str_(f, "as_of", p, required=True), source_url=r.str_(f, "source_url", p, required=True),
            verified=bool(f.get("verified", True)), note=r.str_(f, "note", p),
        )
        figures.append(fig)
    events = []
    for i, e in enumerate(data.get("events") or []):
        p = f"profile.events[{i}]."
        if isinstance(e, dict):
            events.append((r.str_(e, "date", p, True), r.str_(e, "event", p, True), r.str_(e, "source_url", p)))
    translations: dict[str, dict[str, str]] = {}
    for lang in ("fr",):
        given = data.get(lang)
        if given is None:
            continue
        if not isinstance(given, dict):
            r.problem(f"profile.{lang}", "must be a mapping of translated texts",
                      f"use keys among {', '.join(_PROFILE_TEXT)}")
            continue
        for key in given:
            if key not in _PROFILE_TEXT:
                r.problem(f"profile.{lang}.{key}", "unknown key", f"use one of {', '.join(_PROFILE_TEXT)}")
        translations[lang] = {k: r.str_(given, k, f"profile.{lang}.") for k in _PROFILE_TEXT if k in given}
    return Profile(
        **texts,
        translations=translations,
        head=r.str_(head, "name", "profile.head.") if isinstance(head, dict) else "",
        head_as_of=r.str_(head, "as_of", "profile.head.") if isinstance(head, dict) else "",
        figures=tuple(figures), events=tuple(events), sources=r.list_(data, "sources", "profile."),
    )


def _rules(r: _Reader, data: Any) -> TagRules:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        r.problem("rules", "must be a mapping")
        return TagRules()
    return TagRules(
        hashtags=tuple(h.lstrip("#") for h in r.list_(data, "hashtags", "rules.")),
        mentions=tuple(m.lstrip("@") for m in r.list_(data, "mentions", "rules.")),
        names=r.list_(data, "names", "rules."),
        places=r.weights(data, "places", "rules."),
        terms=r.weights(data, "terms", "rules."),
        hosts=r.list_(data, "hosts", "rules."),
        lookalikes=r.list_(data, "lookalikes", "rules."),
        former_names=r.list_(data, "former_names", "rules."),
        active_from=r.str_(data, "active_from", "rules.") or None,
        active_to=r.str_(data, "active_to", "rules.") or None,
    )


def load_mission(path: Path, problems: list[ConfigProblem]) -> Mission | None:
    data = _load_yaml(path, problems)
    if data is None:
        return None
    r = _Reader(str(path), problems)
    acronym = r.str_(data, "acronym", required=True).upper()
    if acronym and path.stem.lower() != acronym.lower():
        r.problem("acronym", f"{acronym} does not match the file name {path.name}", f"rename the file to {acronym.lower()}.yaml")
    names = data.get("names")
    if not isinstance(names, dict) or not names.get("en"):
        r.problem("names", "must map language codes to full names, with at least en")
        names = {}
    status = data.get("status")
    if status not in _STATUSES:
        r.problem("status", f"must be active or closed, got {status!r}")
        status = "active"
    established = data.get("established")
    closed = data.get("closed")
    if not isinstance(established, int):
        r.problem("established", "must be a year")
        established = 0
    if status == "closed" and not isinstance(closed, int):
        r.problem("closed", "a closed mission needs the year it closed")
    if status == "active" and closed is not None:
        r.problem("closed", "an active mission has no closing year", "set status: closed or remove closed")
    sources = _sources(r, data.get("sources"), acronym)
    rules = _rules(r, data.get("rules"))
    # The mission's own X handles are facts about it, not about where we collect: keep them
    # as mention cues even when a sources file (the demo) replaces the sources.
    known = {m.casefold() for m in rules.mentions}
    own = tuple(s.handle for s in sources if s.handle and s.handle.casefold() not in known)
    if own:
        rules = replace(rules, mentions=rules.mentions + own)
    return Mission(
        acronym=acronym,
        names={str(k): str(v) for k, v in names.items()},
        status="closed" if status == "closed" else "active",
        established=established,
        closed=closed if isinstance(closed, int) else None,
        country=r.str_(data, "country", required=True),
        profile=_profile(r, data.get("profile")),
        rules=rules,
        sources=sources,
        predecessors=tuple(p.upper() for p in r.list_(data, "predecessors")),
        website=r.str_(data, "website") or None,
        sources_reason=r.str_(data, "sources_reason"),
        not_collected=_not_collected(r, data.get("not_collected")),
    )


def _not_collected(r: _Reader, items: Any) -> tuple[dict[str, str], ...]:
    if not isinstance(items, list):
        if items is not None:
            r.problem("not_collected", "must be a list of {what, url, evidence_note}")
        return ()
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            r.problem(f"not_collected[{i}]", "must be a mapping with what (and url, evidence_note)")
            continue
        p = f"not_collected[{i}]."
        out.append({k: r.str_(item, k, p, required=k == "what") for k in ("what", "url", "evidence_note")})
    return tuple(out)


def load_missions_dir(
    folder: Path, problems: list[ConfigProblem]
) -> tuple[dict[str, Mission], tuple[SourceSpec, ...]]:
    if not folder.is_dir():
        problems.append(ConfigProblem(str(folder), "", "missions folder not found", "set missions_dir in config.yaml"))
        return {}, ()
    missions: dict[str, Mission] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        mission = load_mission(path, problems)
        if mission is None or not mission.acronym:
            continue
        if mission.acronym in missions:
            problems.append(ConfigProblem(str(path), "acronym", f"{mission.acronym} is defined twice", None))
        missions[mission.acronym] = mission
    general: tuple[SourceSpec, ...] = ()
    gpath = folder / "_general.yaml"
    if gpath.exists():
        data = _load_yaml(gpath, problems)
        if data is not None:
            general = _sources(_Reader(str(gpath), problems), data.get("sources"), None)
            _check_covers(str(gpath), general, missions, problems)
            _check_general_rules(_Reader(str(gpath), problems), data.get("rules"))
    seen: dict[str, str] = {}
    for spec in [s for m in missions.values() for s in m.sources] + list(general):
        owner = spec.mission or "_general"
        if spec.id in seen:
            problems.append(
                ConfigProblem(str(folder), spec.id, f"listed by both {seen[spec.id]} and {owner}", "a source belongs to one mission, or to _general")
            )
        seen[spec.id] = owner
    if not missions:
        problems.append(ConfigProblem(str(folder), "", "no mission files found", "add feeds/<acronym>.yaml"))
    return missions, general


def load_sources_file(
    path: Path, missions: dict[str, Mission], problems: list[ConfigProblem]
) -> tuple[dict[str, Mission], tuple[SourceSpec, ...]]:
    """Replace every mission's sources (and the general ones) with those listed in ``path``.

    Each entry names its ``mission`` (an acronym, or null for a general source). The demo
    uses this to point the real mission files at sample feeds without rewriting them.
    """
    data = _load_yaml(path, problems)
    if data is None:
        return missions, ()
    r = _Reader(str(path), problems)
    items = data.get("sources")
    if not isinstance(items, list):
        r.problem("sources", "must be a list of sources, each with a mission (or null)")
        return missions, ()
    by_mission: dict[str | None, list[SourceSpec]] = {}
    for i, item in enumerate(items):
        owner = item.get("mission") if isinstance(item, dict) else None
        acronym = str(owner).upper() if owner else None
        if acronym is not None and acronym not in missions:
            r.problem(f"sources[{i}].mission", f"unknown mission {owner!r}", f"one of {', '.join(sorted(missions))}")
            continue
        specs = _sources(r, [item], acronym, key=f"sources[{i}]")
        by_mission.setdefault(acronym, []).extend(specs)
    _check_covers(str(path), tuple(by_mission.get(None, ())), missions, problems)
    replaced = {
        acronym: replace(m, sources=tuple(by_mission.get(acronym, ())))
        for acronym, m in missions.items()
    }
    return replaced, tuple(by_mission.get(None, ()))


_GENERAL_RULES = ("topics", "elsewhere", "lookalikes", "un_words", "force_words",
                  "mission_words", "peacekeeping_words", "handles")


def _check_general_rules(r: _Reader, data: Any) -> None:
    """``_general.yaml`` ``rules:``: known keys, each a list of text (see docs/tagging.md)."""
    if data is None:
        return
    if not isinstance(data, dict):
        r.problem("rules", "must be a mapping of word lists", f"keys: {', '.join(_GENERAL_RULES)}")
        return
    for key in data:
        if key not in _GENERAL_RULES:
            r.problem(f"rules.{key}", "unknown key", f"use one of {', '.join(_GENERAL_RULES)}")
        else:
            r.list_(data, key, "rules.")


def read_general_rules(folder: Path) -> dict[str, Any]:
    """The ``rules:`` mapping of ``<folder>/_general.yaml`` (topics, look-alikes, context words).

    Validated by ``load_missions_dir``; here a missing or broken file just gives no rules.
    """
    path = folder / "_general.yaml"
    if not path.exists():
        return {}
    data = _load_yaml(path, [])
    rules = (data or {}).get("rules")
    return rules if isinstance(rules, dict) else {}
