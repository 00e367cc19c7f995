"""One collection run: sources -> fetch -> normalize -> tag -> store, each source isolated.

For each source: lease it (so a cron ``collect`` beside the service never fetches it twice),
fetch (no database transaction is open meanwhile), normalize and tag its items, then store
the posts with the new fetch state (ETag, cursor...) and the schedule's verdict, which also
ends the lease (``steps``: sources are stored in batches, each in a savepoint of its own). A
failure is recorded on the source and in the run log; it never stops the run. Results are
handled as each source completes.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from aggregator.collect.steps import STORE_BATCH_S, RunResult, RunSteps, close
from aggregator.models import SourceReport, SourceSpec
from aggregator.prepare import init_worker, prepare_posts
from aggregator.service import schedule
from aggregator.sources import Fetcher, Job, Outcome
from aggregator.sources.pool import LazyProcessPool, worker_count

if TYPE_CHECKING:
    from aggregator.app import App

log = logging.getLogger(__name__)

LEASE_MARGIN_S = 120
SMALL_RUN = 4  # fewer sources than this are handled in-process: a pool would cost more


def lease_owner() -> str:
    """Who holds a lease: host, process and a random part (two runs in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # called between collections: this process holds no lease of its own
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_here(owner: str, host: str) -> bool:
    """Does ``host:pid:nonce`` name a process on this host that no longer exists?"""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
        return False
    return not _alive(int(parts[1]))


def release_dead_leases(app: App) -> list[str]:
    """Drop leases held by processes on this host that no longer exist (killed, crashed),
    and close the runs they left unfinished (marked interrupted, with what they stored).

    A lease names ``host:pid:nonce``; without this, a source leased by a collector killed
    with -9 would wait for the lease to expire before anyone collects it again.
    """
    host = socket.gethostname()
    released = []
    for owner in app.store.lease_owners():
        if _dead_here(owner, host):
            app.store.release_leases(owner)
            released.append(owner)
            log.info("released the leases of %s, a process that is gone", owner)
    for run_id, run_owner in app.store.unfinished_runs():
        # a run from before runs had owners cannot be running this code: it is closed too
        if run_owner is None or _dead_here(run_owner, host):
            app.store.close_interrupted_run(run_id, app.now())
            log.info("run %s was interrupted (its process %s is gone): closed", run_id,
                     run_owner or "unknown")
    return released


def default_fetchers(
    app: App, kinds: Iterable[str], executor: Executor | None = None
) -> dict[str, Fetcher]:
    """The fetchers for the kinds present; ``sources.x`` is imported only when X is due."""
    out: dict[str, Fetcher] = {}
    kinds = set(kinds)
    if "feed" in kinds:
        from aggregator.sources.feeds import FeedFetcher

        out["feed"] = FeedFetcher(
            app.config.settings, clock=app.clock, executor=executor,
            after_parse=prepare_posts if executor is not None else None,
        )
    if "x" in kinds:
        from aggregator.sources.x import XFetcher

        out["x"] = XFetcher(app.config.settings, app.env, app.store)
    return out


def _select(app: App, only: Sequence[SourceSpec] | None, due_only: bool, now: datetime,
            rows: Mapping[str, Mapping[str, Any]]) -> list[SourceSpec]:
    specs = list(only) if only is not None else app.config.all_sources()
    chosen = []
    for spec in specs:
        row = rows.get(spec.id, {})
        if due_only:
            if schedule.is_due(row, now):
                chosen.append(spec)
        elif not (row.get("disabled") or row.get("state") == "disabled") and (
            row.get("state") != "gone" or only is not None
        ):
            chosen.append(spec)
    # Least recently tried first (never tried before all): repeated short runs, such as a
    # cron job with a timeout, reach every source in turn, not always the same first ones.
    chosen.sort(key=lambda s: str(rows.get(s.id, {}).get("last_attempt_at") or ""))
    return chosen


def collect(
    app: App,
    *,
    only: Sequence[SourceSpec] | None = None,
    due_only: bool = False,
    progress: Callable[[SourceReport], None] | None = None,
    fetchers: Mapping[str, Fetcher] | None = None,
    should_stop: Callable[[], bool] | None = None,
    trigger: str = "collect",
) -> RunResult:
    """Collect ``only`` these sources (default: all configured), or only the due ones."""
    store = app.store
    now = app.now()
    release_dead_leases(app)
    specs = only if only is not None else app.config.all_sources()
    if only is not None:
        store.sync_sources(s for s in only if not store.source_state(s.id))
    rows = store.source_states()
    chosen = _select(app, specs if only is not None else None, due_only, now, rows)
    result = RunResult()
    if not chosen:
        return result
    settings = app.config.settings
    workers = worker_count(settings.parse_workers)
    pool = (LazyProcessPool(workers, init_worker, (app.config,))
            if workers > 1 and len(chosen) >= SMALL_RUN else None)
    try:
        if pool is not None and any(_never_fetched(s, rows) for s in chosen):
            pool.start()  # it will parse: the workers get ready while the requests go out
        _run_leased(app, chosen, rows, result, pool, now=now, progress=progress,
                    fetchers=fetchers, should_stop=should_stop, due_only=due_only, trigger=trigger)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return result


def _run_leased(
    app: App, chosen: Sequence[SourceSpec], rows: Mapping[str, Mapping[str, Any]],
    result: RunResult, pool: Executor | None, *, now: datetime,
    progress: Callable[[SourceReport], None] | None, fetchers: Mapping[str, Fetcher] | None,
    should_stop: Callable[[], bool] | None, due_only: bool, trigger: str,
) -> None:
    """Lease the chosen sources, fetch and store them, and always end the leases and the run."""
    store = app.store
    settings = app.config.settings
    owner = lease_owner()
    per_slot = max(1, -(-len(chosen) // max(1, settings.http_concurrency)))
    until = now + timedelta(seconds=settings.http_deadline * (1 + per_slot) + LEASE_MARGIN_S)
    leased = store.acquire_leases([s.id for s in chosen], owner, now, until,
                                  due_by=now if due_only else None)
    result.run_id = store.start_run(now, trigger, owner)
    run = RunSteps(app, owner, result, progress)
    for spec in chosen:
        if spec.id not in leased:
            run.report(SourceReport(spec.id, "skipped", error="being collected by another process"
                                    f" (lease until {rows.get(spec.id, {}).get('lease_until')})"))
    by_kind: dict[str, list[Job]] = {}
    fresh = store.source_states()  # with our leases: nobody else changes these rows now
    for spec in chosen:
        if spec.id in leased:
            run.rows[spec.id] = fresh.get(spec.id, {})
            by_kind.setdefault(spec.kind, []).append((spec, run.rows[spec.id]))
    run.pool = pool
    own = default_fetchers(app, [k for k in by_kind if not fetchers or k not in fetchers], pool)
    try:
        # Feeds first: X accounts (read one after another, each within http.deadline) never
        # hold up the feeds (#14).
        for kind, jobs in sorted(by_kind.items(), key=lambda kv: kv[0] != "feed"):
            fetcher = (fetchers or {}).get(kind) or own.get(kind)
            if fetcher is not None:
                run.consume(_batches(fetcher, jobs), should_stop)
            if should_stop is not None and should_stop():
                break
    finally:
        run.finish()
        for f in own.values():
            close(f)
        store.release_leases(owner)
        store.finish_run(result.run_id, app.now(), result.reports)


def _never_fetched(spec: SourceSpec, rows: Mapping[str, Mapping[str, Any]]) -> bool:
    """A feed with no validators and no body hash yet: its answer will need parsing."""
    row = rows.get(spec.id, {})
    return spec.kind == "feed" and not any(row.get(k) for k in ("etag", "last_modified", "body_hash"))


def _batches(fetcher: Fetcher, jobs: Sequence[Job]) -> Iterator[list[Outcome]]:
    """The fetcher's results in batches: as many as are ready at once where the fetcher can
    tell (``fetch_batches``, which also yields an empty batch when nothing arrived for
    ``STORE_BATCH_S``, so waiting results are stored in time), else one at a time."""
    batched = getattr(fetcher, "fetch_batches", None)
    if batched is not None:
        return cast(Iterator[list[Outcome]], batched(jobs, idle=STORE_BATCH_S))
    return _one_by_one(fetcher.fetch_many(jobs))


def _one_by_one(outcomes: Iterator[Outcome]) -> Iterator[list[Outcome]]:
    try:
        for outcome in outcomes:
            yield [outcome]
    finally:
        close(outcomes)


__all__ = ["RunResult", "collect", "default_fetchers", "lease_owner"]
