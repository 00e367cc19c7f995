"""Reading X API v2 response bodies: includes per post, availability, rate-limit headers. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aggregator.models import Availability


def pick_includes(tweet: Mapping[str, Any], includes: Mapping[str, Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The included objects one post refers to: its author, referenced posts and their authors, media."""
    tweets = includes.get("tweets", {})
    refs = [tweets[str(r["id"])] for r in tweet.get("referenced_tweets") or [] if str(r.get("id")) in tweets]
    history = [tweets[str(i)] for i in tweet.get("edit_history_tweet_ids") or [] if str(i) in tweets and str(i) != str(tweet["id"])]
    users = includes.get("users", {})
    user_ids = [str(tweet.get("author_id"))] + [str(r.get("author_id")) for r in refs]
    media = includes.get("media", {})
    keys = [k for t in [tweet, *refs] for k in (t.get("attachments") or {}).get("media_keys") or []]
    return {
        "users": [users[u] for u in dict.fromkeys(user_ids) if u in users],
        "tweets": list({str(t["id"]): t for t in refs + history}.values()),
        "media": [media[str(k)] for k in dict.fromkeys(keys) if str(k) in media],
    }


def post_id_of(tweet: Mapping[str, Any]) -> str:
    history = tweet.get("edit_history_tweet_ids") or [tweet["id"]]
    return f"x:{history[0]}"


def flag_of(tweet: Mapping[str, Any]) -> Availability:
    """What a returned post says of itself: withheld (with the countries), else available."""
    withheld = tweet.get("withheld") or {}
    if withheld:
        codes = ",".join(withheld.get("country_codes") or [])
        return Availability(post_id_of(tweet), "withheld", f"withheld by X in {codes or 'some countries'}")
    return Availability(post_id_of(tweet), "available")


def availability_of(title: str, detail: str) -> str | None:
    text = f"{title} {detail}".lower()
    if "suspend" in text:
        return "suspended"
    if "authorization" in text or "protected" in text or "not authorized" in text:
        return "protected"
    if "not found" in text or "could not find" in text or "deleted" in text:
        return "deleted"
    if "withheld" in text:
        return "withheld"
    return None


def reset_at(headers: Mapping[str, str]) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(headers.get("x-rate-limit-reset", "")).strip()), UTC)
    except ValueError:
        return None
