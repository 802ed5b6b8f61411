"""Template → filled programmatically → import → score, for each format, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from qfill_helpers import FILLERS, SUBMITTED, full_answers

from audit_kit.catalogue import load_catalogue
from audit_kit.cli import run

CHECKLIST = "accessing-organisation"


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "yaml"])
def test_round_trip_scores_what_was_answered(tmp_path: Path, capsys, fmt: str) -> None:
    cat = load_catalogue(CHECKLIST)
    template = tmp_path / f"blank.{fmt}"
    assert (
        run(
            [
                "questionnaire",
                "template",
                "--checklist",
                CHECKLIST,
                "--org",
                "LA-001",
                "--format",
                fmt,
                "-o",
                str(template),
            ]
        )
        == 0
    )
    capsys.readouterr()
    answers = full_answers(cat)
    answers["GOV-03"] = {"answer": "partial", "evidence": "", "comment": ""}
    answers["DEV-06"] = {"answer": "n/a", "evidence": "", "comment": "we never retire devices; all leased"}
    filled = FILLERS[fmt](template, tmp_path / f"LA-001.{fmt}", "LA-001", answers)
    ws = tmp_path / "ws"
    assert (
        run(["questionnaire", "import", str(filled), "--workspace", str(ws), "--strict", "--format", "json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == [] and report["stored"][0]["answers"] == len(cat.controls)

    assert run(["score", "--workspace", str(ws), "--format", "json"]) == 0
    [score] = json.loads(capsys.readouterr().out)
    # Hand-computed: every control full except GOV-03 partial (half its weight lost); DEV-06 n/a excluded.
    w = {c.id: c.weight for c in cat.controls}
    denominator = sum(w.values()) - w["DEV-06"]
    expected = round(100 * (denominator - 0.5 * w["GOV-03"]) / denominator, 1)
    assert score["org_id"] == "LA-001" and score["overall"] == expected
    assert score["submitted"] == SUBMITTED.isoformat()
    assert score["must_pass_failed"] == [] and score["status"] == "Standards Met"  # GOV-03 has no evidence
    by_id = {c["control_id"]: c for c in score["controls"]}
    assert by_id["DEV-06"]["status"] == "not_applicable" and by_id["DEV-06"]["credit"] is None
    assert by_id["GOV-03"]["credit"] == 0.5 and by_id["GOV-03"]["confidence"] == "claimed"
    assert by_id["GOV-01"]["confidence"] == "evidenced"
    governance = next(d for d in score["domains"] if d["domain"] == "Governance")
    assert governance["gaps"] == 1
    assert score["frameworks"]["ncsc_caf"]["requirements"]
    a1c = next(r for r in score["frameworks"]["ncsc_caf"]["requirements"] if r["requirement"] == "A1.c")
    assert a1c["outcome"] == "Partially achieved"  # only GOV-03 maps to A1.c


def test_excel_template_structure(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    assert run(["questionnaire", "template", "--checklist", CHECKLIST, "--org", "GP-7", "-o", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Instructions", "About", "Lists", "Answers"]
    assert wb["Lists"].sheet_state == "hidden"
    assert wb.security.lockStructure
    ans = wb["Answers"]
    assert ans.protection.sheet and wb["About"].protection.sheet and wb["Instructions"].protection.sheet
    header = [c.value for c in ans[1]]
    assert header[:1] == ["Control ID"] and {"Answer", "Evidence supplied", "Comment"} <= set(header)
    answer_col = header.index("Answer") + 1
    cat = load_catalogue(CHECKLIST)
    assert ans.max_row == len(cat.controls) + 1
    assert ans.cell(2, answer_col).protection.locked is False  # the answer can be typed
    assert ans.cell(2, 1).protection.locked is True  # the control id cannot
    dvs = ans.data_validations.dataValidation
    kinds = {dv.type for dv in dvs}
    assert {"list", "custom"} <= kinds
    covered = set()
    for dv in dvs:
        for rng in dv.sqref.ranges:
            covered.add(rng.coord)
    letter = openpyxl.utils.get_column_letter(answer_col)
    scored_rows = [r for r, c in enumerate(cat.controls, 2) if c.answer_type.value != "text"]
    assert {f"{letter}{r}" for r in scored_rows} <= covered
    about = {r[0].value: r[1].value for r in wb["About"].iter_rows(min_row=2) if r[0].value}
    assert about["Organisation ID"] == "GP-7" and about["Checklist"] == CHECKLIST


def test_template_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    out = tmp_path / "t.csv"
    out.write_text("mine")
    assert run(["questionnaire", "template", "--format", "csv", "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_text() == "mine"


def test_cyber_essentials_round_trip_and_ranking(tmp_path: Path, capsys) -> None:
    cat = load_catalogue("cyber-essentials")
    ws = tmp_path / "ws"
    for org, fmt, no in (("A", "yaml", None), ("B", "csv", "CE-MP")):
        template = tmp_path / f"{org}.blank.{fmt}"
        assert (
            run(["questionnaire", "template", "-c", "cyber-essentials", "-f", fmt, "-o", str(template)]) == 0
        )
        capsys.readouterr()
        answers = full_answers(cat)
        if no:
            answers[no]["answer"] = "no"
        FILLERS[fmt](template, tmp_path / f"{org}.{fmt}", org, answers)
    assert (
        run(["questionnaire", "import", str(tmp_path / "A.yaml"), str(tmp_path / "B.csv"), "-w", str(ws)])
        == 0
    )
    capsys.readouterr()
    assert run(["score", "-w", str(ws), "--checklist", "cyber-essentials", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("1,B,cyber-essentials") and "CE-MP" in lines[1]  # weakest first
    assert lines[2].startswith("2,A,cyber-essentials,1,2026-03-31,100.0")
    assert run(["score", "-w", str(ws), "--org", "B", "--format", "json"]) == 0
    [b] = json.loads(capsys.readouterr().out)
    assert b["overall"] == 50.0 and b["raw_score"] == 80.0 and b["status"] == "Standards Not Met"
    assert b["frameworks"]["cyber_essentials"]["summary"] == {"Fail": 1, "Pass": 4}
    assert run(["score", "-w", str(ws), "--org", "B"]) == 0
    out = capsys.readouterr().out
    assert "CE-MP Malware protection" in out and "MUST PASS" in out


def test_excel_percent_formatted_cell_reads_as_percentage(tmp_path: Path, capsys) -> None:
    """Typing 95% in Excel stores 0.95 with a % format; it must score as 95, not 0.95."""
    cat = load_catalogue(CHECKLIST)
    template = tmp_path / "t.xlsx"
    assert run(["questionnaire", "template", "--org", "LA-9", "-o", str(template)]) == 0
    capsys.readouterr()
    filled = FILLERS["xlsx"](template, tmp_path / "f.xlsx", "LA-9", full_answers(cat))
    wb = openpyxl.load_workbook(filled)
    sheet = wb["Answers"]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == "PPL-01")
    answer = sheet.cell(row, [c.value for c in sheet[1]].index("Answer") + 1)
    answer.value, answer.number_format = 0.96, "0%"
    wb.save(filled)
    assert run(["questionnaire", "import", str(filled), "-w", str(tmp_path / "ws"), "--strict"]) == 0
    capsys.readouterr()
    assert run(["score", "-w", str(tmp_path / "ws"), "--format", "json"]) == 0
    [s] = json.loads(capsys.readouterr().out)
    ppl01 = next(c for c in s["controls"] if c["control_id"] == "PPL-01")
    assert ppl01["answer"] == "96" and ppl01["credit"] == 0.5 and s["must_pass_failed"] == ["PPL-01"]


def test_catalogue_text_never_becomes_an_excel_formula(tmp_path: Path) -> None:
    import yaml

    cat = {
        "id": "evil",
        "title": "t",
        "version": "1",
        "source": "s",
        "controls": [
            {
                "id": "E-1",
                "title": '=HYPERLINK("http://x","click")',
                "domain": "D",
                "question": "=1+1",
                "answer_type": "choice",
                "choices": {"=cmd|' /C calc'!A0": 1.0, "no": 0.0},
            }
        ],
    }
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(cat))
    out = tmp_path / "t.xlsx"
    assert run(["questionnaire", "template", "-c", str(path), "-o", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert any(c.value == "=1+1" and c.data_type == "s" for c in cells)
