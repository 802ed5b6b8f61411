"""Golden cases for the risk model: every expected number below is worked out by hand in the comments."""

from __future__ import annotations

from datetime import date

import pytest

from audit_kit.assessment import risk
from audit_kit.assessment.register import ControlGap, OrgInputs, build_register
from audit_kit.models.assessment import CheckStatus, ControlCheck, Reach, RiskLevel, Treatment
from audit_kit.models.findings import Finding, Severity

VL, L, M, H, VH = list(RiskLevel)


@pytest.mark.parametrize(
    ("likelihood", "impact", "expected"),
    [
        (1, 1, VL), (1, 4, L), (1, 5, L),  # Very Low likelihood never exceeds Low
        (2, 5, M), (2, 3, L),
        (3, 3, M), (3, 4, M), (3, 5, H),
        (4, 4, H), (4, 5, VH), (5, 5, VH), (5, 1, VL),  # Very Low impact is Very Low whatever the likelihood
    ],
)
def test_matrix_is_nist_800_30_table_i2(likelihood: int, impact: int, expected: RiskLevel) -> None:
    assert risk.risk_level(likelihood, impact) is expected


def test_tiers_and_target_days_follow_the_level() -> None:
    assert [risk.tier(level) for level in (VH, H, M, L, VL)] == [1, 2, 3, 4, 4]
    assert risk.TIER_DAYS == {1: 30, 2: 90, 3: 180, 4: 365}


@pytest.mark.parametrize(("value", "level"), [(0.0, 1), (0.049, 1), (0.05, 2), (0.15, 3), (0.2999, 3), (0.3, 4), (0.5, 5)])
def test_gap_bands(value: float, level: int) -> None:
    assert risk.band(value, risk.GAP_BANDS) == level


def test_round_half_up_not_bankers() -> None:
    assert [risk.round_half_up(x) for x in (2.5, 3.5, 2.45, 2.55)] == [3, 4, 2, 3]


def test_likelihood_with_questionnaire() -> None:
    # gap 0.20 -> level 3; 1 contradiction -> 3; 12 findings / 1,000 users -> level 3 (5 <= 12 < 20)
    # 0.4*3 + 0.3*3 + 0.3*3 = 3.0 -> 3
    value, factors = risk.likelihood(risk.LikelihoodInputs(0.20, 1, 12.0))
    assert value == 3
    assert [f.level for f in factors] == [3, 3, 3]
    # gap 0.02 -> 1; no contradictions -> 1; no findings -> 1: 1.0 -> 1
    assert risk.likelihood(risk.LikelihoodInputs(0.02, 0, 0.0))[0] == 1
    # gap 0.6 -> 5; 3 contradictions -> 5; 60 / 1,000 -> 5: 5
    assert risk.likelihood(risk.LikelihoodInputs(0.6, 3, 60.0))[0] == 5
    # gap 0.35 -> 4; 0 -> 1; 1 / 1,000 -> 2: 1.6 + 0.3 + 0.6 = 2.5 -> rounds half up to 3
    assert risk.likelihood(risk.LikelihoodInputs(0.35, 0, 1.0))[0] == 3


def test_likelihood_floors() -> None:
    # Everything else at level 1, but a critical access finding: floor 4.
    value, factors = risk.likelihood(risk.LikelihoodInputs(0.0, 0, 0.0, critical_findings=1))
    assert value == risk.CRITICAL_FLOOR == 4
    assert factors[-1].name == "floor" and "critical" in factors[-1].note
    # A failed must-pass control: floor 3.
    assert risk.likelihood(risk.LikelihoodInputs(0.0, 0, 0.0, must_pass_failed=1))[0] == 3


def test_logs_only_likelihood_is_never_below_moderate() -> None:
    # No questionnaire, nothing seen in the logs: 1 from findings, but the no-assurance floor is 3.
    value, factors = risk.likelihood(risk.LikelihoodInputs(None, 0, 0.0, logs_only=True))
    assert value == 3
    assert any("no questionnaire" in f.note for f in factors)
    # Logs-only with observed gaps 0.6 (5) and 30 findings / 1,000 (4): 0.5*5 + 0.5*4 = 4.5 -> 5
    assert risk.likelihood(risk.LikelihoodInputs(0.6, 0, 30.0, logs_only=True))[0] == 5


def test_impact_golden_cases() -> None:
    # 3,000 children -> 3; 40 users -> 2: 0.75*3 + 0.25*2 = 2.75 -> 3; no shielded, no exports
    assert risk.impact(Reach(children=3000, users=40))[0] == 3
    # + exports (0.5): 3.25 -> 3; + shielded (+1): 4
    assert risk.impact(Reach(children=3000, users=40, export_capable=True))[0] == 3
    assert risk.impact(Reach(children=3000, users=40, export_capable=True, shielded_children=2))[0] == 4
    # 60,000 children (5), 2,000 users (5), shielded: 5 + 1 capped at 5
    assert risk.impact(Reach(children=60000, users=2000, shielded_children=500))[0] == 5
    # a tiny body: 20 children (1), 3 users (1): 1
    assert risk.impact(Reach(children=20, users=3))[0] == 1


