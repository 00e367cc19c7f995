"""The long-running service behind ``aggregator run``.

One tick (:meth:`Service.tick`) collects what is due, re-renders only the missions whose
posts changed, sends the digests that are due and raises ops alerts for persistent problems;
each step is guarded so that a failure is logged and the next tick still runs. APScheduler
3.x calls the tick on an interval (coalesced, one instance at a time, with a grace time long
enough for a restart); a second job writes a heartbeat on its own database connection.

Nothing here runs on import: the scheduler is built and started by :meth:`Service.serve`.
One writer: :class:`~aggregator.service.writer_lock.WriterLock` (an ``fcntl`` lock file beside the
database) makes a second ``aggregator run`` on the same archive exit with
:class:`~aggregator.errors.LockedError`.
"""

from __future__ import annotations

import inspect
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from aggregator.collect import release_dead_leases
from aggregator.errors import StorageFault
from aggregator.logs import log_event, log_report
from aggregator.models import SourceReport, iso

if TYPE_CHECKING:
    from aggregator.app import App

log = logging.getLogger("aggregator.service")

MISFIRE_GRACE_S = 3600  # a tick missed by up to an hour (a restart, a suspend) still runs once

CollectFn = Callable[["App", Callable[[], bool], Callable[[SourceReport], None]], Any]
RenderFn = Callable[["App", Collection[str]], Any]
MediaFn = Callable[["App"], Any]
DigestFn = Callable[["App", datetime], Any]
AlertFn = Callable[["App", str, str], None]


# --- the default steps (other areas' entry points, imported when first used) ---------------


def default_collect(
    app: App, should_stop: Callable[[], bool], progress: Callable[[SourceReport], None]
) -> Any:
    from aggregator.collect import collect

    kwargs: dict[str, Any] = {"due_only": True, "progress": progress}
    if "should_stop" in inspect.signature(collect).parameters:
        kwargs["should_stop"] = should_stop
    result = collect(app, **kwargs)
    if not should_stop():  # stored X posts re-checked every x.recheck_hours (#14)
        from aggregator.compliance.recheck import recheck_if_due

        rechecked = recheck_if_due(app)
        if rechecked is not None:
            result.missions_changed |= rechecked.missions
    return result


def default_media(app: App) -> Any:
    from aggregator.media import fetch_pending_media

    return fetch_pending_media(app)


def default_render(app: App, missions: Collection[str]) -> Any:
    from aggregator.render import render_site

    return render_site(app, missions=missions)


def default_digests(app: App, now: datetime) -> Any:
    """The digests, then the saved searches' alerts (#18), that are due."""
    from aggregator.alerts import due_alerts
    from aggregator.digest import due_digests

    return [*due_digests(app, now), *due_alerts(app, now)]


def default_alert(app: App, subject: str, body: str) -> None:
    from aggregator.mailer import send_alert

    send_alert(app, subject, body)


# --- leases of processes that died ----------------------------------------------------------


# --- the tick -------------------------------------------------------------------------------


@dataclass
class TickSummary:
    started_at: str | None = None
    finished_at: str | None = None
    sources: int = 0
    failed: int = 0
    posts_added: int = 0
    missions_changed: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)
    digests: int = 0
    alerts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopped: bool = False


