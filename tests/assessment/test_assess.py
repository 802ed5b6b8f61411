"""assess_workspace on hand-built workspaces: measures, contradictions, scoring hook, storage, trends."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from assess_world import START, World

from audit_kit.assessment import assess_workspace, list_assessments, load_latest_assessment
from audit_kit.assessment.measures import log_window, measure_orgs
from audit_kit.config import AuditConfig
from audit_kit.errors import InputError
from audit_kit.models.assessment import CheckStatus, RiskLevel
from audit_kit.questionnaires.importer import import_files
from audit_kit.scoring import score_workspace
from audit_kit.store.findings import load_findings
from audit_kit.store.workspace import Workspace

QUESTIONNAIRE = """\
org_id: LA1
checklist: accessing-organisation
submitted: 2026-09-25
respondent: {name: Jo Bloggs, role: DPO, email: jo@example.org}
answers:
  IAM-02: 100
  IAM-01: 'yes'
  NTK-05: 'yes'
  MON-03: 12
  DEV-04: {answer: 'yes', evidence: 'all access via the office network 10.1.0.0/16'}
"""


def _world() -> World:
    w = World()
    w.org("LA1")
    w.org("GP1", "gp_practice")
    for i in range(6):
        w.child(f"c{i}")
        w.involve(f"c{i}", "LA1")
    w.child("s1", shielded=True)
    w.involve("s1", "LA1")
    for u in ("u1", "u2", "u3"):
        w.user(u, "LA1")
        w.daily(u, "LA1", ["c0", "c1", "c2"])
    w.user("u4", "LA1")
    w.daily("u4", "LA1", ["c3", "c4"], auth="password")  # a quarter of LA1's sessions: single factor
    w.user("g1", "GP1")
    w.daily("g1", "GP1", ["c5"])
    w.event(START + timedelta(days=2), "g1", "GP1", "view", "s1", break_glass=True)  # override, no involvement
    return w


@pytest.fixture
def ws(tmp_path: Path):
    workspace = _world().build(tmp_path / "ws")
    qfile = tmp_path / "LA1.yaml"
    qfile.write_text(QUESTIONNAIRE)
    import_files(workspace, [qfile])
    yield workspace
    workspace.close()


def test_measures_of_a_hand_built_world(tmp_path: Path) -> None:
    ws = _world().build(tmp_path / "ws")
    window = log_window(ws)
    assert window is not None and window.as_of == date(2026, 9, 30)
    m = measure_orgs(ws, window, declared={"LA1": ["10.1.0.0/16"]})
    la, gp = m["LA1"], m["GP1"]
    weekdays = 22  # 1-30 September 2026
    assert (la.sessions, la.single_factor_sessions) == (4 * weekdays, weekdays)  # u4 is password-only
    assert la.reads == la.involved_reads == la.caseload_reads == 3 * weekdays * 3 + weekdays * 2
    assert la.undeclared_ip_events == 0 and la.ip_events == la.events
    assert (gp.shielded_overrides, gp.overrides_unexplained) == (1, 1)
    assert gp.involved_reads == 0 and gp.reads == gp.caseload_reads == weekdays + 1
    assert la.children_reachable == 7 and la.shielded_reachable == 1 and la.users == 4
    assert la.longest_silence_days == 0  # weekends are not gaps


def test_assessment_contradicts_corroborates_and_scores(ws: Workspace) -> None:
    a = assess_workspace(ws, AuditConfig(), now=datetime(2026, 10, 1, 12))
    la = a.org("LA1")
    assert la is not None and la.questionnaire_received and not la.logs_only
    status = {c.control_id: c.status for c in la.checks if c.claimed is not None}
    assert status["IAM-02"] is CheckStatus.CONTRADICTED
    assert status["DEV-04"] is CheckStatus.CORROBORATED  # every event from the declared 10.1.0.0/16
    assert status["NTK-05"] is CheckStatus.CORROBORATED
    assert status["IAM-01"] is CheckStatus.NO_EVIDENCE
    assert [c.control_id for c in la.contradictions] == ["IAM-02"]
    # the contradiction is a stored finding citing the control and the evidence
    found = load_findings(ws, detectors=["contradiction"])
    assert len(found) == 1 and found[0].org_id == "LA1"
    assert found[0].evidence["control_id"] == "IAM-02" and found[0].evidence["claimed"] == "100"
    assert found[0].evidence["measures"]["single_factor_sessions"] == 22
    assert la.contradictions[0].finding_id == found[0].finding_id
    # scored with the contradicted answer as no: the must-pass MFA control fails
    assert la.score is not None and "IAM-02" in la.score.must_pass_failed
    plain = score_workspace(ws, org_id="LA1")[0]
    assert plain.overall is not None and la.score.overall is not None and la.score.overall <= plain.overall
    # register owner from the questionnaire respondent
    assert la.register and la.register[0].owner == "Jo Bloggs (DPO), LA1 Council"


def test_body_without_questionnaire_is_rated_from_logs_and_marked(ws: Workspace) -> None:
    gp = assess_workspace(ws, AuditConfig()).org("GP1")
    assert gp is not None and gp.logs_only and not gp.questionnaire_received and gp.score is None
    assert gp.likelihood >= 3
    assert "no_assurance" in [e.theme for e in gp.register]
    assert {c.control_id for c in gp.checks} >= {"IAM-02", "NTK-03"} and all(c.claimed is None for c in gp.checks)


def test_stored_dated_and_trend_on_the_next_run(ws: Workspace) -> None:
    first = assess_workspace(ws, AuditConfig(), now=datetime(2026, 10, 1, 12))
    assert load_latest_assessment(ws) == first
    second = assess_workspace(ws, AuditConfig(), now=datetime(2026, 10, 2, 12))
    assert second.previous_assessment_id == first.assessment_id
    assert second.org("LA1").previous_risk_level is first.org("LA1").risk_level  # type: ignore[union-attr]
    assert [a[0] for a in list_assessments(ws)] == [second.assessment_id, first.assessment_id]
    assert len(load_findings(ws, detectors=["contradiction"])) == 1  # replaced, never duplicated
    flat = ws.sql("SELECT count(*) FROM assessment_orgs").fetchone()[0]
    assert flat == 4


def test_nothing_stored_without_store(ws: Workspace) -> None:
    assess_workspace(ws, AuditConfig(), store=False)
    assert load_latest_assessment(ws) is None and not load_findings(ws, detectors=["contradiction"])


def test_as_of_limits_the_evidence(ws: Workspace) -> None:
    a = assess_workspace(ws, AuditConfig(), as_of=date(2026, 9, 10), store=False)
    assert a.as_of == date(2026, 9, 10) and a.period.end == datetime(2026, 9, 11)
    with pytest.raises(InputError, match="no events up to 2026-08-01"):
        assess_workspace(ws, AuditConfig(), as_of=date(2026, 8, 1))


def test_empty_workspaces_are_refused(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "empty", create=True)
    with pytest.raises(InputError, match="no organisations"):
        assess_workspace(ws, AuditConfig())
    w = World()
    w.org("LA1")
    ws2 = w.build(tmp_path / "noevents")
    with pytest.raises(InputError, match="no events"):
        assess_workspace(ws2, AuditConfig())


def test_risk_level_totals_add_up(ws: Workspace) -> None:
    a = assess_workspace(ws, AuditConfig())
    assert sum(a.totals.by_risk_level.values()) == a.totals.organisations == 2
    assert a.totals.questionnaires_received == 1 and a.totals.logs_only == 1
    assert a.totals.contradictions == 1
    assert sum(a.totals.checks.values()) == 5  # the five answered log-testable controls of LA1; GP1 answered none
    assert all(isinstance(k, RiskLevel) for k in a.totals.by_risk_level)


def test_access_findings_count_only_inside_the_period(ws: Workspace) -> None:
    from audit_kit.models.findings import Finding, Severity
    from audit_kit.store.findings import store_findings

    def finding(fid: str, day: int) -> Finding:
        seen = datetime(2026, 9, day, 10)
        return Finding(finding_id=fid, detector="after_hours", severity=Severity.HIGH, score=0.9, org_id="LA1",
                       user_id="u1", first_seen=seen, last_seen=seen, summary="s", evidence={})

    with ws.transaction():
        store_findings(ws, [finding("early", 5), finding("late", 25)], run_id="r", detected_at=datetime(2026, 10, 1))
    la = assess_workspace(ws, AuditConfig(), as_of=date(2026, 9, 10), store=False).org("LA1")
    assert la is not None and sum(la.finding_counts.values()) == 1  # the 25 September one is after as_of
    la = assess_workspace(ws, AuditConfig(), store=False).org("LA1")
    assert la is not None and la.finding_counts[Severity.HIGH] == 2
    assert la.findings_per_1000_users == 500.0  # 2 findings, 4 users


def test_logs_only_gaps_come_from_what_the_logs_show(tmp_path: Path) -> None:
    w = World()
    w.org("GP1", "gp_practice")
    w.child("c1")
    w.involve("c1", "GP1")
    for u in ("g1", "g2"):
        w.user(u, "GP1")
        w.daily(u, "GP1", ["c1"], auth="password")  # 44 sessions, none with MFA
    ws = w.build(tmp_path / "ws")
    gp = assess_workspace(ws, AuditConfig(), store=False).org("GP1")
    assert gp is not None and gp.logs_only
    gap = next(f for f in gp.likelihood_factors if f.name.startswith("control gaps seen in logs"))
    assert gap.value is not None and gap.value > 0
    credential = next(e for e in gp.register if e.theme == "credential_misuse")
    assert "IAM-02" in credential.controls
    assert any(a.startswith("IAM-02:") for a in credential.treatment_actions)
