"""The daily email digest: which lists are due, what each carries, and sending it once.

``due_digests(app, now)`` is what the service calls every tick. A list is due when its send
time, in its own time zone, has passed today and no digest of the list has been opened since
(so a service that was down at 07:00 sends once when it comes back). The window of a digest
is "since the last digest this list sent" (24 h for a new list), by publication time
(collection time for undated posts), so old posts collected today are not news; it is
fixed when the digest run opens, and the exactly-once ledger (``store/digest.py``) makes a resumed run serve only
the recipients not yet served, under the same Message-IDs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime, parseaddr
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from aggregator.digest.lists import DigestList, load_digest_lists
from aggregator.digest.render import Rendered, render_digest
from aggregator.errors import DeliveryError
from aggregator.mailer import (
    SendFailed,
    SmtpSender,
    address_domain,
    alternative_body,
    header_block,
    sign_token,
    uri_list_header,
)
from aggregator.mailer import secret_key as _secret_key
from aggregator.models import parse_iso, utc
from aggregator.render.i18n import site_title

if TYPE_CHECKING:
    from aggregator.app import App

log = logging.getLogger("aggregator.digest")

NEW_LIST_WINDOW = timedelta(hours=24)
# A post published up to this long before a window opened, but collected inside it (a slow
# feed, a source that was down), still counts as new: no earlier digest could carry it.
LATE_ARRIVAL = timedelta(hours=24)
LEASE = timedelta(minutes=15)
MAX_TEMPORARY_FAILURES = 3


@dataclass(frozen=True)
class Watch:
    """A saved search standing in for a list's missions (an alert, #18): which posts it
    carries (``select(start, end)``), where its first window starts, and its query."""

    query: str
    since: datetime
    select: Callable[[datetime, datetime], list[str]]
    search_url: str = ""


@dataclass
class DigestResult:
    """What one digest run did (``status``: complete, open, empty, busy)."""

    list_name: str
    status: str
    run_id: int | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    posts: int = 0
    sent: int = 0
    resent_in_flight: int = 0
    failed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    pending: int = 0
    error: str | None = None
    reason: str | None = None  # ``error`` without its hint
    hint: str | None = None


# --- when ------------------------------------------------------------------------------


def latest_occurrence(dl: DigestList, now: datetime) -> datetime:
    """The most recent send time of the list at or before ``now`` (UTC)."""
    local = utc(now).astimezone(dl.tz)
    day = local.date()
    for _ in range(3):
        at = datetime.combine(day, dl.send_at, tzinfo=dl.tz)
        if at <= local:
            return utc(at)
        day -= timedelta(days=1)
    raise AssertionError("unreachable: a send time within the last two days always exists")


def is_due(app: App, dl: DigestList, now: datetime) -> bool:
    if app.store.open_digest_run(dl.name) is not None:
        return True  # an interrupted digest resumes at the next tick
    return not app.store.digest_checked_since(dl.name, latest_occurrence(dl, now))


def due_digests(app: App, now: datetime) -> list[DigestResult]:
    """Send every list whose send time has passed and whose digest is not yet sent.

    Never raises for one list's delivery problem: the result carries the error and the
    next tick resumes the digest.
    """
    results = []
    for dl in load_digest_lists(app.config).values():
        if not app.store.digest_runs(dl.name):
            # First sight of a new list: its first digest goes out at its next send time
            # (covering the 24 h before it), not at once.
            app.store.start_digest_run(dl.name, now, now, [], now, empty=True)
            continue
        if not is_due(app, dl, now):
            continue
        try:
            result = send_digest(app, dl, now)
        except DeliveryError as exc:
            result = DigestResult(dl.name, "open", error=str(exc))
        log.info(
            "digest %s: %s, %d posts, %d sent, %d failed, %d pending%s",
            dl.name, result.status, result.posts, result.sent, len(result.failed),
            result.pending, f" ({result.error})" if result.error else "",
        )
        results.append(result)
    return results


# --- what ------------------------------------------------------------------------------


def window_for(
    app: App, dl: DigestList, now: datetime, watch: Watch | None = None
) -> tuple[datetime, datetime]:
    last = parse_iso(app.store.last_sent_window_end(dl.name))
    first = utc(watch.since) if watch is not None else utc(now) - NEW_LIST_WINDOW
    return (last or first), utc(now)


def window_post_ids(app: App, dl: DigestList, start: datetime, end: datetime) -> list[str]:
    """The posts a digest of ``dl`` over (start, end] carries: published in the window
    (collection time for undated posts), or arrived late, and not carried before."""
    return app.store.window_post_ids(
        dl.name, dl.missions, start, end, late_after=start - LATE_ARRIVAL
    )


def message_id(dl: DigestList, email: str, start: datetime, end: datetime) -> str:
    """Deterministic per list, recipient and window: a resend carries the same id."""
    key = f"{dl.name}\n{email.lower()}\n{start.isoformat()}\n{end.isoformat()}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<digest.{dl.name}.{digest}@{address_domain(dl.sender)}>"


def render_posts(
    app: App, dl: DigestList, post_ids: list[str], start: datetime, end: datetime,
    watch: Watch | None = None,
) -> Rendered:
    s = app.config.settings
    rows = app.store.digest_posts(post_ids, dl.missions)
    return render_digest(
        dl, rows, missions=app.config.missions, base_url=s.base_url,
        site_title=site_title(s, dl.language),
        window_start=start, window_end=end,
        query=watch.query if watch else None, search_url=watch.search_url if watch else "",
    )


def preview(app: App, dl: DigestList, now: datetime) -> tuple[Rendered, datetime, datetime]:
    """The digest the list would send now (the open one if a run was interrupted).
    Reads only: the ledger is not touched."""
    store = app.store
    run = store.open_digest_run(dl.name)
    if run is not None:
        start, end = parse_iso(run["window_start"]), parse_iso(run["window_end"])
        assert start is not None and end is not None
        ids = store.digest_run_post_ids(int(run["id"]))
    else:
        start, end = window_for(app, dl, now)
        ids = window_post_ids(app, dl, start, end)
    return render_posts(app, dl, ids, start, end), start, end


# --- how -------------------------------------------------------------------------------


@dataclass
class Composer:
    """Turns a rendered digest into one message per recipient."""

    app: App
    dl: DigestList
    rendered: Rendered
    key: bytes
    start: datetime
    end: datetime

    def unsubscribe_url(self, email: str) -> str:
        s = self.app.config.settings
        base = s.unsubscribe_url or urljoin(s.base_url, "unsubscribe")
        token = sign_token(self.key, self.dl.name, email, self.app.now())
        return f"{base}?token={token}"

    def list_id(self) -> str:
        host = urlsplit(self.app.config.settings.base_url).hostname or "localhost"
        return f"{self.dl.title.replace(chr(34), '')} <{self.dl.name}.{host}>"

    def message(self, email: str, mid: str | None = None) -> bytes:
        """The wire bytes of this recipient's message."""
        url = self.unsubscribe_url(email)
        html, text = self.rendered.personalize(email, url)
        mid = mid or message_id(self.dl, email, self.start, self.end)
        mailto_to = self.dl.unsubscribe_mailto or parseaddr(self.dl.sender)[1]
        mailto = f"mailto:{mailto_to}?subject={quote(f'unsubscribe {self.dl.name} {email}')}"
        own = header_block([
            ("To", email), ("Date", format_datetime(self.app.now())), ("Message-ID", mid),
        ]) + uri_list_header("List-Unsubscribe", [mailto, url])
        content_type, body = alternative_body(mid, text, html)
        return self.shared_headers + own + content_type + b"\r\n" + body

    @cached_property
    def shared_headers(self) -> bytes:
        """The headers every recipient's message has in common, encoded once."""
        return header_block([
            ("From", self.dl.sender), ("Subject", self.rendered.subject), ("MIME-Version", "1.0"),
            ("List-Id", self.list_id()), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Auto-Submitted", "auto-generated"), ("Content-Language", self.dl.language),
        ])


