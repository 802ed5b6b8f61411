"""Read questionnaire files (YAML, CSV, XLSX) into `RawSubmission`s. Untrusted input throughout:
sizes are capped, YAML aliases refused, Excel read for cached values only with macros ignored.

Readers report problems instead of raising where they can, so an import lists everything at once;
a file that cannot be read at all raises InputError naming it.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

from audit_kit.errors import InputError
from audit_kit.models.questionnaire import Location, Problem, RawAnswer, RawSubmission
from audit_kit.questionnaires.layout import (
    ABOUT_FIELDS,
    ANSWER_COLUMNS,
    CSV_INFORMATIONAL,
    CSV_OPTIONAL,
    CSV_REQUIRED,
    MAX_CSV_BYTES,
    MAX_ROWS,
    MAX_XLSX_BYTES,
    MAX_XLSX_MEMBERS,
    MAX_XLSX_RATIO,
    MAX_XLSX_UNCOMPRESSED,
    SHEET_ABOUT,
    SHEET_ANSWERS,
    YAML_ANSWER_KEYS,
    YAML_RESPONDENT_KEYS,
    YAML_TOP_KEYS,
)
from audit_kit.safeyaml import load_yaml_file

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".csv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_file(path: Path) -> list[RawSubmission]:
    """Read one questionnaire file of any supported format (chosen by its extension)."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unsupported questionnaire format {path.suffix or '(no extension)'!r}",
            hint="use .yaml, .csv or .xlsx",
        )
    return {"yaml": read_yaml, "csv": read_csv, "xlsx": read_xlsx}[fmt](path)


# -- YAML ----------------------------------------------------------------------------------------------
def read_yaml(path: Path) -> list[RawSubmission]:
    """A YAML questionnaire: org_id, checklist, submitted, respondent{}, answers{control: value|{}}."""
    data = load_yaml_file(path)
    name = str(path)
    if not isinstance(data, dict):
        raise InputError(f"{name}: a YAML questionnaire must be a mapping with org_id, checklist and answers")
    problems: list[Problem] = []
    for key in data:
        if key not in YAML_TOP_KEYS:
            problems.append(
                Problem(Location(name, key=str(key)), f"unknown key (expected {', '.join(YAML_TOP_KEYS)})")
            )
    respondent: dict[str, str] = {}
    raw_resp = data.get("respondent") or {}
    if isinstance(raw_resp, dict):
        for k, v in raw_resp.items():
            if k in YAML_RESPONDENT_KEYS:
                respondent[str(k)] = _text(v)
            else:
                problems.append(
                    Problem(Location(name, key=f"respondent.{k}"), "unknown key (expected name, role, email)")
                )
    else:
        problems.append(Problem(Location(name, key="respondent"), "must be a mapping with name, role, email"))
    answers: list[RawAnswer] = []
    raw_answers = data.get("answers")
    if raw_answers is None:
        problems.append(Problem(Location(name, key="answers"), "required key is missing"))
    elif not isinstance(raw_answers, dict):
        problems.append(Problem(Location(name, key="answers"), "must map control ids to answers"))
    else:
        for cid, value in raw_answers.items():
            loc = Location(name, key=f"answers.{cid}")
            if isinstance(value, dict):
                for k in value:
                    if k not in YAML_ANSWER_KEYS:
                        problems.append(
                            Problem(loc, f"unknown key {k!r} (expected answer, evidence, comment)", str(cid))
                        )
                answers.append(
                    RawAnswer(
                        str(cid),
                        value.get("answer"),
                        _text(value.get("evidence")),
                        _text(value.get("comment")),
                        loc,
                    )
                )
            elif isinstance(value, list):
                problems.append(
                    Problem(loc, "an answer must be a single value or {answer, evidence, comment}", str(cid))
                )
            else:
                answers.append(RawAnswer(str(cid), value, location=loc))
    org = _text(data.get("org_id")) or None
    return [
        RawSubmission(
            org_id=org,
            checklist=_text(data.get("checklist")) or None,
            submitted=data.get("submitted"),
            respondent=respondent,
            answers=answers,
            source_file=name,
            source_format="yaml",
            location=Location(name),
            problems=problems,
        )
    ]


