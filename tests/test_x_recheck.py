"""Stored X posts re-checked through the tweets lookup: deleted posts are found (#14).

Against the loopback fake of the X API v2, whose ``GET /2/tweets?ids=`` answers like X
(at most 100 ids, each post in ``data`` or in ``errors`` with X's wording; assembled from
the documented shapes and the real recordings' error wording, said here as required).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from aggregator.app import make_app
from aggregator.cli import cli
from aggregator.config import load_config
from aggregator.models import RawItem, Tag, iso
from aggregator.normalize import normalize
from aggregator.store import Store
from tests.fake_x_api import FakeXApi, own_tweet
from tests.feeds_server import write_config

TOKEN = {"X_BEARER_TOKEN": "secret-test-token-123"}
USER = "4100100"
ME = {"id": USER, "username": "UNISFA_1", "name": "UNISFA"}


@pytest.fixture
def fake() -> Iterator[FakeXApi]:
    with FakeXApi() as api:
        yield api


def archive(tmp_path: Path, fake: FakeXApi, count: int, **x: object) -> Path:
    """A config and an archive holding ``count`` posts of @UNISFA_1, one an hour back from now."""
    config = write_config(tmp_path, [{"kind": "x", "mission": "UNISFA", "handle": "UNISFA_1", "name": "UNISFA on X"}],
                          x={"api_base": fake.base_url, **x})
    now = datetime.now(UTC)
    tweets = [own_tweet(str(1800000000000000000 + i), f"Patrol report {i} #Abyei", USER,
                        (now - timedelta(minutes=5 * i, seconds=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
              for i in range(count)]
    with Store(tmp_path / "archive.db") as store:
        store.sync_sources(load_config(config).all_sources())
        posts = [normalize(RawItem("x:unisfa_1", "x", {"tweet": t, "includes": {"users": [ME]}}), collected_at=now)
                 for t in tweets]
        store.save_posts([(p, [Tag('UNISFA', 'own_source', '')]) for p in posts])
    fake.posts = {t["id"]: t for t in tweets}
    return config


def invoke(config: Path, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env=TOKEN)
    assert result.exit_code == code, result.output
    return result


def test_rechecking_1000_posts_is_10_lookups_and_its_cost_shows_in_x_status_and_the_budget(
    tmp_path: Path, fake: FakeXApi
) -> None:
    config = archive(tmp_path, fake, 1000)
    fake.gone = {"1800000000000000007": "deleted"}
    result = invoke(config, "x", "recheck")
    assert "re-checked 1,000 posts in 10 lookups ($5.00, 999 posts billed): 1 post changed" in result.output
    assert "x:1800000000000000007: deleted" in result.output
    asked = [r.params["ids"].split(",") for r in fake.seen("/2/tweets")]
    assert [len(ids) for ids in asked] == [100] * 10
    assert asked[0][0] == "1800000000000000000"  # newest first
    assert all(r.authorized for r in fake.seen("/2/tweets"))
    status = json.loads(invoke(config, "x", "status", "--json").output)["summary"]
    assert status["recheck"]["lookups_month"] == 10
    assert status["recheck"]["posts_checked_month"] == 1000
    assert status["recheck"]["spend_month_usd"] == pytest.approx(4.995)
    assert status["posts_read"] == 999 and status["spend_usd"] == pytest.approx(4.995)  # in the budget
    text = invoke(config, "x", "status").output
    assert "this month 10 lookups, 1,000 posts checked, 999 posts billed, $5.00" in text
    # Read again the same UTC day: X bills a post once a day, so nothing more is counted.
    again = invoke(config, "x", "recheck")
    assert "(0.00, 0 posts billed)" in again.output.replace("$", "")


def test_recheck_stops_at_the_budget_and_says_so(tmp_path: Path, fake: FakeXApi) -> None:
    config = archive(tmp_path, fake, 1000, monthly_budget=2.0)
    result = invoke(config, "x", "recheck", code=1)
    assert len(fake.seen("/2/tweets")) == 4  # 4 x 100 posts x $0.005 = $2.00
    assert "re-checked 400 posts in 4 lookups" in result.output
    assert "x.monthly_budget" in result.output


def test_dry_run_calls_nothing_and_days_narrows_the_window(tmp_path: Path, fake: FakeXApi) -> None:
    config = archive(tmp_path, fake, 300)  # one post every 5 minutes: 25 hours
    result = invoke(config, "x", "recheck", "--dry-run")
    assert "would re-check 300 posts in 3 lookups: at most $1.50" in result.output
    assert fake.requests == []
    narrow = invoke(config, "x", "recheck", "--dry-run", "--days", "0.5")  # 12 h: posts 0 to 143
    assert "would re-check 144 posts in 2 lookups" in narrow.output


def test_the_service_rechecks_every_recheck_hours(tmp_path: Path, fake: FakeXApi) -> None:
    from aggregator.service.scheduler import default_collect

    config = archive(tmp_path, fake, 120, recheck_hours=6)
    now = [datetime.now(UTC)]
    fake.gone = {"1800000000000000001": "deleted"}
    with make_app(load_config(config), clock=lambda: now[0], env=TOKEN) as app:
        app.store.update_source("x:unisfa_1", {"due_at": iso(now[0] + timedelta(days=1))})
        result = default_collect(app, lambda: False, lambda _r: None)
        assert len(fake.seen("/2/tweets")) == 2 and result.missions_changed == {"UNISFA"}
        now[0] += timedelta(hours=5)
        default_collect(app, lambda: False, lambda _r: None)
        assert len(fake.seen("/2/tweets")) == 2  # not due yet
        now[0] += timedelta(hours=1, minutes=1)
        default_collect(app, lambda: False, lambda _r: None)
        assert len(fake.seen("/2/tweets")) == 4
        assert app.store.post("x:1800000000000000001")["availability"] == "deleted"  # type: ignore[index]


def test_a_401_stops_the_recheck_with_the_token_hint(tmp_path: Path, fake: FakeXApi) -> None:
    from tests.fake_x_api import UNAUTHORIZED

    config = archive(tmp_path, fake, 250)
    fake.add("/2/tweets", UNAUTHORIZED, status=401)
    result = invoke(config, "x", "recheck", code=1)
    assert len(fake.seen("/2/tweets")) == 1  # stopped after the first 401
    assert "401" in result.output and "X_BEARER_TOKEN" in result.output
