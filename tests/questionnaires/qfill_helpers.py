"""Fill questionnaire templates programmatically, as a respondent would, in each format."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import yaml

from audit_kit.catalogue import AnswerType, Catalogue, Control

SUBMITTED = date(2026, 3, 31)


def full_answer(c: Control) -> Any:
    """The answer that earns full credit for a control."""
    t = c.answer_type
    if t in (AnswerType.YES_NO, AnswerType.YES_PARTIAL_NO):
        return "yes"
    if t is AnswerType.CHOICE:
        return max((c.choices or {}).items(), key=lambda kv: kv[1])[0]
    if t is AnswerType.DATE:
        return SUBMITTED - timedelta(days=30)
    if t in (AnswerType.NUMBER, AnswerType.PERCENTAGE):
        assert c.scoring is not None
        full = c.scoring.full
        return int(full) if float(full).is_integer() else full
    return "described in the attached policy"


def fill_csv(template: Path, out: Path, org: str, answers: dict[str, dict[str, Any]]) -> Path:
    with template.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        a = answers.get(r["control_id"], {})
        r["org_id"] = org
        r["submitted"] = SUBMITTED.isoformat()
        r["respondent_name"] = "A. Person"
        v = a.get("answer", "")
        r["answer"] = v.isoformat() if isinstance(v, date) else ("" if v is None else str(v))
        r["evidence"] = a.get("evidence", "")
        r["comment"] = a.get("comment", "")
    with out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return out


def fill_yaml(template: Path, out: Path, org: str, answers: dict[str, dict[str, Any]]) -> Path:
    doc = yaml.safe_load(template.read_text())
    doc["org_id"] = org
    doc["submitted"] = SUBMITTED
    doc["respondent"] = {"name": "A. Person", "role": "DPO", "email": "dpo@example.org"}
    for cid, entry in doc["answers"].items():
        a = answers.get(cid, {})
        entry["answer"] = a.get("answer")
        entry["evidence"] = a.get("evidence", "")
        entry["comment"] = a.get("comment", "")
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def fill_xlsx(template: Path, out: Path, org: str, answers: dict[str, dict[str, Any]]) -> Path:
    wb = openpyxl.load_workbook(template)
    about = wb["About"]
    fields = {
        "Organisation ID": org,
        "Date submitted": SUBMITTED,
        "Respondent name": "A. Person",
        "Respondent role": "DPO",
        "Respondent email": "dpo@example.org",
    }
    for row in about.iter_rows(min_row=1):
        if row[0].value in fields:
            row[1].value = fields[row[0].value]
    sheet = wb["Answers"]
    header = [c.value for c in sheet[1]]
    col = {name: header.index(name) + 1 for name in ("Control ID", "Answer", "Evidence supplied", "Comment")}
    for r in range(2, sheet.max_row + 1):
        a = answers.get(sheet.cell(r, col["Control ID"]).value)
        if a is None:
            continue
        sheet.cell(r, col["Answer"], a.get("answer"))
        sheet.cell(r, col["Evidence supplied"], a.get("evidence") or None)
        sheet.cell(r, col["Comment"], a.get("comment") or None)
    wb.save(out)
    return out


FILLERS = {"csv": fill_csv, "yaml": fill_yaml, "xlsx": fill_xlsx}


def full_answers(cat: Catalogue, evidence: bool = True) -> dict[str, dict[str, Any]]:
    return {
        c.id: {"answer": full_answer(c), "evidence": f"{c.id}.pdf" if evidence else "", "comment": ""}
        for c in cat.controls
    }
