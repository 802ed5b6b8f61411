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
    assert "No access findings are stored" not in text and "Findings by kind" in text  # findings
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


def _in_period(f, start, end) -> bool:  # noqa: ANN001 - a Finding and the assessment period
    first = f.first_seen.replace(tzinfo=None) if f.first_seen else None
    last = f.last_seen.replace(tzinfo=None) if f.last_seen else first
    return not (first is not None and first >= end) and (last is None or last >= start)


def test_ratings_are_worst_entries_and_severity_sets_urgency(assessed: tuple[Path, Path]) -> None:
    from audit_kit.models.findings import Severity
    from audit_kit.store.assessments import load_latest_assessment
    from audit_kit.store.findings import load_findings
    from audit_kit.store.workspace import Workspace

    _, path = assessed
    with Workspace.open(path, read_only=True) as ws:
        a = load_latest_assessment(ws)
        findings = load_findings(ws, min_severity=Severity.HIGH)
    assert a is not None
    for o in a.orgs:
        if o.register:
            worst = max(o.register, key=lambda e: (e.risk_level.rank, e.likelihood * e.impact))
            assert (o.likelihood, o.impact, o.risk_level) == (worst.likelihood, worst.impact, worst.risk_level), o.org_id
        else:
            assert o.likelihood == 1
    due = {f: act.due_days for o in a.orgs for act in o.actions for f in act.findings}
    assessed_ids = {o.org_id for o in a.orgs}
    judged = [f for f in findings if f.org_id in assessed_ids and _in_period(f, a.period.start, a.period.end)]
    assert judged, "the world should raise high or critical findings"
    for f in judged:
        limit = 30 if f.severity is Severity.CRITICAL else 90
        assert f.finding_id in due and due[f.finding_id] <= limit, (f.detector, f.severity, due.get(f.finding_id))


def test_public_summary_is_short_and_publishable(assessed: tuple[Path, Path], tmp_path: Path) -> None:
    world, ws = assessed
    pdf, html = tmp_path / "public.pdf", tmp_path / "public.html"
    for out in (pdf, html):
        assert run(["report", "-w", str(ws), "--audience", "public", "-o", str(out), "-q"]) == 0
    assert len(PdfReader(pdf).pages) <= 8
    text = html.read_text()
    with (world / "users.csv").open(newline="") as fh:
        users = [row["user_id"] for row in csv.DictReader(fh)]
    with (world / "organisations.csv").open(newline="") as fh:
        orgs = list(csv.DictReader(fh))
    tokens = set(re.findall(r"[A-Za-z0-9][A-Za-z0-9_-]*", text))
    assert not tokens & set(users)
    assert not re.search(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", text)  # no network address
    assert not re.search(r"R-[0-9a-f]{16}", text)  # no pseudonym
    for org in orgs:
        assert org["name"] not in text and org["org_id"] not in tokens
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", text)
    counts = [c.replace(",", "") for c in cells if re.fullmatch(r"[\d,]+|\*", c.strip())]
    assert counts and all(c == "*" or int(c) == 0 or (int(c) >= 10 and int(c) % 5 == 0) for c in counts), counts


def test_action_plan_round_trip_shows_in_the_next_report(assessed: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    from openpyxl import load_workbook

    from audit_kit.store.assessments import load_latest_assessment
    from audit_kit.store.workspace import Workspace

    _, original = assessed
    ws = tmp_path / "ws"
    shutil.copytree(original, ws)
    with Workspace.open(ws, read_only=True) as w:
        a = load_latest_assessment(w)
    assert a is not None
    org = next(o for o in a.orgs if len(o.actions) >= 2)
    plan = tmp_path / "plan.xlsx"
    assert run(["actions", "export", "-w", str(ws), "--org", org.org_id, "-o", str(plan), "--issued",
                "2026-01-05", "-q"]) == 0
    wb = load_workbook(plan)
    sheet = wb["Action plan"]
    sheet.cell(5, 7, "agreed")
    sheet.cell(5, 8, "Pat Owner")
    sheet.cell(5, 9, "done")
    sheet.cell(5, 11, "Accounts suspended; reviewed at the board on 12 January")
    sheet.cell(6, 7, "partly agreed")
    sheet.cell(6, 9, "in progress")
    wb.save(plan)
    assert run(["actions", "import", "-w", str(ws), str(plan), "-q"]) == 0
    pack = tmp_path / "pack.html"
    assert run(["report", "-w", str(ws), "--org", org.org_id, "-o", str(pack), "--issued", "2027-03-01", "-q"]) == 0
    html = pack.read_text()
    assert "Pat Owner" in html and "Accounts suspended" in html
    assert "in progress — OVERDUE" in html  # the second action was due long before the next report
    national = tmp_path / "national.html"
    assert run(["report", "-w", str(ws), "-o", str(national), "--issued", "2027-03-01", "-q"]) == 0
    assert "overdue and not done" in national.read_text()
