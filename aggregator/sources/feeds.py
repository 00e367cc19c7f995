"""Fetch RSS/Atom/RDF feeds: HTTP with limits, then ``feed_parse`` on the bytes. Nothing else.

- aiohttp with connect and read timeouts and an overall deadline per source; the body is
  streamed and cut off past ``http_max_body_bytes``. (aiohttp, not httpx as elsewhere in
  the project: on this hot loop it takes about a fifth of httpx's CPU per request, see
  docs/design.md.)
- Redirects are followed by hand (at most ``http_max_redirects``), so that a loop is named
  as one and a chain of only 301/308 is remembered as the source's ``permanent_url``.
- Conditional GET with the stored ETag / Last-Modified; a 200 whose body hashes to the
  stored ``body_hash`` is ``unchanged`` and not parsed again.
- At most ``http_concurrency`` sources at once, and ``http_per_host_limit`` per host.
- Parsing (``sources.feed_parse``) runs in a process pool (``parse_workers``; 0 = one per
  core) so both cores work.
- Every failure becomes a ``SourceError`` naming the source and the fix; results are yielded
  as each source completes, so one slow source holds up nobody but itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import ssl
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import aiohttp

from aggregator.errors import FetchError, SourceError
from aggregator.models import FetchResult, SourceSpec, split_credentials
from aggregator.settings import Settings
from aggregator.sources import Job, Outcome
from aggregator.sources.feed_parse import AfterParse, parse_body
from aggregator.sources.feed_result import Response, before_parsing, from_parsed
from aggregator.sources.http import basic_auth, check_allowed, host_of, origin_of
from aggregator.sources.pool import LazyProcessPool, worker_count

REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
SMALL_RUN = 4  # fewer sources than this are parsed in a thread: a pool would cost more
CHUNK = 65536  # bytes read from a response at a time
PARSE_QUEUE = 3  # parses submitted per worker at once: one running, the next ones queued
BACKLOG = 40  # parsed sources waiting to be stored, at most (~20 posts each)


class FeedFetcher:
    """The ``Fetcher`` for ``kind: feed`` sources. Reusable; call ``close()`` when done.

    ``executor``: a (process) pool to parse in, shared with the caller; by default the fetcher
    starts its own ``LazyProcessPool`` of ``parse_workers`` processes when it first needs it.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Any = None,
        executor: Executor | None = None,
        after_parse: AfterParse | None = None,
    ) -> None:
        """``after_parse``: a picklable function run on each source's items in the shared
        ``executor`` right after parsing (never in a thread: it may need worker state)."""
        self.settings = settings
        self.after_parse = after_parse if executor is not None else None
        self._clock = clock or (lambda: datetime.now(UTC))
        self._shared = executor
        self._ssl: ssl.SSLContext | None = None
        self._own: LazyProcessPool | None = None

    # -- lifecycle --

    def close(self) -> None:
        if self._own is not None:
            self._own.shutdown(wait=True, cancel_futures=True)
            self._own = None

    def __enter__(self) -> FeedFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _executor(self, jobs: int) -> Executor | None:
        """Where to parse: the shared pool, our own, or None (a thread) for small runs."""
        if self._shared is not None:
            return self._shared
        if worker_count(self.settings.parse_workers) <= 1 or jobs < SMALL_RUN:
            return None
        if self._own is None:
            self._own = LazyProcessPool(worker_count(self.settings.parse_workers))
        return self._own

    # -- the Fetcher interface --

    def fetch_many(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        """Fetch every job; yield ``(spec, FetchResult | SourceError)`` as each completes."""
        for batch in self.fetch_batches(jobs):
            yield from batch

    def fetch_batches(
        self, jobs: Sequence[Job], idle: float | None = None
    ) -> Iterator[list[Outcome]]:
        """Like ``fetch_many``, but yield every result that is ready at once (at least one),
        so the caller can store several sources in one transaction; with ``idle``, an empty
        list when nothing arrived for that many seconds (the caller may store what it holds)."""
        yield from self._batches(jobs, idle, raw=False)

    def get_many(self, jobs: Sequence[Job]) -> Iterator[tuple[SourceSpec, Response | SourceError]]:
        """Fetch each job's address with the same limits as ``fetch_many`` (timeouts, deadline,
        per-host limit, redirects, ``offline``), but hand back the response unparsed, whatever
        its status: for operator tools that look at what an address serves (``sources probe``)."""
        for batch in self._batches(jobs, None, raw=True):
            yield from batch

    def _batches(
        self, jobs: Sequence[Job], idle: float | None, *, raw: bool
    ) -> Iterator[list[Any]]:
        jobs = list(jobs)
        if not jobs:
            return
        results: queue.Queue[Any] = queue.Queue()
        run = _Run(self, jobs, results, self._executor(len(jobs)), raw=raw)
        thread = threading.Thread(target=run.run, name="feed-fetch", daemon=True)
        thread.start()
        left = len(jobs)
        try:
            while left:
                try:
                    ready = [results.get(timeout=idle)]
                except queue.Empty:
                    yield []
                    continue
                while len(ready) < left:
                    try:
                        ready.append(results.get_nowait())
                    except queue.Empty:
                        break
                batch: list[Any] = []
                for item in ready:
                    if isinstance(item, BaseException):
                        raise item
                    run.taken()
                    batch.append(item)
                left -= len(batch)
                yield batch
        finally:
            if left:  # the caller stopped early: cancel what is still in flight
                run.stop()
            thread.join()  # otherwise the loop ends by itself, its connections closed

    def fetch_one(self, spec: SourceSpec, state: Mapping[str, Any] | None = None) -> FetchResult:
        """Fetch one source; raise its ``SourceError`` (for commands and tests)."""
        for _spec, outcome in self.fetch_many([(spec, state or {})]):
            if isinstance(outcome, SourceError):
                raise outcome
            return outcome
        raise AssertionError("fetch_many yielded nothing")  # pragma: no cover

    def _session(self) -> aiohttp.ClientSession:
        """One session per ``fetch_many`` (made inside its event loop): a connection pool with
        the same overall and per-host limits as the semaphores that gate the requests."""
        s = self.settings
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=s.http_concurrency, limit_per_host=s.http_per_host_limit, ssl=self._tls(),
            ),
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=s.http_connect_timeout, sock_read=s.http_read_timeout,
            ),
            headers={"User-Agent": s.http_user_agent, "Accept": ACCEPT},
            trust_env=False,
        )

    def _tls(self) -> ssl.SSLContext:
        """One TLS context for all clients (loading the CA bundle costs ~10 ms each time)."""
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl


