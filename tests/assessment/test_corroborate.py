"""Each corroboration test of the shipped catalogue's controls on hand-set measures: contradicted,
corroborated and no-evidence paths (the tests are chosen by each control's catalogue entry)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from audit_kit.assessment.corroborate import Plan, corroborate, plan_for
from audit_kit.assessment.measures import OrgMeasures, Window, parse_networks
from audit_kit.catalogue import load_catalogue
from audit_kit.models.assessment import CheckStatus, ControlCheck
from audit_kit.models.questionnaire import Answer

WINDOW = Window(start=datetime(2026, 9, 1), end=datetime(2026, 11, 1), as_of=date(2026, 10, 31))  # 61 days
C, X, N = CheckStatus.CORROBORATED, CheckStatus.CONTRADICTED, CheckStatus.NO_EVIDENCE
PLAN = plan_for(load_catalogue("accessing-organisation"))


def only(plan: Plan, control_id: str) -> Plan:
    return replace(plan, controls=tuple(cp for cp in plan.controls if cp.control.id == control_id))


def check(control_id: str, answer: str | None, value: float | None = None, evidence: str = "",
          plan: Plan = PLAN, **measures) -> ControlCheck:
    m = OrgMeasures(org_id="LA01", **measures)
    answers = {} if answer is None else {control_id: Answer(control_id, answer, value, evidence)}
    result = corroborate("LA01", answers, m, WINDOW, only(plan, control_id)).checks
    assert len(result) == 1
    return result[0]


@pytest.mark.parametrize(
    ("claimed", "sessions", "single", "status"),
    [
        (100, 1000, 0, C),
        (100, 1000, 15, X),  # 98.5% measured: upper bound 99.2% < 99.5%
        (100, 1000, 6, N),  # 99.4% measured, upper bound 99.7%: cannot tell from 99.5%
        (98, 1000, 15, C),  # the truthful whole-number answer
        (45, 1000, 550, C),  # 45.0% measured
        (45, 1000, 560, N),  # 44.0%: under the claim, within the sampling bound
        (100, 1000, 600, X),
        (100, 20, 10, N),  # too few sessions to judge
    ],
)
def test_mfa(claimed: int, sessions: int, single: int, status: CheckStatus) -> None:
    c = check("IAM-02", str(claimed), float(claimed), sessions=sessions, single_factor_sessions=single)
    assert c.status is status
    if status is X:
        assert f"{single:,} of {sessions:,}" in c.detail and c.measures["mfa_share"] == round(1 - single / sessions, 4)


def test_mfa_without_answer_reports_the_measure_but_judges_nothing() -> None:
    c = check("IAM-02", None, sessions=500, single_factor_sessions=100)
    assert c.status is N and c.claimed is None and c.observed == "80.0"


def test_leavers() -> None:
    assert check("PPL-05", "1", 1, leavers=3, leavers_active_after=1, leaver_max_days_after=14).status is X
    assert check("PPL-05", "14", 14, leavers=3, leavers_active_after=1, leaver_max_days_after=14).status is C
    assert check("PPL-05", "1", 1, leavers=3, leavers_active_after=1, leaver_max_days_after=2).status is C  # grace
    # leavers who never came back prove nothing; no leavers at all neither
    assert check("PPL-05", "1", 1, leavers=3).status is N
    assert check("PPL-05", "1", 1).status is N


def test_user_numbers_from_dormant_accounts() -> None:
    assert check("IAM-04", "yes", enabled_accounts=40, dormant_accounts=3).status is X
    assert check("IAM-04", "partial", enabled_accounts=40, dormant_accounts=3).status is C
    assert check("IAM-04", "partial", enabled_accounts=40, dormant_accounts=6).status is X
    assert check("IAM-04", "yes", enabled_accounts=40, dormant_accounts=0).status is C
    assert check("IAM-04", "no", enabled_accounts=40, dormant_accounts=0).status is N  # more modest than the logs


def test_review_date_needs_logs_long_enough_to_contradict() -> None:
    # A review 60 days before 31 Oct: an account idle 150+ days was already 90 days idle at the review.
    recent = "2026-09-01"
    c = check("IAM-05", recent, enabled_accounts=40, max_idle_days=61)
    assert c.status is N and "cannot show" in c.detail  # 61 days of logs cannot show 150 days idle
    assert check("IAM-05", recent, enabled_accounts=40, max_idle_days=160).status is X
    assert check("IAM-05", "2025-01-01", enabled_accounts=40, max_idle_days=160).status is N  # no recent review claimed


def test_named_accounts() -> None:
    assert check("IAM-01", "yes", users_with_sessions=20, users_concurrent=1, concurrent_overlaps=4).status is X
    assert check("IAM-01", "no", users_with_sessions=20, users_concurrent=1).status is C
    # no overlap never corroborates: a shared password used in turns leaves none
    assert check("IAM-01", "yes", users_with_sessions=20).status is N


@pytest.mark.parametrize(
    ("claimed", "explained", "status"),
    [("yes", 970, C), ("yes", 920, N), ("yes", 880, X), ("partial", 880, C), ("partial", 790, X), ("no", 700, C),
     ("partial", 990, N)],
)
def test_legitimate_relationship(claimed: str, explained: int, status: CheckStatus) -> None:
    assert check("NTK-02", claimed, reads=1000, involved_reads=explained).status is status


def test_shielded_overrides() -> None:
    assert check("NTK-03", "yes", reads=500, shielded_overrides=2, overrides_unexplained=2).status is X
    assert check("NTK-03", "partial", reads=500, shielded_overrides=2, overrides_unexplained=2).status is C
    assert check("NTK-03", "partial", reads=500, shielded_overrides=5, overrides_unexplained=3).status is X
    # overrides with an involvement behind them are what the control allows
    assert check("NTK-03", "yes", reads=500, shielded_overrides=4, overrides_unexplained=0).status is C


def test_exports() -> None:
    assert check("NTK-05", "yes", reads=500, adhoc_exports=10, adhoc_export_users=6).status is X
    assert check("NTK-05", "yes", reads=500, adhoc_exports=25, adhoc_export_users=1, max_user_day_export=25).status is X
    assert check("NTK-05", "yes", reads=500, adhoc_exports=1, adhoc_export_users=1, max_user_day_export=1).status is C
    assert check("NTK-05", "no", reads=500, adhoc_exports=10, adhoc_export_users=6).status is C


def test_networks_need_declared_ranges() -> None:
    c = check("DEV-04", "yes", ip_events=1000, undeclared_ip_events=100)
    assert c.status is N and "No network ranges were declared" in c.detail and "GOV-05, GOV-06, DEV-01 or DEV-04" in c.detail
    nets = ["10.20.0.0/24"]
    assert check("DEV-04", "yes", ip_events=1000, undeclared_ip_events=100, declared_networks=nets).status is X
    assert check("DEV-04", "yes", ip_events=1000, undeclared_ip_events=15, declared_networks=nets).status is N
    assert check("DEV-04", "yes", ip_events=1000, undeclared_ip_events=5, declared_networks=nets).status is C
    assert check("DEV-04", "partial", ip_events=1000, undeclared_ip_events=40, declared_networks=nets).status is C


def test_parse_networks_from_free_text() -> None:
    nets = parse_networks(["Office 10.20.0.0/24 and VPN 172.16.4.1; v6 2001:db8::/32", None, "bad 999.1.1.1/40"])
    assert [str(n) for n in nets] == ["10.20.0.0/24", "172.16.4.1/32", "2001:db8::/32"]


def test_log_retention() -> None:
    assert check("MON-03", "12", 12, events=5000, longest_silence_days=4, silent_weekdays=3).status is X
    assert check("MON-03", "3", 3, events=5000, longest_silence_days=4, silent_weekdays=3).status is C
    assert check("MON-03", "12", 12, events=5000).status is C
    assert check("MON-03", "12", 12).status is N  # no events at all


def test_not_applicable_is_never_contradicted() -> None:
    c = check("IAM-01", "n/a", users_with_sessions=20, users_concurrent=3)
    assert c.status is not X


def test_the_shipped_catalogue_is_tested_where_it_always_was() -> None:
    # Chosen by log_checks + answer type alone; GOV-06 names the networks measure only for the ranges
    # its answer declares (corroboration.measures: []).
    assert PLAN.tested == ("GOV-05", "PPL-05", "IAM-01", "IAM-02", "IAM-04", "IAM-05", "NTK-02", "NTK-03",
                           "NTK-05", "DEV-04", "MON-03")
    assert "GOV-06" in PLAN.untested and len(PLAN.untested) == 29
    assert PLAN.declaring == ("GOV-05", "GOV-06", "DEV-01", "DEV-04")
    measures = {cp.control.id: [t.measure for t in cp.tests] for cp in PLAN.controls}
    assert measures["IAM-02"] == ["mfa_share"] and measures["IAM-05"] == ["dormant_accounts"]


def test_entitled_views_do_not_dilute_the_rate() -> None:
    # 1,000 views: 500 by a MASH team (entitled), 430 of the other 500 involved = 86%: partial.
    c = check("NTK-02", "yes", reads=1000, entitled_reads=500, involved_reads=430)
    assert c.status is X and c.measures["caseload_views"] == 500 and c.measures["explained_rate"] == 0.86
