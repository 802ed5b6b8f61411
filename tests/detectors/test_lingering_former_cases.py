"""lingering_access (issue 16): a social worker reopening two of their own former cases weeks after they
closed is an alert where colleagues never open closed cases; a receptionist opening two closed
registrations they never read is not. World: `det_teamworld`."""

from __future__ import annotations

import pytest
from det_teamworld import LINGERER, RECEPTIONIST, findings_by, run_world

from audit_kit.models.findings import Severity


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    ws, out = run_world(tmp_path_factory, "lingering_access")
    yield out
    ws.close()


def test_reopening_ones_own_former_cases_weeks_after_closing_is_lingering_access(run):
    (f,) = findings_by(run, "lingering_access", LINGERER)
    ev = f.evidence
    assert ev["counted"] == "former cases" and len(ev["records"]) == 2
    assert min(ev["days_after_involvement_ended"]) > ev["grace_days"]
    assert f.severity >= Severity.MEDIUM
    assert all(not r.startswith("C") for r in ev["records"])  # pseudonymised


def test_a_receptionist_opening_two_closed_registrations_is_not_an_alert(run):
    assert all(f.severity < Severity.MEDIUM for f in findings_by(run, "lingering_access", RECEPTIONIST))
    alerted = {f.user_id for f in run.findings if f.detector == "lingering_access" and f.severity >= Severity.MEDIUM}
    assert alerted == {LINGERER}
