"""X handles for ``sources add`` and ``sources probe``: through the API when a token is set
(the collector's ``XFetcher``: its budget, retries and error wording), else through the RSS
bridge when ``x.bridge_template`` is set, else not at all (and the reason is said)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from aggregator.catalog.probe import Probe, probe_feeds
from aggregator.errors import SourceError
from aggregator.models import SourceSpec
from aggregator.settings import Settings
from aggregator.sources.x import XFetcher, bridge_spec

if TYPE_CHECKING:
    from aggregator.store import Store


def has_token(settings: Settings, env: Mapping[str, str]) -> bool:
    return bool((env.get(settings.x_token_env) or "").strip())


def probe_handles(settings: Settings, specs: Sequence[SourceSpec], env: Mapping[str, str],
                  store: Store, now: datetime) -> list[Probe]:
    """One report per X spec, in order: resolved by the API, read through the bridge, or why not."""
    out: dict[str, Probe] = {}
    api = [s for s in specs if has_token(settings, env) and not s.via_bridge]
    bridged = [s for s in specs if s not in api and settings.x_bridge_template]
    if api:
        fetcher = XFetcher(settings, env, store)
        for spec in api:
            out[spec.id] = _resolve(fetcher, spec, store)
    feeds = [bridge_spec(s, settings) for s in bridged]
    for spec, report in zip(bridged, probe_feeds(settings, feeds, now), strict=True):
        report.source_id, report.kind, report.address = spec.id, "x", f"@{spec.handle}"
        out[spec.id] = report
    for spec in specs:
        if spec.id not in out:
            out[spec.id] = Probe(
                spec.id, "x", f"@{spec.handle}",
                error=f"{spec.id}: cannot check @{spec.handle}: no X token in ${settings.x_token_env}"
                + (" (and this source is marked via: bridge)" if spec.via_bridge else "")
                + " and no x.bridge_template",
                hint=f"set ${settings.x_token_env} to an X API bearer token, or x.bridge_template"
                " in config.yaml to an RSS bridge (e.g. http://rsshub.local/twitter/user/{handle})",
            )
    return [out[s.id] for s in specs]


def _resolve(fetcher: XFetcher, spec: SourceSpec, store: Store) -> Probe:
    report = Probe(spec.id, "x", f"@{spec.handle}")
    try:
        user_id, warnings, _flags = fetcher.resolve(spec)  # flags: written by `x resolve`, not a probe
    except SourceError as exc:
        report.error, report.hint = str(exc), exc.hint
        return report
    said = " ".join(warnings).lower()
    report.x_suspended = "suspended" in said
    if not user_id:
        report.error = f"{spec.id}: @{spec.handle} was not found" + (f": {'; '.join(warnings)}" if warnings else "")
        report.hint = "check the handle's spelling on x.com; a suspended or deleted account cannot be collected"
        return report
    report.ok, report.x_user_id = True, user_id
    report.x_protected = "protected account" in said
    if warnings:
        report.hint = "; ".join(warnings)
    report.newest_entry = store.source_state(spec.id).get("newest_post_at")
    return report
