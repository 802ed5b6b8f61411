"""The quality bar, guarded on a small synthetic world: recall, precision, legitimate work, alert volume.

Slow-ish (a world is generated, ingested and scanned: ~30 s on 2 cores), and the one test that ties
the detectors to the synthetic world's labels, so it runs in CI like the others.

The world is small and dense (every category, two users each, among ~180 users, with 5% of
involvements missing, 2% unexplained browsing and legitimate bursts), so the detectors are measured
with the alert budget off; the budget itself is tested in test_risk_and_budget.py and measured on the
stress matrix (docs/detection-quality.md). Floors, set from the calibration of 2026-12-06: strict
recall 0.85 over every category but `peer_outlier` and `vip_snooping` (see MAY_MISS), precision
over flagged users 0.9, no protected legitimate user (duty, MASH, national partner, statutory or
census return) at medium or above, and every category but those two found at least once.
"""

from __future__ import annotations

import pytest

from audit_kit.config import AuditConfig
from audit_kit.detectors import run_detectors
from audit_kit.detectors.evaluate import evaluate_run
from audit_kit.ingest import ingest_dataset
from audit_kit.models.findings import Severity
from audit_kit.store.workspace import Workspace
from audit_kit.synth import SynthParams, generate

STRICT_RECALL_FLOOR = 0.85
PRECISION_FLOOR = 0.9
# peer_outlier needs several teams per organisation to recover communities from; a ten-body world
# has few, and its two labelled users are not reliably separable there. A child in the news read by
# six people of five bodies in a ten-body world with incomplete involvement data is not improbable
# enough for an alert (it is found, and kept low): see docs/detection-quality.md.
MAY_MISS = {"peer_outlier", "vip_snooping"}


@pytest.mark.slow
def test_small_world_meets_the_quality_bar(tmp_path):
    world = tmp_path / "world"
    generate(world, SynthParams(seed=21, orgs=10, days=42, children=8000, missing_involvements=0.05, browsing=0.02,
                                bursts=True))
    ws = Workspace.open(tmp_path / "ws", create=True)
    ingest_dataset(ws, world)
    config = AuditConfig(alert_budget=1.0)
    run = run_detectors(ws, config, store=False)
    ev = evaluate_run(ws, run, world / "truth.csv", Severity.MEDIUM, config)
    ws.close()
    assert not run.errors and not run.skipped
    assert all(d.labelled for d in ev.detectors), "every category should be labelled in the world"
    missed = [c for c in ev.missed_cases if c.split(":")[0] not in MAY_MISS]
    judged = ev.cases - sum(d.labelled for d in ev.detectors if d.detector in MAY_MISS)
    assert 1 - len(missed) / judged >= STRICT_RECALL_FLOOR, missed
    low = [f for f in run.findings if f.detector == "vip_snooping"]
    assert low, "the child in the news is still found (kept low)"
    never = {d.detector for d in ev.detectors if d.labelled and not d.caught} - MAY_MISS
    assert not never, f"categories never found: {never}"
    assert ev.precision is not None and ev.precision >= PRECISION_FLOOR, (ev.flagged_users, ev.flagged_true_users)
    assert ev.protected_flagged == [], ev.protected_flagged
