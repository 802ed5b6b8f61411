"""The scan lock: one holder at a time, released by the kernel when the holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audit_kit.scan.lock import EXIT_BUSY, ScanBusyError, ScanLock

HOLD = """
import sys, time
from audit_kit.scan.lock import ScanLock
lock = ScanLock(sys.argv[1]); lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def test_second_lock_is_refused_with_holder_pid(tmp_path: Path) -> None:
    with ScanLock(tmp_path):
        with pytest.raises(ScanBusyError) as info:
            ScanLock(tmp_path).acquire()
    assert str(os.getpid()) in str(info.value)
    assert info.value.exit_code == EXIT_BUSY == 75
    # Released on exit: a new holder gets it.
    with ScanLock(tmp_path):
        pass


def test_lock_of_a_killed_process_is_free_again(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(ScanBusyError, match=f"pid {proc.pid}"):
            ScanLock(tmp_path).acquire()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 5
    lock = ScanLock(tmp_path)
    while True:
        try:
            lock.acquire()
            break
        except ScanBusyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    lock.release()
    lock.release()  # idempotent
