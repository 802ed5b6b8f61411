"""Corroboration: each log-testable questionnaire answer against what the organisation's logs show.

One rule per control (keyed by the control ids of the `accessing-organisation` catalogue; any
catalogue reusing these ids gets the same tests). A rule reads the claimed answer and the org's
`OrgMeasures` and returns a `ControlCheck`: *corroborated* when the logs are consistent with the
answer, *contradicted* when they show practice clearly worse than claimed, *no evidence* when the
logs hold too little to judge. Rules lean towards *no evidence* near a threshold: a wrongly
contradicted answer is an accusation, so every contradiction needs a margin and a minimum sample.
The thresholds are documented in docs/risk-model.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from audit_kit.assessment.measures import OrgMeasures, Window
from audit_kit.models.assessment import CheckStatus, ControlCheck
from audit_kit.models.questionnaire import Answer

# What a rule reads of an answer: the validated questionnaire answer.
AnswerLike = Answer


# Margins and minimum samples (see docs/risk-model.md, "Corroboration rules").
MIN_SESSIONS = 30  # IAM-02: sessions needed before a share is judged
MFA_MARGIN_PTS = 0.5  # IAM-02: measured MFA share may fall this many points (answers are whole %) …
Z_999 = 3.09  # … beyond the one-sided 99.9% binomial upper bound
LEAVER_GRACE_DAYS = 1  # PPL-05: a last-day login the morning after is not a contradiction
DORMANT_PARTIAL_MAX = 5  # IAM-04: a handful of idle accounts is "partial"; more is "no"
REVIEW_FRESH_DAYS = 183  # IAM-05: a claimed review within six months …
REVIEW_IDLE_DAYS = 90  # … should have removed accounts idle this long at the time of the review
MIN_READS = 50  # NTK-02: views needed before the explained rate is judged
EXPLAINED_YES = 0.95  # NTK-02: "yes" implies at least this share of views explained …
EXPLAINED_PARTIAL = 0.85  # … "partial" at least this share …
EXPLAINED_TOLERANCE = 0.05  # … and the logs may miss this much legitimate context before contradicting
OVERRIDES_PARTIAL_MAX = 2  # NTK-03: overrides with no involvement behind them: 0 yes, 1–2 partial, more no
EXPORT_ADHOC_USERS = 2  # NTK-05: ad-hoc exports by this many users means export is not restricted …
EXPORT_BULK_DAY = 20  # … or one user exporting this many records ad hoc in a day
MIN_IP_EVENTS = 100  # DEV-04: events with an address needed
UNDECLARED_YES = 0.01  # DEV-04: "yes" implies under 1% of events from undeclared networks …
UNDECLARED_PARTIAL = 0.05  # … "partial" under 5% …
UNDECLARED_TOLERANCE = 0.01  # … with this tolerance before contradicting
RETENTION_FULL_MONTHS = 6  # MON-03: a claim of 6+ months of whole logs …
LOG_GAP_DAYS = 3  # … is contradicted by a significant silence of 3+ days

_YPN = {"yes": 2, "partial": 1, "no": 0}
_WORD = {2: "yes", 1: "partial", 0: "no"}
Result = tuple[CheckStatus, str | None, str, dict]


@dataclass(frozen=True)
class Rule:
    """How one control's answer is tested: the log measure it uses and the test itself."""

    control_id: str
    measure: str
    test: Callable[[AnswerLike | None, OrgMeasures, Window], Result]


def _claim_level(answer: AnswerLike | None) -> int | None:
    """yes 2, partial 1, no 0; None for n/a, blanks and anything else."""
    if answer is None:
        return None
    return _YPN.get((answer.answer or "").strip().lower())


def _number(answer: AnswerLike | None) -> float | None:
    if answer is None:
        return None
    if answer.value is not None:
        return float(answer.value)
    try:
        return float(str(answer.answer).strip().rstrip("%"))
    except ValueError:
        return None


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _upper_bound(successes: int, n: int, z: float = Z_999) -> float:
    """Wilson score upper bound of a binomial share (how high the true share could plausibly be)."""
    if n == 0:
        return 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / denom)


