"""A colleague's bulk extraction in the baseline must not make everyone else's unrelated reads look ordinary
(issue 16). The relationship detectors shrink a user's baseline share of unexplained children toward their peer
group's; pooled plainly, that share was the heaviest readers' (on the independent tuning worlds one extractor,
749 unexplained children of 859, made a council's social workers' rate 0.30 where their median was 0.11, and a
worker with a clean history opening 16 unrelated children of 30 scored 1.5: low). Each user now counts at most
as many records as the group's median user (`peer_pool`).

World: the hand-made mini world (`det_miniworld`): LA1 and LA2 caseworkers are one peer group; LA2 has no
involvement with area A's children (C0000-C0299), LA1 none with C0310-C0319 (area B)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from det_miniworld import START, WINDOW_START, _Events, detect_with, findings_of

from audit_kit.detectors.relationship import peer_pool
from audit_kit.models.findings import Severity

EXTRACTOR, WORKER = "LA2-U12", "LA1-U02"


def test_the_pool_weighs_each_colleague_about_as_one():
    users = pd.DataFrame({
        "org_type": ["la"] * 6 + ["gp"] * 2,
        "role": ["sw"] * 6 + ["gp"] * 2,
        "recs": [30, 20, 25, 40, 30, 900, 10, 10],
        "hits": [3, 2, 2, 4, 3, 850, 1, 0],
    })
    peers, overall = peer_pool(users)
    sw = peers[peers.role == "sw"].iloc[0]
    # the median user has 30 records: the extractor counts 30 of their 900, at their own rate
    assert sw.p_recs == pytest.approx(30 + 20 + 25 + 30 + 30 + 30)
    assert sw.p_hits / sw.p_recs == pytest.approx((3 + 2 + 2 + 3 + 3 + 30 * 850 / 900) / 165)
    assert sw.p_hits / sw.p_recs < 0.3  # pooled plainly: 864 / 1045 = 0.83
    gp = peers[peers.role == "gp"].iloc[0]
    assert (gp.p_recs, gp.p_hits) == (20, 1)
    assert overall < 0.3
    empty, rate = peer_pool(users.iloc[0:0])
    assert empty.empty and rate == 0.5


def _events(extractor: bool) -> _Events:
    ev = _Events()
    if extractor:  # a baseline week in which one LA2 caseworker opened all of area A (no LA2 involvement)
        for k in range(300):
            ev.add(START + timedelta(days=7 + k % 5), 9 + (k // 5) * 0.12, EXTRACTOR, "LA2", f"C{k:04d}",
                   ip="10.2.0.5")
    days = [WINDOW_START + timedelta(days=k) for k in (1, 2, 3)]
    for k in range(10):  # a clean caseworker opens ten area-B children nobody in LA1 works with
        ev.add(days[k % 3], 10 + k / 10, WORKER, "LA1", f"C{310 + k:04d}", ip="10.1.0.5")
    return ev


@pytest.fixture(scope="module")
def runs(tmp_path_factory):  # type: ignore[no-untyped-def]
    return {x: detect_with(tmp_path_factory.mktemp(f"pool{x}"), _events(x), "P", detectors=["no_relationship"])
            for x in (False, True)}


def test_a_colleagues_extraction_does_not_mask_unrelated_reads(runs):
    assert not runs[True].errors and not runs[False].errors
    # Alone the worker's ten children score 7.5; beside the extraction 4.6, still medium (pooled plainly, the
    # extraction made the peers' rate about 0.2 and the worker was not listed at all).
    alone, beside = (max(findings_of(runs[x], "no_relationship", WORKER), key=lambda f: f.severity) for x in (False, True))
    assert alone.severity >= Severity.MEDIUM and beside.severity >= Severity.MEDIUM
    rates = [f.evidence["baseline"]["peer_rate"] for f in (alone, beside)]
    assert rates[0] < 0.02 and rates[1] < 0.05, rates  # pooled plainly about 0.2
