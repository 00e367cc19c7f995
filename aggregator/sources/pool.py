"""A process pool started on first use, so that runs with nothing to parse never pay for it.

Feed parsing (``sources.feeds``) and normalizing + tagging (``collect``) share one pool, so a
collection run uses every core with one set of worker processes. Workers are started with
the ``forkserver`` method: never ``fork`` a process that runs threads (the fetch loop, the
scheduler), and the server preloads the parsing modules once for every worker.

Workers never outlive the process that started them (issue 15): each watches the read end
of a pipe whose only write end that process holds. When it dies, even by ``kill -9``, the
pipe reports end-of-file and the worker exits at once; with the workers gone, the
forkserver and the resource tracker (kept alive only by them) exit too.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

PRELOAD = ["aggregator.sources.feed_parse", "aggregator.normalize", "aggregator.tag"]


def worker_count(setting: int) -> int:
    """``parse_workers`` as a number of processes: 0 means one per CPU core."""
    return setting if setting > 0 else (os.cpu_count() or 1)


def _watch_parent(lifeline: Connection) -> None:
    """In a worker: exit as soon as the pipe's write end (held by the parent) is closed."""
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv_bytes()  # nothing is ever sent: this returns only at end-of-file
    os._exit(1)


def _start_worker(
    lifeline: Connection, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]
) -> None:
    threading.Thread(target=_watch_parent, args=(lifeline,), name="parent-watch",
                     daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


class LazyProcessPool(Executor):
    """A ``ProcessPoolExecutor`` created on the first ``submit``."""

    def __init__(
        self,
        workers: int,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        self.workers = workers
        self._initializer = initializer
        self._initargs = initargs
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._starting: threading.Thread | None = None
        self._lifeline: Connection | None = None  # its closing ends the workers

    @property
    def started(self) -> bool:
        return self._pool is not None

    def _ensure(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(PRELOAD)
                lifeline, self._lifeline = ctx.Pipe(duplex=False)
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=ctx, initializer=_start_worker,
                    initargs=(lifeline, self._initializer, self._initargs),
                )
            return self._pool

    def start(self) -> None:
        """Start the workers now (they take ~0.3 s to import and initialize), for a caller
        that knows it will need them, so they are ready when the first response arrives.
        Spawning them happens in a background thread: the caller goes on meanwhile."""

        def spawn() -> None:
            pool = self._ensure()
            for _ in range(self.workers):
                pool.submit(int)  # a no-op that makes the executor spawn every worker

        self._starting = threading.Thread(target=spawn, name="pool-start", daemon=True)
        self._starting.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self._wait_started()
        return self._ensure().submit(fn, *args, **kwargs)

    def _wait_started(self) -> None:
        starting, self._starting = self._starting, None
        if starting is not None:
            starting.join()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._wait_started()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait:  # every worker has finished: nothing is left for the pipe to end
            lifeline, self._lifeline = self._lifeline, None
            if lifeline is not None:
                lifeline.close()


__all__ = ["LazyProcessPool", "worker_count"]
