"""One collection run: sources -> fetch -> normalize -> tag -> store, each source isolated.

For each source: lease it (so a cron ``collect`` beside the service never fetches it twice),
fetch (no database transaction is open meanwhile), normalize and tag its items, then store
the posts, the new fetch state (ETag, cursor...) and the schedule's verdict in one short
transaction that also ends the lease. A failure is recorded on the source and in the run
log; it never stops the run. Results are handled as each source completes.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from aggregator import schedule
from aggregator.errors import SourceError, StoreError
from aggregator.models import FetchResult, SourceReport, SourceSpec, parse_iso
from aggregator.prepare import Prepared, init_worker, prepare_posts
from aggregator.sources import Fetcher, Job, Outcome
from aggregator.sources.pool import LazyProcessPool, worker_count

if TYPE_CHECKING:
    from aggregator.app import App
    from aggregator.tag import Tagger

log = logging.getLogger(__name__)

LEASE_MARGIN_S = 120
SMALL_RUN = 4  # fewer sources than this are handled in-process: a pool would cost more
STORE_BATCH_POSTS = 500  # fetched posts stored per transaction, at most about...
STORE_BATCH_S = 1.0  # ...or after the first of them waited this long


@dataclass
class RunResult:
    reports: list[SourceReport] = field(default_factory=list)
    missions_changed: set[str] = field(default_factory=set)
    run_id: int | None = None

    @property
    def posts_added(self) -> int:
        return sum(r.posts_added for r in self.reports)

    @property
    def posts_updated(self) -> int:
        return sum(r.posts_updated for r in self.reports)

    @property
    def failed(self) -> list[SourceReport]:
        return [r for r in self.reports if r.outcome == "error"]

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for r in self.reports:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        parts = ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in sorted(counts.items()))
        return (
            f"{len(self.reports)} sources ({parts or 'none'}): {self.posts_added} new posts,"
            f" {self.posts_updated} updated, {len(self.missions_changed)} missions changed"
        )


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


def release_dead_leases(app: App) -> list[str]:
    """Drop leases held by processes on this host that no longer exist (killed, crashed).

    A lease names ``host:pid:nonce``; without this, a source leased by a collector killed
    with -9 would wait for the lease to expire before anyone collects it again.
    """
    host = socket.gethostname()
    released = []
    for owner in app.store.lease_owners():
        parts = owner.rsplit(":", 2)
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue
        if not _alive(int(parts[1])):
            app.store.release_leases(owner)
            released.append(owner)
            log.info("released the leases of %s, a process that is gone", owner)
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
    result.run_id = store.start_run(now, trigger)
    run = _Run(app, owner, result, progress)
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
        for kind, jobs in by_kind.items():
            fetcher = (fetchers or {}).get(kind) or own.get(kind)
            if fetcher is not None:
                run.consume(_batches(fetcher, jobs), should_stop)
            if should_stop is not None and should_stop():
                break
    finally:
        run.finish()
        for f in own.values():
            _close(f)
        store.release_leases(owner)
        store.finish_run(result.run_id, app.now(), result.reports)


class _Run:
    """The per-source steps after a fetch, and the bookkeeping of one run."""

    def __init__(self, app: App, owner: str, result: RunResult,
                 progress: Callable[[SourceReport], None] | None) -> None:
        self.app = app
        self.owner = owner
        self.result = result
        self.progress = progress
        self._tagger: Tagger | None = None
        self.pool: Executor | None = None
        self.rows: dict[str, Mapping[str, Any]] = {}
        self.last = SourceReport("", "skipped")  # the report most recently committed
        self.pending: dict[Future[Prepared], tuple[SourceSpec, FetchResult, float]] = {}

    @property
    def tagger(self) -> Tagger:
        if self._tagger is None:
            from aggregator.tag import Tagger

            self._tagger = Tagger.from_config(self.app.config)
        return self._tagger

    def report(self, report: SourceReport, *, recorded: bool = False) -> None:
        """Add a source's outcome to the run (its event row, unless already written)."""
        self.result.reports.append(report)
        self.result.missions_changed |= set(report.missions_changed)
        if report.outcome != "skipped" and not recorded:
            self.app.store.record_event(self.result.run_id, report, self.app.now())
        if self.progress is not None:
            self.progress(report)

    def consume(self, batches: Iterable[Sequence[Outcome]],
                should_stop: Callable[[], bool] | None) -> None:
        """Handle fetched sources as they arrive; items are prepared in the pool.

        Fetched sources are stored together, in one transaction, once about
        ``STORE_BATCH_POSTS`` posts are waiting or the oldest has waited ``STORE_BATCH_S``
        (and at the end). Each source still keeps its posts and its new state together; the
        archive pays one commit, one full-text index flush and one rewrite of each index page
        it touches per batch instead of per source (most sources arrive one at a time).
        Nothing waits across I/O inside a transaction: the batch is held in memory until then.
        """
        waiting: list[Outcome] = []
        posts = 0
        since = 0.0
        try:
            for batch in batches:
                for spec, outcome in batch:
                    if isinstance(outcome, FetchResult) and outcome.items and self.pool is not None:
                        future = self.pool.submit(
                            prepare_posts, spec, outcome.items, self.app.now()
                        )
                        self.pending[future] = (spec, outcome, time.monotonic())
                        continue
                    if not waiting:
                        since = time.monotonic()
                    waiting.append((spec, outcome))
                    posts += _post_count(outcome)
                if waiting and (posts >= STORE_BATCH_POSTS
                                or time.monotonic() - since >= STORE_BATCH_S):
                    ready, waiting, posts = waiting, [], 0
                    self._store_ready(ready)  # (a failure here is not retried below)
                self._store_done(block=False)
                if should_stop is not None and should_stop():
                    break
        finally:
            if waiting:  # fetched before the stop, an error elsewhere or the end: store it
                self._store_ready(waiting)
            _close(batches)

    def _store_ready(self, ready: Sequence[Outcome]) -> None:
        started = time.monotonic()
        with self.app.store.transaction():
            for spec, outcome in ready:
                self.handle(spec, outcome, started)

    def finish(self) -> None:
        """Store every source whose items are still being prepared."""
        while self.pending:
            self._store_done(block=True)

    def _store_done(self, block: bool) -> None:
        if not self.pending:
            return
        if block:
            wait(list(self.pending), return_when="FIRST_COMPLETED")
        done = [f for f in self.pending if f.done()]
        if not done:
            return
        with self.app.store.transaction():
            for future in done:
                spec, result, started = self.pending.pop(future)
                try:
                    prepared = future.result()
                except Exception as exc:  # the worker died or failed: this source only
                    err = SourceError(f"{spec.id}: could not process the fetched items: {exc}",
                                      source=spec.id, hint="retried on the next run")
                    self.handle(spec, err, started)
                    continue
                self.handle(spec, result, started, prepared)

    def handle(self, spec: SourceSpec, outcome: FetchResult | SourceError, started: float,
               prepared: Prepared | None = None) -> None:
        try:
            if isinstance(outcome, SourceError):
                report = self._failure(spec, outcome, started)
            else:
                if prepared is None:
                    prepared = outcome.prepared  # made in the parse worker (FeedFetcher)
                if prepared is None:
                    prepared = prepare_posts(spec, outcome.items, self.app.now(), self.tagger)
                report = self._success(spec, outcome, prepared, started)
        except SourceError as exc:
            report = self._failure(spec, exc, started)
        except StoreError:
            raise  # the archive itself (locked, full, unreadable): stop the run, not the source
        except Exception as exc:  # this source's data broke a step: it alone fails
            log.exception("source %s: its posts could not be stored", spec.id)
            report = self._failure(spec, SourceError(
                f"{spec.id}: its posts could not be stored ({type(exc).__name__}: {exc})",
                source=spec.id, hint="this is a bug in the aggregator; please report it with"
                " this message (the source is tried again on the next run)"), started)
        self.report(report, recorded=True)

    def _event(
        self, report: SourceReport, started: float
    ) -> tuple[int | None, SourceReport, datetime]:
        """The ``source_events`` row, written in the source's own transaction."""
        final = replace(report, duration_s=time.monotonic() - started)
        self.last = final
        return self.result.run_id, final, self.app.now()

    def _success(self, spec: SourceSpec, result: FetchResult, prepared: Prepared,
                 started: float) -> SourceReport:
        app = self.app
        now = app.now()
        tagged, problems = prepared
        times = [p.published_at for p, _ in tagged if p.published_at is not None]
        newest = max(times) if times else None
        warnings = [*result.warnings, *problems]
        row = self.rows.get(spec.id) or app.store.source_state(spec.id)

        written: dict[str, Any] = {}

        def state(added: int, updated: int) -> dict[str, Any]:
            values = schedule.after_success(
                row, result, posts_added=added, newest_post_at=newest, now=now,
                settings=app.config.settings, spec=spec, publish_gap=schedule.publish_gap_s(times),
            )
            values.update(_fetch_state(result))
            values["warnings"] = "\n".join(warnings) or None
            written.update(values)
            return values

        def event(
            added: int, updated: int, changed: set[str]
        ) -> tuple[int | None, SourceReport, datetime]:
            return self._event(SourceReport(
                spec.id, result.status, posts_added=added, posts_updated=updated,
                next_due=_parse(written.get("due_at")), missions_changed=frozenset(changed),
                error="; ".join(warnings) or None,
            ), started)

        app.store.commit_source(spec.id, self.owner, list(tagged), state, event)
        return self.last

    def _failure(self, spec: SourceSpec, error: SourceError, started: float) -> SourceReport:
        app = self.app
        row = self.rows.get(spec.id) or app.store.source_state(spec.id)
        values = schedule.after_failure(
            row, error, now=app.now(), settings=app.config.settings, spec=spec
        )
        report = SourceReport(spec.id, "error", error=str(error), error_kind=error.kind,
                              next_due=_parse(values.get("due_at")))
        app.store.commit_source(spec.id, self.owner, [], lambda _a, _u: values,
                                lambda _a, _u, _c: self._event(report, started))
        log.info("source %s failed: %s", spec.id, error)
        return self.last