def _judge_level(answer: AnswerLike | None, observed: int, contradicted_if_claim_above: int, seen: str,
                 numbers: dict, observed_word: str | None = None) -> Result:
    """Compare a yes/partial/no claim with the level the logs show.

    Contradicted when the claim is above `contradicted_if_claim_above` (the best answer the logs
    still allow, margins included); corroborated when it equals the observed level; otherwise (a
    claim between the two, or more modest than the logs) the logs cannot settle it.
    """
    word = observed_word or _WORD[observed]
    claim = _claim_level(answer)
    if claim is None or answer is None:
        return CheckStatus.NO_EVIDENCE, word, f"No yes/partial/no answer to test; {seen}.", numbers
    given = answer.answer
    if claim > contradicted_if_claim_above:
        return CheckStatus.CONTRADICTED, word, f"Answered {given!r}, but {seen}.", numbers
    if claim == observed:
        return CheckStatus.CORROBORATED, word, f"Answered {given!r}; {seen}.", numbers
    if claim < observed:
        return CheckStatus.NO_EVIDENCE, word, f"Answered {given!r}, more modestly than the logs show: {seen}.", numbers
    return CheckStatus.NO_EVIDENCE, word, (
        f"Answered {given!r}; {seen} — short of what the answer implies, but within the margin the logs "
        "cannot explain for legitimate reasons."), numbers


# -- the rules ------------------------------------------------------------------------------------------
def _mfa(answer: AnswerLike | None, m: OrgMeasures, w: Window) -> Result:
    numbers: dict = {"sessions": m.sessions, "single_factor_sessions": m.single_factor_sessions,
                     "auth_events": m.auth_events, "single_factor_events": m.single_factor_events}
    if m.sessions < MIN_SESSIONS:
        return CheckStatus.NO_EVIDENCE, None, (
            f"Only {m.sessions} interactive session(s) with a recorded authentication method; "
            f"at least {MIN_SESSIONS} are needed to judge the MFA share."), numbers
    mfa_sessions = m.sessions - m.single_factor_sessions
    share = mfa_sessions / m.sessions
    upper = _upper_bound(mfa_sessions, m.sessions)
    numbers |= {"mfa_share": round(share, 4), "mfa_share_upper_bound": round(upper, 4)}
    observed = f"{100 * share:.1f}"
    seen = (f"{m.single_factor_sessions:,} of {m.sessions:,} interactive sessions "
            f"({_pct(1 - share)}) used a single factor")
    claimed = _number(answer)
    if claimed is None:
        return CheckStatus.NO_EVIDENCE, observed, f"No MFA share was claimed; {seen}.", numbers
    numbers["claimed_share"] = claimed / 100
    if 100 * upper < claimed - MFA_MARGIN_PTS:
        return CheckStatus.CONTRADICTED, observed, (
            f"Claimed {claimed:g}% of sessions use MFA, but {seen}: MFA on {_pct(share)}."), numbers
    if 100 * share >= claimed - MFA_MARGIN_PTS:
        return CheckStatus.CORROBORATED, observed, f"Claimed {claimed:g}% MFA; {seen} (MFA on {_pct(share)}).", numbers
    return CheckStatus.NO_EVIDENCE, observed, (
        f"Claimed {claimed:g}% MFA; {seen} (MFA on {_pct(share)}): below the claim, but within what "
        f"{m.sessions:,} sessions can tell apart."), numbers


def _leavers(answer: AnswerLike | None, m: OrgMeasures, w: Window) -> Result:
    numbers: dict = {"leavers": m.leavers, "leavers_active_after": m.leavers_active_after,
                     "events_after_leaving": m.leaver_events_after, "max_days_active_after": m.leaver_max_days_after}
    if m.leavers == 0:
        return CheckStatus.NO_EVIDENCE, None, (
            "No user left before the assessment date, so leaver removal cannot be seen."), numbers
    observed = str(m.leaver_max_days_after)
    seen = (f"{m.leavers_active_after} of {m.leavers} leaver(s) used their account after leaving, "
            f"up to {m.leaver_max_days_after} day(s) after their end date") if m.leavers_active_after else (
            f"none of {m.leavers} leaver(s) used their account after their end date")
    claimed = _number(answer)
    if claimed is None:
        return CheckStatus.NO_EVIDENCE, observed, f"No time to disable leavers was claimed; {seen}.", numbers
    numbers["claimed_days"] = claimed
    if m.leavers_active_after and m.leaver_max_days_after > claimed + LEAVER_GRACE_DAYS:
        return CheckStatus.CONTRADICTED, observed, (
            f"Claimed leavers are disabled within {claimed:g} day(s), but {seen}."), numbers
    if not m.leavers_active_after:
        # Leavers who never tried to log in again prove nothing about how fast accounts are disabled.
        return CheckStatus.NO_EVIDENCE, observed, f"Claimed {claimed:g} day(s) to disable leavers; {seen}.", numbers
    return CheckStatus.CORROBORATED, observed, f"Claimed {claimed:g} day(s) to disable leavers; {seen}.", numbers


