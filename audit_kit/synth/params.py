"""What a synthetic review world is generated from (SynthParams) and what generating one produced."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from audit_kit.schema import DETECTOR_IDS

# The detector ids of DESIGN.md: every one is injected as labelled scenarios (truth.csv category).
CATEGORIES: tuple[str, ...] = DETECTOR_IDS

# Detectors judge the last SCAN_DAYS days of the period against the history before it.
SCAN_DAYS = 14
# Optional columns a stress cell may leave out of the files (events: session_id, purpose,
# auth_method; users and subjects: family_key).
DROPPABLE_COLUMNS: tuple[str, ...] = ("session_id", "purpose", "auth_method", "family_key")
OrgMix = Literal["default", "small_orgs", "health"]


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
    # -- the stress matrix (docs/detection-quality.md): each knob at its default leaves the world as before
    missing_involvements: float = Field(
        0.0, ge=0.0, le=0.4, description="share of true involvements left out of involvements.csv (work still follows them)"
    )
    browsing: float = Field(
        0.0, ge=0.0, le=0.1,
        description="share of ordinary staff's reads of in-area children with no involvement (shielded ones included)",
    )
    drop_columns: tuple[str, ...] = Field(
        (), description="optional columns left out of the files: session_id, purpose, auth_method, family_key"
    )
    bursts: bool = Field(False, description="legitimate bursts in the scan window: inspections, census returns, duty rotas")
    popular: int = Field(0, ge=0, le=50, description="children read by many involved staff in the scan window")
    org_mix: OrgMix = Field("default", description="default, small_orgs (many small practices and schools) or health")
    quiet: bool = Field(False, description="misuse in office hours, weaker, with cover reads")
    misuse_share: float | None = Field(
        None, gt=0.0, le=0.2,
        description="misuse users as a share of all users, one per category drawn (default: every category, orgs/8 each)",
    )

    @field_validator("drop_columns")
    @classmethod
    def _known_columns(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = sorted(set(v) - set(DROPPABLE_COLUMNS))
        if bad:
            raise ValueError(f"cannot drop {', '.join(bad)}; droppable: {', '.join(DROPPABLE_COLUMNS)}")
        return tuple(c for c in DROPPABLE_COLUMNS if c in v)

    @property
    def stressed(self) -> bool:
        """True when any stress knob is away from its default."""
        return bool(self.missing_involvements or self.browsing or self.drop_columns or self.bursts
                    or self.popular or self.org_mix != "default" or self.quiet or self.misuse_share)

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
    legit: dict[str, int] = Field(default_factory=dict, description="truth_legit.csv users per kind")
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
