"""The one list of log checks a control may name in `log_checks`, and what each log measure can test.

A log check is either a detector id (the findings contract of DESIGN.md) or a log measure: an
organisation-level number computed from the logs that can corroborate or contradict an answer.

Which answer a measure can test depends on the form of the answer, not on the control's id:

- **level** — a `yes_no`, `yes_partial_no` or `choice` answer claims a level of practice (yes,
  partial, no; a choice by the credit of the option chosen), compared with the level the logs show;
- **quantity** — a `number` or `percentage` answer states the measure's own quantity (the share of
  sessions with MFA, the days taken to disable a leaver, the months of logs kept);
- **date** — a `date` answer states when something was last done (an access review).

A measure tests only the forms it lists in `MEASURES`; a control naming it with another answer type
is simply not tested by it. Each measure's thresholds (margins and minimum samples: a wrongly
contradicted answer is an accusation) have documented defaults here, overridable per measure in
`audit-kit.yaml` (`corroboration.thresholds`) and per control in its catalogue entry
(`corroboration.thresholds`) or in the configuration (`corroboration.controls`).

Catalogue validation, the configuration check and the corroboration step (assessment) import from
here; the tests themselves are in `audit_kit/assessment/corroborate.py`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from audit_kit.config import AuditConfig
from audit_kit.errors import ConfigError
from audit_kit.schema import DETECTOR_IDS as CONTRACT_DETECTOR_IDS

# Detector ids from DESIGN.md's findings contract.
DETECTOR_IDS: frozenset[str] = frozenset(CONTRACT_DETECTOR_IDS)


class Form(str, Enum):
    """How an answer is compared with a measure."""

    LEVEL = "level"
    QUANTITY = "quantity"
    DATE = "date"


# The form of each answer type (text answers are never tested against the logs).
FORM_OF_ANSWER: dict[str, Form] = {
    "yes_no": Form.LEVEL,
    "yes_partial_no": Form.LEVEL,
    "choice": Form.LEVEL,
    "number": Form.QUANTITY,
    "percentage": Form.QUANTITY,
    "date": Form.DATE,
}


@dataclass(frozen=True)
class Threshold:
    """One tunable number of a measure's tests: its default, meaning and allowed range."""

    default: float
    meaning: str
    lo: float = 0.0
    hi: float = math.inf
    integer: bool = False

    def check(self, value: object) -> str | None:
        """None when `value` is allowed, else what was expected."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return f"expected a number, got {value!r}"
        if self.integer and value != int(value):
            return f"expected a whole number, got {value!r}"
        if not self.lo <= value <= self.hi:
            if self.hi == math.inf:
                return f"expected {self.lo:g} or more, got {value!r}"
            return f"expected a value from {self.lo:g} to {self.hi:g}, got {value!r}"
        return None


@dataclass(frozen=True)
class LogMeasure:
    """A log measure: what it measures, which answer types it tests (and what those answers claim)."""

    id: str
    meaning: str
    # answer type -> what an answer of that type claims about this measure (absent: not tested).
    claims: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, Threshold] = field(default_factory=dict)

    @property
    def testable(self) -> bool:
        """Whether corroboration has a test for this measure (some are vocabulary only, for now)."""
        return bool(self.claims)

    def form(self, answer_type: str) -> Form | None:
        """The form in which this measure tests an answer of `answer_type` (None: it does not)."""
        return FORM_OF_ANSWER[answer_type] if answer_type in self.claims else None

    def defaults(self) -> dict[str, float]:
        return {name: t.default for name, t in self.thresholds.items()}


def _levels(what: str) -> dict[str, str]:
    return {t: what for t in ("yes_no", "yes_partial_no", "choice")}


def _share(default: float, meaning: str) -> Threshold:
    return Threshold(default, meaning, 0.0, 1.0)

MEASURES: dict[str, LogMeasure] = {m.id: m for m in (
    LogMeasure(
        "mfa_share", "share of successful logins/sessions authenticated with more than one factor",
        claims={**_levels("multi-factor authentication on (nearly) every interactive session"),
                "percentage": "the percentage of interactive sessions authenticated with more than one factor"},
        thresholds={
            "min_sessions": Threshold(30, "interactive sessions needed before the share is judged", 1, integer=True),
            "margin_pts": Threshold(0.5, "points the measured share may fall under a claimed percentage "
                                         "(answers are whole %) beyond the upper bound", 0, 100),
            "z": Threshold(3.09, "one-sided z of the Wilson upper bound of the share (3.09: 99.9%)", 0.5, 10),
            "yes_share": _share(0.98, "MFA share the logs call yes"),
            "partial_share": _share(0.90, "MFA share the logs call partial"),
        }),
    LogMeasure(
        "leaver_activity", "events by users after their end_date (days to disable, accounts still active)",
        claims={**_levels("leavers' access removed promptly"),
                "number": "the days within which a leaver's account is disabled"},
        thresholds={
            "grace_days": Threshold(1, "days after the claim a leaver's last use is still not a contradiction",
                                    0, 365, integer=True),
            "yes_max_days": Threshold(1, "latest use after leaving (days) the logs call yes", 0, 365, integer=True),
            "partial_max_days": Threshold(7, "latest use after leaving (days) the logs call partial", 0, 365,
                                          integer=True),
        }),
    LogMeasure(
        "dormant_accounts", "accounts with no activity for 90 days or more that are still enabled",
        claims={**_levels("no enabled account left idle (unneeded accounts removed)"),
                "date": "the date of the last full review of accounts"},
        thresholds={
            "partial_max": Threshold(5, "idle accounts still called partial (none: yes; more: no)", 0, integer=True),
            "review_fresh_days": Threshold(183, "a claimed review older than this is not tested", 1, 3650,
                                           integer=True),
            "review_idle_days": Threshold(90, "idle days at the review that the review should have caught", 1,
                                          3650, integer=True),
        }),
    LogMeasure(
        "shared_accounts", "accounts used from several IPs or sessions at once (shared or generic logons)",
        claims=_levels("accounts are named and used by one person"),
        thresholds={
            "min_accounts": Threshold(1, "accounts with overlapping sessions from different networks needed "
                                         "to contradict", 1, integer=True),
        }),
    LogMeasure(
        "explained_access_rate", "share of record views explained by an involvement (legitimate relationship)",
        claims=_levels("record views limited to children the body has a case with"),
        thresholds={
            "min_reads": Threshold(50, "views needing a case of the body's own before the rate is judged", 1,
                                   integer=True),
            "yes_rate": _share(0.95, "explained share a yes implies"),
            "partial_rate": _share(0.85, "explained share a partial implies"),
            "tolerance": _share(0.05, "share of legitimate context the logs may miss before contradicting"),
        }),
    LogMeasure(
        "shielded_accesses", "views of shielded records, and overrides without a recorded purpose",
        claims=_levels("shielded records opened only with a reason"),
        thresholds={
            "partial_max": Threshold(2, "overrides with no involvement behind them still called partial "
                                        "(none: yes; more: no)", 0, integer=True),
        }),
    LogMeasure(
        "export_volume", "exports and prints per user against their caseload",
        claims=_levels("exports restricted to approved, purposeful extracts"),
        thresholds={
            "adhoc_users": Threshold(2, "users exporting without an allowed purpose that show export is "
                                        "not restricted", 1, integer=True),
            "bulk_day": Threshold(20, "ad-hoc exports by one user in a day that show it too", 1, integer=True),
        }),
    LogMeasure(
        "undeclared_networks", "share of sessions from networks the organisation did not declare",
        claims=_levels("access only from the networks the body declared"),
        thresholds={
            "min_ip_events": Threshold(100, "events with a source address needed", 1, integer=True),
            "yes_share": _share(0.01, "undeclared share under which the logs call yes"),
            "partial_share": _share(0.05, "undeclared share under which the logs call partial"),
            "tolerance": _share(0.01, "undeclared share allowed beyond those before contradicting"),
        }),
    LogMeasure(
        "log_retention", "gaps in the organisation's log stream (days without events on working days)",
        claims={**_levels("audit records generated and kept whole"),
                "number": "the months of whole access logs kept"},
        thresholds={
            "full_months": Threshold(6, "months claimed that imply whole logs over the period", 0, integer=True),
            "gap_days": Threshold(3, "days of significant silence that show the logs are not whole", 1,
                                  integer=True),
        }),
    LogMeasure("purpose_recorded", "share of record accesses with a non-blank, non-default purpose"),
    LogMeasure("vetting_before_access", "users whose first login precedes their vetting date"),
    LogMeasure("training_current", "activity by users whose training had lapsed"),
    LogMeasure("admin_accounts", "accounts performing administrative actions, against the declared number"),
    LogMeasure("user_count", "active users seen in the logs, against the declared number"),
)}

# Log measures: what each one measures (the vocabulary; `MEASURES` says which can test what).
LOG_MEASURES: dict[str, str] = {m.id: m.meaning for m in MEASURES.values()}

KNOWN_LOG_CHECKS: frozenset[str] = DETECTOR_IDS | frozenset(LOG_MEASURES)

# The measure whose answers declare something the measure itself needs: the network ranges an
# organisation writes in the answer, evidence or comment of any control naming `undeclared_networks`.
NETWORKS = "undeclared_networks"


def is_known(check: str) -> bool:
    """True when `check` is a detector id or a log measure."""
    return check in KNOWN_LOG_CHECKS


def threshold_problems(measure: str, values: Mapping[str, object]) -> list[tuple[str, str]]:
    """(name, what is wrong) for each unknown or out-of-range threshold of `measure`."""
    spec = MEASURES[measure]
    problems = []
    for name, value in values.items():
        t = spec.thresholds.get(name)
        if t is None:
            known = ", ".join(spec.thresholds) or "none"
            problems.append((name, f"unknown threshold for {measure}; known: {known}"))
        elif (msg := t.check(value)) is not None:
            problems.append((name, msg))
    return problems


def check_corroboration_config(config: AuditConfig) -> AuditConfig:
    """Check the configuration's corroboration thresholds against the measures; ConfigError naming the
    file and key. (The configuration sits below the catalogue, so this runs when a run's configuration
    is resolved. Control ids under `corroboration.controls` are checked against the catalogue when it
    is assessed.)"""
    cc = config.corroboration
    for measure, values in cc.thresholds.items():
        _check_measure(config.source, f"corroboration.thresholds.{measure}", measure, values)
    for checklist, controls in cc.controls.items():
        for control_id, by_measure in controls.items():
            for measure, values in by_measure.items():
                _check_measure(config.source, f"corroboration.controls.{checklist}.{control_id}.{measure}",
                               measure, values)
    return config


def _check_measure(source: str, key: str, measure: str, values: Mapping[str, object]) -> None:
    spec = MEASURES.get(measure)
    if spec is None or not spec.testable:
        testable = ", ".join(m.id for m in MEASURES.values() if m.testable)
        what = "has no corroboration test" if spec is not None else "is not a log measure"
        raise ConfigError(f"{source}: key {key}: {measure!r} {what}; measures with tests: {testable}")
    for name, msg in threshold_problems(measure, values):
        raise ConfigError(f"{source}: key {key}.{name}: {msg}")