def _users(answer: AnswerLike | None, m: OrgMeasures, w: Window) -> Result:
    numbers: dict = {"enabled_accounts": m.enabled_accounts, "dormant_accounts": m.dormant_accounts,
                     "idle_days_threshold": m.dormant_threshold_days}
    if m.enabled_accounts == 0:
        return CheckStatus.NO_EVIDENCE, None, "No enabled accounts are known for this organisation.", numbers
    observed = 2 if m.dormant_accounts == 0 else 1 if m.dormant_accounts <= DORMANT_PARTIAL_MAX else 0
    seen = (f"{m.dormant_accounts} of {m.enabled_accounts} enabled account(s) were idle for "
            f"{m.dormant_threshold_days}+ days")
    return _judge_level(answer, observed, observed, seen, numbers)


def _review(answer: AnswerLike | None, m: OrgMeasures, w: Window) -> Result:
    numbers: dict = {"enabled_accounts": m.enabled_accounts, "dormant_accounts": m.dormant_accounts,
                     "longest_idle_days_seen": m.max_idle_days, "log_days": w.days}
    if m.enabled_accounts == 0:
        return CheckStatus.NO_EVIDENCE, None, "No enabled accounts are known for this organisation.", numbers
    claimed = _date(answer)
    observed = str(m.max_idle_days)
    if claimed is None:
        return CheckStatus.NO_EVIDENCE, observed, "No review date was given.", numbers
    age = (w.as_of - claimed).days
    needed = REVIEW_IDLE_DAYS + age  # idle this long now = already 90 days idle at the review
    numbers |= {"claimed_review_age_days": age, "idle_days_that_would_contradict": needed}
    if age > REVIEW_FRESH_DAYS:
        return CheckStatus.NO_EVIDENCE, observed, (
            f"The last review claimed is {age} days old: no recent review is claimed to test."), numbers
    if m.max_idle_days >= needed:
        return CheckStatus.CONTRADICTED, observed, (
            f"A full access review is claimed {age} days ago, yet an enabled account has been idle for "
            f"{m.max_idle_days} days: it was already {REVIEW_IDLE_DAYS}+ days idle at the review."), numbers
    if w.days >= needed:
        return CheckStatus.CORROBORATED, observed, (
            f"A review is claimed {age} days ago; no enabled account was idle long enough to have "
            f"survived it (longest idle {m.max_idle_days} days)."), numbers
    return CheckStatus.NO_EVIDENCE, observed, (
        f"A review is claimed {age} days ago; {w.days} days of logs cannot show an account idle for the "
        f"{needed} days that would contradict it."), numbers


def _named(answer: AnswerLike | None, m: OrgMeasures, w: Window) -> Result:
    numbers: dict = {"users_with_sessions": m.users_with_sessions, "users_concurrent": m.users_concurrent,
                     "overlapping_sessions": m.concurrent_overlaps}
    if m.users_with_sessions == 0:
        return CheckStatus.NO_EVIDENCE, None, "No sessions with a source address were logged.", numbers
    seen = (f"{m.users_concurrent} of {m.users_with_sessions} account(s) had overlapping sessions from "
            f"different networks ({m.concurrent_overlaps} overlap(s))")
    if m.users_concurrent:
        return _judge_level(answer, 0, 0, seen, numbers)
    # No overlap seen is consistent with named accounts but proves little: a shared password used in
    # turns leaves no overlap. So it never corroborates.
    return CheckStatus.NO_EVIDENCE, "yes", f"No overlap to test the answer against; {seen}.", numbers


