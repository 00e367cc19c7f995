"""Normalize and tag one source's fetched items: the CPU-bound middle of a collection run.

Pure apart from a per-process tagger cache, so it can run in the worker processes that also
parse feeds (see ``sources/pool.py``): ``init_worker(config)`` builds the tagger once per
process, ``prepare_posts`` then runs for each source. In-process callers pass their tagger.
"""

from __future__ import annotations

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


def init_worker(config: Config) -> None:
    """Process-pool initializer: build this worker's tagger from the run's configuration."""
    global _worker_tagger
    from aggregator.tag import Tagger

    _worker_tagger = Tagger.from_config(config)


def prepare_posts(
    spec: SourceSpec,
    items: Sequence[RawItem],
    collected_at: datetime,
    tagger: Tagger | None = None,
) -> Prepared:
    """Items -> [(post, tags)] (one per post id; the last duplicate wins) and problems.

    An entry that cannot be normalized is reported in the problems and skipped; the others
    are kept.
    """
    tagger = tagger or _worker_tagger
    if tagger is None:
        raise RuntimeError("prepare_posts needs a tagger (init_worker was not run)")
    tagged: dict[str, tuple[Post, list[Tag]]] = {}
    problems: list[str] = []
    for item in items:
        try:
            post = normalize(item, collected_at=collected_at)
        except Exception as exc:  # one bad entry never loses the others
            problems.append(f"an entry could not be read ({type(exc).__name__}: {exc})")
            continue
        tagged[post.id] = (post, tagger.tag(post, spec))
    return list(tagged.values()), problems


__all__ = ["Prepared", "init_worker", "prepare_posts"]
