"""One collection run end to end: loopback HTTP -> parse -> normalize -> tag -> SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.app import App, make_app
from aggregator.collect import collect
from aggregator.config import load_config
from tests.feeds_server import FeedServer, write_config


def rss(*items: tuple[str, str, str]) -> bytes:
    body = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>http://example.org/{guid}</link>"
        f"<description>{text}</description><pubDate>Wed, 25 Nov 2026 10:00:00 GMT</pubDate></item>"
        for guid, title, text in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Test</title>'
        f"<link>http://example.org/</link>{body}</channel></rss>"
    ).encode()


UNMIK = rss(
    ("a1", "UNMIK meets community leaders in Pristina", "UNMIK staff met leaders in Pristina."),
    ("a2", "Road repairs in Mitrovica", "Engineers repaired the road to Mitrovica."),
)
GENERAL = rss(("g1", "Weather report", "Rain expected across the region."))


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def make(tmp_path: Path, sources: list[dict[str, Any]], **settings: Any) -> App:
    return make_app(load_config(write_config(tmp_path, sources, **settings)))


def counts(app: App) -> tuple[int, int]:
    db = app.store.db
    return (
        int(db.execute("SELECT COUNT(*) FROM posts").fetchone()[0]),
        int(db.execute("SELECT COUNT(*) FROM post_versions").fetchone()[0]),
    )


def test_collecting_twice_adds_nothing_and_second_poll_is_conditional(
    tmp_path: Path, server: FeedServer
) -> None:
    lm = "Wed, 25 Nov 2026 10:00:00 GMT"
    url = server.add("/unmik.xml", body=UNMIK, etag='"e1"', last_modified=lm)
    with make(tmp_path, [{"kind": "feed", "mission": "UNMIK", "url": url, "name": "UNMIK"}]) as app:
        first = collect(app)
        assert first.posts_added == 2 and first.missions_changed == {"UNMIK"}
        assert counts(app) == (2, 2)
        second = collect(app)
        assert [r.outcome for r in second.reports] == ["not_modified"]
        assert second.posts_added == 0 and second.missions_changed == set()
        assert counts(app) == (2, 2)
        sent = server.hits("/unmik.xml")[1].headers
        assert sent["if-none-match"] == '"e1"' and sent["if-modified-since"] == lm
        row = app.store.source_state(f"feed:{url}")
        assert row["last_success_at"] and row["consecutive_failures"] == 0
        assert row["lease_owner"] is None  # the lease ended with the commit
        assert row["posts_added_total"] == 2
        tags = {t.mission for t in app.store.tags_of(app.store.db.execute(
            "SELECT id FROM posts WHERE title LIKE 'UNMIK meets%'").fetchone()[0])}
        assert tags == {"UNMIK"}


def test_a_changed_entry_updates_the_post_and_keeps_the_earlier_version(
    tmp_path: Path, server: FeedServer
) -> None:
    url = server.add("/g.xml", body=GENERAL)
    with make(tmp_path, [{"kind": "feed", "mission": None, "url": url, "name": "General"}]) as app:
        collect(app)
        server.add("/g.xml", body=rss(("g1", "Weather report (corrected)", "Rain and wind.")))
        result = collect(app)
        assert (result.posts_added, result.posts_updated) == (0, 1)
        assert counts(app) == (1, 2)
        post = app.store.db.execute("SELECT title, version FROM posts").fetchone()
        assert post == ("Weather report (corrected)", 2)


def test_failures_are_recorded_and_other_sources_still_stored(
    tmp_path: Path, server: FeedServer
) -> None:
    good = server.add("/good.xml", body=GENERAL)
    bad = {
        "broken": server.add("/broken.xml", body=b"<?xml version='1.0'?><rss><channel><ti"),
        "500": server.add("/500.xml", status=500, body=b"oops"),
        "404": server.url("/missing.xml"),
        "loop": server.add("/loop", status=301, location="/loop2"),
        "big": server.add("/big.xml", stream_bytes=50_000_000),
        "html": server.add("/page", body=b"<!doctype html><html><body>Hello</body></html>",
                           headers={"Content-Type": "text/html; charset=utf-8"}),
        "hang": server.add("/hang.xml", hang=True),
    }
    server.add("/loop2", status=301, location="/loop")
    sources = [{"kind": "feed", "mission": None, "url": u, "name": n} for n, u in bad.items()]
    sources.append({"kind": "feed", "mission": None, "url": good, "name": "good"})
    with make(tmp_path, sources, http={"connect_timeout": 2, "read_timeout": 30, "deadline": 1.5}) as app:
        result = collect(app)
        outcome = {r.source_id: r for r in result.reports}
        assert outcome[f"feed:{good}"].outcome == "ok" and counts(app)[0] == 1
        expected = {
            "broken": "not a readable feed", "500": "HTTP 500", "404": "HTTP 404",
            "loop": "redirect loop", "big": "larger than", "html": "HTML web page",
            "hang": "no complete response within 1.5 s",
        }
        for name, words in expected.items():
            sid = f"feed:{bad[name]}"
            assert outcome[sid].outcome == "error"
            row = app.store.source_state(sid)
            assert words in row["last_error"], (name, row["last_error"])
            assert row["consecutive_failures"] == 1 and row["state"] == "backing_off"
            assert row["last_success_at"] is None and row["lease_owner"] is None
        events = app.store.db.execute(
            "SELECT COUNT(*) FROM source_events WHERE outcome = 'error' AND run_id = ?",
            [result.run_id]).fetchone()[0]
        assert events == len(expected)
        run = app.store.db.execute(
            "SELECT sources_total, sources_failed, finished_at FROM runs WHERE id = ?",
            [result.run_id]).fetchone()
        assert run[:2] == (8, 7) and run[2]


def test_due_only_collects_what_is_due(tmp_path: Path, server: FeedServer) -> None:
    url = server.add("/g.xml", body=GENERAL)
    now = [datetime(2026, 11, 28, 12, 0, tzinfo=UTC)]
    config = load_config(write_config(tmp_path, [{"kind": "feed", "url": url, "name": "g"}]))
    with make_app(config, clock=lambda: now[0]) as app:
        assert len(collect(app, due_only=True).reports) == 1  # new sources are due
        assert collect(app, due_only=True).reports == []  # not due again yet
        now[0] += timedelta(days=1)
        assert len(collect(app, due_only=True).reports) == 1


def test_a_source_leased_by_another_collector_is_skipped(tmp_path: Path, server: FeedServer) -> None:
    url = server.add("/g.xml", body=GENERAL)
    with make(tmp_path, [{"kind": "feed", "url": url, "name": "g"}]) as app:
        now = app.now()
        sid = f"feed:{url}"
        assert app.store.acquire_leases([sid], "other:1", now, now + timedelta(minutes=5)) == {sid}
        result = collect(app)
        assert [r.outcome for r in result.reports] == ["skipped"]
        assert server.hits("/g.xml") == []  # not fetched twice
        assert app.store.source_state(sid)["lease_owner"] == "other:1"  # not stolen


def test_a_collector_that_lost_its_lease_does_not_move_state_back(
    tmp_path: Path, server: FeedServer
) -> None:
    url = server.add("/g.xml", body=GENERAL)
    with make(tmp_path, [{"kind": "feed", "url": url, "name": "g"}]) as app:
        sid = f"feed:{url}"
        app.store.update_source(sid, {"cursor": "900", "lease_owner": "newer:2",
                                      "lease_until": "2999-01-01T00:00:00Z"})
        _a, _u, _c, written = app.store.commit_source(
            sid, "older:1", [], lambda a, u: {"cursor": "100", "etag": '"old"'})
        row = app.store.source_state(sid)
        assert (written, row["cursor"], row["etag"], row["lease_owner"]) == (
            False, "900", None, "newer:2")


def test_a_stop_request_ends_the_run_after_the_source_in_hand(
    tmp_path: Path, server: FeedServer
) -> None:
    urls = [server.add(f"/s{i}.xml", body=GENERAL, delay=0.3 * i) for i in range(3)]
    sources = [{"kind": "feed", "url": u, "name": f"s{i}"} for i, u in enumerate(urls)]
    with make(tmp_path, sources) as app:
        # The stop is asked for once the first source (no delay) has been requested: the run
        # stores what it has fetched (that source) and fetches nothing more.
        first = urls[0].split(":", 2)[2].split("/", 1)[1]
        result = collect(app, should_stop=lambda: bool(server.hits(f"/{first}")))
        assert [r.outcome for r in result.reports] == ["ok"]
        assert result.reports[0].source_id == f"feed:{urls[0]}"
        leases = app.store.db.execute(
            "SELECT COUNT(*) FROM sources WHERE lease_owner IS NOT NULL").fetchone()[0]
        assert leases == 0  # the sources not reached are free for the next run
        assert app.store.db.execute(
            "SELECT finished_at FROM runs WHERE id = ?", [result.run_id]).fetchone()[0]


def test_sources_fetched_together_are_stored_in_one_transaction_each_with_its_state(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextlib import contextmanager

    from aggregator.store import Store

    commits: list[int] = []
    original = Store.transaction

    @contextmanager
    def counted(self: Store) -> Iterator[Any]:
        outer = not self.db.conn.in_transaction
        with original(self) as db:
            yield db
        if outer:
            commits.append(1)

    monkeypatch.setattr(Store, "transaction", counted)
    urls = [server.add(f"/f{i}.xml", body=rss((f"g{i}", f"Item {i}", "Text.")), etag=f'"{i}"')
            for i in range(12)]
    sources = [{"kind": "feed", "mission": None, "url": u, "name": f"f{i}"} for i, u in enumerate(urls)]
    with make(tmp_path, sources) as app:
        result = collect(app)
        assert result.posts_added == 12 and counts(app) == (12, 12)
        assert len(commits) < len(urls)  # batched (all 12 arrive within a second)
        for i, url in enumerate(urls):
            row = app.store.source_state(f"feed:{url}")
            assert row["etag"] == f'"{i}"' and row["lease_owner"] is None
            assert row["posts_added_total"] == 1


def _break_storing(monkeypatch: pytest.MonkeyPatch, title: str, exc: Exception) -> None:
    """Storing a post with this title raises ``exc`` (a stand-in for a bug or a full disk)."""
    from aggregator.store import posts

    real = posts.post_row

    def post_row(post: Any) -> dict[str, Any]:
        if post.title == title:
            raise exc
        return real(post)

    monkeypatch.setattr(posts, "post_row", post_row)


def test_a_source_whose_posts_cannot_be_stored_fails_alone(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_storing(monkeypatch, "Boom", ValueError("unexpected value"))
    bad = server.add("/bad.xml", body=rss(("b1", "Boom", "x")))
    good = server.add("/good.xml", body=GENERAL)
    sources = [{"kind": "feed", "mission": None, "url": u, "name": n}
               for n, u in (("bad", bad), ("good", good))]
    with make(tmp_path, sources) as app:
        result = collect(app)
        outcome = {r.source_id: r for r in result.reports}
        assert outcome[f"feed:{good}"].outcome == "ok" and counts(app) == (1, 1)
        assert outcome[f"feed:{bad}"].outcome == "error"
        row = app.store.source_state(f"feed:{bad}")
        assert "could not be stored (ValueError: unexpected value)" in row["last_error"]
        assert row["etag"] is None and row["lease_owner"] is None  # fetched again next time


def test_an_archive_that_cannot_be_written_stops_the_run_with_a_clear_error(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from aggregator.errors import StoreError

    first = server.add("/first.xml", body=GENERAL)
    with make(tmp_path, [{"kind": "feed", "mission": None, "url": first, "name": "first"}]) as app:
        collect(app)
    _break_storing(monkeypatch, "Boom", sqlite3.OperationalError("database or disk is full"))
    bad = server.add("/bad.xml", body=rss(("b1", "Boom", "x")))
    sources = [{"kind": "feed", "mission": None, "url": u, "name": n}
               for n, u in (("first", first), ("bad", bad))]
    with make(tmp_path, sources) as app:
        with pytest.raises(StoreError, match="disk is full") as caught:
            collect(app)
        assert "disk space" in (caught.value.hint or "")
        assert counts(app) == (1, 1)  # what was stored before is still there
        assert app.store.db.execute(
            "SELECT COUNT(*) FROM sources WHERE lease_owner IS NOT NULL").fetchone()[0] == 0
