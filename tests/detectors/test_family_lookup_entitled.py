"""family_lookup: an entitlement to read across an area explains where a reader may look, not why they opened
their own family's record (issue 16: MASH officers and duty social workers reading their own relatives were
listed low as "explained"). Only the organisation's involvement with the child, an allow-listed purpose or a
reviewer's explanation keeps such a lookup low. World: the hand-made mini world (`det_miniworld`): LA1 is
involved with every child of area A (C0000-C0299), none of area B's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from det_miniworld import WINDOW_START, _Events, detect_with, findings_of

from audit_kit.models.findings import Severity

MASH, CASEWORKER, INSPECTED = "LA1-MASH", "LA1-U02", "LA1-U12"
# area B (LA1 not involved); area A (LA1 involved); area B, read for an inspection (an allow-listed purpose)
MASH_FAMILY, CASEWORKER_FAMILY, INSPECTED_FAMILY = "C0450", "C0120", "C0460"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    def family_keys(ws):
        for user, key in ((MASH, "K450"), (CASEWORKER, "K120"), (INSPECTED, "K460")):
            ws.con.execute("UPDATE users SET family_key = ? WHERE user_id = ?", [key, user])

    ev = _Events()
    ev.add(WINDOW_START + timedelta(days=4), 11.2, MASH, "LA1", MASH_FAMILY)
    ev.add(WINDOW_START + timedelta(days=5), 14.5, CASEWORKER, "LA1", CASEWORKER_FAMILY)
    ev.add(WINDOW_START + timedelta(days=6), 10.5, INSPECTED, "LA1", INSPECTED_FAMILY, purpose="inspection")
    return detect_with(tmp_path_factory.mktemp("family"), ev, "K", setup=family_keys, detectors=["family_lookup"])


def _family(run, user):
    return findings_of(run, "family_lookup", user)


def test_an_entitled_reader_opening_their_own_familys_record_is_a_policy_finding(run):
    assert not run.errors
    (f,) = _family(run, MASH)
    assert f.severity == Severity.HIGH
    assert f.evidence["explained"] is False and f.evidence.get("policy")


def test_one_the_organisations_involvement_explains_is_listed_low(run):
    (f,) = _family(run, CASEWORKER)
    assert f.severity == Severity.LOW
    assert f.evidence["explained"] is True
    assert "involved" in f.summary


def test_one_an_allow_listed_purpose_covers_is_listed_low_and_says_so(run):
    (f,) = _family(run, INSPECTED)
    assert f.severity == Severity.LOW
    assert "allow-listed purpose" in f.summary and "involved" not in f.summary
