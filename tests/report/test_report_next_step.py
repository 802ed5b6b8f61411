"""A finding card's "What to do next" follows its evidence where the evidence says why the finding is where it
is: a user the organisation records as not enrolled for a second factor is an enrolment to make, not a bypass to
investigate; a finding the alert budget held at low is still to be reviewed, after the alerts above it."""

from __future__ import annotations

from audit_kit.models.findings import Finding, Severity
from audit_kit.report.sections.findings import NEXT, finding_view


def _finding(detector: str, severity: Severity, **evidence: object) -> Finding:
    return Finding(finding_id="f1", detector=detector, severity=severity, score=0.3, org_id="LA01",
                   user_id="U001", summary="…", evidence=dict(evidence))


def test_a_user_not_enrolled_is_asked_to_be_enrolled() -> None:
    view = finding_view(_finding("weak_auth", Severity.LOW, mfa_enrolled=False, strength=1.0), {}, True)
    assert view.next.startswith("Enrol the user for a second factor")


def test_an_enrolled_users_password_sign_in_follows_its_severity() -> None:
    for enrolled in (True, None):
        view = finding_view(_finding("weak_auth", Severity.MEDIUM, mfa_enrolled=enrolled, strength=4.0), {}, True)
        assert view.next == NEXT[Severity.MEDIUM]


def test_a_finding_held_by_the_budget_is_still_to_be_reviewed() -> None:
    f = _finding("no_relationship", Severity.LOW, strength=3.9, held_by_budget={"from": "medium", "user_risk": 3.9})
    view = finding_view(f, {}, True)
    assert "Held at low by the alert budget (it would have been medium)" in view.next
    assert view.next != NEXT[Severity.LOW]


def test_other_findings_follow_their_severity() -> None:
    for sev in Severity:
        assert finding_view(_finding("after_hours", sev, strength=2.0), {}, True).next == NEXT[sev]
