"""Posts gone at the source leave every public output in the run that learns it (#14).

Driven through the CLI against the loopback fake of the X API v2 (tests/fake_x_api.py):
the timeline and lookup bodies are assembled from X's documented shapes and the real
recordings' wording (errors as in twarc-csv's pages), said here as required. After each
step the files under ``output/`` (pages, widget, JSON API, Atom/RSS/JSON feeds) are read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from aggregator.cli import cli
from tests.fake_x_api import FakeXApi, own_tweet, timeline_headers, user_body
from tests.feeds_server import write_config

TOKEN = {"X_BEARER_TOKEN": "secret-test-token-123"}
USER = "4100100"
TIMELINE = f"/2/users/{USER}/tweets"
ME = {"id": USER, "username": "UNISFA_1", "name": "UNISFA"}
OTHER = {"id": "4100200", "username": "UN_Abyei", "name": "UN in Abyei"}
# One word per post, found nowhere else, to see where each post is shown.
# (A retweet shows the post it retweets: it is seen by its status id.)
WORDS = {"A": "Zanzibarpatrol", "B": "Quillfordbridge", "R": "1700000000000000003", "Q": "Quotewordsown"}


def _posts() -> dict[str, dict[str, Any]]:
    a = own_tweet("1700000000000000001", f"{WORDS['A']} in #Abyei today", OTHER["id"], "2026-11-27T08:00:00.000Z")
    b = own_tweet("1700000000000000002", f"{WORDS['B']} reopened by UNISFA engineers", USER, "2026-11-27T09:00:00.000Z")
    r = own_tweet("1700000000000000003", f"RT @UN_Abyei: {WORDS['A']}…", USER, "2026-11-27T10:00:00.000Z",
                  referenced_tweets=[{"type": "retweeted", "id": a["id"]}])
    q = own_tweet("1700000000000000004", f"{WORDS['Q']} from UNISFA https://t.co/q1", USER, "2026-11-27T11:00:00.000Z",
                  referenced_tweets=[{"type": "quoted", "id": a["id"]}],
                  entities={"urls": [{"start": 29, "end": 41, "url": "https://t.co/q1",
                                      "expanded_url": f"https://x.com/UN_Abyei/status/{a['id']}",
                                      "display_url": "x.com/UN_Abyei/stat…"}]})
    return {"A": a, "B": b, "R": r, "Q": q}


def timeline(*tweets: dict[str, Any], referenced: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    ids = [int(t["id"]) for t in tweets]
    return {"data": list(tweets), "includes": {"users": [ME, OTHER], "tweets": referenced or []},
            "meta": {"result_count": len(ids), "newest_id": str(max(ids)), "oldest_id": str(min(ids))}}


PROTECTED = {"errors": [{  # what X answers for a protected account's timeline
    "resource_type": "user", "resource_id": USER, "title": "Authorization Error",
    "detail": f"Sorry, you are not authorized to see the user with id: [{USER}].",
    "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"}]}
EMPTY = {"meta": {"result_count": 0}}


@pytest.fixture
def fake() -> Iterator[FakeXApi]:
    with FakeXApi() as api:
        yield api


def public_files(out: Path) -> dict[str, dict[str, str]]:
    """Each public output kind -> {path: text}: pages, widget, JSON API, feeds."""
    kinds: dict[str, dict[str, str]] = {"pages": {}, "widget": {}, "api": {}, "feeds": {}}
    for path in out.rglob("*"):
        if not path.is_file() or path.suffix not in {".html", ".json", ".xml", ".js", ".atom", ".rss"}:
            continue
        rel = path.relative_to(out).as_posix()
        kind = ("widget" if "widget" in rel else "api" if rel.startswith("api/") else
                "feeds" if rel.startswith("feeds/") or path.suffix in {".xml", ".atom", ".rss"}
                or rel.endswith("feed.json") else "pages")
        kinds[kind][rel] = path.read_text(encoding="utf-8")
    return kinds


def shown_in(out: Path, word: str) -> set[str]:
    return {kind for kind, files in public_files(out).items() if any(word in t for t in files.values())}


def invoke(config: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env=TOKEN)
    assert result.exit_code == 0, result.output
    return result


def test_protected_then_deleted_then_back_leaves_exactly_the_available_posts_public(
    tmp_path: Path, shared: Path, fake: FakeXApi
) -> None:
    posts = _posts()
    headers = timeline_headers(shared)
    fake.add("/2/users/by/username/UNISFA_1", user_body(USER, "UNISFA_1", "UNISFA"))
    fake.add(TIMELINE, timeline(posts["B"], posts["R"], posts["Q"], referenced=[posts["A"]]), headers=headers)
    fake.add(TIMELINE, PROTECTED, headers=headers)
    config = write_config(tmp_path, [{"kind": "x", "mission": "UNISFA", "handle": "UNISFA_1", "name": "UNISFA on X"}],
                          x={"api_base": fake.base_url, "backfill": 20, "recheck_days": 36500})
    out = tmp_path / "output"
    everywhere = {"pages", "widget", "api", "feeds"}

    invoke(config, "collect")
    assert public_files(out)["widget"] and public_files(out)["api"] and public_files(out)["feeds"]
    for key in WORDS:  # A through the retweet and the quote, in full
        assert shown_in(out, WORDS[key]) == everywhere, key

    # 1. The account turns protected: the next collect takes all of it out, without `render`.
    result = invoke(config, "collect")
    assert "1 mission changed" in result.output
    for key in WORDS:
        assert shown_in(out, WORDS[key]) == set(), key

    # 2. `x recheck`: A (the retweeted and quoted post) is deleted; the account is still protected.
    fake.posts = {t["id"]: t for t in posts.values()}
    fake.gone = {posts["A"]["id"]: "deleted", **{posts[k]["id"]: "protected" for k in ("B", "R", "Q")}}
    result = invoke(config, "x", "recheck")
    assert "re-checked 4 posts in 1 lookup" in result.output  # B, R, Q and the post R and Q show
    assert len(fake.seen("/2/tweets")) == 1
    for key in WORDS:
        assert shown_in(out, WORDS[key]) == set(), key

    # 3. The account is active again: B and Q are back, Q with its own text only; the retweet
    #    of the deleted post stays out, and so does the deleted post's text.
    fake.reset(TIMELINE)
    fake.add(TIMELINE, EMPTY, headers=headers)
    result = invoke(config, "collect")
    assert "1 mission changed" in result.output
    assert shown_in(out, WORDS["B"]) == everywhere
    assert shown_in(out, WORDS["Q"]) == everywhere
    assert shown_in(out, WORDS["R"]) == set()
    assert shown_in(out, WORDS["A"]) == set()

    with sqlite3.connect(tmp_path / "archive.db") as db:
        flags = dict(db.execute("SELECT id, availability FROM posts").fetchall())
        history = db.execute("SELECT availability, via, applied FROM x_availability_history"
                             " WHERE post_id = ? ORDER BY id", [f"x:{posts['R']['id']}"]).fetchall()
    assert flags == {f"x:{posts['B']['id']}": "available", f"x:{posts['Q']['id']}": "available",
                     f"x:{posts['R']['id']}": "deleted"}
    # The retweet: protected with its account, then deleted with its original (stronger); the
    # account coming back did not clear what its original's deletion set.
    assert history == [("protected", "account", 1), ("deleted", f"retweet:x:{posts['A']['id']}", 1)]
