"""A questionnaire uploaded through the web app: read and checked with the CLI's own readers and
validator before anything is stored, every problem shown by row and control.

A file that passes is kept in the people store as *received* (`web_submissions`); the analytical store
takes it at the next `audit-kit questionnaire import --received` (a writer job), so the web app never
opens DuckDB for writing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from audit_kit.catalogue import CatalogueLibrary
from audit_kit.errors import InputError
from audit_kit.questionnaires.readers import FORMATS, read_file
from audit_kit.questionnaires.validate import validate_submission


@dataclass(frozen=True)
class UploadProblem:
    where: str  # sheet / row / key, as the file shows it
    control_id: str
    message: str


@dataclass
class UploadCheck:
    """The outcome of checking one uploaded file for one body."""

    filename: str
    fmt: str
    problems: list[UploadProblem] = field(default_factory=list)
    answers: int = 0
    checklist_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.answers > 0


def safe_name(filename: str) -> str:
    base = Path(filename or "questionnaire").name
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in base)[:100] or "questionnaire"


def check_upload(filename: str, content: bytes, org_id: str, known_orgs: set[str],
                 catalogues: CatalogueLibrary) -> UploadCheck:
    """Read and validate an uploaded questionnaire as `org_id`'s. Never stores anything."""
    name = safe_name(filename)
    suffix = Path(name).suffix.lower()
    fmt = FORMATS.get(suffix, "")
    check = UploadCheck(name, fmt)
    if not fmt:
        check.problems.append(UploadProblem("file", "", f"unsupported format {suffix or '(no extension)'!r}: "
                                            "upload the .xlsx, .yaml or .csv questionnaire"))
        return check
    if not content:
        check.problems.append(UploadProblem("file", "", "the file is empty"))
        return check
    with tempfile.TemporaryDirectory(prefix="audit-kit-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        try:
            raws = read_file(path)
        except InputError as exc:
            message = exc.message.replace(str(path), name).removeprefix(f"{name}: ")
            check.problems.append(UploadProblem("file", "", message + (f" ({exc.hint})" if exc.hint else "")))
            return check
        for raw in raws:
            sub, problems = validate_submission(raw, catalogues)
            for p in problems:
                loc = p.location
                where = ", ".join(x for x in (f"sheet {loc.sheet}" if loc.sheet else "",
                                              f"row {loc.row}" if loc.row is not None else "",
                                              f"key {loc.key}" if loc.key else "") if x) or "file"
                check.problems.append(UploadProblem(where, p.control_id or "", p.message))
            if raw.org_id and raw.org_id != org_id:
                check.problems.append(UploadProblem("org_id", "", f"the file answers for {raw.org_id!r}, "
                                                    f"not for {org_id!r}: upload your own body's questionnaire"))
            elif raw.org_id and raw.org_id not in known_orgs:
                check.problems.append(UploadProblem("org_id", "", f"{raw.org_id!r} is not a body of this review"))
            if sub is not None:
                check.answers += len(sub.answers)
                check.checklist_id = sub.checklist_id
        if not raws:
            check.problems.append(UploadProblem("file", "", "no answers found in the file"))
    return check