class _Run:
    """One ``fetch_many`` call: an asyncio loop in a thread, results put on a queue."""

    def __init__(
        self, fetcher: FeedFetcher, jobs: list[Job], results: queue.Queue[Any],
        executor: Executor | None, *, raw: bool = False,
    ) -> None:
        self.raw = raw  # hand back the Response itself, unparsed
        self.f = fetcher
        self.s = fetcher.settings
        self.jobs = jobs
        self.results = results
        self.executor = executor
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[None] | None = None
        self.stopped = threading.Event()
        self.parsing = asyncio.Semaphore(1)
        self.backlog = asyncio.Semaphore(1)
        self.session: aiohttp.ClientSession | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # a bug, not a source problem: hand it to the caller
            self.results.put(exc)

    def stop(self) -> None:
        self.stopped.set()
        if self.loop is not None and self.task is not None and not self.task.done():
            self.loop.call_soon_threadsafe(self.task.cancel)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        if self.stopped.is_set():
            return
        overall = asyncio.Semaphore(self.s.http_concurrency)
        # Few parses queued at once, so work the caller submits to a shared pool (normalizing
        # what was parsed) is not stuck behind every parse of the run.
        workers = int(getattr(self.executor, "workers", 1) or 1)
        self.parsing = asyncio.Semaphore(PARSE_QUEUE * workers)
        # Results waiting for the caller (who stores them) stay bounded: memory stays flat
        # when storing is slower than fetching and parsing. Enough of them wait to let the
        # caller store several sources per transaction (one FTS5 flush, one commit).
        self.backlog = asyncio.Semaphore(BACKLOG + 2 * workers)
        per_host: dict[str, asyncio.Semaphore] = {}
        self.session = self.f._session()
        tasks = []
        for spec, state in self.jobs:
            url = split_credentials(str(state.get("permanent_url") or spec.url or ""))[0]
            host = per_host.setdefault(host_of(url), asyncio.Semaphore(self.s.http_per_host_limit))
            tasks.append(asyncio.create_task(self._one(spec, state, url, host, overall)))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            try:
                await asyncio.gather(*tasks, return_exceptions=True)
            finally:  # even when cancelled meanwhile: no connection is left open
                await self.session.close()

    async def _one(
        self, spec: SourceSpec, state: Mapping[str, Any], url: str,
        host: asyncio.Semaphore, overall: asyncio.Semaphore,
    ) -> None:
        slot = False
        try:
            async with host, overall:
                response = await self._fetch(spec, state, url)
            await self.backlog.acquire()  # parse only what the caller is ready to take
            slot = True
            outcome: FetchResult | Response | SourceError = (
                response if self.raw else await self._result(spec, state, response)
            )
        except SourceError as exc:
            outcome = exc
        except Exception as exc:  # anything unforeseen still stays with this source
            outcome = FetchError(
                f"{spec.id}: unexpected {type(exc).__name__}: {exc}", source=spec.id,
                hint="this is a bug in the aggregator; please report it with this message",
            )
        if not slot:
            await self.backlog.acquire()
        self.results.put((spec, outcome))

    def taken(self) -> None:
        """The caller took one result off the queue: one more may be parsed (any thread)."""
        if self.loop is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: all done
                self.loop.call_soon_threadsafe(self.backlog.release)

    async def _fetch(self, spec: SourceSpec, state: Mapping[str, Any], url: str) -> Response:
        deadline = self.s.http_deadline
        try:
            async with asyncio.timeout(deadline):
                return await self._follow(spec, state, url)
        except aiohttp.ServerTimeoutError as exc:  # before TimeoutError: it is one
            connecting = isinstance(exc, aiohttp.ConnectionTimeoutError)
            raise FetchError(
                f"{spec.id}: timed out {'connecting' if connecting else 'waiting for data'}"
                f" at {url}", source=spec.id,
                hint="the server is slow or unreachable; it is retried later",
            ) from None
        except TimeoutError:
            raise FetchError(
                f"{spec.id}: no complete response within {deadline:g} s from {url}",
                source=spec.id,
                hint="the server is too slow or hangs; it is retried later. Raise http.deadline"
                " in config.yaml only if this feed is known to be slow",
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise FetchError(
                f"{spec.id}: cannot connect to {host_of(url)}: {exc.os_error}", source=spec.id,
                hint="check the host name in the feed URL and the network; it is retried later",
            ) from None
        except aiohttp.InvalidURL as exc:
            raise FetchError(
                f"{spec.id}: invalid URL {url!r}: {exc}", source=spec.id,
                hint="fix the feed URL in its mission file under feeds/",
            ) from None
        except aiohttp.ClientError as exc:
            raise FetchError(
                f"{spec.id}: HTTP failure ({type(exc).__name__}: {exc}) at {url}", source=spec.id,
                hint="the server broke the connection or sent an invalid response; retried later",
            ) from None

    async def _follow(self, spec: SourceSpec, state: Mapping[str, Any], url: str) -> Response:
        headers: dict[str, str] = {}
        if state.get("etag"):
            headers["If-None-Match"] = str(state["etag"])
        if state.get("last_modified"):
            headers["If-Modified-Since"] = str(state["last_modified"])
        seen = [url]
        permanent = True
        assert self.session is not None
        # A feed URL's user:password (kept out of ``spec.url``) goes as Basic auth, and only
        # to the origin it was written for: never to a host a redirect points to.
        origin = origin_of(spec.url or url)
        while True:
            check_allowed(url, self.s, spec.id)
            sent = dict(headers)
            if spec.credentials and origin_of(url) == origin:
                sent["Authorization"] = basic_auth(*spec.credentials)
            async with self.session.get(url, headers=sent, allow_redirects=False) as r:
                location = r.headers.get("location")
                if r.status in REDIRECTS and location:
                    permanent = permanent and r.status in PERMANENT
                    url = split_credentials(urljoin(url, location.strip()))[0]
                    self._check_redirect(spec, url, seen)
                    seen.append(url)
                    continue
                body = b"" if r.status == 304 else await self._body(spec, url, r)
                return Response(
                    status=r.status, url=url, headers=_headers(r), body=body,
                    permanent_url=url if permanent and len(seen) > 1 else None,
                )

    def _check_redirect(self, spec: SourceSpec, url: str, seen: list[str]) -> None:
        if url in seen:
            chain = " -> ".join([*seen[seen.index(url):], url])
            raise FetchError(
                f"{spec.id}: redirect loop ({chain})", source=spec.id,
                hint="the server sends us in a circle; check the feed URL in a browser and"
                " use the address it finally shows",
            )
        if len(seen) > self.s.http_max_redirects:
            raise FetchError(
                f"{spec.id}: more than {self.s.http_max_redirects} redirects (last: {url})",
                source=spec.id,
                hint="use the final address of the feed in feeds/, or raise http.max_redirects",
            )

    async def _body(self, spec: SourceSpec, url: str, r: aiohttp.ClientResponse) -> bytes:
        """The (decompressed) body, cut off past the size limit as it streams in."""
        limit = self.s.http_max_body_bytes
        declared = r.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and r.status < 300:
            raise self._too_large(spec, url, int(declared))
        chunks: list[bytes] = []
        size = 0
        async for chunk in r.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > limit:
                raise self._too_large(spec, url, size)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, spec: SourceSpec, url: str, size: int) -> FetchError:
        return FetchError(
            f"{spec.id}: response from {url} is larger than {self.s.http_max_body_bytes:,} bytes"
            f" (at least {size:,}); cut off",
            source=spec.id,
            hint="this is not a normal feed size; check the URL, or raise http.max_body_bytes",
        )

    # -- from a response to a result --

    async def _result(
        self, spec: SourceSpec, state: Mapping[str, Any], resp: Response
    ) -> FetchResult:
        verdict = before_parsing(spec, state, resp, self.f._clock())
        if isinstance(verdict, FetchResult):
            return verdict
        parsed = await self._parse(spec, resp)
        return from_parsed(spec, resp, parsed, verdict)

    async def _parse(self, spec: SourceSpec, resp: Response) -> dict[str, Any]:
        ctype = resp.headers.get("content-type")
        loop = asyncio.get_running_loop()
        try:
            if self.executor is None:
                return await asyncio.to_thread(parse_body, resp.body, resp.url, ctype)
            async with self.parsing:
                return await loop.run_in_executor(
                    self.executor, parse_body, resp.body, resp.url, ctype, spec,
                    self.f.after_parse, self.f._clock(),
                )
        except BrokenProcessPool:
            raise FetchError(
                f"{spec.id}: the parser process died while reading {resp.url}", source=spec.id,
                hint="the feed may be huge or pathological; it is retried on the next run",
            ) from None


def _headers(r: aiohttp.ClientResponse) -> dict[str, str]:
    """Response headers with lower-case names; a repeated header's values joined by ", "."""
    out: dict[str, str] = {}
    for name, value in r.headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


__all__ = ["FeedFetcher"]