def secret_for(app: App) -> bytes:
    return _secret_key(app.config.settings, app.env)


def open_or_resume(
    app: App, dl: DigestList, now: datetime, watch: Watch | None = None
) -> tuple[dict[str, Any] | None, DigestResult | None]:
    """The open run of the list, or a new one; a result instead when there is nothing to send."""
    store = app.store
    run = store.open_digest_run(dl.name)
    if run is not None:
        return run, None
    if dl.seed_subscribers and not store.subscribers(dl.name, include_unsubscribed=True):
        store.add_subscribers(dl.name, dl.seed_subscribers, now)
    start, end = window_for(app, dl, now, watch)
    if end <= start:
        return None, DigestResult(dl.name, "empty", window_start=start, window_end=end)
    ids = watch.select(start, end) if watch is not None else window_post_ids(app, dl, start, end)
    if not ids and not dl.send_when_empty:
        run_id = store.start_digest_run(dl.name, start, end, ids, now, empty=True)
        return None, DigestResult(dl.name, "empty", run_id, start, end)
    store.start_digest_run(dl.name, start, end, ids, now)
    return store.open_digest_run(dl.name), None


def send_digest(
    app: App,
    dl: DigestList,
    now: datetime,
    *,
    sender_factory: Callable[[], SmtpSender] | None = None,
    progress: Callable[[str, str], None] | None = None,
    watch: Watch | None = None,
) -> DigestResult:
    """Open (or resume) the list's digest and send it to every recipient not yet served.

    With ``watch`` (an alert), the posts are the saved search's new matches instead."""
    key = secret_for(app)
    run, early = open_or_resume(app, dl, now, watch)
    if run is None:
        assert early is not None
        return early
    store = app.store
    run_id = int(str(run["id"]))
    start = parse_iso(str(run["window_start"]))
    end = parse_iso(str(run["window_end"]))
    assert start is not None and end is not None
    owner = f"{socket.gethostname()}:{os.getpid()}"
    result = DigestResult(dl.name, "open", run_id, start, end)
    dead = _dead_owner(store.digest_run_owner(run_id))
    if not store.claim_digest_run(
        run_id, owner, utc(app.now()), utc(app.now()) + LEASE, dead_owner=dead
    ):
        result.status, result.error = "busy", "another process is sending this digest"
        return result
    try:
        rendered = render_posts(app, dl, store.digest_run_post_ids(run_id), start, end, watch)
        result.posts = rendered.posts
        composer = Composer(app, dl, rendered, key, start, end)
        _deliver(app, dl, run_id, composer, result, sender_factory, progress, owner)
    finally:
        store.release_digest_run(run_id, owner)
    return result


