"""The installed ``aggregator`` collecting X accounts from a loopback fake of the X API.

The fake serves real recorded pages (twarc-csv's brexit search page split in two, with the
tweepy cassette's real rate-limit headers): an assembled timeline, said here as required.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aggregator.cli import cli
from tests.conftest import ROOT
from tests.fake_x_api import FakeXApi, split_page, timeline_headers, twarc_page, user_body
from tests.feeds_server import FeedServer, write_config

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

AGGREGATOR = ROOT / ".venv/bin/aggregator"
TOKEN = "secret-test-token-123"
TIMELINE = "/2/users/783214/tweets"


@pytest.fixture
def fake() -> Iterator[FakeXApi]:
    with FakeXApi() as api:
        yield api


def x_config(tmp_path: Path, fake: FakeXApi, **x: Any) -> Path:
    sources = [{"kind": "x", "mission": None, "handle": "UNISFA_1", "name": "UNISFA on X"}]
    return write_config(tmp_path, sources, x={"api_base": fake.base_url, "backfill": 100, **x})


def serve_pages(fake: FakeXApi, shared: Path, *, stall: threading.Event | None = None) -> dict[str, Any]:
    page = twarc_page(shared, "brexit")
    first, second = split_page(page, 50, page["meta"]["next_token"])
    fake.add("/2/users/by/username/UNISFA_1", user_body("783214", "UNISFA_1", "UNISFA"))
    fake.add(TIMELINE, first, headers=timeline_headers(shared))
    fake.add(TIMELINE, second, headers=timeline_headers(shared), stall=stall)
    fake.add(TIMELINE, {"meta": {"result_count": 0}}, headers=timeline_headers(shared))
    return page


def run(config: Path, *args: str, token: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "X_BEARER_TOKEN"}
    if token:
        env["X_BEARER_TOKEN"] = TOKEN
    return subprocess.run([str(AGGREGATOR), "--config", str(config), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def stored(config: Path) -> tuple[list[str], str | None]:
    with sqlite3.connect(config.parent / "archive.db") as db:
        ids = [r[0] for r in db.execute("SELECT id FROM posts ORDER BY id")]
        cursor = db.execute("SELECT cursor FROM sources WHERE id = 'x:unisfa_1'").fetchone()
    return ids, cursor[0] if cursor else None


def test_installed_collect_reads_the_fake_x_api_and_stores_the_posts(tmp_path: Path, shared: Path, fake: FakeXApi) -> None:
    assert AGGREGATOR.exists(), "install the project: pip install -e .[test]"
    page = serve_pages(fake, shared)
    config = x_config(tmp_path, fake)
    done = run(config, "collect", "--no-render")
    assert done.returncode == 0, done.stderr
    ids, cursor = stored(config)
    assert ids == sorted(f"x:{t['id']}" for t in page["data"])
    assert cursor == page["meta"]["newest_id"]
    assert all(r.authorized for r in fake.requests)
    # Second run: since_id is the stored cursor, nothing new, nothing stored twice.
    again = run(config, "collect", "--no-render")
    assert again.returncode == 0, again.stderr
    assert fake.seen(TIMELINE)[-1].params["since_id"] == page["meta"]["newest_id"]
    assert stored(config)[0] == ids
    status = run(config, "status")
    assert status.returncode == 0
    assert "783214" in status.stdout and "@UNISFA_1" in status.stdout
    for out in (done, again, status):
        assert TOKEN not in out.stdout + out.stderr


def test_killed_between_a_page_and_its_commit_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, shared: Path, fake: FakeXApi
) -> None:
    stall = threading.Event()
    page = serve_pages(fake, shared, stall=stall)
    config = x_config(tmp_path, fake)
    env = {**os.environ, "X_BEARER_TOKEN": TOKEN}
    proc = subprocess.Popen([str(AGGREGATOR), "--config", str(config), "collect", "--no-render"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(fake.seen(TIMELINE)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(fake.seen(TIMELINE)) == 2, "the second page was never asked for"
        # Page 1 is in the process's memory, page 2 is in flight: kill it now.
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        stall.set()
        if proc.poll() is None:
            proc.kill()
    ids, cursor = stored(config)
    assert ids == [] and cursor is None  # nothing committed, the cursor did not move
    # The dead run still holds its lease on the source; the next collect sees that its
    # process is gone and takes the source over at once, without waiting for the lease to end.
    with sqlite3.connect(config.parent / "archive.db") as db:
        assert db.execute("SELECT lease_owner FROM sources WHERE id = 'x:unisfa_1'").fetchone()[0]
    fake.reset(TIMELINE)
    first, second = split_page(page, 50, page["meta"]["next_token"])
    fake.add(TIMELINE, first, headers=timeline_headers(shared))
    fake.add(TIMELINE, second, headers=timeline_headers(shared))
    done = run(config, "collect", "--no-render")
    assert done.returncode == 0, done.stderr
    ids, cursor = stored(config)
    assert ids == sorted(f"x:{t['id']}" for t in page["data"])  # every post, once
    assert cursor == page["meta"]["newest_id"]
    assert "since_id" not in fake.seen(TIMELINE)[-2].params  # the re-run started from scratch


def test_status_shows_the_x_section_per_source(tmp_path: Path, shared: Path, fake: FakeXApi) -> None:
    serve_pages(fake, shared)
    config = x_config(tmp_path, fake)
    runner = CliRunner()
    env = {"X_BEARER_TOKEN": TOKEN}
    collected = runner.invoke(cli, ["--config", str(config), "collect", "--no-render"], env=env)
    assert collected.exit_code == 0, collected.output
    status = runner.invoke(cli, ["--config", str(config), "status"])
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("X source"))
    for column in ("user id", "last success", "newest post", "next call", "posts/month", "spend"):
        assert column in lines[head]
    row = lines[head + 1]
    # 100 timeline posts + 59 included posts, 4 of them also in the timeline: 155 posts read.
    assert row.split()[:2] == ["@UNISFA_1", "783214"] and " 155 " in row
    # ... and 177 included users + the handle lookup: 178 users. 155 x $0.005 + 178 x $0.01:
    expected = 155 * 0.005 + 178 * 0.010
    assert row.endswith(f"${round(expected, 3):.2f}")
    assert any("X this month" in line and "155 posts and 178 users read" in line for line in lines)
    data = runner.invoke(cli, ["--config", str(config), "x", "status", "--json"])
    assert data.exit_code == 0, data.output
    import json

    parsed = json.loads(data.output)
    assert parsed["summary"]["posts_read"] == 155 and parsed["summary"]["users_read"] == 178
    assert parsed["summary"]["spend_usd"] == pytest.approx(expected)
    source = parsed["sources"][0]
    assert source["x_user_id"] == "783214" and source["newest_post_at"] == "2021-09-22T16:37:29Z"
    assert source["last_success_at"] and source["next_call_at"]


def test_x_resolve_keeps_the_user_id(tmp_path: Path, shared: Path, fake: FakeXApi) -> None:
    fake.add("/2/users/by/username/UNISFA_1", user_body("783214", "UNISFA_1", "UNISFA"))
    config = x_config(tmp_path, fake)
    result = CliRunner().invoke(cli, ["--config", str(config), "x", "resolve"], env={"X_BEARER_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert "@UNISFA_1: 783214" in result.output
    with sqlite3.connect(tmp_path / "archive.db") as db:
        assert db.execute("SELECT x_user_id FROM sources WHERE id = 'x:unisfa_1'").fetchone()[0] == "783214"
    no_token = CliRunner().invoke(cli, ["--config", str(config), "x", "resolve"], env={"X_BEARER_TOKEN": ""})
    assert no_token.exit_code == 1 and "X_BEARER_TOKEN" in no_token.output


def bridge_rss(handle: str, statuses: list[tuple[str, str]]) -> bytes:
    items = "".join(
        f"<item><title>{text}</title><description>{text}</description>"
        f"<link>https://x.com/{handle}/status/{sid}</link><guid>https://x.com/{handle}/status/{sid}</guid>"
        "<pubDate>Thu, 26 Nov 2026 10:00:00 GMT</pubDate></item>"
        for sid, text in statuses
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>@{handle}</title>'
            f"<link>https://x.com/{handle}</link>{items}</channel></rss>").encode()


def test_without_a_token_handles_go_through_the_bridge_and_a_post_is_stored_once(
    tmp_path: Path, shared: Path, fake: FakeXApi
) -> None:
    page = twarc_page(shared, "two_tweets")
    tweet = page["data"][0]
    with FeedServer() as bridge:
        bridge.add("/twitter/user/UNISFA_1", body=bridge_rss("UNISFA_1", [(tweet["id"], "Seen through the bridge")]))
        config = x_config(tmp_path, fake, bridge_template=bridge.url("/twitter/user/{handle}"))
        runner = CliRunner()
        first = runner.invoke(cli, ["--config", str(config), "collect", "--no-render"], env={"X_BEARER_TOKEN": ""})
        assert first.exit_code == 0, first.output
        assert fake.requests == []  # no token: X itself is never called
        assert len(bridge.hits("/twitter/user/UNISFA_1")) == 1
        with sqlite3.connect(tmp_path / "archive.db") as db:
            assert [r[0] for r in db.execute("SELECT id FROM posts")] == [f"x:{tweet['id']}"]
        # With a token the API is used; the same status arrives again and is stored once.
        fake.add("/2/users/by/username/UNISFA_1", user_body(tweet["author_id"], "UNISFA_1", "UNISFA"))
        fake.add(f"/2/users/{tweet['author_id']}/tweets", page, headers=timeline_headers(shared))
        second = runner.invoke(cli, ["--config", str(config), "collect", "--no-render"], env={"X_BEARER_TOKEN": TOKEN})
        assert second.exit_code == 0, second.output
        with sqlite3.connect(tmp_path / "archive.db") as db:
            rows = db.execute("SELECT id, kind FROM posts").fetchall()
        assert rows == [(f"x:{tweet['id']}", "x")]  # one post, now from the API


def test_posts_x_reports_unavailable_leave_public_outputs_but_stay_archived(
    tmp_path: Path, shared: Path, fake: FakeXApi
) -> None:
    page = twarc_page(shared, "two_tweets")
    tweet = page["data"][0]
    fake.add("/2/users/by/username/UNISFA_1", user_body(tweet["author_id"], "UNISFA_1", "UNISFA"))
    fake.add(f"/2/users/{tweet['author_id']}/tweets", page, headers=timeline_headers(shared))
    # Assembled: the account turns protected; X answers the timeline with an authorization error.
    fake.add(f"/2/users/{tweet['author_id']}/tweets", {"errors": [{
        "resource_type": "user", "resource_id": tweet["author_id"], "title": "Authorization Error",
        "detail": f"Sorry, you are not authorized to see the user with id: [{tweet['author_id']}].",
        "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"}]})
    config = write_config(tmp_path, [{"kind": "x", "mission": "UNISFA", "handle": "UNISFA_1", "name": "UNISFA on X"}],
                          x={"api_base": fake.base_url})
    runner = CliRunner()
    env = {"X_BEARER_TOKEN": TOKEN}
    out = tmp_path / "output"

    def public(status_id: str) -> list[str]:
        """The rendered files (pages, widget, JSON API, feeds) that show this post."""
        return sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                      if p.is_file() and p.suffix in {".html", ".json", ".xml", ".js"}
                      and status_id in p.read_text(encoding="utf-8"))

    assert runner.invoke(cli, ["--config", str(config), "collect"], env=env).exit_code == 0
    shown = public(tweet["id"])
    assert {"api/unisfa.json", "missions/unisfa/index.html"} <= set(shown), shown
    assert any("widget" in p for p in shown) and any("feed" in p for p in shown), shown
    result = runner.invoke(cli, ["--config", str(config), "collect"], env=env)  # no `render` after it
    assert result.exit_code == 0, result.output
    assert "1 mission changed" in result.output
    assert public(tweet["id"]) == []
    with sqlite3.connect(tmp_path / "archive.db") as db:
        row = db.execute("SELECT availability, availability_note FROM posts WHERE id = ?", [f"x:{tweet['id']}"]).fetchone()
        warning = db.execute("SELECT warnings FROM sources WHERE id = 'x:unisfa_1'").fetchone()[0]
    assert row[0] == "protected" and "not authorized" in row[1]
    assert "not authorized" in warning


def test_x_estimate_gives_the_monthly_bill_for_the_configured_accounts(tmp_path: Path, fake: FakeXApi) -> None:
    sources = [{"kind": "x", "mission": None, "handle": h} for h in ("UNISFA_1", "MONUSCO")]
    sources.append({"kind": "x", "mission": None, "handle": "UNIFIL_", "via": "bridge"})
    config = write_config(tmp_path, sources, x={"api_base": fake.base_url})
    result = CliRunner().invoke(cli, ["--config", str(config), "x", "estimate", "--posts-per-day", "3"])
    assert result.exit_code == 0, result.output
    # By hand: 2 accounts x 3 posts x 30 days = 180 posts, +30% referenced = 234 posts;
    # users: each account once per day (60) + one author per referenced post (54) = 114.
    # 234 x $0.005 + 114 x $0.01 = $2.31. Backfill once: 2 x (26 posts x $0.005 + 2 users x $0.01).
    assert "2 X accounts through the API (1 through a bridge)" in result.output
    assert "2,880 timeline calls" in result.output  # every 30 minutes, 30 days
    assert "234 posts and 114 users read a month: $2.31 a month" in result.output
    assert "plus $0.30 once" in result.output
    assert fake.requests == []


def test_status_shows_the_rate_limit_pause_as_the_next_allowed_call(tmp_path: Path, shared: Path, fake: FakeXApi) -> None:
    from tests.fake_x_api import TOO_MANY_REQUESTS

    reset = int(time.time()) + 900  # the real header names and limit, a reset in the future
    headers = {**timeline_headers(shared, remaining="0"), "x-rate-limit-reset": str(reset)}
    fake.add("/2/users/by/username/UNISFA_1", user_body("783214", "UNISFA_1", "UNISFA"))
    fake.add(TIMELINE, TOO_MANY_REQUESTS, status=429, headers=headers)
    config = x_config(tmp_path, fake)
    runner = CliRunner()
    collected = runner.invoke(cli, ["--config", str(config), "collect", "--no-render"], env={"X_BEARER_TOKEN": TOKEN})
    assert collected.exit_code == 0, collected.output
    status = runner.invoke(cli, ["--config", str(config), "x", "status", "--json"])
    import json
    from datetime import UTC, datetime

    data = json.loads(status.output)
    until = datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert data["summary"]["paused_until"] == {"x:X_BEARER_TOKEN:users_tweets": until}
    assert data["sources"][0]["next_call_at"] >= until
    assert data["sources"][0]["state"] == "rate_limited"


def test_status_of_an_archive_older_than_the_x_tables_has_no_x_section(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from aggregator.commands.x import x_status_lines
    from aggregator.settings import Settings
    from aggregator.store import Store

    with Store(tmp_path / "old.db") as store:
        store.db.execute("DROP TABLE x_reads")  # as read-only `status` finds an archive before 0020
        assert x_status_lines(store, Settings(), datetime.now(UTC)) == []


def test_x_resolve_refuses_billed_lookups_once_the_budget_is_spent(tmp_path: Path, fake: FakeXApi) -> None:
    from aggregator.store import Store

    config = x_config(tmp_path, fake, monthly_budget=1.0)
    with Store(tmp_path / "archive.db") as store:
        store.record_x_reads("x:other", store.clock(), posts=[str(i) for i in range(199)])  # $0.995
    fake.add("/2/users/by/username/UNISFA_1", user_body("783214", "UNISFA_1", "UNISFA"))
    result = CliRunner().invoke(cli, ["--config", str(config), "x", "resolve"], env={"X_BEARER_TOKEN": TOKEN})
    assert result.exit_code == 1, result.output
    assert "x.monthly_budget" in result.output and "$0.99" in result.output
    assert fake.requests == []


def test_the_run_log_duration_of_an_x_source_includes_its_fetch(tmp_path: Path, shared: Path, fake: FakeXApi) -> None:
    page = twarc_page(shared, "two_tweets")
    author = page["data"][0]["author_id"]
    fake.add("/2/users/by/username/UNISFA_1", user_body(author, "UNISFA_1", "UNISFA"))
    fake.add(f"/2/users/{author}/tweets", page, headers=timeline_headers(shared), trickle_s=0.0003)
    config = x_config(tmp_path, fake)
    result = CliRunner().invoke(cli, ["--config", str(config), "collect", "--no-render"], env={"X_BEARER_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "archive.db") as db:
        duration = db.execute("SELECT duration_s FROM source_events WHERE source_id = 'x:unisfa_1'").fetchone()[0]
    assert duration >= 0.5


def test_x_sources_do_not_delay_the_feed_sources(tmp_path: Path, shared: Path, fake: FakeXApi) -> None:
    from tests.feeds_server import FeedServer

    rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>UNISFA news</title>'
           b"<item><title>Patrol in Abyei</title><link>https://unisfa.example.org/1</link></item></channel></rss>")
    fake.add("/2/users/by/username/UNISFA_1", user_body("783214", "UNISFA_1", "UNISFA"), trickle_s=0.05)
    with FeedServer() as server:
        url = server.add("/news.xml", body=rss)
        sources = [{"kind": "x", "mission": None, "handle": "UNISFA_1"}, {"kind": "feed", "mission": "UNISFA", "url": url}]
        config = write_config(tmp_path, sources, x={"api_base": fake.base_url}, http={"deadline": 1.5})
        result = CliRunner().invoke(cli, ["--config", str(config), "collect", "--no-render"],
                                    env={"X_BEARER_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "archive.db") as db:
        order = [r[0] for r in db.execute("SELECT source_id FROM source_events ORDER BY id")]
        x_error = db.execute("SELECT error FROM source_events WHERE source_id = 'x:unisfa_1'").fetchone()[0]
    assert order == [f"feed:{url}", "x:unisfa_1"]  # the feed was stored before X was even done
    assert "http.deadline" in x_error


def test_a_runs_warnings_show_in_collect_status_and_x_status(tmp_path: Path, shared: Path, fake: FakeXApi) -> None:
    """#14: "@A is now @B" (and every other note of a successful run) is not only a log line."""
    import json

    page = twarc_page(shared, "two_tweets")
    author = page["data"][0]["author_id"]
    seen = next(u["username"] for u in page["includes"]["users"] if u["id"] == author)
    fake.add("/2/users/by/username/UNISFA_1", user_body(author, "UNISFA_1", "UNISFA"))
    fake.add(f"/2/users/{author}/tweets", page, headers=timeline_headers(shared))
    config = x_config(tmp_path, fake)
    runner = CliRunner()
    env = {"X_BEARER_TOKEN": TOKEN}
    note = f"@UNISFA_1 is now @{seen}"
    collected = runner.invoke(cli, ["--config", str(config), "collect", "--no-render"], env=env)
    assert collected.exit_code == 0 and f"warning: x:unisfa_1: {note}" in collected.output
    assert note in runner.invoke(cli, ["--config", str(config), "status"]).output
    rows = json.loads(runner.invoke(cli, ["--config", str(config), "status", "--json"]).output)
    assert any(note in w for w in rows[0]["warnings"])
    assert note in runner.invoke(cli, ["--config", str(config), "x", "status"]).output
    x_rows = json.loads(runner.invoke(cli, ["--config", str(config), "x", "status", "--json"]).output)["sources"]
    assert any(note in w for w in x_rows[0]["warnings"])


