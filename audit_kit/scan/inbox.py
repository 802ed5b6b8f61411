"""The inbox: which dropped files are new (by content hash), and moving processed files away.

Files are identified by the sha256 of their content, not their name, so a file re-sent under a new
name is not read twice and a file replaced in place with new content is read again. Hashes are
cached by (name, size, mtime) so an inbox that keeps its old files does not rehash them every run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from audit_kit.errors import InputError
from audit_kit.store import ingest, scans
from audit_kit.store.workspace import Workspace

# Half-written files: writers should drop files by rename, or write them under one of these names.
_PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart")


@dataclass(frozen=True)
class InboxFile:
    """One file in the inbox and its content hash."""

    path: Path
    name: str  # relative to the inbox, for messages and history
    sha256: str
    size: int
    mtime_ns: int


def sha256_file(path: Path) -> str:
    """Content hash of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def list_inbox(inbox: Path, exclude: Path | None = None) -> list[Path]:
    """Candidate files under `inbox` (recursive, sorted by relative path), skipping hidden and partial files."""
    if not inbox.exists():
        raise InputError(f"--inbox {inbox}: directory does not exist")
    if not inbox.is_dir():
        raise InputError(f"--inbox {inbox}: is a file, expected a directory of log files")
    skip = exclude.resolve() if exclude else None
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(inbox):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and (skip is None or (here / d).resolve() != skip)
        )
        for name in filenames:
            if name.startswith((".", "~")) or name.lower().endswith(_PARTIAL_SUFFIXES):
                continue
            found.append(here / name)
    return sorted(found, key=lambda p: p.relative_to(inbox).as_posix())


def hash_inbox(ws: Workspace, inbox: Path, exclude: Path | None = None) -> list[InboxFile]:
    """Every candidate file with its hash, reusing the cached hash when name, size and mtime match."""
    cached = scans.cached_hashes(ws)
    files: list[InboxFile] = []
    for path in list_inbox(inbox, exclude):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue  # removed while we listed: it will be a later run's business
        name = path.relative_to(inbox).as_posix()
        sha = cached.get((name, st.st_size, st.st_mtime_ns)) or sha256_file(path)
        files.append(InboxFile(path, name, sha, st.st_size, st.st_mtime_ns))
    return files


def ingested_hashes(ws: Workspace) -> set[str]:
    """Hashes ingest has already stored (by any command)."""
    return ingest.ingested_event_hashes(ws)


def move_processed(file: InboxFile, inbox: Path, move_to: Path) -> Path:
    """Move a processed file under `move_to`, keeping its relative path; never overwrite another file."""
    target = move_to / file.name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            # Same name seen before (e.g. daily file names reused): keep both, the hash disambiguates.
            target = target.with_name(f"{target.stem}.{file.sha256[:12]}{target.suffix}")
        if target.exists():
            file.path.unlink()  # identical content already filed under this hashed name
            return target
        shutil.move(str(file.path), str(target))
    except OSError as exc:
        # The file is ingested (and recognised by content next time); only the tidying failed.
        raise InputError(
            f"--move-to {move_to}: cannot move {file.name} there: {exc.strerror or exc}",
            hint="fix the directory's permissions; the next run moves it",
        ) from None
    return target