# -- CSV -----------------------------------------------------------------------------------------------
def read_csv(path: Path) -> list[RawSubmission]:
    """A CSV questionnaire: one row per answer; several organisations may share a file."""
    name = str(path)
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise InputError(
            f"{name}: file is {size:,} bytes; CSV questionnaires are capped at {MAX_CSV_BYTES:,}"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})", hint="save the CSV as UTF-8"
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"{name}, row 1: missing column(s) {', '.join(missing)}",
            hint="columns are org_id, control_id, answer, evidence, comment",
        )
    problems: list[Problem] = []
    known = set(CSV_REQUIRED) | set(CSV_OPTIONAL) | set(CSV_INFORMATIONAL)
    for col in header:
        if col not in known:
            problems.append(Problem(Location(name, row=1, key=col), "unknown column"))
    groups: dict[tuple[str, str], RawSubmission] = {}
    for i, row in enumerate(reader, start=2):
        if i > MAX_ROWS + 1:
            raise InputError(f"{name}: more than {MAX_ROWS:,} rows; this is not a questionnaire")
        if None in row:
            problems.append(Problem(Location(name, row=i), "more fields than the header has"))
        org = _text(row.get("org_id"))
        cid = _text(row.get("control_id"))
        if not any(_text(v) for k, v in row.items() if k is not None):
            continue  # blank line
        loc = Location(name, row=i)
        checklist = _text(row.get("checklist"))
        sub = groups.get((org, checklist))
        if sub is None:
            sub = groups[(org, checklist)] = RawSubmission(
                org_id=org or None,
                checklist=checklist or None,
                submitted=_text(row.get("submitted")) or None,
                respondent={
                    k: _text(row.get(f"respondent_{k}"))
                    for k in YAML_RESPONDENT_KEYS
                    if _text(row.get(f"respondent_{k}"))
                },
                answers=[],
                source_file=name,
                source_format="csv",
                location=Location(name),  # problems about the whole submission name the file
            )
        if not cid:
            sub.problems.append(Problem(loc, "control_id is empty", org_id=org or None))
            continue
        sub.answers.append(
            RawAnswer(
                cid,
                _text(row.get("answer")) or None,
                _text(row.get("evidence")),
                _text(row.get("comment")),
                loc,
            )
        )
    subs = list(groups.values())
    if not subs:
        raise InputError(f"{name}: no answers (only a header)")
    subs[0].problems[:0] = problems
    return subs


# -- XLSX ----------------------------------------------------------------------------------------------
def check_xlsx_container(path: Path) -> None:
    """Refuse workbooks that are too big, not zip files, or zip bombs, before openpyxl sees them."""
    name = str(path)
    size = path.stat().st_size
    if size > MAX_XLSX_BYTES:
        raise InputError(
            f"{name}: file is {size:,} bytes; Excel questionnaires are capped at {MAX_XLSX_BYTES:,}"
        )
    if not zipfile.is_zipfile(path):
        raise InputError(
            f"{name}: not an Excel .xlsx workbook (not a zip container)",
            hint="save as Excel Workbook (.xlsx); old .xls files are not supported",
        )
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_XLSX_MEMBERS:
            raise InputError(
                f"{name}: workbook has {len(infos):,} parts; at most {MAX_XLSX_MEMBERS:,} allowed"
            )
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > 1024 * 1024 and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
                raise InputError(
                    f"{name}: part {info.filename} expands {info.file_size // max(info.compress_size, 1):,}"
                    f" times; refused as a possible zip bomb"
                )
        if total > MAX_XLSX_UNCOMPRESSED:
            raise InputError(
                f"{name}: workbook expands to {total:,} bytes; at most {MAX_XLSX_UNCOMPRESSED:,} allowed"
            )
        if "[Content_Types].xml" not in zf.namelist():
            raise InputError(f"{name}: not an Excel workbook (no [Content_Types].xml)")


