"""Blank questionnaire forms for an organisation to fill in: Excel workbook, CSV or YAML."""

from __future__ import annotations

import csv
import json
from enum import Enum
from pathlib import Path
from typing import Any

from audit_kit.catalogue import AnswerType, Catalogue, Control
from audit_kit.questionnaires.layout import (
    ABOUT_FIELDS,
    ANSWER_COLUMNS,
    CSV_TEMPLATE_COLUMNS,
    EDITABLE,
    SHEET_ABOUT,
    SHEET_ANSWERS,
    SHEET_INSTRUCTIONS,
    SHEET_LISTS,
)
from audit_kit.safetext import spreadsheet_cell


class TemplateFormat(str, Enum):
    xlsx = "xlsx"
    csv = "csv"
    yaml = "yaml"


def answer_hint(control: Control) -> str:
    """What to type for this control, in words (used in every template format)."""
    t = control.answer_type
    if t in (AnswerType.YES_NO, AnswerType.YES_PARTIAL_NO, AnswerType.CHOICE):
        return " / ".join(control.allowed_answers())
    unit = f" ({control.unit})" if control.unit else ""
    return {
        AnswerType.NUMBER: f"a number{unit}, or n/a",
        AnswerType.PERCENTAGE: "a percentage 0-100, or n/a",
        AnswerType.DATE: "a date YYYY-MM-DD, or n/a",
        AnswerType.TEXT: "free text, or n/a",
    }[t]


INSTRUCTIONS = [
    "How to fill in this questionnaire",
    "",
    "1. On the About sheet, check the organisation ID and fill in the date, your name, role and e-mail.",
    "2. On the Answers sheet, answer every control in the Answer column (pick from the drop-down where there is one).",
    "   yes = fully in place; partial = in place for some people, systems or times; no = not in place.",
    "   Numbers, percentages (0-100) and dates (YYYY-MM-DD) as the Answer type column says.",
    "3. n/a is allowed only when the control does not apply to you, and then the Comment must say why.",
    "   Must-pass controls cannot be n/a; failing one caps your overall outcome.",
    "4. In Evidence supplied, name the document or record that shows the answer (file name, link or reference).",
    "   Answers with evidence count for more than bare claims; answers the access logs contradict count as no.",
    "5. Do not add, remove or rename rows, columns or sheets: the structure is protected so the file can be read back.",
    "6. Return the file to the database holder's security team, who will import it with:",
    "   audit-kit questionnaire import FILE --workspace WS",
]


def write_template(
    catalogue: Catalogue, fmt: TemplateFormat | str, out: Path, org_id: str | None = None
) -> Path:
    """Write a blank questionnaire for `catalogue` to `out` in the given format; returns `out`."""
    fmt = TemplateFormat(fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt is TemplateFormat.xlsx:
        _write_xlsx(catalogue, out, org_id)
    elif fmt is TemplateFormat.csv:
        _write_csv(catalogue, out, org_id)
    else:
        _write_yaml(catalogue, out, org_id)
    return out


def _write_csv(catalogue: Catalogue, out: Path, org_id: str | None) -> None:
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(CSV_TEMPLATE_COLUMNS))
        w.writeheader()
        for c in catalogue.controls:
            row = {
                "org_id": org_id or "",
                "checklist": catalogue.id,
                "control_id": c.id,
                "domain": c.domain,
                "title": c.title,
                "question": c.question,
                "answer_type": c.answer_type.value,
                "allowed_answers": answer_hint(c),
                "must_pass": "yes" if c.must_pass else "",
                "evidence_requested": c.evidence,
                "answer": "",
                "evidence": "",
                "comment": "",
            }
            # Titles and questions may come from an imported catalogue: never a live formula.
            w.writerow({k: spreadsheet_cell(v) for k, v in row.items()})


