"""Saved searches that watch (#18 item 2): ``aggregator alerts`` and the service's alerts.

An alert is a saved query, one address and a rhythm (hourly or daily). Its emails are digest
runs of the list ``alert.<name>`` (a name no digest list can take: digest list names have no
dot), so they share the digest's exactly-once ledger, its MIME, one-click unsubscribe and
HTML+text rendering (``digest.send_digest`` with a ``Watch``). Each email carries the public
posts matching the query that entered the archive since the previous check and that no
earlier email of the alert carried; nothing is sent when nothing matched.

Alerts follow what *enters the archive* (collection time), where digests follow publication
time: an alert watches the archive for its query, so a matching post is news to it whenever
it arrives (a source added later, a feed that dates its entries oddly); the archive as it
stood when the alert was saved is never sent.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urljoin, urlsplit

from aggregator import search
from aggregator.digest import DigestResult, Watch, send_digest
from aggregator.digest.lists import DigestList
from aggregator.errors import DeliveryError, UsageError
from aggregator.mailer import valid_address
from aggregator.models import parse_iso, utc

if TYPE_CHECKING:
    from aggregator.app import App

log = logging.getLogger("aggregator.alerts")

EVERY = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}
LIST_PREFIX = "alert."
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Alert:
    name: str
    query: str
    email: str
    every: str
    created_at: datetime
    created_by: str = ""

    @property
    def list_name(self) -> str:
        return LIST_PREFIX + self.name

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Alert:
        created = parse_iso(row["created_at"])
        assert created is not None
        return cls(row["name"], row["query"], row["email"], row["every"], created,
                   row.get("created_by") or "")


def validate(app: App, name: str, query: str, email: str, every: str) -> search.SearchPlan:
    """Every problem of a new alert as a ``UsageError`` (or ``QuerySyntaxError``) with a hint."""
    if not _NAME.match(name):
        raise UsageError(f"{name!r} is not a valid alert name",
                         hint="lower-case letters, digits and -, e.g. kosovo-elections")
    if every not in EVERY:
        raise UsageError(f"--every {every!r} is not known", hint="use hourly or daily")
    if not valid_address(email) or "<" in email:
        raise UsageError(f"{email!r} is not an email address", hint="e.g. analyst@example.org")
    if not query.strip():
        raise UsageError("an alert needs a query", hint="e.g. --query 'Kosovo mission:UNMIK'")
    return search.parse(query, missions=set(app.config.missions))


def add_alert(app: App, name: str, query: str, email: str, every: str = "daily",
              *, by: str = "cli") -> bool:
    """Save (or replace) an alert and subscribe its address; True when it is new."""
    validate(app, name, query, email, every)
    email = email.strip().lower()
    now = app.now()
    store = app.store
    old = store.alert(name)
    created = store.save_alert(name, query, email, every, now, by)
    list_name = LIST_PREFIX + name
    if old is not None and old["email"] != email:
        store.unsubscribe(list_name, old["email"], now, via="replaced")
    store.add_subscribers(list_name, [email], now)
    return created


def remove_alert(app: App, name: str) -> None:
    alert = app.store.alert(name)
    if alert is None:
        raise UsageError(f"no alert named {name!r}", hint="see `aggregator alerts list`")
    app.store.unsubscribe(LIST_PREFIX + name, alert["email"], app.now(), via="removed")
    app.store.delete_alert(name)


def alerts(app: App) -> list[tuple[Alert, str]]:
    """Every alert with its recipient's state (active or unsubscribed)."""
    out = []
    for row in app.store.alerts():
        alert = Alert.from_row(row)
        out.append((alert, app.store.subscriber_status(alert.list_name, alert.email) or "none"))
    return out


def sender(app: App) -> str:
    s = app.config.settings
    if s.alerts_sender:
        return s.alerts_sender
    host = urlsplit(s.base_url).hostname or "localhost"
    if "." not in host:
        host = f"{host}.localdomain"
    return f"{s.site_title.replace(chr(34), '')} <alerts@{host}>"


def as_list(app: App, alert: Alert) -> DigestList:
    """The alert as the digest machinery sees it: one recipient, every mission, UTC."""
    return DigestList(
        name=alert.list_name, title=f"Alert: {alert.name}", missions=None, send_at=time(0, 0),
        timezone="UTC", sender=sender(app), language="en", send_when_empty=False,
    )


def watch(app: App, alert: Alert) -> Watch:
    plan = search.parse(alert.query, missions=set(app.config.missions))
    base = app.config.settings.base_url

    def select(start: datetime, end: datetime) -> list[str]:
        return app.store.alert_post_ids(alert.list_name, plan, start, end)

    return Watch(query=alert.query, since=alert.created_at, select=select,
                 search_url=urljoin(base, "search?" + urlencode({"q": alert.query, "sort": "newest"})))


def is_due(app: App, alert: Alert, now: datetime) -> bool:
    if app.store.open_digest_run(alert.list_name) is not None:
        return True  # an interrupted alert resumes at once
    return not app.store.digest_checked_since(alert.list_name, utc(now) - EVERY[alert.every])


def send_alert(app: App, alert: Alert, now: datetime, **kwargs: Any) -> DigestResult:
    return send_digest(app, as_list(app, alert), now, watch=watch(app, alert), **kwargs)


def due_alerts(app: App, now: datetime) -> list[DigestResult]:
    """Send every alert whose hour or day has passed; one alert's failure never stops the
    others (the result carries the error; the next tick resumes it)."""
    results = []
    for alert, state in alerts(app):
        if state != "active" or not is_due(app, alert, now):
            continue
        try:
            result = send_alert(app, alert, now)
        except DeliveryError as exc:
            result = DigestResult(alert.list_name, "open", error=str(exc))
        log.info("alert %s: %s, %d posts, %d sent%s", alert.name, result.status, result.posts,
                 result.sent, f" ({result.error})" if result.error else "")
        results.append(result)
    return results


__all__ = ["EVERY", "Alert", "add_alert", "alerts", "due_alerts", "remove_alert", "send_alert"]
