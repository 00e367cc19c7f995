"""`aggregator run`'s tick, alerts, lock and health, driven by a fake clock and fake steps."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aggregator.app import App, make_app
from aggregator.cli import cli
from aggregator.config import load_config
from aggregator.errors import FetchError, LockedError
from aggregator.models import SourceReport, iso
from aggregator.service.health import health
from aggregator.service.schedule import after_failure
from aggregator.service.scheduler import Service
from aggregator.service.writer_lock import WriterLock
from tests.test_service_support import SECRET_ENV, T0, Clock, FakeRun, write_project

UNMIK_FEED = "feed:http://127.0.0.1:9/unmik.xml"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Iterator[App]:
    with make_app(load_config(write_project(tmp_path)), clock=clock, env=SECRET_ENV) as a:
        yield a


class Steps:
    """Hand-written fakes for the three steps, recording what the service asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.changed: set[str] = {"UNMIK"}
        self.fail: set[str] = set()
        self.on_collect: Callable[[], None] | None = None

    def collect(self, app: App, should_stop: Callable[[], bool],
                progress: Callable[[SourceReport], None]) -> FakeRun:
        self.calls.append(("collect", None))
        if "collect" in self.fail:
            raise RuntimeError("collector blew up")
        if self.on_collect:
            self.on_collect()
        report = SourceReport(UNMIK_FEED, "ok", posts_added=2, duration_s=0.1)
        progress(report)
        return FakeRun([report], set(self.changed))

    def render(self, app: App, missions: Collection[str]) -> None:
        self.calls.append(("render", sorted(missions)))
        if "render" in self.fail:
            raise OSError("disk full")

    def media(self, app: App) -> int:
        self.calls.append(("media", None))
        return 0

    def digests(self, app: App, now: datetime) -> list[str]:
        self.calls.append(("digests", now))
        return []

    def service(self, app: App, alerts: list[tuple[str, str]] | None = None) -> Service:
        def alert(app: App, subject: str, body: str) -> None:
            if alerts is not None:
                alerts.append((subject, body))

        return Service(app, collect=self.collect, render=self.render, digests=self.digests,
                       alert=alert, media=self.media)


def test_tick_collects_then_renders_only_changed_missions_then_sends_due_digests(
    app: App, clock: Clock
) -> None:
    steps = Steps()
    summary = steps.service(app).tick()
    assert [c[0] for c in steps.calls] == ["collect", "media", "render", "digests"]
    assert steps.calls[2] == ("render", ["UNMIK"])
    assert steps.calls[3] == ("digests", T0)
    assert summary.posts_added == 2 and summary.rendered == ["UNMIK"]
    record = app.store.service_value("last_tick")
    assert record is not None and record.value["rendered"] == ["UNMIK"]
    steps.changed = set()
    steps.calls.clear()
    steps.service(app).tick()
    assert [c[0] for c in steps.calls] == ["collect", "digests"], "nothing changed: no render"


