"""Posts gone at the source leave every public output, in the run that learns it (#14).

X's developer terms require removing content deleted or made private at the source. What X
says (``models.Availability``: a post or an account deleted, suspended, protected, withheld
or available again) is applied here in ONE transaction with everything it implies:

- the flags and their history (``store.availability``: a weaker flag never replaces a
  stronger one, an account that comes back clears only account-level flags);
- retweets follow their original; a quote of a gone post shows its own text only
  (re-normalized from its raw entry without the quoted post), and all of it again when the
  original comes back;
- the missions whose pages showed any of these posts are recorded as pending renders, and
  returned, so the caller (``collect``, ``x recheck``, the service) renders them now.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aggregator.models import Availability, RawItem

if TYPE_CHECKING:
    from aggregator.store import Store
    from aggregator.store.availability import FlagChanges


def apply_flags(
    store: Store, marks: Sequence[Availability], now: datetime, *, stored: Sequence[str] = ()
) -> FlagChanges:
    """Apply ``marks``, and make the X posts just ``stored`` follow originals already gone."""
    with store.transaction():
        changes = store.apply_availability(marks, now)
        later = store.follow_originals([p for p in stored if p.startswith("x:")], now)
        changes.posts.update(later.posts)
        changes.quotes.update(later.quotes)
        changes.missions |= later.missions
        for quote_id in changes.quotes:
            _show_quote(store, quote_id, now)
        if changes.missions:
            store.mark_pending_render(changes.missions, now)
    return changes


def _show_quote(store: Store, post_id: str, now: datetime) -> None:
    """Re-normalize a quote from its raw entry, without the quoted post if that is gone."""
    from aggregator.normalize.x import normalize_x

    found = store.post_raw(post_id)
    if found is None:
        return
    source_id, raw = found
    try:
        data: dict[str, Any] = json.loads(raw)
        tweet = data["tweet"]
    except (ValueError, KeyError, TypeError):
        return  # not an API entry (a bridge's feed entry has no quoted post to drop)
    quoted = {str(r.get("id")) for r in tweet.get("referenced_tweets") or [] if r.get("type") == "quoted"}
    gone = {q for q in quoted if store.x_flag(f"x:{q}") != "available"}
    includes = dict(data.get("includes") or {})
    includes["tweets"] = [t for t in includes.get("tweets") or [] if str(t.get("id")) not in gone]
    post = normalize_x(RawItem(source_id=source_id, kind="x", data={**data, "includes": includes}),
                       collected_at=now)
    store.set_post_text(post_id, title=post.title or "", text=post.text, html=post.html)

