"""Fixtures for the review tests: the hand-made world, and a workspace ingested and detected from its first
thirty days (built once per session, copied for each test that changes it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# The clock of the tests: the day after the first thirty days of the world.
from review_world import (
    make_world,
    stage,
)

from audit_kit.config import AuditConfig
from audit_kit.detectors import run_detectors
from audit_kit.ingest import ingest_dataset
from audit_kit.store.workspace import Workspace


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_world(tmp_path_factory.mktemp("review") / "world")


@pytest.fixture(scope="session")
def detected_template(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding days 0–29 of the world, with the detectors run over its last 14 days."""
    root = tmp_path_factory.mktemp("review-template")
    ds = stage(world, root / "ds", range(0, 30))
    with Workspace.open(root / "ws", create=True) as ws:
        ingest_dataset(ws, ds)
        run_detectors(ws, AuditConfig())
    return root / "ws"


@pytest.fixture
def detected_ws(detected_template: Path, tmp_path: Path) -> Path:
    """A private copy of the detected workspace."""
    dest = tmp_path / "ws"
    shutil.copytree(detected_template, dest)
    return dest
