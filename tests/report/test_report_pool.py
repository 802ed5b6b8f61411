"""The packs' early pool: workers start before the job exists, and each receives the shared job once."""

from __future__ import annotations

import time

import pytest

from audit_kit.report.pool import EarlyPool, shared


def test_workers_get_the_job_shared_after_they_started_and_an_untaken_copy_does_not_hold_the_parent() -> None:
    started = time.monotonic()
    with EarlyPool(3) as pool:
        pool.share({"packs": 300})
        # `shared(len)` runs in a worker: setup (len) applied to the job it took from the queue.
        assert [pool.executor.submit(shared, len).result() for _ in range(4)] == [1, 1, 1, 1]
    # Leaving the block returned although at least one copy of the job was never taken.
    assert time.monotonic() - started < 60


def test_a_worker_whose_setup_failed_tries_again_with_its_copy_of_the_job() -> None:
    # A worker takes one copy of the job; waiting for another after a failed setup would hang the packs.
    with EarlyPool(1) as pool:
        pool.share("abc")
        with pytest.raises(ValueError):
            pool.executor.submit(shared, int).result(timeout=60)  # int("abc") fails, as a broken open would
        assert pool.executor.submit(shared, len).result(timeout=60) == 3


def test_shared_outside_a_worker_says_so() -> None:
    with pytest.raises(RuntimeError, match="not a worker"):
        shared(len)