def _finding(detector: str, severity: Severity, n: int) -> Finding:
    return Finding(finding_id=f"f{n}", detector=detector, severity=severity, score=0.8, org_id="LA01",
                   summary="s", evidence={})


def test_register_entries_statements_treatment_and_residual() -> None:
    contradiction = ControlCheck(org_id="LA01", control_id="IAM-02", measure="mfa_share", claimed="100",
                                 observed="40.0", status=CheckStatus.CONTRADICTED, detail="d", finding_id="c1")
    org = OrgInputs(
        org_id="LA01", name="Eastleigh Council", impact=4, reach=Reach(children=4000, users=100, shielded_children=3),
        users=100, questionnaire_received=True,
        gaps={"IAM-02": ControlGap("IAM-02", 0.0, 5.0, "Enforce a second factor.", contradicted=True),
              "NTK-05": ControlGap("NTK-05", 0.5, 4.0, "Restrict exports.")},
        weights={"IAM-02": 5.0, "IAM-01": 4.0, "NTK-05": 4.0, "NTK-03": 5.0},
        contradictions=[contradiction],
        findings=[_finding("concurrent_sessions", Severity.HIGH, 1), _finding("after_hours", Severity.LOW, 2)],
        owner="Jo Bloggs (DPO), Eastleigh Council",
    )
    entries = {e.theme: e for e in build_register(org, date(2026, 10, 31))}
    assert set(entries) == {"credential_misuse", "bulk_extraction"}  # the low after_hours finding adds nothing
    cred = entries["credential_misuse"]
    # theme weight: IAM-01 4 + IAM-02 5 = 9; gap weight 5*(1-0) = 5 -> 0.556 -> level 5; 1 contradiction -> 3;
    # 1 finding / 100 users = 10 per 1,000 -> 3: 0.4*5 + 0.3*3 + 0.3*3 = 3.8 -> 4. Impact 4 -> High, tier 2.
    assert (cred.likelihood, cred.impact, cred.risk_level) == (4, 4, H)
    assert cred.target_date == date(2027, 1, 29)  # 90 days
    assert cred.treatment is Treatment.REDUCE
    assert cred.controls == ["IAM-02"] and cred.findings == ["c1", "f1"]
    assert cred.statement.startswith("There is a risk that accounts are used by people other than")
    assert "contradict" in cred.statement and "concurrent_sessions 1" in cred.statement
    assert any(a.startswith("IAM-02: Enforce a second factor.") for a in cred.treatment_actions)
    # residual: gaps closed, contradictions resolved, findings at the lowest band -> likelihood
    # 0.4*1 + 0.3*1 + 0.3*2 = 1.3 -> 1; impact unchanged -> Very Low? (1, 4) -> Low
    assert (cred.residual_likelihood, cred.residual_impact, cred.residual_risk_level) == (1, 4, L)
    assert cred.owner == "Jo Bloggs (DPO), Eastleigh Council"
    bulk = entries["bulk_extraction"]
    # theme weight NTK-05 4 -> gap 4*0.5/4 = 0.5 -> 5; no contradiction 1; no findings 1: 2+0.3+0.3 = 2.6 -> 3
    assert (bulk.likelihood, bulk.risk_level) == (3, M)


def test_register_for_a_body_without_questionnaire_leads_with_no_assurance() -> None:
    org = OrgInputs(org_id="SCH01", name="Park School", impact=2, reach=Reach(children=300, users=12), users=12,
                    questionnaire_received=False)
    entries = build_register(org, date(2026, 10, 31))
    assert [e.theme for e in entries] == ["no_assurance"]
    assert entries[0].likelihood == 3 and entries[0].treatment is Treatment.REDUCE
    assert "returned no security questionnaire" in entries[0].statement
    assert entries[0].owner == "Data Protection Officer, Park School"


def test_very_high_with_contradiction_means_avoid() -> None:
    contra = [ControlCheck(org_id="X", control_id=c, measure="m", claimed="yes", observed="no",
                           status=CheckStatus.CONTRADICTED, detail="d") for c in ("NTK-03",)]
    org = OrgInputs(org_id="X", name="X", impact=5, reach=Reach(children=90000, users=3000, shielded_children=40),
                    users=3000, questionnaire_received=True,
                    gaps={"NTK-03": ControlGap("NTK-03", 0.0, 5.0, "Restrict overrides.", contradicted=True)},
                    weights={"NTK-03": 5.0}, contradictions=contra,
                    findings=[_finding("shielded_access", Severity.CRITICAL, 9)])
    entry = build_register(org, date(2026, 1, 1))[0]
    assert entry.theme == "shielded_exposure" and entry.risk_level is VH
    assert entry.treatment is Treatment.AVOID and entry.treatment_actions[0].startswith("Restrict the body's access")
    assert entry.target_date == date(2026, 1, 31)
