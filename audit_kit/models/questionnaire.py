"""Typed questionnaire data: what a reader extracts, what validation keeps, what an import reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

NA_WORDS = frozenset({"n/a", "na", "n.a.", "not applicable"})


@dataclass(frozen=True)
class Location:
    """Where something came from: file, and sheet/row (spreadsheets, CSV) or key path (YAML)."""

    file: str
    sheet: str | None = None
    row: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.key:
            parts.append(f"key {self.key}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a questionnaire, located precisely enough to fix it."""

    location: Location
    message: str
    control_id: str | None = None
    org_id: str | None = None

    def __str__(self) -> str:
        who = []
        if self.org_id:
            who.append(f"org {self.org_id}")
        if self.control_id:
            who.append(f"control {self.control_id}")
        return f"{self.location}{': ' + ', '.join(who) if who else ''}: {self.message}"


@dataclass
class RawAnswer:
    """An answer as read from a file, before it is checked against the catalogue."""

    control_id: str
    answer: Any
    evidence: str = ""
    comment: str = ""
    location: Location = field(default_factory=lambda: Location("?"))


@dataclass
class RawSubmission:
    """One organisation's questionnaire as read from a file."""

    org_id: str | None
    checklist: str | None
    submitted: Any
    respondent: dict[str, str]
    answers: list[RawAnswer]
    source_file: str
    source_format: str
    location: Location
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    """A validated answer: normalised text (`yes`, `partial`, `no`, `n/a`, a choice, an ISO date, a
    number or text) and, for numbers and percentages, the numeric value."""

    control_id: str
    answer: str
    value: float | None = None
    evidence: str = ""
    comment: str = ""
    sheet: str | None = None
    row: int | None = None

    @property
    def not_applicable(self) -> bool:
        return self.answer == "n/a"


@dataclass
class Submission:
    """A validated questionnaire for one organisation and one checklist, ready to store and score."""

    org_id: str
    checklist_id: str
    checklist_version: str
    submitted: date | None
    respondent: dict[str, str]
    answers: list[Answer]
    source_file: str
    source_format: str
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class StoredSubmission:
    """A submission as kept in the workspace (one version per resubmission)."""

    submission_id: str
    org_id: str
    checklist_id: str
    version: int
    source_file: str
    answers: int
    problems: int


@dataclass
class QuestionnaireImportReport:
    """What `import_files` did: stored submissions, duplicates skipped and every problem found."""

    files: list[str] = field(default_factory=list)
    stored: list[StoredSubmission] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # "ORG/checklist from FILE" already stored
    rejected: list[str] = field(default_factory=list)  # submissions not stored, with the reason
    problems: list[Problem] = field(default_factory=list)
    strict: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        """One line for humans: what was stored, skipped and found wrong."""
        return (
            f"{len(self.stored)} submission(s) stored from {len(self.files)} file(s), "
            f"{len(self.duplicates)} identical resubmission(s) skipped, {len(self.rejected)} not stored, "
            f"{len(self.problems)} problem(s)"
        )

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        """Same as `to_json` (lets callers treat the report like a pydantic model)."""
        return self.to_json()

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "strict": self.strict,
            "files": self.files,
            "stored": [s.__dict__ for s in self.stored],
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "problems": [
                {
                    "file": p.location.file,
                    "sheet": p.location.sheet,
                    "row": p.location.row,
                    "key": p.location.key,
                    "org_id": p.org_id,
                    "control_id": p.control_id,
                    "message": p.message,
                }
                for p in self.problems
            ],
        }
