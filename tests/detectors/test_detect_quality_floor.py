"""The quality bar, guarded on a small synthetic world: recall per category, precision, legitimate work.

Slow-ish (a world is generated, ingested and scanned: ~15 s on 2 cores), and the one test that ties
the detectors to the synthetic world's labels, so it runs in CI like the others.
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

RECALL_FLOOR = 0.9
PRECISION_FLOOR = 0.8


@pytest.mark.slow
def test_small_world_meets_the_quality_bar(tmp_path):
    world = tmp_path / "world"
    generate(world, SynthParams(seed=21, orgs=10, days=42, children=8000))
    ws = Workspace.open(tmp_path / "ws", create=True)
    ingest_dataset(ws, world)
    run = run_detectors(ws, AuditConfig(), store=False)
    ev = evaluate_run(ws, run, world / "truth.csv", Severity.MEDIUM, AuditConfig())
    ws.close()
    assert not run.errors and not run.skipped
    low = {d.detector: (d.caught, d.labelled, d.missed) for d in ev.detectors
           if d.labelled and d.recall is not None and d.recall < RECALL_FLOOR}
    assert not low, f"recall below {RECALL_FLOOR}: {low}"
    assert all(d.labelled for d in ev.detectors), "every category should be labelled in the world"
    assert ev.precision is not None and ev.precision >= PRECISION_FLOOR, (ev.flagged_users, ev.flagged_true_users)
    assert ev.legit_flagged == [], ev.legit_flagged
