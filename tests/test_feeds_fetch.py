"""The feed fetcher against a real loopback HTTP server: what an operator sees per source."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from aggregator.errors import FetchError, GoneError, ParseError, RateLimited, SourceError
from aggregator.models import FetchResult, SourceSpec
from aggregator.settings import Settings
from aggregator.sources.feeds import FeedFetcher
from tests.feeds_server import FeedServer

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Sample</title><link>http://127.0.0.1/</link>
<item><title>First</title><link>http://127.0.0.1/1</link><guid>one</guid>
<description>&lt;p&gt;Hello&lt;/p&gt;</description></item>
<item><title>Second</title><link>http://127.0.0.1/2</link><guid>two</guid></item>
</channel></rss>"""

SETTINGS = Settings(http_connect_timeout=2, http_read_timeout=2, http_deadline=3)


def spec(url: str, name: str = "sample") -> SourceSpec:
    return SourceSpec(id=f"feed:{url}", kind="feed", name=name, mission=None, url=url)


def fetch_all(
    urls: list[str], settings: Settings = SETTINGS, states: dict[str, dict[str, Any]] | None = None
) -> dict[str, FetchResult | SourceError]:
    states = states or {}
    with FeedFetcher(settings) as fetcher:
        return {
            s.url or "": outcome
            for s, outcome in fetcher.fetch_many([(spec(u), states.get(u, {})) for u in urls])
        }


@pytest.fixture
def server() -> Any:
    with FeedServer() as s:
        yield s


def test_a_feed_is_fetched_and_parsed(server: FeedServer) -> None:
    url = server.add("/feed.xml", body=RSS)
    result = fetch_all([url])[url]
    assert isinstance(result, FetchResult) and result.status == "ok"
    assert [i.data["title"] for i in result.items] == ["First", "Second"]
    assert result.items[0].feed_title == "Sample"
    assert server.hits("/feed.xml")[0].headers["user-agent"].startswith("aggregator/")


