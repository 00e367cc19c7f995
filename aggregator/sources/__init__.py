"""Sources: fetch, nothing else. Each kind of source has a ``Fetcher``.

A fetcher receives jobs ``(spec, state)`` where ``state`` is the source's stored row in the
``sources`` table (ETag, Last-Modified, body hash, cursor, permanent URL, ...). It yields
``(spec, FetchResult | SourceError)`` as each source completes, in completion order, so
the caller can store one source while the others are still being fetched. A fetcher may also
offer ``fetch_batches(jobs, idle=seconds)``, yielding every result ready at once (and an empty
list after ``idle`` seconds without one), so the caller can store several sources per
transaction (``FeedFetcher`` does). A fetcher never writes anything: the new state travels back inside the ``FetchResult`` and is committed by
the caller together with the posts it covers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from aggregator.errors import SourceError
from aggregator.models import FetchResult, SourceSpec

Job = tuple[SourceSpec, Mapping[str, Any]]
Outcome = tuple[SourceSpec, FetchResult | SourceError]


class Fetcher(Protocol):
    def fetch_many(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        """Fetch every job; yield each source's result (or error) as soon as it is known."""
        ...


__all__ = ["Fetcher", "Job", "Outcome"]
