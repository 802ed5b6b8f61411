"""Fixtures for the assessment tests."""

from __future__ import annotations

import pytest
from assess_world import World


@pytest.fixture

def world() -> World:
    return World()