def test_second_poll_is_conditional_and_gets_not_modified(server: FeedServer) -> None:
    lm = "Wed, 25 Nov 2026 10:00:00 GMT"
    url = server.add("/feed.xml", body=RSS, etag='"v1"', last_modified=lm)
    first = fetch_all([url])[url]
    assert isinstance(first, FetchResult)
    assert (first.etag, first.last_modified) == ('"v1"', lm)
    state = {"etag": first.etag, "last_modified": first.last_modified, "body_hash": first.body_hash}
    second = fetch_all([url], states={url: state})[url]
    sent = server.hits("/feed.xml")[1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == lm
    assert isinstance(second, FetchResult)
    assert second.status == "not_modified" and second.items == ()


def test_same_body_again_is_not_parsed_again(server: FeedServer) -> None:
    url = server.add("/feed.xml", body=RSS)  # no validators: the server always sends 200
    first = fetch_all([url])[url]
    assert isinstance(first, FetchResult)
    again = fetch_all([url], states={url: {"body_hash": first.body_hash}})[url]
    assert isinstance(again, FetchResult)
    assert again.status == "unchanged" and again.items == ()


def test_a_hanging_source_is_cut_at_its_deadline_while_others_complete(server: FeedServer) -> None:
    hang = server.add("/hang.xml", hang=True)
    fast = [server.add(f"/ok{i}.xml", body=RSS) for i in range(3)]
    settings = replace(SETTINGS, http_read_timeout=30, http_deadline=2.0)
    started = time.monotonic()
    with FeedFetcher(settings) as fetcher:
        order = [(s.url, o) for s, o in fetcher.fetch_many([(spec(u), {}) for u in [hang, *fast]])]
    elapsed = time.monotonic() - started
    assert [u for u, _ in order][-1] == hang  # the others did not wait for it
    assert all(isinstance(o, FetchResult) for u, o in order if u != hang)
    error = dict(order)[hang]
    assert isinstance(error, FetchError)
    assert "no complete response within 2 s" in str(error) and hang in str(error)
    assert 2 <= elapsed < 8  # cut at its deadline, not at the 30 s read timeout


@pytest.mark.parametrize(
    ("route", "kind", "words"),
    [
        ({"body": b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</ti"}, "parse",
         "not a readable feed"),
        ({"status": 500, "body": b"oops"}, "fetch", "HTTP 500 Internal Server Error"),
        ({"status": 404, "body": b"gone"}, "fetch", "HTTP 404 Not Found"),
        ({"status": 410, "body": b""}, "gone", "HTTP 410 Gone"),
        ({"stream_bytes": 50_000_000}, "fetch", "larger than 10,000,000 bytes"),
        ({"body": b"<!DOCTYPE html><html><head><link rel='alternate' "
                  b"type='application/rss+xml' href='/real.xml'></head><body>Hi</body></html>",
          "headers": {"Content-Type": "text/html"}},
         "parse", "is an HTML web page, not a feed"),
    ],
    ids=["malformed-xml", "http-500", "http-404", "http-410", "50MB-body", "html-page"],
)
def test_each_failure_is_a_clear_error_and_others_still_succeed(
    server: FeedServer, route: dict[str, Any], kind: str, words: str
) -> None:
    bad = server.add("/bad", **route)
    good = server.add("/good.xml", body=RSS)
    results = fetch_all([bad, good])
    error = results[bad]
    assert isinstance(error, SourceError), error
    assert error.kind == kind
    assert words in str(error)
    assert f"feed:{bad}" in str(error)  # names the source
    assert error.hint  # and what to do
    assert isinstance(results[good], FetchResult) and len(results[good].items) == 2  # type: ignore[union-attr]


def test_a_server_that_stops_sending_is_cut_at_the_read_timeout(server: FeedServer) -> None:
    hang = server.add("/stalls.xml", hang=True)
    settings = replace(SETTINGS, http_read_timeout=1, http_deadline=20)
    started = time.monotonic()
    error = fetch_all([hang], settings)[hang]
    assert isinstance(error, FetchError)
    assert "timed out waiting for data" in str(error) and hang in str(error)
    assert time.monotonic() - started < 10  # the read timeout, not the deadline


def test_nothing_listening_is_a_connect_error_naming_the_host() -> None:
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.xml"
    error = fetch_all([url])[url]
    assert isinstance(error, FetchError)
    assert "cannot connect to 127.0.0.1" in str(error) and url in str(error) and error.hint


def test_a_body_cut_short_is_a_clear_error(server: FeedServer) -> None:
    cut = server.add("/cut.xml", body=RSS[:100], cut_short=True)
    error = fetch_all([cut])[cut]
    assert isinstance(error, FetchError)
    assert "HTTP failure" in str(error) and cut in str(error) and error.hint


def test_a_gzip_body_is_decompressed(server: FeedServer) -> None:
    import gzip

    packed = server.add("/packed.xml", body=gzip.compress(RSS),
                        headers={"Content-Encoding": "gzip"})
    result = fetch_all([packed])[packed]
    assert isinstance(result, FetchResult) and len(result.items) == 2
    assert "gzip" in server.hits("/packed.xml")[0].headers.get("accept-encoding", "")


def test_html_page_error_points_to_the_real_feed(server: FeedServer) -> None:
    page = b"<html><head><link type='application/atom+xml' rel='alternate' href='feed.atom'>"
    url = server.add("/news/", body=page, headers={"Content-Type": "text/html"})
    error = fetch_all([url])[url]
    assert isinstance(error, ParseError)
    assert error.hint is not None and server.url("/news/feed.atom") in error.hint


def test_redirect_loop_is_named(server: FeedServer) -> None:
    a = server.add("/a", status=302, location="/b")
    server.add("/b", status=302, location="/a")
    error = fetch_all([a])[a]
    assert isinstance(error, FetchError)
    assert "redirect loop" in str(error) and "/b" in str(error)


def test_permanent_redirect_is_remembered_temporary_is_not(server: FeedServer) -> None:
    moved = server.add("/old.xml", status=301, location="/new.xml")
    temp = server.add("/tmp.xml", status=302, location="/new.xml")
    server.add("/new.xml", body=RSS)
    results = fetch_all([moved, temp])
    assert results[moved].permanent_url == server.url("/new.xml")  # type: ignore[union-attr]
    assert results[temp].permanent_url is None  # type: ignore[union-attr]
    # the next fetch goes straight to the remembered address
    fetch_all([moved], states={moved: {"permanent_url": server.url("/new.xml")}})
    assert len(server.hits("/old.xml")) == 1


def test_gone_is_its_own_error(server: FeedServer) -> None:
    url = server.add("/gone.xml", status=410)
    assert isinstance(fetch_all([url])[url], GoneError)


def test_retry_after_and_max_age_are_passed_to_the_scheduler(server: FeedServer) -> None:
    busy = server.add("/busy.xml", status=503, headers={"Retry-After": "120"})
    cached = server.add("/cached.xml", body=RSS, headers={"Cache-Control": "public, max-age=900"})
    results = fetch_all([busy, cached])
    error = results[busy]
    assert isinstance(error, FetchError) and error.retry_after is not None
    assert results[cached].max_age_seconds == 900  # type: ignore[union-attr]


def test_offline_mode_refuses_hosts_not_allowed(server: FeedServer) -> None:
    url = server.add("/feed.xml", body=RSS)
    settings = replace(SETTINGS, offline=True, allowed_hosts=("localhost",))
    error = fetch_all([url], settings)[url]
    assert isinstance(error, FetchError)
    assert "offline" in str(error) and "allowed_hosts" in (error.hint or "")
    assert server.hits("/feed.xml") == []


def test_many_sources_parse_in_worker_processes_with_per_host_limit(server: FeedServer) -> None:
    urls = [server.add(f"/f{i}.xml", body=RSS, delay=0.2) for i in range(6)]
    settings = replace(SETTINGS, parse_workers=2, http_per_host_limit=2, http_concurrency=16)
    started = time.monotonic()
    results = fetch_all(urls, settings)
    elapsed = time.monotonic() - started
    assert all(isinstance(r, FetchResult) and len(r.items) == 2 for r in results.values())
    assert elapsed >= 0.6  # 6 requests of 0.2 s, two at a time on one host


def test_connections_are_closed_whether_the_caller_reads_all_or_stops_early(
    server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    import gc

    urls = [server.add(f"/c{i}.xml", body=RSS) for i in range(5)]
    with caplog.at_level("ERROR", logger="asyncio"):
        assert len(fetch_all(urls)) == 5
        with FeedFetcher(SETTINGS) as fetcher:
            assert isinstance(fetcher.fetch_one(spec(urls[0])), FetchResult)
            for _ in fetcher.fetch_many([(spec(u), {}) for u in urls]):
                break  # stops early: the rest is cancelled
        gc.collect()
    assert not [r for r in caplog.records if "Unclosed" in r.getMessage()]


def test_429_is_rate_limited_until_retry_after(server: FeedServer) -> None:
    """A feed answering 429 asks us to wait: rate_limited until Retry-After, not a fetch error."""
    from datetime import UTC, datetime

    url = server.add("/slow-down.xml", status=429, headers={"Retry-After": "3600"})
    error = fetch_all([url])[url]
    assert isinstance(error, RateLimited) and error.kind == "rate_limited"
    wait = (error.reset_at - datetime.now(UTC)).total_seconds()
    assert 3500 <= wait <= 3700
    assert "429" in str(error) and "Retry-After" in (error.hint or "")
