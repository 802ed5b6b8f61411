"""Typed results of an ingest: per file and in total, rows read = stored + quarantined + duplicates."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FileReport(BaseModel):
    """What happened to one input file."""

    path: str
    kind: str  # events, organisations, users, subjects, involvements, questionnaire
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    already_ingested: bool = False  # same bytes seen before: every row counts as a duplicate
    # events kept although their event_id was already used by a different event (a producer reusing ids)
    id_collisions: int = 0
    note: str | None = None
    warnings: list[str] = Field(default_factory=list)  # not row errors: e.g. type words that are not built in

    @property
    def reconciles(self) -> bool:
        return self.read == self.stored + self.quarantined + self.duplicates


class IngestReport(BaseModel):
    """The whole ingest: files, totals, and evidence worth a reviewer's attention."""

    batch_id: str
    workspace: str
    files: list[FileReport] = Field(default_factory=list)
    skipped_files: list[tuple[str, str]] = Field(default_factory=list)  # (path, why)
    unknown_users: int = 0  # distinct users in events with no users.csv row (ghost/leaver evidence)
    unknown_orgs: int = 0
    missing_reference: list[str] = Field(default_factory=list)  # recommended files not supplied
    quarantine_file: str | None = None
    questionnaires: dict[str, object] | None = None  # summary from the questionnaire importer
    # things worth a reviewer's attention that are not row errors: an organisation type that is not one
    # of the built-in words, a mapping file whose columns a preset does not use, …
    warnings: list[str] = Field(default_factory=list)

    def _sum(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files)

    @property
    def read(self) -> int:
        return self._sum("read")

    @property
    def stored(self) -> int:
        return self._sum("stored")

    @property
    def quarantined(self) -> int:
        return self._sum("quarantined")

    @property
    def duplicates(self) -> int:
        return self._sum("duplicates")

    @property
    def id_collisions(self) -> int:
        return self._sum("id_collisions")

    def to_json(self) -> dict[str, object]:
        """The `--format json` document: totals first (keys read, stored, quarantined, duplicates)."""
        return {
            "read": self.read,
            "stored": self.stored,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "id_collisions": self.id_collisions,
            "batch_id": self.batch_id,
            "workspace": self.workspace,
            "unknown_users": self.unknown_users,
            "unknown_orgs": self.unknown_orgs,
            "missing_reference": self.missing_reference,
            "quarantine_file": self.quarantine_file,
            "files": [f.model_dump() for f in self.files],
            "skipped_files": [{"path": p, "reason": r} for p, r in self.skipped_files],
            "questionnaires": self.questionnaires,
            "warnings": self.warnings,
        }
