"""A small synthetic world generated once per test worker (orgs=8, days=45, children=3000)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from audit_kit.synth import SynthParams, SynthSummary, generate

SMALL = SynthParams(seed=11, orgs=8, days=45, children=3000)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    out = tmp_path_factory.mktemp("synth") / "world"
    return out, generate(out, SMALL)


@pytest.fixture(scope="session")
def world_db(small_world: tuple[Path, SynthSummary]) -> duckdb.DuckDBPyConnection:
    """The small world's CSVs as DuckDB tables (events, users, subjects, involvements, orgs, truth)."""
    out, _ = small_world
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("organisations", "users", "subjects", "involvements", "truth", "truth_orgs"):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{out / (name + '.csv')}', header=true)")
    con.execute(
        f"CREATE TABLE events AS SELECT * FROM read_csv('{out}/events/*.csv', header=true, "
        "types={'timestamp': 'TIMESTAMPTZ', 'records_returned': 'INTEGER', 'break_glass': 'BOOLEAN'})"
    )
    return con
