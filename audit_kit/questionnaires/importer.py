"""Import questionnaire files (any mix of YAML, CSV, XLSX) into a workspace, with versions.

All files are read and checked first and every problem is reported together. With `strict`, any
problem refuses the whole import (nothing is stored). Without it, each submission that names an
organisation and a known checklist is stored with its valid answers, and the problems are stored
alongside (table `questionnaire_problems`) and returned. Identical resubmissions are skipped.
"""

from __future__ import annotations

from pathlib import Path

from audit_kit.catalogue import SHIPPED, CatalogueLibrary
from audit_kit.errors import InputError
from audit_kit.models.questionnaire import Location, Problem, QuestionnaireImportReport, Submission
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.questionnaires.readers import FORMATS, read_file
from audit_kit.questionnaires.validate import validate_submission
from audit_kit.store.ingest import org_ids
from audit_kit.store.questionnaires import (
    content_hash,
    is_duplicate,
    store_problems,
    store_submission,
    utcnow,
)
from audit_kit.store.workspace import Workspace


class QuestionnaireRejected(InputError):
    """Strict import refused: carries the report so callers can show every problem."""

    def __init__(self, report: QuestionnaireImportReport) -> None:
        lines = "\n  ".join(str(p) for p in report.problems)
        super().__init__(
            f"{len(report.problems)} problem(s) in questionnaires; nothing imported (--strict):\n  {lines}",
            hint="fix them, or import without --strict to store the valid answers",
        )
        self.report = report


def expand(paths: list[Path]) -> list[Path]:
    """Files to import: files as given, and questionnaire files directly inside given directories."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in FORMATS))
        elif p.exists():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    return out


def import_files(
    ws: Workspace, paths: list[Path], strict: bool = False, progress: Progress = NULL_PROGRESS,
    catalogues: CatalogueLibrary = SHIPPED,
) -> QuestionnaireImportReport:
    """Read, check and store questionnaires; return what was stored, skipped and every problem.

    Raises QuestionnaireRejected (an InputError) under `strict` when anything is wrong.
    """
    files = expand([Path(p) for p in paths])
    report = QuestionnaireImportReport(files=[str(f) for f in files], strict=strict)
    submissions: list[Submission] = []
    progress.start("reading questionnaires", total=len(files))
    for f in files:
        try:
            raws = read_file(f)
        except InputError as exc:
            # The location already names the file: keep only what follows it in the message.
            message = exc.message.removeprefix(f"{f}: ").removeprefix(f"{f}, ")
            report.problems.append(
                Problem(Location(str(f)), message + (f" ({exc.hint})" if exc.hint else ""))
            )
            report.rejected.append(f"{f}: unreadable")
            progress.advance()
            continue
        for raw in raws:
            sub, problems = validate_submission(raw, catalogues)
            report.problems.extend(problems)
            if sub is None:
                report.rejected.append(
                    f"{raw.source_file}: org {raw.org_id or '?'} not stored (see problems)"
                )
            else:
                submissions.append(sub)
        progress.advance()
    progress.finish()
    _check_known_orgs(ws, submissions, report)
    if strict and report.problems:
        raise QuestionnaireRejected(report)
    now = utcnow()
    with ws.transaction():
        for sub in submissions:
            digest = content_hash(sub)
            if is_duplicate(ws, sub, digest):
                report.duplicates.append(f"{sub.org_id}/{sub.checklist_id} from {sub.source_file}")
                continue
            report.stored.append(store_submission(ws, sub, digest, now))
        # Problems of stored submissions were stored with them; keep the rest (unreadable files,
        # rejected submissions) too, so the workspace shows everything that went wrong.
        kept = {id(p) for sub in submissions for p in sub.problems}
        store_problems(ws, [p for p in report.problems if id(p) not in kept], now)
    return report


def _check_known_orgs(
    ws: Workspace, submissions: list[Submission], report: QuestionnaireImportReport
) -> None:
    """Flag answers from organisations the workspace does not know (once organisations are ingested)."""
    if not ws.count("organisations"):
        return  # questionnaires may be imported before the dataset; nothing to check against yet
    known = set(org_ids(ws))
    for sub in submissions:
        if sub.org_id not in known:
            problem = Problem(
                Location(sub.source_file),
                "org_id is not in the workspace's organisations (check the id, or ingest organisations.csv)",
                org_id=sub.org_id,
            )
            sub.problems.append(problem)
            report.problems.append(problem)
