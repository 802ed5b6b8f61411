"""Progress reporting that the library can call without printing: the CLI decides how it shows."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """What long-running library functions report to. The library never prints."""

    def start(self, label: str, total: float | None = None) -> None: ...
    def advance(self, amount: float = 1) -> None: ...
    def finish(self) -> None: ...


class NullProgress:
    """Reports nowhere: the default for library callers and for --quiet / cron."""

    def start(self, label: str, total: float | None = None) -> None:
        pass

    def advance(self, amount: float = 1) -> None:
        pass

    def finish(self) -> None:
        pass


NULL_PROGRESS = NullProgress()
