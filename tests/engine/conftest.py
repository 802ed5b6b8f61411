"""Fixtures for the engine tests: one Spark session per test session, and the detectors' mini world.

The parity world is the detectors' hand-made mini world (`tests/detectors/det_miniworld.py`): small
(≈20k events) yet with one labelled case per detector, so all 19 fire on both engines.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "detectors"))

from det_miniworld import build  # noqa: E402

from audit_kit.store.workspace import Workspace  # noqa: E402


def _spark_unavailable() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'audit-kit[spark]')"
    if shutil.which("java") is None and not (Path(__import__("os").environ.get("JAVA_HOME", "/nonexistent")) / "bin"
                                             / "java").exists():
        return "no Java runtime (java not on PATH, JAVA_HOME unset)"
    return None


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory):
    """A local[2] SparkSession shared by every Spark test of this worker; skipped without pyspark or Java."""
    why = _spark_unavailable()
    if why:
        pytest.skip(why)
    from audit_kit.engine.spark import SparkOptions, start_session

    # The catalog's warehouse under tmp: a `--source-database` test writes tables there, never in cwd.
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session, owned = start_session(SparkOptions(master="local[2]", conf={
        "spark.sql.shuffle.partitions": "1", "spark.sql.warehouse.dir": str(warehouse)}))
    yield session
    if owned:
        session.stop()


@pytest.fixture(scope="module")
def parity_ws(tmp_path_factory):
    """A workspace holding the mini world (read by the module's tests; copy it before writing)."""
    path = tmp_path_factory.mktemp("parity") / "ws"
    ws = Workspace.open(path, create=True)
    build(ws)
    ws.close()
    return path
