"""The crash test's harness (no tests of its own): a rolling loopback feed and a wrapper.

- :class:`RollingFeed`: a loopback HTTP server whose feeds gain a new entry every few polls
  and keep only the newest 10, with ETags, remembering every entry it ever published and
  which entries each ETag covered.
- Run as a script, this file is a wrapper around the ``aggregator`` command used only by the
  test: it notes on a marker file when a source's posts are written inside the still-open
  write transaction ("tx", then a pause, so that a kill can land inside it) and when that
  transaction commits ("committed": the sources that finished together share one), and with ``CRASH_HARNESS_BROKEN=1`` it
  *breaks* the product on purpose, committing the fetch state (ETag) before the posts it
  covers: the negative control that proves the crash test can fail. With
  ``CRASH_HARNESS_KILL_AT_RENDER=1`` the process kills itself (-9) when it starts to render,
  after its posts are committed. The product itself has no such switch.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEEP = 10


class RollingFeed:
    """Feeds at ``/<name>.xml``; each gains an entry every ``every`` requests."""

    def __init__(self, names: Sequence[str], *, every: int = 3) -> None:
        self.every = every
        self.lock = threading.Lock()
        self.requests: dict[str, int] = {n: 0 for n in names}
        self.version: dict[str, int] = {n: 0 for n in names}
        self.entries: dict[str, list[tuple[str, datetime]]] = {n: [] for n in names}
        self.covered: dict[str, dict[str, set[str]]] = {n: {} for n in names}
        self.frozen = False
        for name in names:
            self._publish(name)
        handler = type("Handler", (_Handler,), {"feed": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}.xml"

    def __enter__(self) -> RollingFeed:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def etag(self, name: str) -> str:
        return f'"{name}-v{self.version[name]}"'

    def _publish(self, name: str) -> None:
        n = len(self.entries[name]) + 1
        self.entries[name].append((f"http://127.0.0.1/{name}/entry-{n}", datetime.now(UTC)))
        self.version[name] += 1
        self.covered[name][self.etag(name)] = {link for link, _ in self.entries[name][-KEEP:]}

    def published(self, name: str) -> set[str]:
        with self.lock:
            return {link for link, _ in self.entries[name]}

    def respond(self, name: str, if_none_match: str | None) -> tuple[int, str, bytes]:
        with self.lock:
            self.requests[name] += 1
            if not self.frozen and self.requests[name] % self.every == 0:
                self._publish(name)
            etag = self.etag(name)
            if if_none_match == etag:
                return 304, etag, b""
            return 200, etag, _rss(name, self.entries[name][-KEEP:])


def _rss(name: str, entries: Sequence[tuple[str, datetime]]) -> bytes:
    items = "".join(
        f"<item><title>{name} entry {link.rsplit('-', 1)[1]}</title><link>{link}</link>"
        f"<guid isPermaLink=\"true\">{link}</guid>"
        f"<pubDate>{format_datetime(at, usegmt=True)}</pubDate>"
        f"<description>UNMIK news number {link.rsplit('-', 1)[1]}</description></item>"
        for link, at in reversed(entries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{name}</title><link>http://127.0.0.1/{name}</link>"
        f"<description>rolling</description>{items}</channel></rss>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    feed: RollingFeed

    def do_GET(self) -> None:
        name = self.path.strip("/").removesuffix(".xml")
        if name not in self.feed.requests:
            self.send_error(404)
            return
        status, etag, body = self.feed.respond(name, self.headers.get("If-None-Match"))
        self.send_response(status)
        self.send_header("ETag", etag)
        if status == 200:
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


# --- the wrapper (run as a script by the test) --------------------------------------------


def _note(text: str) -> None:
    marker = os.environ.get("CRASH_HARNESS_MARKER")
    if marker:
        with open(marker, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")


def install() -> None:
    from aggregator.store import Store
    from aggregator.store.sources import SourcesMixin

    original = SourcesMixin.commit_source
    original_transaction = Store.transaction
    broken = os.environ.get("CRASH_HARNESS_BROKEN") == "1"
    pause = float(os.environ.get("CRASH_HARNESS_PAUSE", "0.03"))

    def commit_source(
        self: Any, source_id: str, owner: str, tagged: Any,
        state: Callable[[int, int], Mapping[str, Any]],
        event: Any = None,
    ) -> Any:
        if broken:  # the bug the negative control plants: state first, posts afterwards
            early = {k: v for k, v in state(0, 0).items()
                     if k in ("etag", "last_modified", "body_hash", "cursor")}
            moved = early.get("etag") != self.source_state(source_id).get("etag")
            if early:
                self.update_source(source_id, early)
            if moved:  # a new ETag is saved, its posts are not: the window the kill aims at
                _note("between")
                time.sleep(pause)

        def paused(added: int, updated: int) -> Mapping[str, Any]:
            values = state(added, updated)
            _note("tx")  # posts written, transaction still open
            time.sleep(pause)
            return values

        out = original(self, source_id, owner, tagged, paused, event)
        if not self.db.conn.in_transaction:  # its own transaction, not part of a batch
            _note("committed")
        return out

    @contextmanager
    def transaction(self: Any) -> Iterator[Any]:
        """A batch of sources in one transaction: "committed" once it really is. The broken
        build stores each source on its own, so its early state commit really lands first."""
        if broken:
            yield self.db
            return
        outer = not self.db.conn.in_transaction
        with original_transaction(self) as db:
            yield db
        if outer:
            _note("committed")

    SourcesMixin.commit_source = commit_source  # type: ignore[method-assign]
    Store.transaction = transaction  # type: ignore[method-assign,assignment]
    if os.environ.get("CRASH_HARNESS_KILL_AT_RENDER") == "1":
        import aggregator.render

        def render_site(*args: Any, **kwargs: Any) -> Any:
            """The kill lands after the posts are committed, before any page is written."""
            _note("render")
            os.kill(os.getpid(), signal.SIGKILL)

        aggregator.render.render_site = render_site  # type: ignore[assignment]


if __name__ == "__main__":
    install()
    from aggregator.cli import main

    main(sys.argv[1:])