def _ids_page(newest: int, count: int, token: str | None) -> dict[str, Any]:
    from tests.fake_x_api import own_tweet

    data = [own_tweet(str(newest - i), f"Burst post {newest - i}", "783214", "2026-11-27T10:00:00.000Z")
            for i in range(count)]
    meta: dict[str, Any] = {"result_count": count, "newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
    if token:
        meta["next_token"] = token
    return {"data": data, "meta": meta}


def test_a_burst_larger_than_max_pages_is_caught_up_in_the_next_runs(tmp_path: Path, fake: FakeXApi) -> None:
    """#14: the next run continues from where the last stopped, not from the newest post."""
    import json

    fake.add("/2/users/by/username/UNISFA_1", user_body("783214", "UNISFA_1", "UNISFA"))
    fake.add(TIMELINE, _ids_page(100, 5, None))  # the first run: the backfill
    fake.add(TIMELINE, _ids_page(130, 10, "p2"))  # a burst of 30: two pages of 10 read...
    fake.add(TIMELINE, _ids_page(120, 10, "p3"))
    fake.add(TIMELINE, _ids_page(110, 10, None))  # ...the rest, asked with until_id next run
    fake.add(TIMELINE, {"meta": {"result_count": 0}})
    config = write_config(tmp_path, [{"kind": "x", "mission": None, "handle": "UNISFA_1"}],
                          x={"api_base": fake.base_url, "backfill": 5, "max_pages": 2})
    runner = CliRunner()
    env = {"X_BEARER_TOKEN": TOKEN}

    def collect() -> str:
        result = runner.invoke(cli, ["--config", str(config), "collect", "--no-render"], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    collect()
    with sqlite3.connect(tmp_path / "archive.db") as db:  # the last run added 5: pages of 10
        db.execute("UPDATE sources SET last_posts_added = 5")
    assert "catching up" in collect()
    x_status = runner.invoke(cli, ["--config", str(config), "x", "status"]).output
    assert "catching up after a burst: posts before id 111" in x_status
    assert "catching up" in runner.invoke(cli, ["--config", str(config), "status"]).output
    rows = json.loads(runner.invoke(cli, ["--config", str(config), "x", "status", "--json"]).output)["sources"]
    assert rows[0]["catching_up"] is True
    collect()
    gap = fake.seen(TIMELINE)[3].params
    assert gap["since_id"] == "100" and gap["until_id"] == "111"
    ids, cursor = stored(config)
    assert sorted(int(i[2:]) for i in ids) == list(range(96, 131))  # no gap left
    assert cursor == "130"
    collect()
    assert fake.seen(TIMELINE)[4].params["since_id"] == "130" and "until_id" not in fake.seen(TIMELINE)[4].params
    assert json.loads(runner.invoke(cli, ["--config", str(config), "x", "status", "--json"]).output)[
        "sources"][0]["catching_up"] is False


@pytest.mark.parametrize("api_first", [True, False])
def test_an_edited_post_read_through_the_api_and_a_bridge_is_one_post(
    tmp_path: Path, shared: Path, api_first: bool
) -> None:
    """#14: the API names an edited post by its first version, a bridge links to the latest
    (twarc-csv's real edit: 1576994746135764992 edited as 1576994789110992896)."""
    from aggregator.models import RawItem
    from aggregator.normalize import normalize
    from aggregator.store import Store

    page = twarc_page(shared, "edited_after")
    tweet = page["data"][0]
    first, latest = tweet["edit_history_tweet_ids"]
    api = normalize(RawItem("x:wongmjane", "x", {"tweet": tweet, "includes": page.get("includes", {})}),
                    collected_at=NOW)
    link = f"https://x.com/wongmjane/status/{latest}"
    bridged = normalize(RawItem("x:wongmjane", "feed", {"id": link, "link": link, "title": "hey :)",
                                                       "summary": "hey :)"}), collected_at=NOW)
    assert (api.id, bridged.id) == (f"x:{first}", f"x:{latest}")
    with Store(tmp_path / "a.db") as store:
        store.db.execute("INSERT INTO sources (id, kind, name) VALUES ('x:wongmjane', 'x', '@wongmjane')")
        for post in ([api, bridged, api] if api_first else [bridged, api, bridged, api]):
            store.save_posts([(post, [])])
        rows = store.db.execute("SELECT id, kind FROM posts").fetchall()
    assert len(rows) == 1 and rows[0][1] == "x"  # one post, the API's richer copy