def _dead_owner(owner: str) -> str:
    """``owner`` when it names a process on this host that no longer runs (a crash)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return ""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return owner
    except PermissionError:
        return ""
    return ""


def _deliver(
    app: App,
    dl: DigestList,
    run_id: int,
    composer: Composer,
    result: DigestResult,
    sender_factory: Callable[[], SmtpSender] | None,
    progress: Callable[[str, str], None] | None,
    owner: str,
) -> None:
    store = app.store
    states = store.digest_sends(run_id)
    todo = [
        r["email"] for r in store.subscribers(dl.name)
        if states.get(r["email"], {}).get("status") not in ("sent", "failed")
    ]
    temporary = 0
    factory = sender_factory or (lambda: SmtpSender(app.config.settings, app.env))
    with factory() as smtp:
        for i, email in enumerate(todo):
            prior = states.get(email)
            mid = str(prior["message_id"]) if prior else message_id(dl, email, composer.start, composer.end)
            if prior and prior["status"] == "in_flight":
                result.resent_in_flight += 1
            msg = composer.message(email, mid)
            store.mark_in_flight(run_id, email, mid, app.now())
            try:
                smtp.send(msg, dl.sender, email)
            except SendFailed as exc:
                if exc.permanent and not (exc.connection_lost or exc.relay):  # this reader only
                    store.mark_send(run_id, email, "failed", app.now(), error=exc.message, code=exc.code)
                    result.failed.append(email)
                    continue
                if exc.connection_lost or exc.relay:  # the relay, not this reader: stop here
                    if exc.code is not None:  # the server said no: this message did not leave
                        store.mark_send(run_id, email, "deferred", app.now(), error=exc.message, code=exc.code)
                    result.error, result.reason, result.hint = str(exc), exc.message, exc.hint
                    break
                store.mark_send(run_id, email, "deferred", app.now(), error=exc.message, code=exc.code)
                result.deferred.append(email)
                temporary += 1
                if temporary >= MAX_TEMPORARY_FAILURES:
                    result.error = f"{temporary} temporary refusals in a row; the next run resumes"
                    break
                continue
            temporary = 0
            store.mark_send(run_id, email, "sent", app.now())
            result.sent += 1
            if progress:
                progress(email, mid)
            if i and i % 100 == 0:
                store.claim_digest_run(run_id, owner, utc(app.now()), utc(app.now()) + LEASE)
    served = {e for e, r in store.digest_sends(run_id).items() if r["status"] in ("sent", "failed")}
    result.pending = sum(1 for r in store.subscribers(dl.name) if r["email"] not in served)
    if result.pending == 0:
        store.complete_digest_run(run_id, app.now())
        result.status = "complete"
