"""denied_spike sees probing spread thinly over days (issue 16): five refusals a day from someone who is almost
never refused is far beyond chance, while an ordinary refusal now and then, or one extra, is not an alert.
World: the hand-made mini world (`det_miniworld`), where ordinary users are refused about one day in ten."""

from __future__ import annotations

from datetime import timedelta

import pytest
from det_miniworld import TRUTH, WINDOW_START, _Events, detect_with, findings_of

from audit_kit.models.findings import Severity

PROBER, ONE_MORE = "LA1-U02", "LA2-U02"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    ev = _Events()
    for day in (3, 4, 6):  # five refused look-ups on each of three days, between ordinary work
        for k in range(5):
            ev.add(WINDOW_START + timedelta(days=day), 10 + k * 0.7, PROBER, "LA1", f"C{310 + 5 * day + k:04d}",
                   "view", "denied")
    ev.add(WINDOW_START + timedelta(days=5), 11, ONE_MORE, "LA2", "C0333", "view", "denied")
    ev.add(WINDOW_START + timedelta(days=5), 15, ONE_MORE, "LA2", "C0334", "view", "denied")
    return detect_with(tmp_path_factory.mktemp("denied"), ev, "P")


def _denied(run, user):
    return findings_of(run, "denied_spike", user)


def test_five_refusals_a_day_on_three_days_are_an_alert(run):
    assert not run.errors
    found = _denied(run, PROBER)
    assert len(found) == 3 and all(f.evidence["value"] == 5 for f in found)
    assert max(f.severity for f in found) >= Severity.MEDIUM


def test_an_extra_refusal_or_two_is_not_an_alert_and_the_injected_spike_still_is(run):
    assert all(f.severity < Severity.MEDIUM for f in _denied(run, ONE_MORE))
    assert max(f.severity for f in _denied(run, TRUTH["denied_spike"])) >= Severity.HIGH
    alerted = {f.user_id for f in run.findings if f.detector == "denied_spike" and f.severity >= Severity.MEDIUM}
    assert alerted == {PROBER, TRUTH["denied_spike"]}
