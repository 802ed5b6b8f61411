"""End to end on a real synthetic world: synth → ingest → detect → assess → report.

The national report must show scores, findings, the assessment and graphs from that world, and no
record id of its children may appear in any report, of either audience, in PDF or HTML.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from audit_kit.cli import run
from audit_kit.config import AuditConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def assessed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from audit_kit.assessment.assess import assess_workspace
    from audit_kit.detectors import run_detectors
    from audit_kit.ingest import ingest_dataset
    from audit_kit.store.workspace import Workspace
    from audit_kit.synth import SynthParams, generate

    root = tmp_path_factory.mktemp("synth")
    generate(root / "world", SynthParams(seed=23, orgs=5, days=28, children=600))
    with Workspace.open(root / "ws", create=True) as ws:
        ingest_dataset(ws, root / "world")
        run_detectors(ws, AuditConfig(), store=True)
        assess_workspace(ws, AuditConfig())
    return root / "world", root / "ws"


def _record_ids(world: Path) -> list[str]:
    with (world / "subjects.csv").open(newline="") as fh:
        return [row["record_id"] for row in csv.DictReader(fh)]


def _leaks(text: str, ids: list[str]) -> list[str]:
    tokens = set(re.findall(r"[A-Za-z0-9][A-Za-z0-9_-]*", text))
    return sorted(tokens & set(ids))


def test_reports_show_every_source_and_no_record_id(assessed: tuple[Path, Path], tmp_path: Path) -> None:
    # One test, so the world is built once even when xdist spreads tests over workers.
    world, ws = assessed
    out = tmp_path / "national.pdf"
    assert run(["report", "-w", str(ws), "-o", str(out), "-q"]) == 0
    text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(out).pages))
    assert "No risk assessment is stored" not in text  # the assessment is there
    assert "returned a scored questionnaire" in text  # scores
    assert "No access findings are stored" not in text and "Findings by detector" in text  # findings
    assert "Interaction between bodies" in text and "could not be drawn" not in text  # graphs
    assert "Achieved share" in text  # CAF / ISO tables from the scores
    assert _leaks(text, _record_ids(world)) == []

    # ...and in the HTML of every pack and of the national report, for both audiences
    for audience in ("restricted", "public"):
        packs = tmp_path / audience
        assert (
            run(
                [
                    "report",
                    "-w",
                    str(ws),
                    "--all-orgs",
                    "--format",
                    "html",
                    "--audience",
                    audience,
                    "--workers",
                    "1",
                    "-o",
                    str(packs),
                    "-q",
                ]
            )
            == 0
        )
        assert (
            run(["report", "-w", str(ws), "--audience", audience, "-o", str(packs / "national.html"), "-q"])
            == 0
        )
        files = list(packs.glob("*.html"))
        assert len(files) == 6
        for f in files:
            assert _leaks(f.read_text(), _record_ids(world)) == [], f"{audience}/{f.name}"