def _never_fetched(spec: SourceSpec, rows: Mapping[str, Mapping[str, Any]]) -> bool:
    """A feed with no validators and no body hash yet: its answer will need parsing."""
    row = rows.get(spec.id, {})
    return spec.kind == "feed" and not any(row.get(k) for k in ("etag", "last_modified", "body_hash"))


def _post_count(outcome: FetchResult | SourceError) -> int:
    if isinstance(outcome, FetchResult) and outcome.prepared is not None:
        return max(1, len(outcome.prepared[0]))
    return 1


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
        _close(outcomes)


def _close(thing: object) -> None:
    """Close a fetcher or a generator of results, if it can be closed."""
    close = getattr(thing, "close", None)
    if close is not None:
        close()


def _fetch_state(result: FetchResult) -> dict[str, Any]:
    """The fetch state a result carries, written with the posts it covers."""
    values: dict[str, Any] = {"etag": result.etag, "last_modified": result.last_modified}
    if result.body_hash is not None:
        values["body_hash"] = result.body_hash
    if result.permanent_url:
        values["permanent_url"] = result.permanent_url
    if result.cursor is not None:
        values["cursor"] = result.cursor
    for key, value in result.extra_state.items():
        values[key] = value
    return values


def _parse(value: Any) -> datetime | None:
    return parse_iso(value) if isinstance(value, str) else None


__all__ = ["RunResult", "collect", "default_fetchers", "lease_owner"]