def read_xlsx(path: Path) -> list[RawSubmission]:
    """The workbook `questionnaire template --format xlsx` produced, filled in. Cached values only."""
    name = str(path)
    check_xlsx_container(path)  # before openpyxl is even imported: a refused file costs nothing

    import openpyxl

    try:
        # data_only: formulas' cached values, never the formulas; keep_vba False: macros dropped unread.
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_vba=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise InputError(f"{name}: cannot read the workbook ({type(exc).__name__}: {exc})") from None
    try:
        for sheet in (SHEET_ABOUT, SHEET_ANSWERS):
            if sheet not in wb.sheetnames:
                raise InputError(
                    f"{name}: sheet {sheet!r} is missing (found {', '.join(wb.sheetnames)})",
                    hint="use the workbook made by `audit-kit questionnaire template --format xlsx`",
                )
        problems: list[Problem] = []
        about: dict[str, Any] = {}
        labels = {label.lower(): key for key, label in ABOUT_FIELDS}
        for row in wb[SHEET_ABOUT].iter_rows(min_row=1, max_row=50, max_col=2, values_only=True):
            if not row or row[0] is None:
                continue
            key = labels.get(_text(row[0]).lower())
            if key:
                about[key] = row[1] if len(row) > 1 else None
        ws = wb[SHEET_ANSWERS]
        rows = ws.iter_rows()
        header = [_text(c.value).lower() for c in next(rows, ())]
        cols: dict[str, int] = {}
        for key, label in ANSWER_COLUMNS:
            if label.lower() in header:
                cols[key] = header.index(label.lower())
        for key in ("control_id", "answer"):
            if key not in cols:
                raise InputError(
                    f"{name}, sheet {SHEET_ANSWERS}, row 1: column {dict(ANSWER_COLUMNS)[key]!r} is missing"
                )
        answers: list[RawAnswer] = []
        for r, row in enumerate(rows, start=2):
            if r > MAX_ROWS + 1:
                raise InputError(f"{name}, sheet {SHEET_ANSWERS}: more than {MAX_ROWS:,} rows")

            def cell(key: str, row: tuple[Any, ...] = row) -> Any:
                i = cols.get(key)
                if i is None or i >= len(row):
                    return None
                value = row[i].value
                # "95%" typed into Excel is stored as 0.95 in a percent-formatted cell: read it as 95.
                fmt = getattr(row[i], "number_format", "") or ""
                if isinstance(value, int | float) and not isinstance(value, bool) and "%" in fmt:
                    return round(value * 100, 6)
                return value

            cid = _text(cell("control_id"))
            if not cid:
                if any(_text(cell(k)) for k in ("answer", "evidence", "comment")):
                    problems.append(
                        Problem(Location(name, SHEET_ANSWERS, r), "answer given on a row with no control id")
                    )
                continue
            answers.append(
                RawAnswer(
                    cid,
                    cell("answer"),
                    _text(cell("evidence")),
                    _text(cell("comment")),
                    Location(name, SHEET_ANSWERS, r),
                )
            )
    finally:
        wb.close()
    respondent = {
        k: _text(about.get(f"respondent_{k}"))
        for k in YAML_RESPONDENT_KEYS
        if _text(about.get(f"respondent_{k}"))
    }
    return [
        RawSubmission(
            org_id=_text(about.get("org_id")) or None,
            checklist=_text(about.get("checklist")) or None,
            submitted=about.get("submitted"),
            respondent=respondent,
            answers=answers,
            source_file=name,
            source_format="xlsx",
            location=Location(name),
            problems=problems,
        )
    ]
