"""peer_outlier on a council whose workers share half their work with other teams (issue 16): a worker on
other teams' children is an outlier even though colleagues' fits are only moderate; a duty week whose
referrals are written up, and a few other-team children, are not alerts. World: `det_teamworld`."""

from __future__ import annotations

import pytest
from det_teamworld import DUTY, PEER_SNOOPER, WEAK, findings_by, run_world

from audit_kit.detectors.evidence import CUTOFFS
from audit_kit.models.findings import Severity


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    ws, out = run_world(tmp_path_factory, "peer_outlier")
    yield out
    ws.close()


def test_a_worker_on_other_teams_children_is_an_outlier_when_colleagues_fit_only_moderately(run):
    assert not run.errors
    (f,) = findings_by(run, "peer_outlier", PEER_SNOOPER)
    ev = f.evidence
    assert ev["peer_baseline"]["median_fit"] < 0.75  # colleagues share half their work with other teams
    assert ev["fit"] < 0.5 * ev["peer_baseline"]["median_fit"]
    # forty-odd children at a fit near 0 where peers sit at about one half: far beyond chance
    assert f.severity >= Severity.MEDIUM and ev["strength"] >= CUTOFFS.medium
    assert ev["children_in_fit"] >= 20 and ev["expected_fit_spread"] < ev["peer_baseline"]["median_fit"] / 4
    # dated by the user's reads in the window (a pack printed "date not recorded" before)
    assert f.first_seen is not None and f.last_seen is not None
    assert run.since <= f.first_seen.replace(tzinfo=None) < f.last_seen.replace(tzinfo=None) < run.until


def test_ordinary_colleagues_a_duty_week_and_a_few_other_team_children_are_not_alerts(run):
    alerted = {f.user_id for f in run.findings if f.detector == "peer_outlier" and f.severity >= Severity.MEDIUM}
    assert alerted == {PEER_SNOOPER}
    assert all(f.severity < Severity.MEDIUM for f in findings_by(run, "peer_outlier", WEAK))
    assert all(f.severity < Severity.MEDIUM for f in findings_by(run, "peer_outlier", DUTY))