class Service:
    """What ``aggregator run`` does, with every step injectable for tests."""

    def __init__(
        self,
        app: App,
        *,
        collect: CollectFn = default_collect,
        render: RenderFn = default_render,
        media: MediaFn = default_media,
        digests: DigestFn = default_digests,
        alert: AlertFn = default_alert,
        logger: logging.Logger | None = None,
    ) -> None:
        self.app = app
        self._collect = collect
        self._render = render
        self._media = media
        self._digests = digests
        self._alert = alert
        self.log = logger or log
        self.stop_event = threading.Event()
        self.ticks = 0
        self.tick_started: datetime | None = None
        self.started_at = app.now()
        self.fault: StorageFault | None = None  # the archive failed: the service stops on it

    def should_stop(self) -> bool:
        return self.stop_event.is_set()

    def stop(self) -> None:
        self.stop_event.set()

    def _guard(self, step: str, summary: TickSummary, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except StorageFault:
            raise  # the archive itself (locked, full, failing, damaged): stop, write no more
        except Exception as exc:  # a step's failure must never stop the service
            summary.errors.append(f"{step}: {exc}")
            self.log.exception(f"{step} failed; the next tick will try again")
            return None

    def tick(self) -> TickSummary:
        """Render what an earlier run stored but did not publish, collect due sources,
        re-render changed missions, send due digests, raise alerts."""
        now = self.app.now()
        summary = TickSummary(started_at=iso(now))
        self.tick_started = now
        store = self.app.store
        self._guard("release dead leases", summary, lambda: release_dead_leases(self.app))
        self._publish(summary)  # left by a crash or a failed render: before any fetch
        result = self._guard(
            "collect", summary, lambda: self._collect(self.app, self.should_stop, log_report)
        )
        reports: list[SourceReport] = list(getattr(result, "reports", []) or [])
        changed = set(getattr(result, "missions_changed", set()) or set())
        summary.sources = len(reports)
        summary.failed = sum(1 for r in reports if r.outcome == "error")
        summary.posts_added = sum(r.posts_added for r in reports)
        summary.missions_changed = sorted(changed)
        if changed:  # collect marks them with their posts; a marked mission is marked again
            self._guard("save pending renders", summary,
                        lambda: store.mark_pending_render(changed, self.app.now()))
        if self.should_stop():
            summary.stopped = True
        else:
            self._publish(summary)
            sent = self._guard("digests", summary, lambda: self._digests(self.app, now))
            summary.digests = len(sent) if isinstance(sent, list | tuple) else 0
            self._guard("alerts", summary, lambda: self._raise_alerts(summary))
        summary.finished_at = iso(self.app.now())
        self._guard("record tick", summary, lambda: store.record_tick(self.app.now(), asdict(summary)))
        self.ticks += 1
        self.tick_started = None
        log_event(
            self.log,
            "tick",
            sources=summary.sources,
            failed=summary.failed,
            posts_added=summary.posts_added,
            rendered=",".join(summary.rendered),
            digests=summary.digests,
            errors=len(summary.errors),
        )
        return summary

    def _publish(self, summary: TickSummary) -> None:
        """Copy images, then render every mission marked pending in the archive; clear the
        marks this render saw once it succeeded (a failure leaves them for the next tick)."""
        if self.should_stop():
            return
        store = self.app.store
        pending = self._guard("read pending renders", summary, store.pending_renders)
        if pending is None or not pending.missions:
            return
        missions = sorted(pending.missions)
        self._guard("media", summary, lambda: self._media(self.app))  # so pages show them
        if self._guard("render", summary, lambda: self._render(self.app, missions) or True):
            summary.rendered = sorted(set(summary.rendered) | set(missions))
            self._guard("save pending renders", summary,
                        lambda: store.clear_pending_renders(missions, pending.upto))

    def _raise_alerts(self, summary: TickSummary) -> None:
        """One ops alert per new persistent problem; never repeated for the same episode."""
        now = self.app.now()
        settings = self.app.config.settings
        rows = self.app.store.sources_to_alert(now - timedelta(hours=settings.alert_after_hours))
        if not rows:
            return
        lines = [
            f"- {r['id']}: {r['state']} since {r['state_since']}: {r['state_reason'] or ''}"
            for r in rows
        ]
        for line in lines:
            self.log.warning(f"persistent problem {line[2:]}")
        subject = f"{len(rows)} source(s) failing or stale for over {settings.alert_after_hours:g} h"
        body = "\n".join(
            [*lines, "", "Run `aggregator status` for every source's state and last error."]
        )
        self._alert(self.app, subject, body)
        self.app.store.mark_alerted([r["id"] for r in rows], now)
        summary.alerts = [r["id"] for r in rows]

    # --- scheduling -------------------------------------------------------------------

    def heartbeat(self, store: Any | None = None) -> None:
        """Record that the process is alive (its own connection when called from a job)."""
        target = store or self.app.store
        target.record_heartbeat(
            self.app.now(),
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_at": iso(self.started_at),
                "ticks": self.ticks,
                "tick_started_at": iso(self.tick_started),
            },
        )

    def build_scheduler(self, tick_seconds: float) -> BackgroundScheduler:
        """An APScheduler with the tick and heartbeat jobs; not started."""
        scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_S,
            },
        )
        first = datetime.now(UTC)
        scheduler.add_job(
            self._tick_job, IntervalTrigger(seconds=tick_seconds), id="tick",
            next_run_time=first, coalesce=True, max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_S,
        )
        scheduler.add_job(
            self._heartbeat_job, IntervalTrigger(seconds=max(1.0, min(tick_seconds, 30.0))),
            id="heartbeat", next_run_time=first, coalesce=True, max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_S,
        )
        return scheduler

    def _tick_job(self) -> None:
        if not self.should_stop():
            try:
                self.tick()
            except StorageFault as exc:
                self._stop_on(exc)

    def _heartbeat_job(self) -> None:
        from aggregator.store import Store

        try:
            store = Store(self.app.store.path, clock=self.app.clock,
                          timeout=self.app.config.settings.database_timeout)
        except StorageFault as exc:
            self._stop_on(exc)
            return
        try:
            self.heartbeat(store)
        except StorageFault as exc:
            self._stop_on(exc)
        except Exception:
            self.log.exception("heartbeat could not be written")
        finally:
            store.close()

    def _stop_on(self, fault: StorageFault) -> None:
        """A storage fault ends the service (a supervisor restarts it once the disk or the
        file is fixed): carrying on would fail every tick, or write into a damaged file."""
        if self.fault is None:
            self.fault = fault
            log_event(self.log, "stopping: the archive failed", error=fault.message)
        self.stop()

    def serve(self, tick_seconds: float, *, max_ticks: int | None = None) -> int:
        """Run until SIGTERM/Ctrl-C (or ``max_ticks``); finish the source in progress; exit 0."""
        scheduler = self.build_scheduler(tick_seconds)
        previous = _install_signal_handlers(self)
        log_event(self.log, "service started", pid=os.getpid(), tick_seconds=tick_seconds)
        scheduler.start()
        try:
            while not self.stop_event.wait(0.2):
                if max_ticks is not None and self.ticks >= max_ticks:
                    break
        finally:
            self.stop_event.set()
            scheduler.shutdown(wait=True)  # lets the running tick finish its source
            _restore_signal_handlers(previous)
        log_event(self.log, "service stopped", ticks=self.ticks)
        if self.fault is not None:
            raise self.fault  # `aggregator run` ends with its one line and exit status
        return 0


def _install_signal_handlers(service: Service) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: FrameType | None) -> None:
        log_event(
            service.log, "stopping after the source in progress", signal=signal.Signals(signum).name
        )
        service.stop()

    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for sig, old in previous.items():
        signal.signal(sig, old)
