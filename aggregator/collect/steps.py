"""The steps after each source's fetch in one collection run, and the run's bookkeeping.

``RunSteps.consume`` takes fetched sources as they arrive: items still to normalize and tag go
to the process pool; the others, and each finished pool task, are stored in batches (one
transaction for ~``STORE_BATCH_POSTS`` posts or ``STORE_BATCH_S``, a savepoint per source),
each source's posts with its new fetch state, schedule verdict and run-log row. A source
whose data breaks a step fails alone; an archive that cannot be written stops the run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from aggregator.errors import RateLimited, SourceError, StoreError
from aggregator.models import FetchResult, SourceReport, SourceSpec, counted, parse_iso
from aggregator.prepare import Prepared, limits_of, prepare_posts
from aggregator.service import schedule
from aggregator.sources import Outcome

if TYPE_CHECKING:
    from aggregator.app import App
    from aggregator.tag import Tagger

log = logging.getLogger(__name__)

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
            f"{counted(len(self.reports), 'source')} ({parts or 'none'}):"
            f" {counted(self.posts_added, 'new post')}, {self.posts_updated} updated,"
            f" {counted(len(self.missions_changed), 'mission')} changed"
        )


class RunSteps:
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
            close(batches)

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
        started -= outcome.fetch_s  # the recorded duration includes the fetch
        try:
            if isinstance(outcome, SourceError):
                report = self._failure(spec, outcome, started)
            else:
                if prepared is None:
                    prepared = outcome.prepared  # made in the parse worker (FeedFetcher)
                if prepared is None:
                    prepared = prepare_posts(spec, outcome.items, self.app.now(), self.tagger,
                                             limits_of(self.app.config))
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
                error="; ".join(warnings) or None, warnings=tuple(warnings),
            ), started)

        app.store.commit_source(spec.id, self.owner, list(tagged), state, event)
        x_posts = [p.id for p, _ in tagged if p.id.startswith("x:")]
        if result.availability or x_posts:  # what X said, and retweets of posts already gone
            from aggregator.compliance import apply_flags

            flags = apply_flags(app.store, result.availability, now, stored=x_posts)
            if flags.missions:
                self.last = replace(self.last, missions_changed=self.last.missions_changed | flags.missions)
        return self.last

    def _failure(self, spec: SourceSpec, error: SourceError, started: float) -> SourceReport:
        app = self.app
        row = self.rows.get(spec.id) or app.store.source_state(spec.id)
        values = schedule.after_failure(
            row, error, now=app.now(), settings=app.config.settings, spec=spec
        )
        # A source asked to wait (429, X's rate limit) has not failed: it is not in `failed`.
        outcome: Literal["error", "rate_limited"] = (
            "rate_limited" if isinstance(error, RateLimited) else "error")
        report = SourceReport(spec.id, outcome, error=str(error), error_kind=error.kind,
                              next_due=_parse(values.get("due_at")))
        app.store.commit_source(spec.id, self.owner, [], lambda _a, _u: values,
                                lambda _a, _u, _c: self._event(report, started))
        return self.last  # logged once, with every other outcome, by the run's progress


def _post_count(outcome: FetchResult | SourceError) -> int:
    if isinstance(outcome, FetchResult) and outcome.prepared is not None:
        return max(1, len(outcome.prepared[0]))
    return 1


def close(thing: object) -> None:
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


__all__ = ["STORE_BATCH_POSTS", "STORE_BATCH_S", "RunResult", "RunSteps", "close"]