def _explained(answer: AnswerLike | None, m: OrgMeasures, w: Window) -> Result:
    numbers: dict = {"views": m.reads, "views_by_entitled_roles": m.entitled_reads,
                     "caseload_views": m.caseload_reads, "views_with_involvement": m.involved_reads}
    if m.caseload_reads < MIN_READS:
        return CheckStatus.NO_EVIDENCE, None, (
            f"Only {m.caseload_reads} record view(s) needing a case of the body's own were logged; at least "
            f"{MIN_READS} are needed."), numbers
    rate = m.involved_reads / m.caseload_reads
    numbers["explained_rate"] = round(rate, 4)
    observed = 2 if rate >= EXPLAINED_YES else 1 if rate >= EXPLAINED_PARTIAL else 0
    allowed = (2 if rate >= EXPLAINED_YES - EXPLAINED_TOLERANCE
               else 1 if rate >= EXPLAINED_PARTIAL - EXPLAINED_TOLERANCE else 0)
    seen = (f"{_pct(rate)} of {m.caseload_reads:,} views by staff without a cross-caseload entitlement trace to "
            "an involvement of the body with the child")
    return _judge_level(answer, observed, allowed, seen, numbers)


def _shielded(answer: AnswerLike | None, m: OrgMeasures, w: Window) -> Result:
    numbers: dict = {"overrides": m.shielded_overrides, "overrides_without_involvement": m.overrides_unexplained,
                     "shielded_reads": m.shielded_reads, "shielded_children_read": m.shielded_children_read}
    if m.reads == 0 and m.shielded_overrides == 0:
        return CheckStatus.NO_EVIDENCE, None, "No record views were logged.", numbers
    n = m.overrides_unexplained
    observed = 2 if n == 0 else 1 if n <= OVERRIDES_PARTIAL_MAX else 0
    seen = (f"{n} override(s) opened a shielded record with no involvement behind it "
            f"({m.shielded_overrides} override(s) in all, {m.shielded_reads} read(s) of shielded records)")
    return _judge_level(answer, observed, observed, seen, numbers)


def _exports(answer: AnswerLike | None, m: OrgMeasures, w: Window) -> Result:
    numbers: dict = {"exports": m.exported_records, "adhoc_exports": m.adhoc_exports,
                     "adhoc_export_users": m.adhoc_export_users, "max_adhoc_one_user_one_day": m.max_user_day_export,
                     "exports_and_prints": m.export_events, "caseload": m.caseload}
    if m.reads == 0 and m.export_events == 0:
        return CheckStatus.NO_EVIDENCE, None, "No record activity was logged.", numbers
    loose = m.adhoc_export_users >= EXPORT_ADHOC_USERS or m.max_user_day_export >= EXPORT_BULK_DAY
    seen = (f"{m.adhoc_exports:,} export(s) without an allowed purpose by {m.adhoc_export_users} user(s), "
            f"up to {m.max_user_day_export:,} by one user in a day")
    observed = 0 if loose else 2
    return _judge_level(answer, observed, observed, seen, numbers)


def _networks(answer: AnswerLike | None, m: OrgMeasures, w: Window) -> Result:
    numbers: dict = {"events_with_address": m.ip_events, "declared_networks": m.declared_networks,
                     "undeclared_events": m.undeclared_ip_events, "undeclared_addresses": len(m.undeclared_ips)}
    if not m.declared_networks:
        return CheckStatus.NO_EVIDENCE, None, (
            "No network ranges were declared in the DEV-04, GOV-05 or GOV-06 answers, evidence or comments, so "
            "source addresses cannot be checked."), numbers
    if m.ip_events < MIN_IP_EVENTS:
        return CheckStatus.NO_EVIDENCE, None, f"Only {m.ip_events} event(s) carry a source address.", numbers
    share = m.undeclared_ip_events / m.ip_events
    numbers["undeclared_share"] = round(share, 4)
    observed = 2 if share < UNDECLARED_YES else 1 if share < UNDECLARED_PARTIAL else 0
    allowed = (2 if share < UNDECLARED_YES + UNDECLARED_TOLERANCE
               else 1 if share < UNDECLARED_PARTIAL + UNDECLARED_TOLERANCE else 0)
    seen = (f"{_pct(share)} of {m.ip_events:,} events came from {len(m.undeclared_ips)} address(es) outside the "
            f"declared ranges ({', '.join(m.declared_networks[:4])})")
    return _judge_level(answer, observed, allowed, seen, numbers)


