"""What a synthetic review world is generated from (SynthParams) and what generating one produced."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from audit_kit.schema import DETECTOR_IDS

# The detector ids of DESIGN.md: every one is injected as labelled scenarios (truth.csv category).
CATEGORIES: tuple[str, ...] = DETECTOR_IDS

# Detectors judge the last SCAN_DAYS days of the period against the history before it.
SCAN_DAYS = 14


class SynthParams(BaseModel):
    """The knobs of a synthetic world. Same parameters → byte-identical files."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(7, ge=0, description="random seed; the world is deterministic per seed")
    orgs: int = Field(24, ge=4, le=5000, description="number of accessing organisations")
    days: int = Field(60, ge=28, le=730, description="length of the period, ending on end_date")
    children: int = Field(20_000, ge=500, le=20_000_000, description="children in the database")
    scale: float = Field(1.0, gt=0, le=100, description="multiplies the volume of normal traffic")
    events: int | None = Field(
        None, ge=1000, le=2_000_000_000, description="approximate number of events wanted: sets scale"
    )
    adversarial: bool = Field(False, description="snoopers hide among peer-like cover accesses")
    end_date: date = Field(date(2026, 10, 31), description="last day of the period (fixed: deterministic)")

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.days - 1)

    @property
    def scan_start(self) -> date:
        """First day of the scan window (the last SCAN_DAYS days); before it is the baseline."""
        return self.end_date - timedelta(days=SCAN_DAYS - 1)


class SynthSummary(BaseModel):
    """What generate() wrote: row counts per table, events, injected scenarios, and file paths."""

    model_config = ConfigDict(extra="forbid")

    out: Path
    params: SynthParams
    organisations: int
    users: int
    subjects: int
    involvements: int
    events: int
    injected: dict[str, int] = Field(description="truth.csv rows per category (detector id)")
    injected_events: int = Field(description="events that belong to injected scenarios")
    files: list[Path]
    questionnaires: bool = Field(False, description="questionnaires/ written by audit_kit.questionnaires")
    seconds: float = 0.0

    @property
    def tables(self) -> dict[str, int]:
        return {
            "organisations": self.organisations,
            "users": self.users,
            "subjects": self.subjects,
            "involvements": self.involvements,
            "events": self.events,
        }
