"""Collecting X accounts: tweepy driven through its real HTTP layer with real recordings.

Two ways in, both with nothing leaving the machine:
- vcrpy (``record_mode="none"``) replays tweepy's own cassettes, read in place;
- a loopback fake of the API (tests/fake_x_api.py, base URL setting) replays real bodies and
  rate-limit headers, assembled where no real recording of a call exists (said per test).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.compliance import apply_flags
from aggregator.errors import AuthError, BudgetExceeded, FetchError, ParseError, RateLimited
from aggregator.models import Availability, FetchResult, SourceSpec
from aggregator.settings import Settings
from aggregator.sources.x import XFetcher
from aggregator.store import Store
from tests.fake_x_api import (
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    FakeXApi,
    decoded,
    timeline_headers,
    twarc_page,
    user_body,
)

RECORDED = datetime(2022, 10, 7, 22, 43, 18, tzinfo=UTC)  # `date` of the timeline cassette
TOKEN = {"X_BEARER_TOKEN": "test-token-not-real"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def x_spec(handle: str, mission: str | None = "UNISFA") -> SourceSpec:
    return SourceSpec(id=f"x:{handle.lower()}", kind="x", name=f"@{handle}", mission=mission, handle=handle)


@pytest.fixture
def clock() -> Clock:
    return Clock(RECORDED)


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    with Store(tmp_path / "x.db", clock=clock) as s:
        yield s


@pytest.fixture
def fake() -> Iterator[FakeXApi]:
    with FakeXApi() as api:
        yield api


def fetch(store: Store, settings: Settings, *specs: SourceSpec, env: dict[str, str] | None = None,
          sleep: Any = None) -> dict[str, Any]:
    store.sync_sources(specs)
    fetcher = XFetcher(settings, TOKEN if env is None else env, store,
                       sleep=sleep or (lambda s: None), rand=lambda: 0.5)
    jobs = [(s, store.source_state(s.id)) for s in specs]
    return {spec.id: outcome for spec, outcome in fetcher.fetch_many(jobs)}


def commit(store: Store, result: FetchResult) -> None:
    """What the collector does with a result: the state goes in with the posts it covers."""
    store.update_source(result.source_id, {"cursor": result.cursor, **result.extra_state})


# --- vcrpy: tweepy's cassettes, merged and read in place ----------------------------------


class _MergedCassettes:
    """A read-only vcrpy persister: ``a.yaml|b.yaml`` replays both recordings."""

    @classmethod
    def load_cassette(cls, cassette_path: str, serializer: Any) -> tuple[list[Any], list[Any]]:
        from vcr.persisters.filesystem import FilesystemPersister

        requests: list[Any] = []
        responses: list[Any] = []
        for part in str(cassette_path).split("|"):
            r, s = FilesystemPersister.load_cassette(part, serializer)
            requests += r
            responses += s
        return requests, responses

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: Any, serializer: Any) -> None:
        raise AssertionError("recordings are read in place, never written")


def test_user_lookup_and_timeline_through_tweepy_cassettes(shared: Path, store: Store) -> None:
    vcr = pytest.importorskip("vcr")
    folder = shared / "fixtures/x_api_v2/tweepy_cassettes"
    replay = vcr.VCR(record_mode="none", match_on=["method", "path"], decode_compressed_response=True)
    replay.register_persister(_MergedCassettes)
    cassettes = f"{folder / 'test_client_get_user.yaml'}|{folder / 'test_client_get_users_tweets.yaml'}"
    settings = Settings(x_api_base="https://api.twitter.com", x_backfill=2)  # the recorded host
    with replay.use_cassette(cassettes) as cassette:
        result = fetch(store, settings, x_spec("Twitter", None))["x:twitter"]
    assert isinstance(result, FetchResult), result
    assert [r.uri.split("?")[0] for r in cassette.requests] == [
        "https://api.twitter.com/2/users/by/username/Twitter",
        "https://api.twitter.com/2/users/783214/tweets",
    ]
    assert cassette.all_played
    assert result.extra_state["x_user_id"] == "783214"  # the immutable id, kept
    assert [i.data["tweet"]["id"] for i in result.items] == ["1565318587736285184", "1577730467436138524"]
    assert result.cursor == "1577730467436138524"  # the newest post: next run's since_id
    assert result.units_read == {"posts": 2, "users": 1}


# --- the loopback fake ---------------------------------------------------------------------


def _unisfa(fake: FakeXApi, shared: Path) -> None:
    user = decoded(shared, "test_client_get_user")
    fake.add("/2/users/by/username/UNISFA_1", user_body("783214", "UNISFA_1", "UNISFA"),
             headers=user["rate_limit_headers"])


def test_timeline_page_with_includes_becomes_items_with_their_includes(shared: Path, store: Store, fake: FakeXApi) -> None:
    # Assembled: the real brexit search page (100 posts, all expansions) served as a timeline.
    page = twarc_page(shared, "brexit")
    _unisfa(fake, shared)
    fake.add("/2/users/783214/tweets", page, headers=timeline_headers(shared))
    result = fetch(store, Settings(x_api_base=fake.base_url, x_backfill=100), x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(result, FetchResult), result
    assert len(result.items) == 100
    sent = fake.seen("/tweets")[0]
    assert sent.authorized
    assert sent.params["max_results"] == "100"
    assert "since_id" not in sent.params  # first run: backfill
    assert set(sent.params["expansions"].split(",")) == {
        "author_id", "referenced_tweets.id", "referenced_tweets.id.author_id", "attachments.media_keys"}
    assert {"created_at", "lang", "entities", "referenced_tweets", "attachments", "conversation_id",
            "public_metrics", "edit_history_tweet_ids"} <= set(sent.params["tweet.fields"].split(","))
    assert set(sent.params["media.fields"].split(",")) >= {"url", "preview_image_url", "alt_text"}
    retweet = next(i for i in result.items if (i.data["tweet"].get("referenced_tweets") or [{}])[0].get("type") == "retweeted")
    ref_id = retweet.data["tweet"]["referenced_tweets"][0]["id"]
    assert ref_id in {t["id"] for t in retweet.data["includes"]["tweets"]}  # full text travels along
    assert retweet.data["tweet"]["author_id"] in {u["id"] for u in retweet.data["includes"]["users"]}


def test_cost_count_equals_hand_count_of_the_brexit_page(shared: Path, store: Store, fake: FakeXApi) -> None:
    # Hand count of twarc_csv/brexit.jsonl line 1: 100 posts in data, 59 in includes.tweets of
    # which 4 are also in data (charged once a day) -> 155 posts; 177 users in includes.users.
    # Plus the handle lookup: 1 user, who is not among the 177.
    page = twarc_page(shared, "brexit")
    _unisfa(fake, shared)
    fake.add("/2/users/783214/tweets", page, headers=timeline_headers(shared))
    settings = Settings(x_api_base=fake.base_url, x_backfill=100)
    first = fetch(store, settings, x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(first, FetchResult)
    assert first.units_read == {"posts": 155, "users": 178}
    commit(store, first)  # the user id is kept: not looked up (nor billed) again
    assert store.x_usage(RECORDED) == {"post": 155, "user": 178}
    assert store.x_usage(RECORDED, period="day") == {"post": 155, "user": 178}
    # Reading the same page again the same UTC day costs nothing more ...
    store.update_source("x:unisfa_1", {"cursor": None})
    fetch(store, settings, x_spec("UNISFA_1"))
    assert store.x_usage(RECORDED) == {"post": 155, "user": 178}
    # ... the next UTC day it is charged again.
    store.clock.now = RECORDED + timedelta(days=1)  # type: ignore[attr-defined]
    fetch(store, settings, x_spec("UNISFA_1"))
    assert store.x_usage(RECORDED + timedelta(days=1), period="day") == {"post": 155, "user": 177}
    assert store.x_usage(RECORDED) == {"post": 310, "user": 355}


def test_pagination_then_since_id_on_the_second_run(shared: Path, store: Store, fake: FakeXApi) -> None:
    # Assembled: the real brexit page split in two, the first half carrying its real next_token.
    from tests.fake_x_api import split_page

    page = twarc_page(shared, "brexit")
    first, second = split_page(page, 50, page["meta"]["next_token"])
    _unisfa(fake, shared)
    fake.add("/2/users/783214/tweets", first, headers=timeline_headers(shared))
    fake.add("/2/users/783214/tweets", second, headers=timeline_headers(shared))
    settings = Settings(x_api_base=fake.base_url, x_backfill=100, x_max_pages=3)
    result = fetch(store, settings, x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(result, FetchResult)
    assert len(result.items) == 100
    calls = fake.seen("/tweets")
    assert "pagination_token" not in calls[0].params
    assert calls[1].params["pagination_token"] == page["meta"]["next_token"]
    assert result.cursor == page["meta"]["newest_id"]
    commit(store, result)
    # Second run: the stored cursor is sent as since_id, and the user id is not looked up again.
    fake.reset("/2/users/783214/tweets")
    fake.add("/2/users/783214/tweets", {"meta": {"result_count": 0}}, headers=timeline_headers(shared))
    again = fetch(store, settings, x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(again, FetchResult) and again.items == ()
    last = fake.seen("/tweets")[-1]
    assert last.params["since_id"] == page["meta"]["newest_id"]
    assert len(fake.seen("/users/by/username")) == 1
    assert again.cursor == page["meta"]["newest_id"]  # nothing new: the cursor stays


def test_page_cap_stops_pagination_and_says_so(shared: Path, store: Store, fake: FakeXApi) -> None:
    page = twarc_page(shared, "brexit")
    _unisfa(fake, shared)
    store.sync_sources([x_spec("UNISFA_1")])
    store.update_source("x:unisfa_1", {"x_user_id": "783214", "cursor": "1440000000000000000"})
    fake.add("/2/users/783214/tweets", page, headers=timeline_headers(shared))  # always a next_token
    result = fetch(store, Settings(x_api_base=fake.base_url, x_max_pages=2), x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(result, FetchResult)
    assert len(fake.seen("/tweets")) == 2
    assert any("more than 2 pages" in w for w in result.warnings)


def test_429_pauses_every_x_source_on_the_token_without_sleeping(shared: Path, store: Store, fake: FakeXApi) -> None:
    # Assembled: no 429 was ever recorded; the real timeline rate-limit headers with
    # remaining=0 and the v2 429 body quoted in the fixtures README.
    headers = timeline_headers(shared, remaining="0")
    reset = datetime.fromtimestamp(int(headers["x-rate-limit-reset"]), UTC)
    fake.add("/2/users/1/tweets", TOO_MANY_REQUESTS, status=429, headers=headers)
    fake.add("/2/users/2/tweets", {"meta": {"result_count": 0}})
    a, b = x_spec("UNISFA_1"), x_spec("UNMISSmedia", "UNMISS")
    store.sync_sources([a, b])
    store.update_source(a.id, {"x_user_id": "1"})
    store.update_source(b.id, {"x_user_id": "2"})
    slept: list[float] = []
    out = fetch(store, Settings(x_api_base=fake.base_url), a, b, sleep=slept.append)
    assert isinstance(out[a.id], RateLimited) and out[a.id].reset_at == reset
    assert isinstance(out[b.id], RateLimited) and out[b.id].reset_at == reset
    assert out[a.id].scope == out[b.id].scope == "x:X_BEARER_TOKEN:users_tweets"
    assert fake.seen("/2/users/2/tweets") == []  # the other source never called X
    assert slept == []
    # The pause is stored: a later run before the reset skips X entirely ...
    store.clock.now = reset - timedelta(seconds=30)  # type: ignore[attr-defined]
    later = fetch(store, Settings(x_api_base=fake.base_url), b)
    assert isinstance(later[b.id], RateLimited)
    assert fake.seen("/2/users/2/tweets") == []
    # ... and after the reset it calls again.
    store.clock.now = reset + timedelta(seconds=1)  # type: ignore[attr-defined]
    after = fetch(store, Settings(x_api_base=fake.base_url), b)
    assert isinstance(after[b.id], FetchResult)
    assert len(fake.seen("/2/users/2/tweets")) == 1


def test_401_is_a_clear_auth_error_and_other_sources_continue(shared: Path, store: Store, fake: FakeXApi) -> None:
    fake.add("/2/users/by/username/UNISFA_1", UNAUTHORIZED, status=401)
    a = x_spec("UNISFA_1")
    out = fetch(store, Settings(x_api_base=fake.base_url), a)
    err = out[a.id]
    assert isinstance(err, AuthError)
    assert "token missing, expired or without read access" in str(err)
    assert "X_BEARER_TOKEN" in str(err)  # the fix names the variable ...
    assert "test-token-not-real" not in str(err)  # ... never the token


def test_no_token_fails_before_any_call(store: Store, fake: FakeXApi) -> None:
    out = fetch(store, Settings(x_api_base=fake.base_url), x_spec("UNISFA_1"), env={})
    assert isinstance(out["x:unisfa_1"], AuthError)
    assert fake.requests == []


def test_5xx_is_retried_with_backoff_then_recorded(shared: Path, store: Store, fake: FakeXApi) -> None:
    _unisfa(fake, shared)
    for _ in range(3):
        fake.add("/2/users/783214/tweets", {"title": "Service Unavailable"}, status=503)
    fake.add("/2/users/783214/tweets", twarc_page(shared, "two_tweets"), headers=timeline_headers(shared))
    slept: list[float] = []
    ok = fetch(store, Settings(x_api_base=fake.base_url, x_max_retries=3), x_spec("UNISFA_1"), sleep=slept.append)
    assert isinstance(ok["x:unisfa_1"], FetchResult)
    assert len(slept) == 3 and slept[0] < slept[1] < slept[2]  # backoff grows
    fake.reset("/2/users/783214/tweets")
    fake.add("/2/users/783214/tweets", {"title": "Service Unavailable"}, status=503)
    store.update_source("x:unisfa_1", {"x_user_id": "783214"})
    bad = fetch(store, Settings(x_api_base=fake.base_url, x_max_retries=2), x_spec("UNISFA_1"))
    assert isinstance(bad["x:unisfa_1"], FetchError)
    assert "after 3 attempts" in str(bad["x:unisfa_1"])


def test_partial_errors_in_a_200_are_warnings_and_the_data_is_kept(shared: Path, store: Store, fake: FakeXApi) -> None:
    page = twarc_page(shared, "noflat")  # real: 100 posts and one error (a suspended user)
    _unisfa(fake, shared)
    fake.add("/2/users/783214/tweets", page, headers=timeline_headers(shared))
    result = fetch(store, Settings(x_api_base=fake.base_url, x_backfill=100), x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(result, FetchResult)
    assert len(result.items) == 100
    assert result.warnings == ("X reported: User has been suspended: [gatewaypundit].",)


def test_suspended_account_is_a_warning_and_its_posts_are_flagged(shared: Path, store: Store, fake: FakeXApi) -> None:
    fake.add("/2/users/by/username/UNISFA_1", {"errors": [{
        "value": "UNISFA_1", "detail": "User has been suspended: [UNISFA_1].", "title": "Forbidden",
        "resource_type": "user", "parameter": "username", "resource_id": "UNISFA_1",
        "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    from aggregator.normalize import normalize
    from tests.fake_x_api import item_from_page

    store.sync_sources([x_spec("UNISFA_1")])
    earlier = normalize(item_from_page(twarc_page(shared, "two_tweets"), source_id="x:unisfa_1"), collected_at=RECORDED)
    store.save_posts([(earlier, [])])  # collected before the suspension (e.g. through a bridge)
    result = fetch(store, Settings(x_api_base=fake.base_url), x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(result, FetchResult) and result.items == ()
    assert "suspended" in result.warnings[0] and "@UNISFA_1" in result.warnings[0]
    assert store.post(earlier.id)["availability"] == "available"  # type: ignore[index]  # nothing written yet
    apply_flags(store, result.availability, RECORDED)  # what the collector does with the result
    row = store.post(earlier.id)
    assert row is not None and row["availability"] == "suspended"  # archived, flagged


def test_unknown_handle_is_a_warning_and_flags_nothing(store: Store, fake: FakeXApi) -> None:
    fake.add("/2/users/by/username/UNISFA_1", {"errors": [{
        "value": "UNISFA_1", "detail": "Could not find user with username: [UNISFA_1].",
        "title": "Not Found Error", "resource_type": "user", "parameter": "username",
        "resource_id": "UNISFA_1", "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    result = fetch(store, Settings(x_api_base=fake.base_url), x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(result, FetchResult) and result.items == () and result.cursor is None
    assert "deleted or renamed" in result.warnings[0]
    assert len(fake.seen("/tweets")) == 0


def test_a_run_that_would_pass_the_budget_is_refused(shared: Path, store: Store, fake: FakeXApi) -> None:
    _unisfa(fake, shared)
    store.record_x_reads("x:other", RECORDED, posts=[str(i) for i in range(9990)])  # $49.95 spent
    out = fetch(store, Settings(x_api_base=fake.base_url, x_monthly_budget=50.0), x_spec("UNISFA_1"))
    err = out["x:unisfa_1"]
    assert isinstance(err, BudgetExceeded)
    assert "$49.95" in str(err) and "x.monthly_budget" in str(err)
    assert fake.requests == []


def test_renamed_handle_is_noticed(shared: Path, store: Store, fake: FakeXApi) -> None:
    page = twarc_page(shared, "two_tweets")
    author = page["data"][0]["author_id"]
    store.sync_sources([x_spec("UNISFA_1")])
    store.update_source("x:unisfa_1", {"x_user_id": author})
    fake.add(f"/2/users/{author}/tweets", page, headers=timeline_headers(shared))
    result = fetch(store, Settings(x_api_base=fake.base_url), x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(result, FetchResult)
    seen = next(u["username"] for u in page["includes"]["users"] if u["id"] == author)
    assert result.extra_state["x_handle_seen"] == seen
    assert any(f"is now @{seen}" in w for w in result.warnings)


def test_the_token_never_reaches_the_logs(shared: Path, store: Store, fake: FakeXApi,
                                           caplog: pytest.LogCaptureFixture) -> None:
    _unisfa(fake, shared)
    fake.add("/2/users/783214/tweets", twarc_page(shared, "two_tweets"), headers=timeline_headers(shared))
    with caplog.at_level("DEBUG"):
        fetch(store, Settings(x_api_base=fake.base_url), x_spec("UNISFA_1"))
    assert "Making API request" in caplog.text  # tweepy did log its requests, headers included
    assert "test-token-not-real" not in caplog.text
    assert "Bearer [redacted]" in caplog.text


def test_403_is_an_auth_error_too(shared: Path, store: Store, fake: FakeXApi) -> None:
    fake.add("/2/users/by/username/UNISFA_1", {"title": "Forbidden", "status": 403,
             "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use "
                       "keys and tokens from a Twitter developer App that is attached to a Project."},
             status=403)
    err = fetch(store, Settings(x_api_base=fake.base_url), x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(err, AuthError) and "403" in str(err)


def test_withheld_and_deleted_posts_are_flagged_and_leave_public_outputs(shared: Path, store: Store, fake: FakeXApi) -> None:
    from aggregator.normalize import normalize
    from aggregator.store.posts import VISIBLE

    page = twarc_page(shared, "two_tweets")
    tweet = page["data"][0]
    tweet["withheld"] = {"copyright": False, "country_codes": ["DE", "FR"]}  # assembled
    author = tweet["author_id"]
    store.sync_sources([x_spec("UNISFA_1")])
    store.update_source("x:unisfa_1", {"x_user_id": author})
    fake.add(f"/2/users/{author}/tweets", page, headers=timeline_headers(shared))
    result = fetch(store, Settings(x_api_base=fake.base_url), x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(result, FetchResult)
    posts = [normalize(i, collected_at=RECORDED) for i in result.items]
    store.save_posts([(p, []) for p in posts])
    apply_flags(store, result.availability, RECORDED, stored=[p.id for p in posts])  # as the collector does
    row = store.post(f"x:{tweet['id']}")
    assert row is not None and row["availability"] == "withheld" and "DE,FR" in row["availability_note"]
    public = store.db.execute(
        f"SELECT COUNT(*) FROM posts p LEFT JOIN moderation m ON m.post_id = p.id WHERE {VISIBLE}").fetchone()[0]
    assert public == 0 and store.count_posts() == 1  # archived, not shown
    store.db.execute("INSERT INTO posts_fts(posts_fts) VALUES('integrity-check')")  # search intact
    # A later 200 whose errors say a stored post is gone flags it deleted.
    marks = apply_flags(store, [Availability(f"x:{tweet['id']}", "deleted", "Could not find tweet")], RECORDED)
    assert list(marks.posts) == [f"x:{tweet['id']}"]
    assert store.post(f"x:{tweet['id']}")["availability"] == "deleted"  # type: ignore[index]


def test_429_after_a_page_keeps_that_page_but_not_the_cursor(shared: Path, store: Store, fake: FakeXApi) -> None:
    # Assembled: the real brexit page split in two; the second call gets a 429 with the real
    # timeline rate-limit headers (remaining=0).
    from tests.fake_x_api import split_page

    page = twarc_page(shared, "brexit")
    first, _second = split_page(page, 50, page["meta"]["next_token"])
    headers = timeline_headers(shared, remaining="0")
    _unisfa(fake, shared)
    fake.add("/2/users/783214/tweets", first, headers=timeline_headers(shared))
    fake.add("/2/users/783214/tweets", TOO_MANY_REQUESTS, status=429, headers=headers)
    result = fetch(store, Settings(x_api_base=fake.base_url, x_backfill=100), x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(result, FetchResult)
    assert len(result.items) == 50  # what was read is kept (and was paid for) ...
    assert result.cursor is None  # ... but the cursor stays, so the rest is read next time
    assert result.retry_after == datetime.fromtimestamp(int(headers["x-rate-limit-reset"]), UTC)
    assert any("rate limited after page 1" in w for w in result.warnings)


def test_a_handle_marked_via_bridge_is_read_through_the_bridge_even_with_a_token(store: Store, fake: FakeXApi) -> None:
    from tests.feeds_server import FeedServer

    spec = SourceSpec(id="x:unifil_", kind="x", name="@UNIFIL_", mission="UNIFIL", handle="UNIFIL_", via_bridge=True)
    rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>@UNIFIL_</title>'
           b"<item><title>Patrol</title><link>https://x.com/UNIFIL_/status/99</link></item></channel></rss>")
    with FeedServer() as bridge:
        bridge.add("/twitter/user/UNIFIL_", body=rss)
        out = fetch(store, Settings(x_api_base=fake.base_url, x_bridge_template=bridge.url("/twitter/user/{handle}")), spec)
        assert len(bridge.hits("/twitter/user/UNIFIL_")) == 1
    result = out[spec.id]
    assert isinstance(result, FetchResult) and result.source_id == "x:unifil_"
    assert [i.kind for i in result.items] == ["feed"]
    assert fake.requests == []
    missing = fetch(store, Settings(x_api_base=fake.base_url), spec)[spec.id]
    assert not isinstance(missing, FetchResult) and "x.bridge_template" in str(missing)


def test_a_body_that_is_not_json_is_a_parse_error_naming_the_source(shared: Path, store: Store, fake: FakeXApi) -> None:
    """#14: an HTML error page in a 200 is reported as such, not as a network failure."""
    _unisfa(fake, shared)
    fake.add("/2/users/783214/tweets", None, raw=b"<html><body>Over capacity</body></html>",
             content_type="text/html; charset=utf-8")
    err = fetch(store, Settings(x_api_base=fake.base_url), x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(err, ParseError) and err.kind == "parse"
    assert "x:unisfa_1" in str(err) and "not JSON" in str(err) and "text/html" in str(err)
    assert err.fetch_s > 0  # the run log's duration includes the fetch


def _synthetic_page(first: int, count: int, token: str | None) -> dict[str, Any]:
    from tests.fake_x_api import own_tweet

    data = [own_tweet(str(first - i), f"Patrol {i}", "783214", "2026-11-27T10:00:00.000Z") for i in range(count)]
    meta: dict[str, Any] = {"result_count": count, "newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
    if token:
        meta["next_token"] = token
    return {"data": data, "meta": meta}


@pytest.mark.parametrize(("backfill", "sizes", "kept"), [(150, ["100", "50"], 150), (102, ["100", "5"], 102)])
def test_a_backfill_over_100_reads_exactly_the_backfill(
    shared: Path, store: Store, fake: FakeXApi, backfill: int, sizes: list[str], kept: int
) -> None:
    """#14: 150 is read as 100 + 50 (not 100 + 100); X's smallest page is 5."""
    _unisfa(fake, shared)
    fake.add("/2/users/783214/tweets", _synthetic_page(5000, 100, "next1"), headers=timeline_headers(shared))
    fake.add("/2/users/783214/tweets", _synthetic_page(4900, int(sizes[1]), "next2"), headers=timeline_headers(shared))
    result = fetch(store, Settings(x_api_base=fake.base_url, x_backfill=backfill), x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(result, FetchResult) and len(result.items) == kept
    assert [r.params["max_results"] for r in fake.seen("/tweets")] == sizes
    assert result.cursor == "5000"


def test_a_wrong_token_stops_the_x_sources_after_the_first_401(shared: Path, store: Store, fake: FakeXApi) -> None:
    specs = [x_spec(h) for h in ("UNISFA_1", "MONUSCO", "UNMISSmedia")]
    store.sync_sources(specs)
    for n, spec in enumerate(specs):
        store.update_source(spec.id, {"x_user_id": str(100 + n)})
        fake.add(f"/2/users/{100 + n}/tweets", UNAUTHORIZED, status=401)
    out = fetch(store, Settings(x_api_base=fake.base_url), *specs)
    assert all(isinstance(e, AuthError) for e in out.values())
    assert len(fake.requests) == 1  # one 401, then nothing more is sent with that token
    assert "X_BEARER_TOKEN" in str(out["x:monusco"])


def test_offline_applies_to_x_and_the_token_is_never_sent(shared: Path, store: Store, fake: FakeXApi) -> None:
    _unisfa(fake, shared)
    settings = Settings(x_api_base=fake.base_url, offline=True, allowed_hosts=("feeds.example.org",))
    err = fetch(store, settings, x_spec("UNISFA_1"))["x:unisfa_1"]
    assert isinstance(err, FetchError) and "offline" in str(err) and "allowed_hosts" in str(err)
    assert fake.requests == []
    allowed = Settings(x_api_base=fake.base_url, offline=True, allowed_hosts=("127.0.0.1",))
    fake.add("/2/users/783214/tweets", twarc_page(shared, "two_tweets"), headers=timeline_headers(shared))
    assert isinstance(fetch(store, allowed, x_spec("UNISFA_1"))["x:unisfa_1"], FetchResult)


def test_a_trickling_x_server_is_cut_off_at_the_sources_deadline(shared: Path, store: Store, fake: FakeXApi) -> None:
    """#14: one byte every 10 ms (a 3 KB page: 30 s) never holds a source past http.deadline."""
    import time

    _unisfa(fake, shared)
    fake.add("/2/users/783214/tweets", twarc_page(shared, "two_tweets"), headers=timeline_headers(shared), trickle_s=0.01)
    settings = Settings(x_api_base=fake.base_url, http_deadline=2.0, http_read_timeout=5.0, x_max_retries=3)
    started = time.monotonic()
    err = fetch(store, settings, x_spec("UNISFA_1"), sleep=time.sleep)["x:unisfa_1"]
    assert time.monotonic() - started < 4.0
    assert isinstance(err, FetchError) and "http.deadline" in str(err)
