"""The validated `audit-kit.yaml` configuration: who is expected to do what, and the detectors' thresholds.

Every key has a default good enough for a first run, so a new user needs no file at all. Unknown
keys are rejected (a typo must not silently switch a rule off), and every error names the file and
the key. Role and purpose rules are shell-style globs matched case-insensitively (`*duty*`).

This module only parses and validates. Which file applies to a run (`--config`, `$AUDIT_KIT_CONFIG`,
`./audit-kit.yaml`, `WORKSPACE/audit-kit.yaml`) is decided once by the application layer
(`audit_kit.app.context`); each detector's own parameters are checked against its model by the
detector registry (`audit_kit.detectors.registry.check_params`). A configuration carries where it came
from and a fingerprint, which results store so a report can say what it was judged under.
"""

from __future__ import annotations

import hashlib
import re
from fnmatch import fnmatchcase
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from audit_kit.errors import ConfigError
from audit_kit.schema import DETECTOR_IDS

CONFIG_FILE = "audit-kit.yaml"
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkingHours(_Strict):
    """Working hours used when an organisation declares none (its own `working_hours` wins)."""

    hours: str = Field("07:00-19:00", description="HH:MM-HH:MM in the organisation's local time")
    weekend_is_out_of_hours: bool = True

    @field_validator("hours")
    @classmethod
    def _check_hours(cls, v: str) -> str:
        if not _HOURS.match(v):
            raise ValueError(f"expected HH:MM-HH:MM such as 07:00-19:00, got {v!r}")
        return v

    @property
    def minutes(self) -> tuple[int, int]:
        return parse_hours(self.hours)


def parse_hours(text: str) -> tuple[int, int]:
    """'07:00-19:00' -> (420, 1140) minutes after local midnight."""
    m = _HOURS.match(text.strip())
    if not m:
        raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    return h1 * 60 + m1, h2 * 60 + m2


class DetectorConfig(_Strict):
    """Per-detector settings: switch off, roles exempt from it, and parameter overrides."""

    enabled: bool = True
    exempt_roles: tuple[str, ...] = ()
    exempt_org_types: tuple[str, ...] = ()
    params: dict[str, float | int | str | bool] = Field(default_factory=dict)


class AllowList(_Strict):
    """Who and what is expected: accesses by these users or with these purposes are explained."""

    users: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ("statutory_return*", "statutory*")


class Entitlements(_Strict):
    """Roles and organisation types whose work legitimately crosses the usual lines."""

    # Duty / out-of-hours / emergency teams work nights and weekends.
    out_of_hours_roles: tuple[str, ...] = ("*duty*", "*out_of_hours*", "*out-of-hours*", "*emergency*",
                                           "*night*", "*ooh*", "*on_call*", "*on-call*")
    # MASH and national partners read across areas and without a standing involvement.
    cross_area_roles: tuple[str, ...] = ("*mash*", "*safeguarding_hub*")
    cross_area_org_types: tuple[str, ...] = ("national_partner",)
    # Duty / out-of-hours teams take referrals for any child in their own area, with no standing
    # involvement: their in-area reads count as explained.
    area_wide_roles: tuple[str, ...] = ("*duty*", "*out_of_hours*", "*out-of-hours*", "*emergency*", "*ooh*")
    # Admins who make recurring statutory returns export in bulk on a schedule.
    bulk_export_roles: tuple[str, ...] = ()
    # Managers, supervisors and administrators read across their organisation's teams by design:
    # not judged by peer_outlier (a team's community is not theirs).
    org_wide_roles: tuple[str, ...] = ("*manager*", "*supervisor*", "*admin*")
    # System accounts (nightly syncs with an API key) touch records by design, not by a person's
    # choice: their accesses count as explained. Volume, bulk and export spikes still judge them.
    system_roles: tuple[str, ...] = ("service*", "*system*", "*sync*")


class AuditConfig(_Strict):
    """The whole audit-kit configuration (`audit-kit.yaml`)."""

    working_hours: WorkingHours = WorkingHours()
    allow: AllowList = AllowList()
    entitlements: Entitlements = Entitlements()
    baseline_days: int = Field(90, ge=7, le=730, description="history before --since used as baseline")
    window_days: int = Field(14, ge=1, le=365, description="default scan window when --since is not given")
    baseline_refresh_days: int = Field(
        7, ge=1, le=90, description="baselines are learnt for windows starting every N days (from Monday "
        "2024-01-01, UTC) and kept in the workspace until then; 1 learns them afresh for every day")
    detectors: dict[str, DetectorConfig] = Field(default_factory=dict)

    _source: str = PrivateAttr(default="defaults")

    @field_validator("detectors")
    @classmethod
    def _known_detectors(cls, v: dict[str, DetectorConfig]) -> dict[str, DetectorConfig]:
        unknown = sorted(set(v) - set(DETECTOR_IDS))
        if unknown:
            raise ValueError(f"unknown detector id(s) {', '.join(unknown)}; known: {', '.join(DETECTOR_IDS)}")
        return v

    @property
    def source(self) -> str:
        """Where this configuration came from: a file path, or "defaults"."""
        return self._source

    @property
    def sha256(self) -> str:
        """A fingerprint of the validated settings (defaults included): equal settings, equal prints."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    def stamp(self) -> str:
        """One line for reports and logs: where the configuration came from and its fingerprint."""
        return f"{self.source} (sha256 {self.sha256[:12]})"

    def detector(self, det_id: str) -> DetectorConfig:
        """The settings for one detector (defaults when the file says nothing)."""
        return self.detectors.get(det_id, DetectorConfig())


def role_matches(role: str | None, patterns: tuple[str, ...]) -> bool:
    """True when the role matches any glob (case-insensitive)."""
    if not role:
        return False
    r = role.lower()
    return any(fnmatchcase(r, p.lower()) for p in patterns)


def glob_to_like(pattern: str) -> str:
    """A shell glob as an SQL LIKE pattern (so the engine does the matching)."""
    return pattern.lower().replace("%", r"\%").replace("_", r"\_").replace("*", "%").replace("?", "_")


def parse_config(text: str, source: str = CONFIG_FILE) -> AuditConfig:
    """Validate YAML text as an AuditConfig; errors name `source` and the key path."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level, got {type(data).__name__}")
    try:
        cfg = AuditConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(x) for x in err["loc"]) or "(top level)"
            problems.append(f"key {key}: {err['msg']}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None
    cfg._source = source
    return cfg
