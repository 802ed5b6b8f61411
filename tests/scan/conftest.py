"""Fixtures for the scan tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit_kit.scan.store import ensure_scan_tables
from audit_kit.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path):
    """An empty workspace with the scan tables, closed after the test."""
    w = Workspace.open(tmp_path / "ws", create=True)
    ensure_scan_tables(w)
    yield w
    w.close()
