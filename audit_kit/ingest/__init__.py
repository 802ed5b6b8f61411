"""Ingest: read a review dataset into the workspace without losing a row.

Every input row is stored, counted as a duplicate of something already stored, or quarantined with
the file, row and reason — so `read = stored + quarantined + duplicates` per file and in total.
A whole ingest is one transaction: killed half-way, the workspace is as it was before.

(Why this module runs past 400 lines: the ingest job (files in order, one transaction, the report's counts)
and its public entry points; the readers and validation live in sources.py and events.py.)
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from audit_kit.catalogue import SHIPPED, CatalogueLibrary
from audit_kit.engine.aggregates import fold_pending
from audit_kit.errors import InputError
from audit_kit.ingest.events import (
    DEFAULT_LIMITS,
    Appended,
    EventLimits,
    ingest_event_source,
    settle_duplicates,
)
from audit_kit.ingest.mapping import IDENTITY, ColumnMapping, load_mapping
from audit_kit.ingest.models import FileReport, IngestReport
from audit_kit.ingest.presets import PRESETS, detect_preset, shielded_records
from audit_kit.ingest.presets.cloudtrail import DIGEST_NOTE, is_cloudtrail_digest
from audit_kit.ingest.presets.ocsf import is_ocsf_parquet
from audit_kit.ingest.reference import ingest_reference_file
from audit_kit.ingest.sources import (
    Source,
    arrow_source,
    csv_source,
    display_path,
    file_format,
    jsonl_source,
    parquet_source,
)
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.questionnaires.importer import import_files
from audit_kit.schema import EVENT_INPUT_FIELDS, EVENT_REQUIRED_INPUT, ORGANISATIONS, REFERENCE_TABLES
from audit_kit.store import ingest as store
from audit_kit.store.workspace import Workspace

__all__ = [
    "DEFAULT_LIMITS",
    "ColumnMapping",
    "EventLimits",
    "FileReport",
    "IngestReport",
    "ingest_dataset",
    "ingest_files",
    "ingest_path",
    "load_mapping",
]


def _sha256(path: Path) -> str:
    """The file's content hash (the re-ingest contract: the same bytes are never ingested twice)."""
    h = hashlib.sha256()
    with path.open("rb", buffering=0) as fh:
        buf = bytearray(4 << 20)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def new_batch_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


HIDDEN_RULE = "hidden (its name starts with '.'): hidden files and folders are never read"


