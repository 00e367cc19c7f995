"""Normalize: ``RawItem -> Post``, pure (no I/O, no clock; ``collected_at`` is passed in).

``normalize`` dispatches on the item's kind: feed entries go to ``normalize.feed``, X posts
to ``normalize.x`` (imported only when an X item arrives).
"""

from __future__ import annotations

from datetime import datetime

from aggregator.models import Post, RawItem
from aggregator.normalize.feed import normalize_feed_entry
from aggregator.normalize.limits import bounded_post


def normalize(item: RawItem, *, collected_at: datetime) -> Post:
    """Turn one raw item into a ``Post``; dispatches on ``item.kind``.

    Whatever the kind, the post comes out bounded (``normalize.limits``): no character XML
    forbids, text and title within their caps.
    """
    if item.kind == "feed":
        return bounded_post(normalize_feed_entry(item, collected_at=collected_at))
    if item.kind == "x":
        from aggregator.normalize import x as x_normalize

        return bounded_post(x_normalize.normalize_x(item, collected_at=collected_at))
    raise ValueError(f"source {item.source_id}: unknown item kind {item.kind!r}")


__all__ = ["normalize"]
