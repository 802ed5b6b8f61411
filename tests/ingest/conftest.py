"""Fixtures for ingest tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from _ingest_data import write_dataset


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "ds")


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    return tmp_path / "ws"
