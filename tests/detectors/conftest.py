"""Fixtures for the detector tests: the hand-made mini world (one labelled case per detector) and runs on it."""

from __future__ import annotations

import pytest
from det_miniworld import build

from audit_kit.config import AuditConfig
from audit_kit.detectors import run_detectors
from audit_kit.store.workspace import Workspace


@pytest.fixture(scope="module")
def mini_ws(tmp_path_factory):
    """A workspace holding the mini world, shared by the tests of one module (read-only use)."""
    path = tmp_path_factory.mktemp("mini") / "ws"
    ws = Workspace.open(path, create=True)
    truth = build(ws)
    yield ws, truth
    ws.close()


@pytest.fixture(scope="module")
def mini_run(mini_ws):
    """One detection run over the mini world's default window, stored in the workspace."""
    ws, truth = mini_ws
    return run_detectors(ws, AuditConfig()), truth