def _yaml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def _comment(text: str, indent: str = "  ") -> list[str]:
    """YAML comment lines for text that may span lines (OSCAL statements do)."""
    return [f"{indent}# {line}".rstrip() for line in text.splitlines() or [""]]


def _write_yaml(catalogue: Catalogue, out: Path, org_id: str | None) -> None:
    lines = [
        *_comment(
            f"Questionnaire: {catalogue.title} (checklist {catalogue.id}, version {catalogue.version})", ""
        ),
        "# Answer each control: yes / partial / no, a number, a percentage 0-100 or a date YYYY-MM-DD as",
        "# the comment above it says. n/a needs a comment saying why. Add evidence where you can.",
        f"org_id: {_yaml_str(org_id or '')}",
        f"checklist: {_yaml_str(catalogue.id)}",
        f"checklist_version: {_yaml_str(catalogue.version)}",
        "submitted:   # YYYY-MM-DD",
        "respondent:",
        '  name: ""',
        '  role: ""',
        '  email: ""',
        "answers:",
    ]
    for c in catalogue.controls:
        must = " MUST PASS." if c.must_pass else ""
        lines += _comment(f"{c.id} {c.title} [{c.domain}]{must}")
        lines += _comment(f"Q: {c.question}")
        lines += _comment(f"Answer: {answer_hint(c)}. Evidence: {c.evidence}")
        lines += [
            f"  {_yaml_str(c.id)}:",  # quoted: an id like 1.10 must not be read as a number
            "    answer:",
            '    evidence: ""',
            '    comment: ""',
        ]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_xlsx(catalogue: Catalogue, out: Path, org_id: str | None) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.workbook.protection import WorkbookProtection
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FFF2CC")  # the cells to fill in
    unlocked = Protection(locked=False)
    wrap = Alignment(wrap_text=True, vertical="top")

    ins = wb.active
    ins.title = SHEET_INSTRUCTIONS
    for i, line in enumerate(INSTRUCTIONS, 1):
        ins.cell(i, 1, line).font = bold if i == 1 else Font()
    ins.cell(
        len(INSTRUCTIONS) + 2,
        1,
        f"Checklist: {catalogue.title} ({catalogue.id}, version {catalogue.version})",
    )
    ins.column_dimensions["A"].width = 120
    ins.protection.sheet = True

    about = wb.create_sheet(SHEET_ABOUT)
    about.cell(1, 1, "About this submission").font = bold
    defaults = {"org_id": org_id or "", "checklist": catalogue.id, "checklist_version": catalogue.version}
    for r, (key, label) in enumerate(ABOUT_FIELDS, 2):
        about.cell(r, 1, label).font = bold
        value_cell = _text_cell(about, r, 2, defaults.get(key) or None)
        if key not in ("checklist", "checklist_version"):
            value_cell.protection = unlocked
            value_cell.fill = fill
        if key == "submitted":
            value_cell.number_format = "yyyy-mm-dd"
            dv = DataValidation(
                type="date",
                operator="greaterThan",
                formula1="DATE(2000,1,1)",
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="Date",
                error="Type a date, e.g. 2026-03-31",
            )
            about.add_data_validation(dv)
            dv.add(value_cell.coordinate)
    about.column_dimensions["A"].width = 22
    about.column_dimensions["B"].width = 40
    about.protection.sheet = True

    lists = wb.create_sheet(SHEET_LISTS)
    lists.sheet_state = "hidden"
    lists.protection.sheet = True

    ans = wb.create_sheet(SHEET_ANSWERS)
    keys = [k for k, _ in ANSWER_COLUMNS]
    col = {k: i + 1 for i, k in enumerate(keys)}
    for k, label in ANSWER_COLUMNS:
        ans.cell(1, col[k], label).font = bold
    widths = {
        "control_id": 10,
        "domain": 16,
        "title": 28,
        "question": 60,
        "answer_type": 22,
        "must_pass": 9,
        "evidence_requested": 40,
        "answer": 18,
        "evidence": 40,
        "comment": 40,
    }
    for k, w in widths.items():
        ans.column_dimensions[get_column_letter(col[k])].width = w
    ans.freeze_panes = "B2"

    # One validation object per distinct rule, each applied to the cells that need it.
    validations: dict[str, DataValidation] = {}

    def validation(key: str, **kwargs: object) -> DataValidation:
        if key not in validations:
            dv = DataValidation(allow_blank=True, showErrorMessage=True, errorTitle="Answer", **kwargs)
            ans.add_data_validation(dv)
            validations[key] = dv
        return validations[key]

    list_col = 0
    answer_letter = get_column_letter(col["answer"])
    for r, c in enumerate(catalogue.controls, 2):
        values = {
            "control_id": c.id,
            "domain": c.domain,
            "title": c.title,
            "question": c.question,
            "answer_type": answer_hint(c),
            "must_pass": "yes" if c.must_pass else "",
            "evidence_requested": c.evidence,
        }
        for k, v in values.items():
            _text_cell(ans, r, col[k], v).alignment = wrap
        for k in EDITABLE:
            cell = ans.cell(r, col[k])
            cell.protection = unlocked
            cell.fill = fill
            cell.alignment = wrap
        ref = f"{answer_letter}{r}"
        t = c.answer_type
        if t in (AnswerType.YES_NO, AnswerType.YES_PARTIAL_NO):
            dv = validation(
                t.value,
                type="list",
                formula1='"' + ",".join(c.allowed_answers()) + '"',
                error="Pick " + ", ".join(c.allowed_answers()),
            )
        elif t is AnswerType.CHOICE:
            # Options may hold commas and be long: keep them in cells of the hidden Lists sheet.
            list_col += 1
            options = c.allowed_answers()
            letter = get_column_letter(list_col)
            lists.cell(1, list_col, c.id)
            for i, opt in enumerate(options, 2):
                _text_cell(lists, i, list_col, opt)
            rng = f"{quote_sheetname(SHEET_LISTS)}!${letter}$2:${letter}${len(options) + 1}"
            dv = validation(
                f"choice:{c.id}", type="list", formula1=rng, error="Pick one of the listed options"
            )
        elif t is AnswerType.NUMBER:
            dv = validation(
                "number",
                type="custom",
                formula1=f'OR(AND(ISNUMBER({ref}),{ref}>=0),{ref}="n/a")',
                error="Type a number of 0 or more, or n/a",
            )
        elif t is AnswerType.PERCENTAGE:
            dv = validation(
                "percentage",
                type="custom",
                formula1=f'OR(AND(ISNUMBER({ref}),{ref}>=0,{ref}<=100),{ref}="n/a")',
                error="Type a percentage from 0 to 100, or n/a",
            )
        elif t is AnswerType.DATE:
            ans.cell(r, col["answer"]).number_format = "yyyy-mm-dd"
            dv = validation(
                "date",
                type="custom",
                formula1=f'OR(ISNUMBER({ref}),{ref}="n/a")',
                error="Type a date (YYYY-MM-DD), or n/a",
            )
        else:
            continue
        dv.add(ref)
    # Custom formulas are relative to the first cell of their range: each rule is created on its
    # first row, so Excel shifts the reference for the later rows it applies to.
    ans.protection.sheet = True
    ans.protection.formatColumns = False  # let people widen columns and rows to read long questions
    ans.protection.formatRows = False
    wb.security = WorkbookProtection(lockStructure=True)
    wb.properties.title = f"{catalogue.title} questionnaire"
    wb.active = wb.sheetnames.index(SHEET_INSTRUCTIONS)
    wb.save(out)


def _text_cell(sheet: Any, row: int, column: int, value: str | None) -> Any:
    """Write catalogue text as text: openpyxl would store a string starting with '=' as a formula, and an
    imported catalogue must not be able to put formulas into a form sent to other organisations."""
    cell = sheet.cell(row, column, value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    return cell
