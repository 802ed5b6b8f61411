"""Check a `RawSubmission` against its catalogue: every problem is collected, none stops the check."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from audit_kit.catalogue import SHIPPED, AnswerType, Catalogue, CatalogueLibrary, Control
from audit_kit.errors import ConfigError
from audit_kit.models.questionnaire import NA_WORDS, Answer, Problem, RawAnswer, RawSubmission, Submission

_YES = {"yes", "y", "true"}
_NO = {"no", "n", "false"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(value: Any) -> date | None:
    """A date from a date/datetime cell or an ISO `YYYY-MM-DD` string; None if it is not one."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip() if value is not None else ""
    if _ISO_DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    return None


def infer_checklist(raw: RawSubmission, catalogues: CatalogueLibrary = SHIPPED) -> Catalogue:
    """The known catalogue that names most of the answered control ids (for CSVs without `checklist`)."""
    ids = {a.control_id for a in raw.answers}
    best = max(catalogues.list(), key=lambda c: len(ids & set(c.by_id())), default=None)
    if best is None:
        raise ConfigError("no shipped checklists found", hint="is the checklists/ directory installed?")
    return best


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def check_answer(
    control: Control, raw: RawAnswer, submitted: date | None
) -> tuple[Answer | None, str | None]:
    """Normalise one answer for `control`, or return the reason it is not acceptable."""
    value = raw.answer
    loc = raw.location
    text = str(value).strip() if not isinstance(value, datetime | date) else ""
    def answer(text: str, value: float | None = None) -> Answer:
        return Answer(control.id, text, value, raw.evidence, raw.comment, loc.sheet, loc.row)

    if text.lower() in NA_WORDS:
        if control.must_pass:
            return None, "n/a is not allowed for a must-pass control"
        if not raw.comment:
            return None, "n/a needs a comment saying why the control does not apply"
        return answer("n/a"), None
    t = control.answer_type
    if t in (AnswerType.YES_NO, AnswerType.YES_PARTIAL_NO):
        word = text.lower()
        if word in _YES or value is True:
            return answer("yes"), None
        if word in _NO or value is False:
            return answer("no"), None
        if word == "partial" and t is AnswerType.YES_PARTIAL_NO:
            return answer("partial"), None
        allowed = "yes, partial, no or n/a" if t is AnswerType.YES_PARTIAL_NO else "yes, no or n/a"
        return None, f"expected {allowed}; got {text!r}"
    if t is AnswerType.CHOICE:
        options = {o.lower(): o for o in (control.choices or {})}
        if text.lower() in options:
            return answer(options[text.lower()]), None
        return None, f"expected one of {', '.join(control.allowed_answers())}; got {text!r}"
    if t in (AnswerType.NUMBER, AnswerType.PERCENTAGE):
        is_pct = t is AnswerType.PERCENTAGE
        num = _number(text.removesuffix("%") if is_pct and isinstance(value, str) else value)
        if num is None or not math.isfinite(num):
            return None, f"expected a {'percentage 0-100' if is_pct else 'number'}; got {text!r}"
        if num < 0 or (is_pct and num > 100):
            return None, f"expected a {'percentage 0-100' if is_pct else 'number of 0 or more'}; got {num:g}"
        return answer(f"{num:g}", num), None
    if t is AnswerType.DATE:
        d = parse_date(value)
        if d is None:
            return None, f"expected a date YYYY-MM-DD; got {text or value!r}"
        if submitted is not None and d > submitted:
            return None, f"date {d.isoformat()} is after the submission date {submitted.isoformat()}"
        return answer(d.isoformat()), None
    return answer(text), None  # text


def validate_submission(
    raw: RawSubmission, catalogues: CatalogueLibrary = SHIPPED
) -> tuple[Submission | None, list[Problem]]:
    """Check one raw submission; return the submission (None if it cannot be stored) and all problems."""
    problems = list(raw.problems)
    org = raw.org_id
    loc = raw.location

    def add(message: str, location: Any = loc, control_id: str | None = None) -> None:
        problems.append(Problem(location, message, control_id, org))

    if not org:
        add("org_id is missing (say which organisation is answering)")
    catalogue: Catalogue | None = None
    try:
        catalogue = catalogues.load(raw.checklist) if raw.checklist else infer_checklist(raw, catalogues)
    except ConfigError as exc:
        add(f"checklist {raw.checklist!r}: {exc}")
    submitted: date | None = None
    if not _is_blank(raw.submitted):
        submitted = parse_date(raw.submitted)
        if submitted is None:
            add(f"submitted: expected a date YYYY-MM-DD; got {raw.submitted!r}")
    if catalogue is None:
        return None, problems
    controls = catalogue.by_id()
    answers: list[Answer] = []
    seen: set[str] = set()
    for ra in raw.answers:
        control = controls.get(ra.control_id)
        if control is None:
            add(
                f"unknown control id {ra.control_id!r} for checklist {catalogue.id}",
                ra.location,
                ra.control_id,
            )
            continue
        if ra.control_id in seen:
            add("answered more than once (keep one answer per control)", ra.location, ra.control_id)
            continue
        seen.add(ra.control_id)
        if _is_blank(ra.answer):
            if control.mandatory:
                add("missing mandatory answer", ra.location, ra.control_id)
            continue
        answer, error = check_answer(control, ra, submitted)
        if error:
            add(error, ra.location, ra.control_id)
        elif answer is not None:
            answers.append(answer)
    for control in catalogue.controls:
        if control.mandatory and control.id not in seen:
            add("missing mandatory answer (control not in the file)", loc, control.id)
    if not org:
        return None, problems
    return Submission(
        org_id=org,
        checklist_id=catalogue.id,
        checklist_version=catalogue.version,
        submitted=submitted,
        respondent=raw.respondent,
        answers=answers,
        source_file=raw.source_file,
        source_format=raw.source_format,
        problems=problems,
    ), problems