def _retention(answer: AnswerLike | None, m: OrgMeasures, w: Window) -> Result:
    numbers: dict = {"silent_weekdays": m.silent_weekdays, "longest_silence_days": m.longest_silence_days,
                     "usual_weekday_events": m.usual_weekday_events, "period_days": w.days}
    if m.events == 0:
        return CheckStatus.NO_EVIDENCE, None, "The organisation sent no events at all in the period.", numbers
    gap = m.longest_silence_days >= LOG_GAP_DAYS
    observed = "gap" if gap else "complete"
    seen = (f"its log stream fell silent for {m.longest_silence_days} day(s) although it usually sends "
            f"{m.usual_weekday_events:,} events a weekday") if gap else (
            f"its log stream has no significant silence in {w.days} days")
    claimed = _number(answer)
    if claimed is None:
        return CheckStatus.NO_EVIDENCE, observed, f"No retention was claimed; {seen}.", numbers
    numbers["claimed_months"] = claimed
    if claimed >= RETENTION_FULL_MONTHS and gap:
        return CheckStatus.CONTRADICTED, observed, (
            f"Claimed whole logs are kept for {claimed:g} months, but {seen}."), numbers
    if claimed < RETENTION_FULL_MONTHS and not gap:
        return CheckStatus.NO_EVIDENCE, observed, (
            f"Claimed {claimed:g} months of logs; {seen} (the central log cannot show local retention)."), numbers
    return CheckStatus.CORROBORATED, observed, f"Claimed {claimed:g} months of logs; {seen}.", numbers


def _date(answer: AnswerLike | None) -> date | None:
    if answer is None:
        return None
    try:
        return date.fromisoformat(str(answer.answer).strip()[:10])
    except ValueError:
        return None


RULES: dict[str, Rule] = {
    r.control_id: r
    for r in (
        Rule("IAM-02", "mfa_share", _mfa),
        Rule("PPL-05", "leaver_activity", _leavers),
        Rule("IAM-04", "dormant_accounts", _users),
        Rule("IAM-05", "dormant_accounts", _review),
        Rule("IAM-01", "shared_accounts", _named),
        Rule("NTK-02", "explained_access_rate", _explained),
        Rule("NTK-03", "shielded_accesses", _shielded),
        Rule("NTK-05", "export_volume", _exports),
        Rule("DEV-04", "undeclared_networks", _networks),
        Rule("GOV-05", "undeclared_networks", _networks),
        Rule("MON-03", "log_retention", _retention),
    )
}
# The controls whose answer text declares network ranges (DEV-04 is tested against them).
NETWORK_DECLARING_CONTROLS = ("DEV-04", "GOV-05", "GOV-06")


def corroborate(
    org_id: str, answers: dict[str, AnswerLike], measures: OrgMeasures, window: Window,
    titles: dict[str, str] | None = None, controls: set[str] | None = None,
) -> list[ControlCheck]:
    """Every log-testable control of the catalogue (`controls`, default all rules) for one org."""
    checks = []
    for control_id, rule in RULES.items():
        if controls is not None and control_id not in controls:
            continue
        answer = answers.get(control_id)
        status, observed, detail, numbers = rule.test(answer, measures, window)
        if answer is not None and answer.answer == "n/a" and status is CheckStatus.CONTRADICTED:
            status = CheckStatus.NO_EVIDENCE  # n/a is judged by the reviewer, not the logs
        checks.append(ControlCheck(
            org_id=org_id, control_id=control_id, control_title=(titles or {}).get(control_id, ""),
            measure=rule.measure, claimed=None if answer is None else answer.answer, observed=observed,
            status=status, detail=detail, measures={k: _jsonable(v) for k, v in numbers.items()},
        ))
    return checks


def _jsonable(v: object) -> object:
    if isinstance(v, date):
        return v.isoformat()
    return v