def event_files(
    path: Path, root: Path | None = None, follow_links: bool = False
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Readable event files under `path` (a file or a directory, recursively), in name order, and what
    was passed over with the reason (reported, never silently skipped).

    One rule for hidden names: a file or folder whose name starts with '.' (`.hidden.csv`, `.git/`) is
    not read, and is reported once (a hidden folder as one line, not file by file). A symbolic link that
    leads out of `root` (the dataset) is not followed unless `follow_links`; one inside it is read where
    it points (a linked folder is not entered: its files are read from where they are)."""
    if path.is_file():
        return [path], []
    root = Path(os.path.abspath(root or path))
    found: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        here = Path(dirpath)
        keep = []
        for name in sorted(dirnames, key=os.fsencode):
            full = here / name
            if name.startswith("."):
                skipped.append((display_path(full) + "/", HIDDEN_RULE))
            elif full.is_symlink():
                inside = _inside(full, root)
                if follow_links or not inside:
                    skipped.append((display_path(full) + "/", "a symbolic link to a folder: not entered" + (
                        "" if inside else " (it leads out of the dataset)")))
                else:
                    skipped.append((display_path(full) + "/", "a symbolic link to a folder inside the dataset: "
                                    "not entered (its files are read where they are)"))
            else:
                keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames, key=os.fsencode):
            full = here / name
            if name.startswith("."):
                skipped.append((display_path(full), HIDDEN_RULE))
            elif full.is_symlink() and not follow_links and not _inside(full, root):
                skipped.append((display_path(full), "a symbolic link that leads out of the dataset: not read "
                                "(pass --follow-symlinks to read it)"))
            elif full.is_symlink() and not full.exists():
                skipped.append((display_path(full), "a symbolic link to nothing (broken link)"))
            elif file_format(full) is None:
                skipped.append((display_path(full), "not a CSV, JSON, XML or Parquet file (by its extension)"))
            else:
                found.append(full)
    found.sort(key=lambda p: os.fsencode(str(p)))
    return found, skipped


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, its links resolved, is within `root` (itself resolved)."""
    try:
        target = Path(os.path.realpath(path))
        return target == Path(os.path.realpath(root)) or Path(os.path.realpath(root)) in target.parents
    except OSError:
        return False


def _events_source(ws: Workspace, path: Path, mapping: ColumnMapping, preset: str | None) -> tuple[Source, str | None]:
    """The source for one events file, and the preset that read it (None for the canonical readers)."""
    fmt = file_format(path)
    if preset is None and fmt == "jsonl":
        preset = detect_preset(path)
    if preset is None and fmt == "xml":
        preset = "fhir"
    if preset is None and fmt == "parquet" and is_ocsf_parquet(path):
        preset = "ocsf"
    if preset:
        if preset not in PRESETS:
            raise InputError(f"unknown preset {preset!r}; expected one of {', '.join(sorted(PRESETS))}")
        table = PRESETS[preset].read(path)
        return arrow_source(ws.con, path, table, EVENT_INPUT_FIELDS, mapping, shielded_records(table)), preset
    if fmt == "csv":
        return csv_source(ws.con, path, EVENT_INPUT_FIELDS, EVENT_REQUIRED_INPUT, mapping), None
    if fmt == "jsonl":
        return jsonl_source(ws.con, path, EVENT_INPUT_FIELDS, mapping), None
    if fmt == "parquet":
        return parquet_source(ws.con, path, EVENT_INPUT_FIELDS, EVENT_REQUIRED_INPUT, mapping), None
    raise InputError(
        f"{display_path(path)}: cannot read this file type; expected .csv, .jsonl/.ndjson/.json, .xml (FHIR) "
        "or .parquet (gzip ok)"
    )


_FORMAT_ONLY_KEYS = ("columns", "delimiter", "timestamp_format", "timezone")


class _Run:
    """One ingest run: shared batch id, time, report, and the already-seen file check."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.now = datetime.now(UTC).replace(tzinfo=None)
        self.batch_id = new_batch_id(self.now)
        self.report = IngestReport(batch_id=self.batch_id, workspace=str(ws.path))
        self._digests: dict[Path, Future[str]] = {}
        self._appended: list[tuple[str, Appended]] = []  # events files awaiting `settle_events`

    @contextmanager
    def hashing_ahead(self, paths: Sequence[Path]) -> Iterator[None]:
        """Hash `paths` in order on a background thread while DuckDB reads the earlier files (hashlib
        releases the GIL), so only the first file's hash is on the critical path."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-kit-sha256")
        try:
            for p in paths:
                self._digests[Path(p)] = pool.submit(_sha256, Path(p))
            yield
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self._digests.clear()

    def seen(self, path: Path, kind: str) -> tuple[str, FileReport | None]:
        ahead = self._digests.pop(path, None)
        digest = ahead.result() if ahead is not None else _sha256(path)
        same = next((a.report for d, a in self._appended if d == digest and a.report.kind == kind), None)
        if same is not None:
            return digest, FileReport(path=display_path(path), kind=kind, read=same.read, duplicates=same.read,
                                      already_ingested=True, note=f"same content as {same.path}, earlier in this run")
        prev = store.previous_file(self.ws, digest, kind)
        if prev is None:
            return digest, None
        return digest, FileReport(
            path=display_path(path),
            kind=kind,
            read=prev.read,
            duplicates=prev.read,
            already_ingested=True,
            note=f"same content already ingested at {prev.ingested_at:%Y-%m-%d %H:%M} UTC",
        )

    def record(self, digest: str, rep: FileReport) -> None:
        self._file_row(digest, rep)
        self.report.files.append(rep)

    def _file_row(self, digest: str, rep: FileReport) -> None:
        store.record_file(self.ws, store.FileRecord(
            digest, rep.path, rep.kind, self.batch_id, self.now, rep.read, rep.stored, rep.quarantined,
            rep.duplicates))

    def events_file(self, path: Path, mapping: ColumnMapping, preset: str | None, limits: EventLimits) -> None:
        if file_format(path) == "jsonl" and preset in (None, "cloudtrail") and is_cloudtrail_digest(path):
            self.report.skipped_files.append((display_path(path), DIGEST_NOTE))
            return
        digest, done = self.seen(path, "events")
        if done:
            self.report.files.append(done)
            return
        if path.stat().st_size == 0:
            self.record(digest, FileReport(path=display_path(path), kind="events", note="empty file"))
            return
        source, used = _events_source(self.ws, path, mapping, preset)
        if used is not None:
            unused = [k for k in _FORMAT_ONLY_KEYS if getattr(mapping, k)]
            if unused and not any(w.startswith("The mapping file's") for w in self.report.warnings):
                self.report.warnings.append(
                    f"The mapping file's {', '.join(unused)} do not apply to files read as {PRESETS[used].title} "
                    f"(e.g. {display_path(path)}); its values and constants do.")
        shielded = source.shielded_records
        appended = ingest_event_source(self.ws.con, source, self.batch_id, self.now, mapping, limits)
        self.report.files.append(appended.report)
        self._appended.append((digest, appended))
        if shielded:
            store.mark_shielded(self.ws, shielded)

    def settle_events(self) -> None:
        """Before commit: count and remove duplicates across the run's events files, record each, and fold
        the new events into the kept per-day aggregates (the days they touch are recomputed), so events
        and aggregates commit together."""
        settle_duplicates(self.ws.con, [a for _d, a in self._appended])
        for digest, appended in self._appended:
            self._file_row(digest, appended.report)
        self._appended.clear()
        fold_pending(self.ws)

    def finish(self) -> IngestReport:
        """After commit: mirror this batch's quarantine to WS/quarantine/<batch>.csv, count unknowns."""
        if any(f.quarantined and not f.already_ingested for f in self.report.files):
            self.report.quarantine_file = str(store.export_quarantine(self.ws, self.batch_id))
        self.report.unknown_users, self.report.unknown_orgs = store.unknown_ids(self.ws, self.batch_id)
        return self.report


def ingest_files(
    ws: Workspace,
    paths: Sequence[Path],
    mapping: ColumnMapping | None = None,
    preset: str | None = None,
    progress: Progress = NULL_PROGRESS,
    *,
    org: str | None = None,
    limits: EventLimits = DEFAULT_LIMITS,
) -> IngestReport:
    """Ingest event files (CSV, JSON lines, Parquet, FHIR XML, audit-log presets; gzip ok) in one
    transaction. `org` is the organisation of every event that names none (after the record's own and
    the mapping's constants): the file is that body's own log.

    Files whose exact bytes were ingested before are reported as duplicates without re-reading.
    """
    store.repair_quarantine_files(ws)
    run = _Run(ws)
    effective = (mapping or IDENTITY).with_org(org)
    progress.start("Ingesting events", total=len(paths))
    with run.hashing_ahead(paths), ws.memory_cap("ingest"), ws.transaction():
        for path in paths:
            run.events_file(Path(path), effective, preset, limits)
            progress.advance()
        run.settle_events()
    progress.finish()
    return run.finish()


def ingest_path(
    ws: Workspace,
    path: Path,
    mapping: ColumnMapping | None = None,
    preset: str | None = None,
    strict_questionnaires: bool = False,
    progress: Progress = NULL_PROGRESS,
    catalogues: CatalogueLibrary = SHIPPED,
    *,
    org: str | None = None,
    limits: EventLimits = DEFAULT_LIMITS,
    follow_links: bool = False,
) -> IngestReport:
    """Ingest whatever `path` is: a review directory (it has organisations.csv or events/), one events
    file, or a directory of events files (a later delivery to a workspace that has the reference data)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{display_path(path)}: no such file or directory (expected a review dataset directory)")
    if path.is_dir() and not (path / ORGANISATIONS.file).exists() and not (path / "events").exists():
        files, skipped = event_files(path, follow_links=follow_links)
        if not files:
            raise InputError(
                f"{display_path(path)}: neither a review directory (no {ORGANISATIONS.file}, no events/) nor a "
                "folder of event files (.csv, .jsonl, .json, .xml, .parquet)"
            )
        report = ingest_files(ws, files, mapping, preset, progress, org=org, limits=limits)
        report.skipped_files[:0] = skipped
        return report
    if path.is_file():
        return ingest_files(ws, [path], mapping, preset, progress, org=org, limits=limits)
    return ingest_dataset(ws, path, mapping, preset, strict_questionnaires, progress, catalogues, org=org,
                          limits=limits, follow_links=follow_links)


def ingest_dataset(
    ws: Workspace,
    dataset_dir: Path,
    mapping: ColumnMapping | None = None,
    preset: str | None = None,
    strict_questionnaires: bool = False,
    progress: Progress = NULL_PROGRESS,
    catalogues: CatalogueLibrary = SHIPPED,
    *,
    org: str | None = None,
    limits: EventLimits = DEFAULT_LIMITS,
    follow_links: bool = False,
) -> IngestReport:
    """Ingest a review directory (the dataset contract in DESIGN.md) into the workspace.

    Reference files first (events need the organisations' time zones), then `events/`, all in one
    transaction; then `questionnaires/` through the questionnaire importer.
    """
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise InputError(f"{display_path(dataset_dir)}: not a directory (expected a review dataset directory)")
    orgs = dataset_dir / ORGANISATIONS.file
    if not orgs.exists() and not ws.count("organisations"):
        raise InputError(
            f"{display_path(dataset_dir)}: {ORGANISATIONS.file} is missing "
            f"(required: {', '.join(ORGANISATIONS.required)})"
        )
    if orgs.is_symlink() and not follow_links and not _inside(orgs, dataset_dir):
        raise InputError(
            f"{display_path(orgs)}: a symbolic link that leads out of the dataset; not read",
            hint="copy the file into the dataset, or pass --follow-symlinks",
        )
    events_path = dataset_dir / "events"
    if not events_path.exists():
        alternatives = sorted(dataset_dir.glob("events.*"))
        if not alternatives:
            raise InputError(f"{display_path(dataset_dir)}: no events/ directory (the access logs are required)")
        events_path = alternatives[0]
    files, skipped = event_files(events_path, root=dataset_dir, follow_links=follow_links)
    store.repair_quarantine_files(ws)
    run = _Run(ws)
    run.report.skipped_files.extend(skipped)
    effective = (mapping or IDENTITY).with_org(org)
    steps = sum((dataset_dir / t.file).exists() for t in REFERENCE_TABLES) + len(files)
    progress.start("Ingesting", total=steps)
    with run.hashing_ahead(files), ws.memory_cap("ingest"), ws.transaction():
        for table in REFERENCE_TABLES:
            path = dataset_dir / table.file
            if not path.exists():
                if table is not ORGANISATIONS:
                    run.report.missing_reference.append(table.file)
                continue
            if path.is_symlink() and not follow_links and not _inside(path, dataset_dir):
                run.report.skipped_files.append(
                    (display_path(path), "a symbolic link that leads out of the dataset: not read "
                     "(pass --follow-symlinks to read it)"))
                continue
            digest, done = run.seen(path, table.name)
            if done:
                run.report.files.append(done)
            else:
                rep = ingest_reference_file(ws.con, table, path, run.batch_id, run.now, effective)
                run.record(digest, rep)
                run.report.warnings.extend(rep.warnings)
            progress.advance()
        for path in files:
            run.events_file(path, effective, preset, limits)
            progress.advance()
        run.settle_events()
    progress.finish()
    report = run.finish()
    qdir = dataset_dir / "questionnaires"
    if qdir.is_dir():
        report.questionnaires = _import_questionnaires(ws, qdir, strict_questionnaires, catalogues)
    return report


def _import_questionnaires(ws: Workspace, qdir: Path, strict: bool, catalogues: CatalogueLibrary) -> dict[str, object]:
    paths = sorted((p for p in qdir.iterdir() if p.is_file() and not p.name.startswith(".")),
                   key=lambda p: os.fsencode(str(p)))
    return import_files(ws, paths, strict=strict, catalogues=catalogues).to_json()
