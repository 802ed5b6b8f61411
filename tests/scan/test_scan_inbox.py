"""Inbox listing, hashing (cached) and moving processed files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from audit_kit.errors import InputError
from audit_kit.scan import inbox as inbox_mod


def test_lists_recursively_skipping_hidden_and_partial_files(tmp_path: Path) -> None:
    (tmp_path / "2026-10-20").mkdir()
    for name in ["a.csv", "2026-10-20/b.jsonl", ".hidden.csv", "c.csv.part", "d.tmp", "~e.csv"]:
        (tmp_path / name).write_text("x")
    (tmp_path / ".sync").mkdir()
    (tmp_path / ".sync" / "f.csv").write_text("x")
    names = [p.relative_to(tmp_path).as_posix() for p in inbox_mod.list_inbox(tmp_path)]
    assert names == ["2026-10-20/b.jsonl", "a.csv"]


def test_missing_or_file_inbox_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        inbox_mod.list_inbox(tmp_path / "nope")
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="expected a directory"):
        inbox_mod.list_inbox(tmp_path / "f")


def test_hash_is_content_based_and_cached(ws, tmp_path: Path) -> None:
    box = tmp_path / "inbox"
    box.mkdir()
    (box / "a.csv").write_text("same")
    (box / "b.csv").write_text("same")
    files = inbox_mod.hash_inbox(ws, box)
    assert files[0].sha256 == files[1].sha256 == inbox_mod.sha256_file(box / "a.csv")
    f = files[0]
    # A cached hash is reused while name, size and mtime match (proved by planting a fake one).
    ws.con.execute(
        "INSERT INTO scan_files VALUES ('cached', 'a.csv', ?, ?, 'ingested', NULL, 'r', NULL, NULL)",
        [f.size, f.mtime_ns],
    )
    assert inbox_mod.hash_inbox(ws, box)[0].sha256 == "cached"
    os.utime(box / "a.csv", ns=(f.mtime_ns + 10**9, f.mtime_ns + 10**9))
    assert inbox_mod.hash_inbox(ws, box)[0].sha256 == f.sha256


def test_move_keeps_relative_path_and_never_overwrites(ws, tmp_path: Path) -> None:
    box, done = tmp_path / "inbox", tmp_path / "done"
    (box / "day").mkdir(parents=True)
    (box / "day" / "e.csv").write_text("one")
    first = inbox_mod.hash_inbox(ws, box)[0]
    assert inbox_mod.move_processed(first, box, done) == done / "day" / "e.csv"
    (box / "day" / "e.csv").write_text("two")  # same name, new content
    second = inbox_mod.hash_inbox(ws, box)[0]
    target = inbox_mod.move_processed(second, box, done)
    assert target.name == f"e.{second.sha256[:12]}.csv"
    assert (done / "day" / "e.csv").read_text() == "one" and target.read_text() == "two"
    assert not (box / "day" / "e.csv").exists()


def test_move_to_inside_the_inbox_is_not_scanned(tmp_path: Path) -> None:
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "old.csv").write_text("x")
    (tmp_path / "new.csv").write_text("y")
    names = [p.name for p in inbox_mod.list_inbox(tmp_path, exclude=tmp_path / "done")]
    assert names == ["new.csv"]
