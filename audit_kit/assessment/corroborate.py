"""Corroboration: each log-testable questionnaire answer against what the organisation's logs show.

Tests are keyed by **log measure and answer form**, never by control id. Which tests apply to a
control is read from its catalogue entry (`Control.tested_by()`: its `log_checks`, its answer type and
an optional `corroboration` block), so any catalogue — the shipped ones, an OSCAL import given a
measure mapping, a body's own — is corroborated by what its controls say, and a catalogue that reuses
a shipped id for something else is tested as what it says, not as the shipped control.

A test reads the claim and the organisation's `OrgMeasures` and returns an `Outcome`: *corroborated*
when the logs are consistent with the answer, *contradicted* when they show practice clearly worse
than claimed, *no evidence* when the logs hold too little to judge. Tests lean towards *no evidence*
near a threshold: a wrongly contradicted answer is an accusation, so every contradiction needs a
margin and a minimum sample. The thresholds and their defaults are listed in
`audit_kit.catalogue.log_checks.MEASURES` and documented in docs/risk-model.md; a configuration or the
catalogue entry may override them (`plan_for`).

A control no measure tests is *not log-testable*: it gets no check at all (`Plan.untested`), which is
not the same as a check with *no evidence*.

(Why this module runs past 400 lines: one test per (measure, answer form) pair, each short and with its own
thresholds and wording; keeping them in one table-like module is what makes them reviewable side by side.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from audit_kit.assessment.measures import OrgMeasures, Window
from audit_kit.catalogue import Catalogue, Control
from audit_kit.catalogue.log_checks import MEASURES, NETWORKS, Form, check_corroboration_config
from audit_kit.config import AuditConfig
from audit_kit.errors import ConfigError
from audit_kit.models.assessment import CheckStatus, ControlCheck
from audit_kit.models.questionnaire import Answer

# What a test reads of an answer: the validated questionnaire answer.
AnswerLike = Answer

_YPN = {"yes": 2, "partial": 1, "no": 0}
_WORD = {2: "yes", 1: "partial", 0: "no"}
_CREDIT = {"yes": 1.0, "partial": 0.5, "no": 0.0}


@dataclass(frozen=True)
class Claim:
    """An answer as a test reads it: its level (yes 2, partial 1, no 0), number or date, as given."""

    given: str | None
    level: int | None = None
    number: float | None = None
    day: date | None = None


@dataclass(frozen=True)
class Setting:
    """What a test is run with: the window judged, its thresholds, and where networks are declared."""

    window: Window
    t: Mapping[str, float]
    declaring: tuple[str, ...] = ()

    def n(self, name: str) -> int:
        """A whole-number threshold."""
        return int(self.t[name])


@dataclass(frozen=True)
class Outcome:
    """One test's verdict, the observed value, a sentence with the numbers, and the numbers.

    `credit` is what the logs alone say the control achieves (1 yes, 0.5 partial, 0 no; None when
    they cannot say): it rates a body that sent no questionnaire.
    """

    status: CheckStatus
    observed: str | None
    detail: str
    numbers: dict[str, Any]
    credit: float | None = None


Test = Callable[[Claim, OrgMeasures, Setting], Outcome]


# -- helpers --------------------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _upper_bound(successes: int, n: int, z: float) -> float:
    """Wilson score upper bound of a binomial share (how high the true share could plausibly be)."""
    if n == 0:
        return 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / denom)


def _level_of(x: float, yes: float, partial: float, higher_is_better: bool = True) -> int:
    if higher_is_better:
        return 2 if x >= yes else 1 if x >= partial else 0
    return 2 if x <= yes else 1 if x <= partial else 0


def _judge_level(claim: Claim, observed: int, contradicted_if_claim_above: int, seen: str,
                 numbers: dict[str, Any], observed_word: str | None = None) -> Outcome:
    """Compare a yes/partial/no claim with the level the logs show.

    Contradicted when the claim is above `contradicted_if_claim_above` (the best answer the logs
    still allow, margins included); corroborated when it equals the observed level; otherwise (a
    claim between the two, or more modest than the logs) the logs cannot settle it.
    """
    word = observed_word or _WORD[observed]
    credit = _CREDIT[word]
    if claim.level is None:
        return Outcome(CheckStatus.NO_EVIDENCE, word, f"No yes/partial/no answer to test; {seen}.", numbers, credit)
    given = claim.given
    if claim.level > contradicted_if_claim_above:
        return Outcome(CheckStatus.CONTRADICTED, word, f"Answered {given!r}, but {seen}.", numbers, credit)
    if claim.level == observed:
        return Outcome(CheckStatus.CORROBORATED, word, f"Answered {given!r}; {seen}.", numbers, credit)
    if claim.level < observed:
        return Outcome(CheckStatus.NO_EVIDENCE, word,
                       f"Answered {given!r}, more modestly than the logs show: {seen}.", numbers, credit)
    return Outcome(CheckStatus.NO_EVIDENCE, word, (
        f"Answered {given!r}; {seen} — short of what the answer implies, but within the margin the logs "
        "cannot explain for legitimate reasons."), numbers, credit)


def _none(detail: str, numbers: dict[str, Any], observed: str | None = None,
          credit: float | None = None) -> Outcome:
    return Outcome(CheckStatus.NO_EVIDENCE, observed, detail, numbers, credit)


# -- mfa_share --------------------------------------------------------------------------------------------
def _mfa_base(m: OrgMeasures, s: Setting) -> tuple[dict[str, Any], Outcome | None, float, float, str]:
    numbers: dict[str, Any] = {"sessions": m.sessions, "single_factor_sessions": m.single_factor_sessions,
                               "auth_events": m.auth_events, "single_factor_events": m.single_factor_events}
    if m.sessions < s.n("min_sessions"):
        return numbers, _none(
            f"Only {m.sessions} interactive session(s) with a recorded authentication method; "
            f"at least {s.n('min_sessions')} are needed to judge the MFA share.", numbers), 0.0, 0.0, ""
    mfa_sessions = m.sessions - m.single_factor_sessions
    share = mfa_sessions / m.sessions
    upper = _upper_bound(mfa_sessions, m.sessions, s.t["z"])
    numbers |= {"mfa_share": round(share, 4), "mfa_share_upper_bound": round(upper, 4)}
    seen = (f"{m.single_factor_sessions:,} of {m.sessions:,} interactive sessions "
            f"({_pct(1 - share)}) used a single factor")
    return numbers, None, share, upper, seen


def _mfa_credit(numbers: dict[str, Any], s: Setting) -> float:
    return _level_of(float(numbers["mfa_share"]), s.t["yes_share"], s.t["partial_share"]) / 2


def _mfa_percentage(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    numbers, early, share, upper, seen = _mfa_base(m, s)
    if early is not None:
        return early
    observed = f"{100 * share:.1f}"
    credit = _mfa_credit(numbers, s)
    margin = s.t["margin_pts"]
    claimed = claim.number
    if claimed is None:
        return _none(f"No MFA share was claimed; {seen}.", numbers, observed, credit)
    numbers["claimed_share"] = claimed / 100
    if 100 * upper < claimed - margin:
        return Outcome(CheckStatus.CONTRADICTED, observed, (
            f"Claimed {claimed:g}% of sessions use MFA, but {seen}: MFA on {_pct(share)}."), numbers, credit)
    if 100 * share >= claimed - margin:
        return Outcome(CheckStatus.CORROBORATED, observed,
                       f"Claimed {claimed:g}% MFA; {seen} (MFA on {_pct(share)}).", numbers, credit)
    return _none(f"Claimed {claimed:g}% MFA; {seen} (MFA on {_pct(share)}): below the claim, but within what "
                 f"{m.sessions:,} sessions can tell apart.", numbers, observed, credit)


def _mfa_level(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    numbers, early, share, upper, seen = _mfa_base(m, s)
    if early is not None:
        return early
    yes, partial, margin = s.t["yes_share"], s.t["partial_share"], s.t["margin_pts"] / 100
    observed = _level_of(share, yes, partial)
    allowed = _level_of(upper, yes - margin, partial - margin)  # what the share could plausibly be
    seen += f" (MFA on {_pct(share)}; yes needs {_pct(yes)}, partial {_pct(partial)})"
    return _judge_level(claim, observed, allowed, seen, numbers)


# -- leaver_activity --------------------------------------------------------------------------------------
def _leaver_base(m: OrgMeasures) -> tuple[dict[str, Any], str]:
    numbers: dict[str, Any] = {"leavers": m.leavers, "leavers_active_after": m.leavers_active_after,
                               "events_after_leaving": m.leaver_events_after,
                               "max_days_active_after": m.leaver_max_days_after}
    seen = (f"{m.leavers_active_after} of {m.leavers} leaver(s) used their account after leaving, "
            f"up to {m.leaver_max_days_after} day(s) after their end date") if m.leavers_active_after else (
            f"none of {m.leavers} leaver(s) used their account after their end date")
    return numbers, seen


_NO_LEAVERS = "No user left before the assessment date, so leaver removal cannot be seen."


def _leaver_credit(m: OrgMeasures, s: Setting) -> float:
    return _level_of(m.leaver_max_days_after, s.t["yes_max_days"], s.t["partial_max_days"], False) / 2


def _leavers_days(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    numbers, seen = _leaver_base(m)
    if m.leavers == 0:
        return _none(_NO_LEAVERS, numbers)
    observed = str(m.leaver_max_days_after)
    credit = _leaver_credit(m, s)
    claimed = claim.number
    if claimed is None:
        return _none(f"No time to disable leavers was claimed; {seen}.", numbers, observed, credit)
    numbers["claimed_days"] = claimed
    if m.leavers_active_after and m.leaver_max_days_after > claimed + s.t["grace_days"]:
        return Outcome(CheckStatus.CONTRADICTED, observed,
                       f"Claimed leavers are disabled within {claimed:g} day(s), but {seen}.", numbers, credit)
    if not m.leavers_active_after:
        # Leavers who never tried to log in again prove nothing about how fast accounts are disabled.
        return _none(f"Claimed {claimed:g} day(s) to disable leavers; {seen}.", numbers, observed, credit)
    return Outcome(CheckStatus.CORROBORATED, observed,
                   f"Claimed {claimed:g} day(s) to disable leavers; {seen}.", numbers, credit)


def _leavers_level(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    numbers, seen = _leaver_base(m)
    if m.leavers == 0:
        return _none(_NO_LEAVERS, numbers)
    if not m.leavers_active_after:
        return _none(f"No leaver came back to test the answer against; {seen}.", numbers, "yes", 1.0)
    days, grace = m.leaver_max_days_after, s.t["grace_days"]
    yes, partial = s.t["yes_max_days"], s.t["partial_max_days"]
    observed = _level_of(days, yes, partial, higher_is_better=False)
    allowed = _level_of(days, yes + grace, partial + grace, higher_is_better=False)
    return _judge_level(claim, observed, allowed, seen + f" (yes allows {yes:g} day(s), partial {partial:g})", numbers)


# -- dormant_accounts -------------------------------------------------------------------------------------
def _dormant_level(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    numbers: dict[str, Any] = {"enabled_accounts": m.enabled_accounts, "dormant_accounts": m.dormant_accounts,
                               "idle_days_threshold": m.dormant_threshold_days}
    if m.enabled_accounts == 0:
        return _none("No enabled accounts are known for this organisation.", numbers)
    observed = 2 if m.dormant_accounts == 0 else 1 if m.dormant_accounts <= s.t["partial_max"] else 0
    seen = (f"{m.dormant_accounts} of {m.enabled_accounts} enabled account(s) were idle for "
            f"{m.dormant_threshold_days}+ days")
    return _judge_level(claim, observed, observed, seen, numbers)


def _review_date(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    w = s.window
    numbers: dict[str, Any] = {"enabled_accounts": m.enabled_accounts, "dormant_accounts": m.dormant_accounts,
                               "longest_idle_days_seen": m.max_idle_days, "log_days": w.days}
    if m.enabled_accounts == 0:
        return _none("No enabled accounts are known for this organisation.", numbers)
    observed = str(m.max_idle_days)
    if claim.day is None:
        return _none("No review date was given.", numbers, observed)
    age = (w.as_of - claim.day).days
    idle, fresh = s.n("review_idle_days"), s.n("review_fresh_days")
    needed = idle + age  # idle this long now = already `idle` days idle at the review
    numbers |= {"claimed_review_age_days": age, "idle_days_that_would_contradict": needed}
    if age > fresh:
        return _none(f"The last review claimed is {age} days old: no recent review is claimed to test.",
                     numbers, observed)
    if m.max_idle_days >= needed:
        return Outcome(CheckStatus.CONTRADICTED, observed, (
            f"A full access review is claimed {age} days ago, yet an enabled account has been idle for "
            f"{m.max_idle_days} days: it was already {idle}+ days idle at the review."), numbers)
    if w.days >= needed:
        return Outcome(CheckStatus.CORROBORATED, observed, (
            f"A review is claimed {age} days ago; no enabled account was idle long enough to have "
            f"survived it (longest idle {m.max_idle_days} days)."), numbers)
    return _none(f"A review is claimed {age} days ago; {w.days} days of logs cannot show an account idle for the "
                 f"{needed} days that would contradict it.", numbers, observed)


# -- shared_accounts --------------------------------------------------------------------------------------
def _named_level(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    numbers: dict[str, Any] = {"users_with_sessions": m.users_with_sessions, "users_concurrent": m.users_concurrent,
                               "overlapping_sessions": m.concurrent_overlaps}
    if m.users_with_sessions == 0:
        return _none("No sessions with a source address were logged.", numbers)
    seen = (f"{m.users_concurrent} of {m.users_with_sessions} account(s) had overlapping sessions from "
            f"different networks ({m.concurrent_overlaps} overlap(s))")
    if m.users_concurrent >= s.n("min_accounts"):
        return _judge_level(claim, 0, 0, seen, numbers)
    # No overlap seen is consistent with named accounts but proves little: a shared password used in
    # turns leaves no overlap. So it never corroborates, and earns no credit on its own.
    return _none(f"No overlap to test the answer against; {seen}.", numbers, "yes")


# -- explained_access_rate --------------------------------------------------------------------------------
def _explained_level(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    numbers: dict[str, Any] = {"views": m.reads, "views_by_entitled_roles": m.entitled_reads,
                               "caseload_views": m.caseload_reads, "views_with_involvement": m.involved_reads}
    if m.caseload_reads < s.n("min_reads"):
        return _none(f"Only {m.caseload_reads} record view(s) needing a case of the body's own were logged; at "
                     f"least {s.n('min_reads')} are needed.", numbers)
    rate = m.involved_reads / m.caseload_reads
    numbers["explained_rate"] = round(rate, 4)
    yes, partial, tol = s.t["yes_rate"], s.t["partial_rate"], s.t["tolerance"]
    observed = _level_of(rate, yes, partial)
    allowed = _level_of(rate, yes - tol, partial - tol)
    seen = (f"{_pct(rate)} of {m.caseload_reads:,} views by staff without a cross-caseload entitlement trace to "
            "an involvement of the body with the child")
    return _judge_level(claim, observed, allowed, seen, numbers)


# -- shielded_accesses ------------------------------------------------------------------------------------
def _shielded_level(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    numbers: dict[str, Any] = {"overrides": m.shielded_overrides,
                               "overrides_without_involvement": m.overrides_unexplained,
                               "shielded_reads": m.shielded_reads, "shielded_children_read": m.shielded_children_read}
    if m.reads == 0 and m.shielded_overrides == 0:
        return _none("No record views were logged.", numbers)
    n = m.overrides_unexplained
    observed = 2 if n == 0 else 1 if n <= s.t["partial_max"] else 0
    seen = (f"{n} override(s) opened a shielded record with no involvement behind it "
            f"({m.shielded_overrides} override(s) in all, {m.shielded_reads} read(s) of shielded records)")
    return _judge_level(claim, observed, observed, seen, numbers)


# -- export_volume ----------------------------------------------------------------------------------------
def _exports_level(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    numbers: dict[str, Any] = {"exports": m.exported_records, "adhoc_exports": m.adhoc_exports,
                               "adhoc_export_users": m.adhoc_export_users,
                               "max_adhoc_one_user_one_day": m.max_user_day_export,
                               "exports_and_prints": m.export_events, "caseload": m.caseload}
    if m.reads == 0 and m.export_events == 0:
        return _none("No record activity was logged.", numbers)
    loose = m.adhoc_export_users >= s.t["adhoc_users"] or m.max_user_day_export >= s.t["bulk_day"]
    seen = (f"{m.adhoc_exports:,} export(s) without an allowed purpose by {m.adhoc_export_users} user(s), "
            f"up to {m.max_user_day_export:,} by one user in a day")
    observed = 0 if loose else 2
    return _judge_level(claim, observed, observed, seen, numbers)


# -- undeclared_networks ----------------------------------------------------------------------------------
def _networks_level(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    numbers: dict[str, Any] = {"events_with_address": m.ip_events, "declared_networks": m.declared_networks,
                               "undeclared_events": m.undeclared_ip_events,
                               "undeclared_addresses": len(m.undeclared_ips)}
    if not m.declared_networks:
        where = (", ".join(s.declaring[:-1]) + " or " + s.declaring[-1] if len(s.declaring) > 1
                 else s.declaring[0] if s.declaring else "the controls naming this measure")
        return _none(f"No network ranges were declared in the answers, evidence or comments to {where}, so "
                     "source addresses cannot be checked.", numbers)
    if m.ip_events < s.n("min_ip_events"):
        return _none(f"Only {m.ip_events} event(s) carry a source address.", numbers)
    share = m.undeclared_ip_events / m.ip_events
    numbers["undeclared_share"] = round(share, 4)
    yes, partial, tol = s.t["yes_share"], s.t["partial_share"], s.t["tolerance"]
    observed = 2 if share < yes else 1 if share < partial else 0
    allowed = 2 if share < yes + tol else 1 if share < partial + tol else 0
    seen = (f"{_pct(share)} of {m.ip_events:,} events came from {len(m.undeclared_ips)} address(es) outside the "
            f"declared ranges ({', '.join(m.declared_networks[:4])})")
    return _judge_level(claim, observed, allowed, seen, numbers)


# -- log_retention ----------------------------------------------------------------------------------------
def _retention_base(m: OrgMeasures, s: Setting) -> tuple[dict[str, Any], bool, str]:
    numbers: dict[str, Any] = {"silent_weekdays": m.silent_weekdays, "longest_silence_days": m.longest_silence_days,
                               "usual_weekday_events": m.usual_weekday_events, "period_days": s.window.days}
    gap = m.longest_silence_days >= s.t["gap_days"]
    seen = (f"its log stream fell silent for {m.longest_silence_days} day(s) although it usually sends "
            f"{m.usual_weekday_events:,} events a weekday") if gap else (
            f"its log stream has no significant silence in {s.window.days} days")
    return numbers, gap, seen


_NO_EVENTS = "The organisation sent no events at all in the period."


def _retention_months(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    numbers, gap, seen = _retention_base(m, s)
    if m.events == 0:
        return _none(_NO_EVENTS, numbers)
    observed = "gap" if gap else "complete"
    credit = 0.0 if gap else 1.0
    claimed = claim.number
    if claimed is None:
        return _none(f"No retention was claimed; {seen}.", numbers, observed, credit)
    numbers["claimed_months"] = claimed
    full = s.t["full_months"]
    if claimed >= full and gap:
        return Outcome(CheckStatus.CONTRADICTED, observed,
                       f"Claimed whole logs are kept for {claimed:g} months, but {seen}.", numbers, credit)
    if claimed < full and not gap:
        return _none(f"Claimed {claimed:g} months of logs; {seen} (the central log cannot show local retention).",
                     numbers, observed, credit)
    return Outcome(CheckStatus.CORROBORATED, observed, f"Claimed {claimed:g} months of logs; {seen}.", numbers, credit)


def _retention_level(claim: Claim, m: OrgMeasures, s: Setting) -> Outcome:
    numbers, gap, seen = _retention_base(m, s)
    if m.events == 0:
        return _none(_NO_EVENTS, numbers)
    # A silence shows records missing: "yes" is contradicted; "partial" admits a shortfall.
    return _judge_level(claim, 0 if gap else 2, 1 if gap else 2, seen, numbers)


# Every test, by log measure and answer form (`MEASURES` says which answer types take each form).
TESTS: dict[tuple[str, Form], Test] = {
    ("mfa_share", Form.LEVEL): _mfa_level,
    ("mfa_share", Form.QUANTITY): _mfa_percentage,
    ("leaver_activity", Form.LEVEL): _leavers_level,
    ("leaver_activity", Form.QUANTITY): _leavers_days,
    ("dormant_accounts", Form.LEVEL): _dormant_level,
    ("dormant_accounts", Form.DATE): _review_date,
    ("shared_accounts", Form.LEVEL): _named_level,
    ("explained_access_rate", Form.LEVEL): _explained_level,
    ("shielded_accesses", Form.LEVEL): _shielded_level,
    ("export_volume", Form.LEVEL): _exports_level,
    ("undeclared_networks", Form.LEVEL): _networks_level,
    ("log_retention", Form.LEVEL): _retention_level,
    ("log_retention", Form.QUANTITY): _retention_months,
}


# -- the plan: which tests each control of a catalogue gets, with which thresholds --------------------------
@dataclass(frozen=True)
class PlannedTest:
    """One measure testing one control: the form of the comparison and the thresholds in force."""

    measure: str
    form: Form
    thresholds: Mapping[str, float]
    overridden: Mapping[str, float] = field(default_factory=dict)  # those that differ from the defaults


@dataclass(frozen=True)
class ControlPlan:
    control: Control
    tests: tuple[PlannedTest, ...]


@dataclass(frozen=True)
class Plan:
    """How a catalogue's answers are corroborated: the log-testable controls (catalogue order), the
    controls no measure tests, and the controls whose answers declare network ranges."""

    checklist_id: str
    controls: tuple[ControlPlan, ...] = ()
    untested: tuple[str, ...] = ()
    declaring: tuple[str, ...] = ()

    @property
    def tested(self) -> tuple[str, ...]:
        return tuple(cp.control.id for cp in self.controls)


def plan_for(catalogue: Catalogue | None, config: AuditConfig | None = None) -> Plan:
    """Which test each control of `catalogue` gets. Thresholds: the measure's defaults, then the
    configuration's `corroboration.thresholds`, then the control's own `corroboration.thresholds`, then
    the configuration's `corroboration.controls.<checklist>.<control>`. ConfigError (naming the file and
    key) when the configuration names a control the catalogue lacks or a measure that does not test it."""
    if catalogue is None:
        return Plan(checklist_id="")
    cfg = check_corroboration_config(config or AuditConfig())
    by_measure = cfg.corroboration.thresholds
    per_control = cfg.corroboration.controls.get(catalogue.id, {})
    known = catalogue.by_id()
    for control_id, measures in per_control.items():
        key = f"{cfg.source}: key corroboration.controls.{catalogue.id}.{control_id}"
        if control_id not in known:
            raise ConfigError(f"{key}: no control {control_id!r} in checklist {catalogue.id}")
        tested = known[control_id].tested_by()
        for measure in measures:
            if measure not in tested:
                raise ConfigError(f"{key}.{measure}: {measure!r} does not test {control_id} (tested by: "
                                  f"{', '.join(tested) or 'nothing: not log-testable'})")
    planned: list[ControlPlan] = []
    untested: list[str] = []
    for c in catalogue.controls:
        tests = []
        for measure in c.tested_by():
            spec = MEASURES[measure]
            form = spec.form(c.answer_type.value)
            if form is None or (measure, form) not in TESTS:
                continue
            defaults = spec.defaults()
            values = dict(defaults)
            values.update(by_measure.get(measure, {}))
            if c.corroboration is not None:
                values.update(c.corroboration.thresholds.get(measure, {}))
            values.update(per_control.get(c.id, {}).get(measure, {}))
            overridden = {k: v for k, v in values.items() if v != defaults[k]}
            tests.append(PlannedTest(measure, form, values, overridden))
        if tests:
            planned.append(ControlPlan(c, tuple(tests)))
        else:
            untested.append(c.id)
    declaring = tuple(c.id for c in catalogue.controls if NETWORKS in c.log_checks)
    return Plan(catalogue.id, tuple(planned), tuple(untested), declaring)


def declared_texts(plan: Plan, answers: Mapping[str, AnswerLike]) -> list[str]:
    """The free text in which an organisation declares its networks: the answer, evidence and comment
    of every control that names `undeclared_networks` in its log checks."""
    return [t for cid in plan.declaring if (a := answers.get(cid)) is not None
            for t in (a.answer, a.evidence, a.comment)]


# -- corroboration of one organisation ----------------------------------------------------------------------
@dataclass
class OrgCorroboration:
    """One organisation's checks (one per log-testable control) and what the logs alone say each control
    achieves (`credits`, only where they can say)."""

    checks: list[ControlCheck] = field(default_factory=list)
    credits: dict[str, float] = field(default_factory=dict)


def corroborate(
    org_id: str, answers: Mapping[str, AnswerLike], measures: OrgMeasures, window: Window, plan: Plan,
) -> OrgCorroboration:
    """Every log-testable control of the plan, for one organisation (answered or not)."""
    out = OrgCorroboration()
    for cp in plan.controls:
        c = cp.control
        answer = answers.get(c.id)
        claim = _claim(answer, c)
        outcomes = [(t, TESTS[(t.measure, t.form)](claim, measures, Setting(window, t.thresholds, plan.declaring)))
                    for t in cp.tests]
        test, outcome = _combine(outcomes)
        status = outcome.status
        if answer is not None and answer.answer == "n/a" and status is CheckStatus.CONTRADICTED:
            status = CheckStatus.NO_EVIDENCE  # n/a is judged by the reviewer, not the logs
        out.checks.append(ControlCheck(
            org_id=org_id, control_id=c.id, control_title=c.title, measure=test.measure,
            claimed=None if answer is None else answer.answer, observed=outcome.observed,
            status=status, detail=outcome.detail, measures={k: _jsonable(v) for k, v in outcome.numbers.items()},
        ))
        if outcome.credit is not None:
            out.credits[c.id] = outcome.credit
    return out


def _combine(outcomes: list[tuple[PlannedTest, Outcome]]) -> tuple[PlannedTest, Outcome]:
    """One verdict for a control several measures test: the first contradiction, else the first
    corroboration, else the first test. The other tests' results are kept in the numbers; the credit
    is the lowest any test gives (the weakest part of a composite control bounds it)."""
    def lead(pair: tuple[PlannedTest, Outcome]) -> Outcome:
        test, o = pair
        if test.overridden:
            return Outcome(o.status, o.observed, o.detail, o.numbers | {"thresholds": dict(test.overridden)},
                           o.credit)
        return o

    if len(outcomes) == 1:
        return outcomes[0][0], lead(outcomes[0])
    order = [CheckStatus.CONTRADICTED, CheckStatus.CORROBORATED, CheckStatus.NO_EVIDENCE]
    first = min(range(len(outcomes)), key=lambda i: (order.index(outcomes[i][1].status), i))
    test, main = outcomes[first][0], lead(outcomes[first])
    others = {t.measure: {"status": o.status.value, "observed": o.observed, "detail": o.detail, **o.numbers}
              for i, (t, o) in enumerate(outcomes) if i != first}
    also = " ".join(f"[{t.measure}: {o.status.value.replace('_', ' ')} — {o.detail}]"
                    for i, (t, o) in enumerate(outcomes) if i != first)
    credits = [o.credit for _, o in outcomes if o.credit is not None]
    return test, Outcome(main.status, main.observed, f"{main.detail} Also tested: {also}",
                         main.numbers | {"other_measures": others}, min(credits) if credits else None)


def _claim(answer: AnswerLike | None, control: Control) -> Claim:
    if answer is None:
        return Claim(given=None)
    text = (answer.answer or "").strip().lower()
    level = _YPN.get(text)
    if level is None and control.choices and text in {k.lower() for k in control.choices}:
        credit = {k.lower(): v for k, v in control.choices.items()}[text]
        level = 2 if credit >= 1 else 0 if credit <= 0 else 1
    return Claim(given=answer.answer, level=level, number=_number(answer), day=_date(answer))


def _number(answer: AnswerLike) -> float | None:
    if answer.value is not None:
        return float(answer.value)
    try:
        return float(str(answer.answer).strip().rstrip("%"))
    except ValueError:
        return None


def _date(answer: AnswerLike) -> date | None:
    try:
        return date.fromisoformat(str(answer.answer).strip()[:10])
    except ValueError:
        return None


def _jsonable(v: object) -> object:
    if isinstance(v, date):
        return v.isoformat()
    return v
