"""The one-shot main job end to end on a small synthetic world from a seed no threshold was set on."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit_kit.assessment import load_latest_assessment
from audit_kit.assessment.evaluation import confusion, read_truth
from audit_kit.cli import run
from audit_kit.models.assessment import CheckStatus
from audit_kit.store.workspace import Workspace
from audit_kit.synth import SynthParams, generate


# The whole product in one test: synth + ingest + detect + assess + report (~20 s; HTML, because the
# PDF step alone takes ~30 s even on this small world — make demo exercises the PDF).
@pytest.mark.slow
def test_one_shot_job_writes_the_pdf_and_prints_its_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world, ws_path, report = tmp_path / "world", tmp_path / "ws", tmp_path / "out" / "risk-assessment.html"
    generate(world, SynthParams(seed=101, orgs=8, days=45, children=3000))
    assert run(["assess", str(world), "--workspace", str(ws_path), "-o", str(report), "-q"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == str(report)
    assert "<html" in report.read_text().lower()

    with Workspace.open(ws_path, read_only=True) as ws:
        first = load_latest_assessment(ws)
        assert first is not None and first.totals.organisations == 8
        events = ws.count("events")
        findings = ws.count("findings")
    assert findings > 0  # detectors ran before the assessment
    # Corroboration against the world's truth labels: never a truthful answer contradicted, never
    # an overstated one corroborated.
    total = confusion(first, read_truth(world / "truth_answers.csv"))[-1]
    assert total.truthful[CheckStatus.CONTRADICTED] == 0
    assert total.overstated[CheckStatus.CORROBORATED] == 0
    assert sum(total.truthful.values()) > 0

    # Re-running adds no event twice and stores a second, dated assessment that knows the first.
    assert run(["assess", str(world), "--workspace", str(ws_path), "-o", str(report), "-q"]) == 0
    with Workspace.open(ws_path, read_only=True) as ws:
        assert ws.count("events") == events
        second = load_latest_assessment(ws)
    assert second is not None and second.previous_assessment_id == first.assessment_id
