"""Fixtures for report tests: the hand-built world (tests/report/report_world.py), with a stored assessment."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import report_world as world  # noqa: E402

from audit_kit.store.assessments import store_assessment  # noqa: E402


@pytest.fixture
def ws(tmp_path: Path):
    """A fresh hand-built workspace with hostile names, findings and two dated assessments."""
    w = world.build(tmp_path / "ws")
    with w.transaction():
        store_assessment(w, world.assessment(as_of=date(2026, 3, 1)))
        store_assessment(w, world.assessment(as_of=date(2026, 4, 1), previous_id="A-2026-03-01"))
    yield w
    w.close()


@pytest.fixture(scope="module")
def stored_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same world, closed on disk, for CLI tests that open it themselves (shared by a module)."""
    path = tmp_path_factory.mktemp("report") / "ws"
    w = world.build(path)
    with w.transaction():
        store_assessment(w, world.assessment(as_of=date(2026, 3, 1)))
        store_assessment(w, world.assessment(as_of=date(2026, 4, 1), previous_id="A-2026-03-01"))
    w.close()
    return path
