"""Worker processes started before the job they share exists.

Rendering every DPO pack needs what the packs share (assessment, scores, community fits, the record-id
guard's index: a few seconds to read in the parent) in every worker, and each spawned worker needs about
two seconds to import the renderer. Started first, the workers import while the parent reads, instead of
after it; the shared job then reaches each worker once, through a queue, when it takes its first batch.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType
from typing import Any

_queue: Any = None  # in a worker: where the parent's job arrives
_UNSET = object()
_job: Any = _UNSET  # in a worker: its copy of the job, taken from the queue once
_state: Any = None  # in a worker: setup(job), made on first use


def _start(queue: Any) -> None:
    global _queue
    _queue = queue


def _noop() -> None:
    return None


def shared(setup: Callable[[Any], Any]) -> Any:
    """In a worker: `setup(job)` for the job the parent shared, made on the first call and kept. A setup that
    fails is tried again on the next call, with the same copy of the job (the queue holds one per worker)."""
    global _job, _state
    if _state is None:
        if _queue is None:
            raise RuntimeError("not a worker of an EarlyPool")
        if _job is _UNSET:
            _job = _queue.get()
        _state = setup(_job)
    return _state


class EarlyPool:
    """`workers` spawned processes, started now; `share(job)` later hands every worker the same job.

    Spawned rather than forked: the parent holds an open DuckDB connection and its threads. Use as a
    context manager; `executor` takes the batches (each worker calls `shared(setup)` for the job).
    """

    def __init__(self, workers: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.workers = workers
        self._queue = ctx.Queue()
        self.executor = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_start,
                                            initargs=(self._queue,))
        self.executor.submit(_noop)  # a spawn pool starts all its workers at the first task

    def share(self, job: Any) -> None:
        """Send `job` once for each worker (a worker takes one copy, with its first batch)."""
        for _ in range(self.workers):
            self._queue.put(job)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        # A copy no worker took (fewer batches than workers) must not hold the parent at exit.
        self._queue.cancel_join_thread()
        self._queue.close()

    def __enter__(self) -> EarlyPool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
