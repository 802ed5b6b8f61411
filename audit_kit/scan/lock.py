"""The scan lock: one scan per workspace at a time, released by the kernel even if the scan is killed.

An advisory `flock` on `WS/scan.lock` rather than a pid file, because a pid file left behind by a
SIGKILLed scan would block every later run until someone deleted it by hand.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from audit_kit.errors import AuditKitError, ExitCode

LOCK_FILE = "scan.lock"
# EX_TEMPFAIL from sysexits.h: "try again later". Distinct from 1 (alerts) and 2 (usage) so cron
# wrappers and systemd (SuccessExitStatus=75) can tell an overlapping run from a failed one.
EXIT_BUSY = ExitCode.BUSY


class ScanBusyError(AuditKitError):
    """Another scan holds the workspace's scan lock; this one did nothing and exits EXIT_BUSY."""

    exit_code = ExitCode.BUSY


class ScanLock:
    """Exclusive, non-blocking lock on a workspace's scans. Use as a context manager."""

    def __init__(self, workspace: Path) -> None:
        self.path = Path(workspace) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ScanBusyError naming the holder's pid (never waits)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f" (pid {holder})" if holder else ""
            raise ScanBusyError(
                f"{self.path.parent}: another scan is running{who}; this run did nothing",
                hint="the next scheduled run will pick up any new files",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Release the lock (idempotent). The file stays: deleting it would race a waiting scan."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ScanLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read_pid(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""
