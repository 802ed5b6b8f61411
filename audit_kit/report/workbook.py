"""The action plan as an Excel workbook a body fills in and returns, and the reader that takes it back.

`write_action_plan` writes one body's plan: a locked sheet of recommendations (ref, priority, due date,
what to do, findings covered, suggested owner role) with unlocked columns for the body's answer —
management response (agreed / partly agreed / not agreed, as a drop-down), owner name, status
(drop-down), agreed target date, evidence of closure, comment — and an About sheet naming the body,
the assessment and the date of issue.

`read_action_plan` reads it back validated like a questionnaire: the container is checked before
openpyxl sees it (size, zip bomb), only cached values are read (no formulas run, no macros), every
problem is named by sheet, row and column, and a plan for another body or an unknown action is
refused. Every text written is neutralised: newlines become spaces and a cell that would start with
`=`, `+`, `-`, `@` or a control character is written as text with a leading apostrophe, so nothing
from the logs or a catalogue can become a formula in the body's spreadsheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from audit_kit.errors import InputError
from audit_kit.models.actions import ActionResponse, ActionStatus, ManagementResponse, Recommendation
from audit_kit.questionnaires.readers import check_xlsx_container
from audit_kit.report.format import finding_ref
from audit_kit.safetext import single_line, spreadsheet_cell

SHEET_PLAN = "Action plan"
SHEET_ABOUT = "About"
FORMAT_TAG = "audit-kit action plan 1"
FIXED = ("Action ref", "Priority", "Due", "Recommendation", "Findings covered", "Suggested owner role")
ANSWER = ("Management response", "Owner name", "Status", "Agreed target date", "Evidence of closure", "Comment")
HEADERS = FIXED + ANSWER
HEADER_ROW = 4
MAX_TEXT = 2000
MAX_ROWS = 2000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: str) -> str:
    """Text safe for a spreadsheet cell: one line, never read as a formula (`audit_kit.safetext`)."""
    return str(spreadsheet_cell(" ".join(single_line(str(value)).split())))


def _put(sheet: Any, row: int, col: int, value: object) -> Any:
    cell = sheet.cell(row, col, neutralise(value) if isinstance(value, str) else value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would otherwise store a string starting with '=' as a formula
    return cell


def write_action_plan(out: Path, org_id: str, org_name: str, assessment_id: str, issued: date,
                      actions: Sequence[Recommendation], previous: dict[str, ActionResponse] | None = None) -> Path:
    """Write one body's action plan workbook; earlier responses (if any) are filled in for it to update."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.workbook.protection import WorkbookProtection
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_PLAN
    _put(ws, 1, 1, f"Action plan: {org_name} ({org_id})").font = Font(bold=True, size=14)
    _put(ws, 2, 1, f"Issued {issued.isoformat()}. Fill in the shaded columns for every action and return this "
                   "file to the database holder. Due dates count from the date of issue.")
    for col, name in enumerate(HEADERS, 1):
        c = _put(ws, HEADER_ROW, col, name)
        c.font = Font(bold=True)
    answer_fill = PatternFill("solid", fgColor="FFF8E1")
    prev = previous or {}
    for i, a in enumerate(actions, HEADER_ROW + 1):
        steps = " ".join(f"{k}. {s}" for k, s in enumerate(a.steps, 1))
        fixed = [a.action_id, a.priority.value, (issued + timedelta(days=a.due_days)).isoformat(),
                 f"{a.title}. {steps}", ", ".join(finding_ref(f) for f in a.findings) or "—", a.owner_role.value]
        for col, value in enumerate(fixed, 1):
            _put(ws, i, col, value).alignment = Alignment(wrap_text=True, vertical="top")
        r = prev.get(a.action_id)
        answers: list[str] = [r.response.value if r and r.response else "", r.owner_name if r else "",
                                 r.status.value if r else "", r.agreed_date.isoformat() if r and r.agreed_date else "",
                                 r.evidence if r else "", r.comment if r else ""]
        for col, value in enumerate(answers, len(FIXED) + 1):
            c = _put(ws, i, col, value)
            c.fill = answer_fill
            c.protection = Protection(locked=False)
            c.alignment = Alignment(wrap_text=True, vertical="top")
    last = HEADER_ROW + max(1, len(actions))
    col_letter = {name: chr(ord("A") + i) for i, name in enumerate(HEADERS)}
    for name, options in (("Management response", [m.value for m in ManagementResponse]),
                          ("Status", [s.value for s in ActionStatus if s is not ActionStatus.CLOSED])):
        dv = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True,
                            error="Pick one of the listed options", showErrorMessage=True)
        ws.add_data_validation(dv)
        dv.add(f"{col_letter[name]}{HEADER_ROW + 1}:{col_letter[name]}{last}")
    for name, width in zip(HEADERS, (26, 9, 11, 70, 24, 22, 18, 20, 14, 14, 40, 30), strict=True):
        ws.column_dimensions[col_letter[name]].width = width
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    about = wb.create_sheet(SHEET_ABOUT)
    for row, (k, v) in enumerate((("format", FORMAT_TAG), ("org_id", org_id), ("organisation", org_name),
                                  ("assessment_id", assessment_id), ("issued", issued.isoformat()),
                                  ("actions", str(len(actions)))), 1):
        _put(about, row, 1, k)
        _put(about, row, 2, v)
    about.protection.sheet = True
    wb.security = WorkbookProtection(lockStructure=True)
    wb.properties.title = f"Action plan {org_id}"
    try:
        wb.save(out)
    except OSError as exc:
        raise InputError(f"{out}: cannot write the action plan here ({exc.strerror or exc})") from None
    return out


