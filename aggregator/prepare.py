"""Normalize and tag one source's fetched items: the CPU-bound middle of a collection run.

Pure apart from a per-process tagger cache, so it can run in the worker processes that also
parse feeds (see ``sources/pool.py``): ``init_worker(config)`` builds the tagger once per
process, ``prepare_posts`` then runs for each source. In-process callers pass their tagger.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from aggregator.models import Post, RawItem, SourceSpec, Tag
from aggregator.normalize import normalize

if TYPE_CHECKING:
    from aggregator.config import Config
    from aggregator.tag import Tagger

Prepared = tuple[list[tuple[Post, list[Tag]]], list[str]]

_worker_tagger: Tagger | None = None
_worker_limits: tuple[int, float] = (0, 0.0)


def init_worker(config: Config) -> None:
    """Process-pool initializer: build this worker's tagger from the run's configuration."""
    global _worker_tagger, _worker_limits
    from aggregator.tag import Tagger

    _worker_tagger = Tagger.from_config(config)
    _worker_limits = limits_of(config)


def limits_of(config: Config) -> tuple[int, float]:
    """(items kept per source and run, seconds of normalizing per source) from the settings."""
    s = config.settings
    return s.max_items_per_run, s.http_deadline


def prepare_posts(
    spec: SourceSpec,
    items: Sequence[RawItem],
    collected_at: datetime,
    tagger: Tagger | None = None,
    limits: tuple[int, float] | None = None,
) -> Prepared:
    """Items -> [(post, tags)] (one per post id; the last duplicate wins) and problems.

    An entry that cannot be normalized is reported in the problems and skipped; the others
    are kept. At most ``max_items_per_run`` entries are read, in the order the source lists
    them (newest first, in feeds), and normalizing stops after ``http_deadline`` seconds;
    what was left is reported in the problems, which end up on the source (#16 items 2, 3).
    """
    tagger = tagger or _worker_tagger
    if tagger is None:
        raise RuntimeError("prepare_posts needs a tagger (init_worker was not run)")
    max_items, max_seconds = limits or _worker_limits
    tagged: dict[str, tuple[Post, list[Tag]]] = {}
    problems: list[str] = []
    if max_items and len(items) > max_items:
        problems.append(
            f"{len(items) - max_items:,} of {len(items):,} entries were left out: one run reads "
            f"{max_items:,} entries from a source at most (max_items_per_run in config.yaml)"
        )
        items = items[:max_items]
    stop_at = time.monotonic() + max_seconds if max_seconds else None
    for done, item in enumerate(items):
        if stop_at is not None and time.monotonic() > stop_at:
            problems.append(
                f"{len(items) - done:,} entries were left out: reading this source's entries "
                f"took more than {max_seconds:g} s (http.deadline)"
            )
            break
        try:
            post = normalize(item, collected_at=collected_at)
        except Exception as exc:  # one bad entry never loses the others
            problems.append(f"an entry could not be read ({type(exc).__name__}: {exc})")
            continue
        tagged[post.id] = (post, tagger.tag(post, spec))
    return list(tagged.values()), problems


__all__ = ["Prepared", "init_worker", "limits_of", "prepare_posts"]