def test_a_failing_step_is_logged_and_the_next_tick_still_runs(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    steps = Steps()
    service = steps.service(app)
    steps.fail = {"collect"}
    summary = service.tick()
    assert summary.errors == ["collect: collector blew up"]
    assert ("digests", T0) in steps.calls, "digests still go out when collection fails"
    assert "collect failed" in caplog.text
    steps.fail = {"render"}
    summary = service.tick()
    assert summary.errors == ["render: disk full"] and summary.rendered == []
    steps.fail, steps.changed = set(), set()
    steps.calls.clear()
    summary = service.tick()
    assert ("render", ["UNMIK"]) in steps.calls, "a failed render is retried on the next tick"
    assert summary.errors == []


def test_a_stop_request_during_collection_skips_the_rest_and_a_restart_renders(
    app: App,
) -> None:
    steps = Steps()
    service = steps.service(app)
    steps.on_collect = service.stop
    summary = service.tick()
    assert summary.stopped and [c[0] for c in steps.calls] == ["collect"]
    steps.on_collect, steps.changed = None, set()
    steps.calls.clear()
    steps.service(app).tick()  # the restarted service
    assert ("render", ["UNMIK"]) in steps.calls


def _fail_source(app: App, at: datetime) -> None:
    row = app.store.source_state(UNMIK_FEED)
    values = after_failure(row, FetchError("HTTP 500", source=UNMIK_FEED), now=at,
                           settings=app.config.settings)
    app.store.update_source(UNMIK_FEED, values)


def test_a_persistent_failure_sends_one_alert_and_a_transient_one_none(
    app: App, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    steps, alerts = Steps(), []  # type: ignore[var-annotated]
    steps.changed = set()
    service = steps.service(app, alerts)
    _fail_source(app, T0)
    clock.advance(hours=2)
    _fail_source(app, clock.now)
    service.tick()
    assert alerts == [], "failing for 2 hours is transient"
    clock.advance(hours=23)
    _fail_source(app, clock.now)
    service.tick()
    assert len(alerts) == 1 and UNMIK_FEED in alerts[0][1]
    assert "persistent problem" in caplog.text
    for _ in range(3):
        clock.advance(hours=1)
        _fail_source(app, clock.now)
        service.tick()
    assert len(alerts) == 1, "the same problem is not alerted again every tick"


def test_two_writers_on_one_database_exactly_one_runs(tmp_path: Path) -> None:
    config = write_project(tmp_path)
    db = load_config(config).database_path
    with WriterLock(db):
        with pytest.raises(LockedError, match="already writing"):
            WriterLock(db).acquire()
        result = CliRunner().invoke(cli, ["--config", str(config), "run", "--ticks", "1"])
        assert result.exit_code == 5
        assert "another `aggregator run`" in result.output
    again = WriterLock(db)
    again.acquire()  # released on exit: the next service may start
    again.release()


def test_run_with_a_tick_limit_ticks_and_exits_zero(tmp_path: Path) -> None:
    config = write_project(tmp_path, feed_urls={"UNMIK": []})
    result = CliRunner().invoke(
        cli, ["--config", str(config), "run", "--ticks", "1", "--tick-seconds", "0.1"]
    )
    assert result.exit_code == 0, result.output
    with make_app(load_config(config)) as app:
        assert app.store.service_value("last_tick") is not None
        assert app.store.service_value("heartbeat") is not None


def test_health_exits_non_zero_with_a_reason_when_unhealthy(
    tmp_path: Path, clock: Clock
) -> None:
    config = write_project(tmp_path)
    runner = CliRunner()
    first = runner.invoke(cli, ["--config", str(config), "health"])
    assert first.exit_code == 4 and first.output.startswith("unhealthy: no archive")
    lock = WriterLock(load_config(config).database_path)
    lock.acquire()  # this process plays the service: it holds the lock and beats
    with make_app(load_config(config)) as real:
        Service(real).heartbeat()
        real.store.record_tick(real.now(), {"sources": 0})
    ok = runner.invoke(cli, ["--config", str(config), "health"])
    assert ok.exit_code == 0 and ok.output.startswith("ok:"), ok.output
    assert len(ok.output.strip().splitlines()) == 1
    lock.release()
    gone = runner.invoke(cli, ["--config", str(config), "health"])
    assert gone.exit_code == 4 and "does not hold the writer lock" in gone.output, gone.output
    lock.acquire()
    with make_app(load_config(config), clock=clock) as app:
        clock.now = datetime.now(T0.tzinfo) + timedelta(minutes=30)
        healthy, reason = health(app, max_age=timedelta(minutes=10))
        assert not healthy and reason.startswith("no heartbeat for 30 min")
    lock.release()


def test_health_fails_when_every_source_is_failing(
    app: App, clock: Clock, service_lock: WriterLock
) -> None:
    Service(app).heartbeat()
    app.store.record_tick(clock.now, {})
    for source_id in app.store.source_states():
        app.store.update_source(source_id, {"state": "backing_off"})
    healthy, reason = health(app, max_age=timedelta(minutes=10))
    assert not healthy and reason.startswith("every source is failing")
    app.store.update_source(UNMIK_FEED, {"state": "ok"})
    assert health(app, max_age=timedelta(minutes=10))[0]


def test_every_job_is_coalesced_single_instance_with_a_restart_sized_grace(app: App) -> None:
    scheduler = Service(app).build_scheduler(60)
    jobs = scheduler.get_jobs()
    assert {j.id for j in jobs} == {"tick", "heartbeat"}
    for job in jobs:
        assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time >= 600
    assert not scheduler.running


def test_importing_the_package_starts_no_scheduler() -> None:
    code = (
        "import threading, aggregator.cli, aggregator.service.scheduler, aggregator.commands.service;"
        "print(threading.active_count())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def _wait(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


DIGESTS = """\
lists:
  - name: daily
    missions: all
    send_at: "07:00"
    timezone: Europe/Paris
    sender: digest@example.org
"""


def test_a_daily_digest_fires_once_across_a_misfire_and_a_restart(
    tmp_path: Path, clock: Clock
) -> None:
    """07:00 Paris is 06:00 UTC. A new list sends yesterday's digest at the first tick
    (05:00 UTC). The service is down from 05:00 to 09:30 UTC: the missed ticks run once when it
    comes back (APScheduler's real coalescing), today's digest goes out once, and neither later
    ticks nor a restart send it again the same day."""
    config = load_config(write_project(tmp_path, feed_urls={"UNMIK": []}, digest_lists=DIGESTS))
    steps = Steps()
    steps.changed = set()

    def service_on(app: App) -> Service:
        from aggregator.digest import due_digests

        return Service(app, collect=steps.collect, render=steps.render, digests=due_digests,
                       media=steps.media)

    with make_app(config, clock=clock, env=SECRET_ENV) as app:
        service_on(app).tick()  # 05:00 UTC: yesterday's 07:00 has not been sent yet
        service_on(app).tick()
        assert len(app.store.digest_runs("daily")) == 1
    clock.now = T0.replace(hour=9, minute=30)
    with make_app(config, clock=clock, env=SECRET_ENV) as app:  # restarted after downtime
        service = service_on(app)
        scheduler = service.build_scheduler(3600)
        scheduler.remove_job("heartbeat")
        scheduler.start(paused=True)
        scheduler.modify_job("tick", next_run_time=datetime.now(T0.tzinfo) - timedelta(hours=4))
        scheduler.resume()
        try:
            _wait(lambda: service.ticks >= 1)
            time.sleep(0.3)
        finally:
            scheduler.shutdown(wait=True)
        assert service.ticks == 1, "four hours of missed ticks ran once"
        assert len(app.store.digest_runs("daily")) == 2
        for hour in (9, 12, 23):
            clock.now = T0.replace(hour=hour, minute=45)
            service.tick()
    clock.now = T0.replace(hour=23, minute=50)
    with make_app(config, clock=clock, env=SECRET_ENV) as app:  # another restart
        service_on(app).tick()
        clock.now = T0 + timedelta(days=1, minutes=59)  # 05:59 UTC next day
        service_on(app).tick()
        assert len(app.store.digest_runs("daily")) == 2
        clock.now = T0 + timedelta(days=1, hours=1, minutes=1)  # 07:01 Paris next day
        service_on(app).tick()
        assert len(app.store.digest_runs("daily")) == 3


def test_a_lease_left_by_a_killed_collector_is_released_at_the_next_tick(app: App) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    gone_owner, live_owner = f"{host}:{dead.pid}:abc", f"{host}:1:def"
    until = T0 + timedelta(hours=1)
    app.store.update_source(UNMIK_FEED, {"lease_owner": gone_owner, "lease_until": iso(until)})
    other = "feed:http://127.0.0.1:9/unifil.xml"
    app.store.update_source(other, {"lease_owner": live_owner, "lease_until": iso(until)})
    steps = Steps()
    steps.service(app).tick()
    assert app.store.source_state(UNMIK_FEED)["lease_owner"] is None
    assert app.store.source_state(other)["lease_owner"] == live_owner, "pid 1 is alive"


def test_health_tolerates_a_long_first_tick_but_not_a_stuck_one(
    app: App, clock: Clock, service_lock: WriterLock
) -> None:
    service = Service(app)
    app.store.record_tick(clock.now, {})  # the previous service's last tick
    clock.advance(hours=3)
    service.started_at = clock.now  # restarted just now
    service.heartbeat()
    assert health(app, max_age=timedelta(minutes=10))[0], "a fresh restart is healthy"
    service.tick_started = clock.now  # its first tick is collecting many slow sources
    clock.advance(minutes=30)
    service.heartbeat()
    assert health(app, max_age=timedelta(minutes=10))[0], "alive and working"
    clock.advance(minutes=40)
    service.heartbeat()
    healthy, reason = health(app, max_age=timedelta(minutes=10))
    assert not healthy and reason.startswith("no tick has finished for 70 min")


@pytest.fixture
def service_lock(app: App) -> Iterator[WriterLock]:
    """The writer lock, held by this process as the running service holds it."""
    with WriterLock(app.store.path) as lock:
        yield lock


def test_health_fails_at_once_when_the_heartbeats_process_is_gone(
    app: App, clock: Clock, tmp_path: Path
) -> None:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a pid that existed and is gone
    Service(app).heartbeat()
    app.store.record_tick(clock.now, {})
    record = app.store.service_value("heartbeat")
    assert record is not None
    app.store.record_heartbeat(clock.now, {**record.value, "pid": child.pid})
    healthy, reason = health(app, max_age=timedelta(minutes=10))
    assert not healthy and reason.startswith(f"the service (pid {child.pid}) is not running")
