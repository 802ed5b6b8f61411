"""Fixtures for the scan tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit_kit.store.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path):
    """An empty workspace (every table made at open, the scan's included), closed after the test."""
    w = Workspace.open(tmp_path / "ws", create=True)
    yield w
    w.close()
