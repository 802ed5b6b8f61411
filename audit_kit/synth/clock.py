"""Local wall-clock time in Europe/London ↔ UTC instants, vectorised over numpy arrays.

Traffic is planned in local time (people work 08:00-18:00 on the clock on the wall, summer time or
not) and written as UTC instants. The UTC offset is looked up per local hour from a small table built
with zoneinfo, so the whole conversion is one array index.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from audit_kit.schema import DEFAULT_TIMEZONE

EPOCH = date(1970, 1, 1)
DAY = 86_400
HOUR = 3_600


class Clock:
    """The period's days and the local→UTC conversion for one timezone.

    Local times are "local epoch seconds": seconds since 1970-01-01 00:00 on the local wall clock.
    """

    def __init__(self, start: date, days: int, tz: str = DEFAULT_TIMEZONE) -> None:
        self.start = start
        self.days = days
        self.zone = ZoneInfo(tz)
        self.day0 = (start - EPOCH).days  # local day number of the first day
        # Offsets for every local hour from one day before the start to two days after the end
        # (night shifts run past midnight on the last day).
        self._hour0 = (self.day0 - 1) * 24
        n_hours = (days + 3) * 24
        base = datetime(start.year, start.month, start.day) - timedelta(days=1)
        offsets = np.empty(n_hours, dtype=np.int64)
        for h in range(n_hours):
            offset = (base + timedelta(hours=h)).replace(tzinfo=self.zone).utcoffset()
            offsets[h] = int(offset.total_seconds()) if offset is not None else 0
        self._offsets = offsets

    def day_date(self, d: int) -> date:
        """The calendar date of period day index d (0 = start)."""
        return self.start + timedelta(days=d)

    def weekdays(self) -> np.ndarray:
        """Weekday (Mon=0) of every day in the period."""
        return (np.arange(self.days) + self.start.weekday()) % 7

    def local(self, day_index: np.ndarray | int, seconds_of_day: np.ndarray | float) -> np.ndarray:
        """Local epoch seconds for day index(es) and seconds after local midnight."""
        return (np.asarray(day_index, dtype=np.int64) + self.day0) * DAY + np.asarray(seconds_of_day).astype(
            np.int64
        )

    def to_utc(self, local_seconds: np.ndarray) -> np.ndarray:
        """UTC epoch seconds for local epoch seconds (the gap hour in spring maps one hour on)."""
        local_seconds = np.asarray(local_seconds, dtype=np.int64)
        idx = np.clip(local_seconds // HOUR - self._hour0, 0, len(self._offsets) - 1)
        return local_seconds - self._offsets[idx]

    def utc_of_day(self, d: int, hours: float = 0.0) -> int:
        """UTC epoch seconds of local time `hours` on period day d."""
        return int(self.to_utc(np.array([self.local(d, hours * HOUR)]))[0])


def iso_utc(seconds: int | np.integer) -> str:
    """ISO 8601 with Z for UTC epoch seconds."""
    return datetime.fromtimestamp(int(seconds), tz=ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
