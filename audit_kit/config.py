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

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
)

from audit_kit.errors import ConfigError, InputError
from audit_kit.safeyaml import load_yaml_text
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
    purposes: tuple[str, ...] = ("statutory_return*", "statutory*", "inspection*")


class Entitlements(_Strict):
    """Roles and organisation types whose work legitimately crosses the usual lines."""

    # Duty / out-of-hours / emergency teams work nights and weekends.
    out_of_hours_roles: tuple[str, ...] = ("*duty*", "*out_of_hours*", "*out-of-hours*", "*emergency*",
                                           "*night*", "*ooh*", "*on_call*", "*on-call*", "edt*", "*_edt*",
                                           "*-edt*")
    # MASH and national partners read across areas and without a standing involvement.
    cross_area_roles: tuple[str, ...] = ("*mash*", "*safeguarding_hub*")
    cross_area_org_types: tuple[str, ...] = ("national_partner",)
    # Duty / out-of-hours teams take referrals for any child in their own area, with no standing
    # involvement: their in-area reads count as explained.
    # EDT: the Emergency Duty Team, the usual name of children's social care out of hours in England.
    area_wide_roles: tuple[str, ...] = ("*duty*", "*out_of_hours*", "*out-of-hours*", "*emergency*", "*ooh*",
                                        "edt*", "*_edt*", "*-edt*")
    # Data officers and managers make the statutory returns (school census, annual returns) in bulk:
    # left out of export_spike, and their volume and bulk spikes kept low.
    bulk_export_roles: tuple[str, ...] = ("*data_manager*", "*data_officer*")
    # Managers, supervisors and administrators read across their organisation's teams by design:
    # not judged by peer_outlier (a team's community is not theirs).
    org_wide_roles: tuple[str, ...] = ("*manager*", "*supervisor*", "*admin*")
    # System accounts (nightly syncs with an API key) touch records by design, not by a person's
    # choice: their accesses count as explained. Volume, bulk and export spikes still judge them.
    system_roles: tuple[str, ...] = ("service*", "*system*", "*sync*")


Thresholds = dict[str, StrictFloat | StrictInt]


class CorroborationConfig(_Strict):
    """Thresholds of the corroboration tests (names and defaults: `audit_kit.catalogue.log_checks`).

    `thresholds`: log measure -> threshold -> value, for every control the measure tests.
    `controls`: checklist id -> control id -> log measure -> threshold -> value, for one control (this
    wins over the catalogue's own `corroboration.thresholds`, which wins over `thresholds`).
    """

    thresholds: dict[str, Thresholds] = Field(default_factory=dict)
    controls: dict[str, dict[str, dict[str, Thresholds]]] = Field(default_factory=dict)


class EmailConfig(_Strict):
    """The SMTP server digests go through. Credentials never live here: the run context reads them from
    $AUDIT_KIT_SMTP_USER / $AUDIT_KIT_SMTP_PASSWORD or the file `credentials_file` names."""

    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = Field(True, description="upgrade with STARTTLS (required unless the host is this machine)")
    sender: str = Field(min_length=3, description="From: address, e.g. audit-kit@holder.example")
    credentials_file: str | None = Field(None, description="a file holding 'user:password' on one line")
    ca_file: str | None = Field(None, description="PEM file of CAs to trust instead of the system's")
    timeout: float = Field(30.0, gt=0, le=600)


class DigestConfig(_Strict):
    """What a DPO's digest holds."""

    min_severity: str = Field("medium", pattern="^(info|low|medium|high|critical)$")
    max_items: int = Field(50, ge=1, le=1000)
    overdue_actions: bool = True
    every_hours: float = Field(0, ge=0, le=24 * 31, description="at most one digest per DPO this often "
                               "(0: after every scan with something new)")


class ChatConfig(_Strict):
    """Chat channels a scan posts a summary to. Webhook URLs are secrets: the run context reads them from
    $AUDIT_KIT_TEAMS_WEBHOOK / $AUDIT_KIT_SLACK_WEBHOOK or the files named here."""

    teams_url_file: str | None = None
    slack_url_file: str | None = None
    min_severity: str = Field("high", pattern="^(info|low|medium|high|critical)$")


class NotifyConfig(_Strict):
    """Where review notifications go (docs/review.md): e-mail digests to each organisation's DPO,
    chat summaries. Not part of the configuration's fingerprint (it judges nothing)."""

    email: EmailConfig | None = None
    dpos: dict[str, str | tuple[str, ...]] = Field(default_factory=dict, description="org_id -> DPO address(es)")
    dpo_file: str | None = Field(None, description="CSV with columns org_id,email (relative to this file)")
    digest: DigestConfig = DigestConfig()
    chat: ChatConfig = ChatConfig()


class AuditConfig(_Strict):
    """The whole audit-kit configuration (`audit-kit.yaml`)."""

    working_hours: WorkingHours = WorkingHours()
    allow: AllowList = AllowList()
    entitlements: Entitlements = Entitlements()
    baseline_days: int = Field(90, ge=7, le=730, description="history before --since used as baseline")
    window_days: int = Field(14, ge=1, le=365, description="default scan window when --since is not given")
    alert_budget: float = Field(
        0.02, ge=0.0, le=1.0,
        description="share of a window's active users that may be alerted at medium or above on moderate "
        "evidence; stronger evidence is never held back (docs/detectors.md)",
    )
    baseline_refresh_days: int = Field(
        7, ge=1, le=90, description="baselines are learnt for windows starting every N days (from Monday "
        "2024-01-01, UTC) and kept in the workspace until then; 1 learns them afresh for every day")
    detectors: dict[str, DetectorConfig] = Field(default_factory=dict)
    corroboration: CorroborationConfig = CorroborationConfig()
    notify: NotifyConfig = NotifyConfig()

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
        # Where notifications go judges nothing: changing a DPO's address must not change the print.
        return hashlib.sha256(self.model_dump_json(exclude={"notify"}).encode()).hexdigest()

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
        data: Any = load_yaml_text(text, source)
    except InputError as exc:  # a configuration file: reported as such (same exit code)
        raise ConfigError(exc.message, hint=exc.hint) from None
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
