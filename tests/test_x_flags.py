"""What X says about posts and accounts: flags set, kept, cleared, with their history (#14)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.compliance import apply_flags
from aggregator.models import Availability, RawItem, Tag
from aggregator.normalize import normalize
from aggregator.store import Store
from tests.fake_x_api import own_tweet

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
USER = "4100100"
ME = {"id": USER, "username": "UNISFA_1", "name": "UNISFA"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "x.db", clock=lambda: T0) as s:
        s.db.execute("INSERT INTO sources (id, kind, name) VALUES ('x:unisfa_1', 'x', '@UNISFA_1')")
        posts = []
        for n, refs in ((1, None), (2, None), (3, [{"type": "retweeted", "id": "1"}]),
                        (4, [{"type": "quoted", "id": "1"}])):
            extra = {"referenced_tweets": refs} if refs else {}
            tweet = own_tweet(str(n), f"Post number {n} in #Abyei", USER, "2026-11-27T10:00:00.000Z", **extra)
            included = {"users": [ME], "tweets": [own_tweet("1", "Post number 1 in #Abyei", USER,
                                                             "2026-11-27T10:00:00.000Z")] if refs else []}
            posts.append(normalize(RawItem("x:unisfa_1", "x", {"tweet": tweet, "includes": included}), collected_at=T0))
        s.save_posts([(p, [Tag("UNISFA", "own_source", "")]) for p in posts])
        yield s


def state(store: Store, post_id: str) -> str:
    row = store.post(post_id)
    assert row is not None
    return str(row["availability"])


def test_a_weaker_flag_never_replaces_a_stronger_one_and_the_history_keeps_both(store: Store) -> None:
    apply_flags(store, [Availability("x:2", "deleted", "Could not find tweet with ids: [2].")], T0)
    later = apply_flags(store, [Availability("x:unisfa_1", "suspended", "User has been suspended", account=True)],
                        T0 + timedelta(hours=1))
    assert state(store, "x:2") == "deleted" and later.ignored == 1
    assert state(store, "x:1") == "suspended"
    history = store.availability_history("x:2")
    assert [(h["availability"], h["via"], h["applied"]) for h in history] == [
        ("deleted", "post", 1), ("suspended", "account", 0)]
    assert history[1]["at"] == "2026-11-27T13:00:00Z"


def test_an_account_back_clears_its_flags_but_not_a_posts_deletion(store: Store) -> None:
    apply_flags(store, [Availability("x:unisfa_1", "protected", "protected", account=True)], T0)
    apply_flags(store, [Availability("x:2", "deleted", "gone")], T0)  # found while protected
    back = apply_flags(store, [Availability("x:unisfa_1", "available", account=True)], T0)
    assert state(store, "x:1") == "available" and state(store, "x:2") == "deleted"
    assert back.missions == {"UNISFA"}
    # A post X returns again is available again, whatever it was flagged.
    apply_flags(store, [Availability("x:2", "available")], T0)
    assert state(store, "x:2") == "available"


def test_a_retweet_follows_its_original_and_a_quote_loses_its_text(store: Store) -> None:
    assert "Post number 1" in str(store.post("x:4")["text"])  # type: ignore[index]
    gone = apply_flags(store, [Availability("x:1", "deleted", "gone")], T0)
    assert gone.posts == {"x:1": "deleted", "x:3": "deleted"}
    assert state(store, "x:3") == "deleted" and state(store, "x:4") == "available"
    quote = store.post("x:4")
    assert quote is not None and "Post number 1" not in quote["text"] + quote["html"]
    assert "Post number 4" in quote["text"]
    assert store.pending_renders().missions == {"UNISFA"}  # recorded with the flags
    apply_flags(store, [Availability("x:1", "available")], T0)
    assert state(store, "x:3") == "available"
    assert "Post number 1" in str(store.post("x:4")["text"])  # type: ignore[index]


def test_a_retweet_stored_after_its_original_went_is_flagged_at_once(store: Store) -> None:
    apply_flags(store, [Availability("x:9", "deleted", "Could not find tweet with referenced_tweets.id: [9].")], T0)
    tweet = own_tweet("10", "RT @UNISFA_1: old", USER, "2026-11-27T11:00:00.000Z",
                      referenced_tweets=[{"type": "retweeted", "id": "9"}])
    post = normalize(RawItem("x:unisfa_1", "x", {"tweet": tweet, "includes": {"users": [ME]}}), collected_at=T0)
    store.save_posts([(post, [Tag("UNISFA", "own_source", "")])])
    changes = apply_flags(store, [], T0, stored=[post.id])
    assert state(store, "x:10") == "deleted" and changes.missions == {"UNISFA"}