@dataclass
class ReturnedPlan:
    """A filled-in action plan as read back: whose it is, the responses, and every problem found."""

    path: Path
    org_id: str
    assessment_id: str
    issued: date | None
    responses: list[ActionResponse] = field(default_factory=list)
    blank: int = 0  # rows the body left empty (no response recorded for them)
    problems: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    text = " ".join(str(value).split())
    return text[1:] if text.startswith("'") and text[1:2] in _FORMULA_START else text


def read_action_plan(path: Path, known_actions: dict[str, set[str]], recorded_by: str = "") -> ReturnedPlan:
    """Read a returned action plan. `known_actions` maps org id to the action ids issued to it.

    Raises InputError when the file is not a readable workbook; otherwise every problem (unknown
    action, value not in a list, bad date, over-long text) is in `problems`, named by row and column.
    """
    from openpyxl import load_workbook

    name = str(path)
    if not path.is_file():
        raise InputError(f"{name}: no such file")
    check_xlsx_container(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True, keep_vba=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the user's file to fix
        raise InputError(f"{name}: cannot be read as an Excel workbook ({type(exc).__name__})") from None
    try:
        if SHEET_ABOUT not in wb.sheetnames or SHEET_PLAN not in wb.sheetnames:
            raise InputError(f"{name}: not an audit-kit action plan (sheets {SHEET_PLAN!r} and {SHEET_ABOUT!r} "
                             "expected)", hint="return the workbook `audit-kit actions export` wrote")
        about = {_text(r[0]): _text(r[1]) for r in wb[SHEET_ABOUT].iter_rows(min_row=1, max_row=20, max_col=2,
                                                                             values_only=True) if r and r[0]}
        if about.get("format") != FORMAT_TAG:
            raise InputError(f"{name}: sheet 'About', key 'format': expected {FORMAT_TAG!r}, got "
                             f"{about.get('format')!r}")
        org_id = about.get("org_id", "")
        if org_id not in known_actions:
            raise InputError(f"{name}: sheet 'About', key 'org_id': no action plan was issued to {org_id!r}",
                             hint="export the plan first: audit-kit actions export --org ORG")
        try:
            issued: date | None = date.fromisoformat(about.get("issued", ""))
        except ValueError:
            issued = None
        plan = ReturnedPlan(path, org_id, about.get("assessment_id", ""), issued)
        rows = wb[SHEET_PLAN].iter_rows(min_row=HEADER_ROW, max_row=HEADER_ROW + MAX_ROWS, max_col=len(HEADERS),
                                        values_only=True)
        header = [_text(v) for v in next(rows, ())]
        if tuple(header[: len(HEADERS)]) != HEADERS:
            raise InputError(f"{name}: sheet {SHEET_PLAN!r}, row {HEADER_ROW}: expected the columns "
                             f"{', '.join(HEADERS)}")
        for number, row in enumerate(rows, HEADER_ROW + 1):
            _row(plan, number, [_text(v) for v in row] + [""] * (len(HEADERS) - len(row)), known_actions[org_id],
                 recorded_by or path.name)
        return plan
    finally:
        wb.close()


def _row(plan: ReturnedPlan, number: int, cells: list[str], known: set[str], recorded_by: str) -> None:
    values = dict(zip(HEADERS, cells, strict=False))
    ref = values["Action ref"]
    if not ref and not any(values[k] for k in ANSWER):
        return
    where = f"sheet {SHEET_PLAN!r}, row {number}"
    if ref not in known:
        plan.problems.append(f"{where}, column 'Action ref': {ref!r} is not an action issued to {plan.org_id}")
        return
    if not any(values[k] for k in ANSWER):
        plan.blank += 1
        return
    ok = True
    response = None
    if values["Management response"]:
        try:
            response = ManagementResponse(values["Management response"].lower())
        except ValueError:
            ok = False
            plan.problems.append(f"{where}, column 'Management response': expected one of "
                                 f"{', '.join(m.value for m in ManagementResponse)}, got {values['Management response']!r}")
    status = ActionStatus.NOT_STARTED
    if values["Status"]:
        try:
            status = ActionStatus(values["Status"].lower())
        except ValueError:
            ok = False
            plan.problems.append(f"{where}, column 'Status': expected one of "
                                 f"{', '.join(s.value for s in ActionStatus)}, got {values['Status']!r}")
    agreed = None
    if values["Agreed target date"]:
        try:
            agreed = date.fromisoformat(values["Agreed target date"][:10])
        except ValueError:
            ok = False
            plan.problems.append(f"{where}, column 'Agreed target date': expected a date YYYY-MM-DD, got "
                                 f"{values['Agreed target date']!r}")
    for k in ("Owner name", "Evidence of closure", "Comment"):
        if len(values[k]) > MAX_TEXT:
            ok = False
            plan.problems.append(f"{where}, column {k!r}: {len(values[k]):,} characters; at most {MAX_TEXT:,}")
    if status in (ActionStatus.DONE, ActionStatus.CLOSED) and not values["Evidence of closure"]:
        ok = False
        plan.problems.append(f"{where}, column 'Evidence of closure': required when the status is {status.value!r}")
    if ok:
        plan.responses.append(ActionResponse(
            action_id=ref, org_id=plan.org_id, response=response, owner_name=values["Owner name"], status=status,
            agreed_date=agreed, evidence=values["Evidence of closure"], comment=values["Comment"],
            recorded_by=recorded_by, source="xlsx",
        ))
