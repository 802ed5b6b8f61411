"""Fixtures for the web app: one world per module, and signed-in API clients for each role."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from starlette.testclient import TestClient  # noqa: E402
from web_world import World, build, settings, signed_in  # noqa: E402

from audit_kit.web.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build(tmp_path_factory.mktemp("web") / "ws")


@pytest.fixture(scope="module")
def app(world: World):
    return create_app(settings(world.path))




@pytest.fixture(scope="module")
def clients(app) -> Iterator[dict[str, TestClient]]:
    """One signed-in client per user (argon2 makes each sign-in cost ~0.4 s, so they are shared)."""
    out = {name: signed_in(app, name) for name in ("rita", "dora", "adam")}
    yield out
    for c in out.values():
        c.close()
