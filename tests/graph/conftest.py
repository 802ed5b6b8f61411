"""Fixtures over the graph tests' hand-made review world (built in graph_world.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from graph_world import build_world

from audit_kit.store.workspace import Workspace


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_world(tmp_path_factory.mktemp("graph-world"))


@pytest.fixture
def world(_template: Path, tmp_path: Path) -> Path:
    """Path of a fresh copy of the small workspace (tests may change it)."""
    dest = tmp_path / "ws"
    shutil.copytree(_template, dest)
    return dest


@pytest.fixture
def ws(world: Path):  # noqa: ANN201
    """The small workspace, open."""
    w = Workspace.open(world)
    yield w
    w.close()
