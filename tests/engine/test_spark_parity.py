"""Parity: the same detectors on Spark (local[2]) find exactly what they find on DuckDB.

Runs in CI (pyspark and Java are installed there); skipped only when `import pyspark` fails or no
Java runtime is found. One SparkSession is shared by the module (fixture `spark_session`).
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from audit_kit.cli import run
from audit_kit.config import AuditConfig
from audit_kit.detectors import REGISTRY, run_detectors
from audit_kit.engine import SparkOptions, open_engine
from audit_kit.engine.duckdb import sql_rows
from audit_kit.engine.spark import export_workspace
from audit_kit.errors import InputError
from audit_kit.store.findings import load_findings
from audit_kit.store.workspace import Workspace

pytestmark = [
    pytest.mark.slow,
    # pyspark 4.0's toPandas passes copy= to astype, which pandas 3 deprecates (not ours to change).
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def test_spark_finds_exactly_what_duckdb_finds_and_stores_it_alike(spark_session, parity_ws, tmp_path):
    path = tmp_path / "ws"
    shutil.copytree(parity_ws, path)
    ws = Workspace.open(path)
    try:
        t0 = time.perf_counter()
        duck = run_detectors(ws, AuditConfig(), store=False)
        t1 = time.perf_counter()
        engine = open_engine("spark", ws, SparkOptions(), session=spark_session)
        try:
            spark = run_detectors(ws, AuditConfig(), store=True, engine=engine)
        finally:
            engine.close()
        t2 = time.perf_counter()
        print(f"parity world: duckdb {t1 - t0:.1f}s, spark {t2 - t1:.1f}s (export + run)")
        assert not duck.errors and not duck.skipped
        assert not spark.errors and not spark.skipped, (spark.errors, spark.skipped)
        # Every detector fires in the parity world, so every one is compared.
        assert {f.detector for f in duck.findings} == set(REGISTRY)
        assert (spark.since, spark.until, spark.baseline_start) == (duck.since, duck.until, duck.baseline_start)
        # Identical ids, detectors, severities, scores, record counts, first/last seen, summaries, evidence.
        assert [f.to_json() for f in spark.findings] == [f.to_json() for f in duck.findings]
        assert spark.explained_access == duck.explained_access and spark.explained_access
        # Stored in the workspace as a DuckDB run would store them.
        stored = {f.finding_id: f.to_json() for f in load_findings(ws)}
        assert stored == {f.finding_id: f.to_json() for f in spark.findings}
        runs = sql_rows(ws, "SELECT findings, errors FROM detection_runs WHERE run_id = ?", [spark.run_id])
        assert runs == [(len(spark.findings), "{}")]
        rates = sql_rows(ws, "SELECT org_id, rate FROM explained_access WHERE window_start = ? ORDER BY org_id",
                         [spark.since])
        assert rates == [(e.org_id, e.rate) for e in sorted(spark.explained_access, key=lambda e: e.org_id)]
        # The exported copy of the workspace's events is removed when the engine closes.
        assert not (path / "spark").exists()
    finally:
        ws.close()


def test_cli_on_a_partitioned_lake_source_without_local_time(spark_session, parity_ws, tmp_path, capsys):
    """`--source DIR`: events/ partitioned by organisation and lacking local_time (derived from the
    organisations' time zones), reference tables as Parquet files — same findings as DuckDB."""
    path = tmp_path / "ws"
    shutil.copytree(parity_ws, path)
    lake = tmp_path / "lake"
    ws = Workspace.open(path)
    try:
        export_workspace(ws, lake)
        (lake / "events.parquet").unlink()
        sql_rows(ws, f"COPY (SELECT * EXCLUDE (local_time) FROM events) TO '{lake / 'events'}' "
                     "(FORMAT parquet, PARTITION_BY (org_id))")
    finally:
        ws.close()
    dets = "after_hours,log_gap"  # the ones judged in local time and by day: what a derived local_time feeds
    args = ["detect", "-w", str(path), "-d", dets, "--format", "json", "--no-store", "-q"]
    assert run([*args, "-o", str(tmp_path / "duck.json")]) == 0
    assert run([*args, "-o", str(tmp_path / "spark.json"), "--engine", "spark", "--source", str(lake)]) == 0
    duck = json.loads((tmp_path / "duck.json").read_text())
    spark = json.loads((tmp_path / "spark.json").read_text())
    assert {f["detector"] for f in duck} == set(dets.split(","))
    assert spark == duck
    assert capsys.readouterr().err == ""  # quiet: no Spark noise


def test_source_table_without_a_key_column_is_named(spark_session, parity_ws, tmp_path):
    lake = tmp_path / "lake"
    ws = Workspace.open(parity_ws, read_only=True)
    try:
        export_workspace(ws, lake)
        sql_rows(ws, f"COPY (SELECT * EXCLUDE (user_id) FROM events) TO '{lake / 'events.parquet'}' (FORMAT parquet)")
    finally:
        ws.close()
    with pytest.raises(InputError, match=r"events\.parquet: the events table lacks column\(s\) user_id"):
        open_engine("spark", None, SparkOptions(source=str(lake)), session=spark_session)  # type: ignore[arg-type]


def test_source_database_in_the_spark_catalog(spark_session, parity_ws, tmp_path):
    """`--source-database`: the canonical tables as catalog tables (no involvements: its detectors skip)."""
    lake = tmp_path / "lake"
    ws = Workspace.open(parity_ws, read_only=True)
    try:
        export_workspace(ws, lake)
        spark_session.sql("CREATE DATABASE IF NOT EXISTS ak_parity")
        for name in ("events", "organisations", "users", "subjects"):
            spark_session.read.parquet(str(lake / f"{name}.parquet")).write.mode("overwrite").saveAsTable(
                f"ak_parity.{name}")
        dets = ["lingering_access", "log_gap"]
        engine = open_engine("spark", ws, SparkOptions(database="ak_parity"), session=spark_session)
        try:
            spark = run_detectors(ws, AuditConfig(), detectors=dets, store=False, engine=engine)
        finally:
            engine.close()
        duck = run_detectors(ws, AuditConfig(), detectors=dets, store=False)
    finally:
        ws.close()
    assert spark.skipped == [("lingering_access", "dataset lacks involvements.end_date")]
    gaps = [f.to_json() for f in duck.findings if f.detector == "log_gap"]
    assert gaps and [f.to_json() for f in spark.findings] == gaps
    with pytest.raises(InputError, match="--source-database nowhere: no such database"):
        open_engine("spark", None, SparkOptions(database="nowhere"), session=spark_session)  # type: ignore[arg-type]


def test_assessment_measures_on_spark_equal_duckdb(spark_session, parity_ws, tmp_path):
    """The corroboration measures are the same Ibis over the same per-day aggregates: Spark computes them
    from its events, DuckDB reads the kept ones — every organisation's every measure must match."""
    from dataclasses import asdict

    from audit_kit.assessment import assess_workspace
    from audit_kit.assessment.measures import log_window, measure_orgs

    path = tmp_path / "ws"
    shutil.copytree(parity_ws, path)
    ws = Workspace.open(path)
    try:
        window = log_window(ws)
        assert window is not None
        declared = {"LA1": ["10.1.0.0/16"], "GP1": ["192.0.2.0/24"]}
        nat_d: dict[str, int] = {}
        duck = measure_orgs(ws, window, declared=declared, national=nat_d, config=AuditConfig())
        engine = open_engine("spark", ws, SparkOptions(), session=spark_session)
        try:
            assert log_window(ws, engine=engine) == window
            nat_s: dict[str, int] = {}
            spark = measure_orgs(ws, window, declared=declared, national=nat_s, config=AuditConfig(),
                                 engine=engine)
            on_spark = assess_workspace(ws, AuditConfig(), store=False, engine=engine)
        finally:
            engine.close()
        on_duck = assess_workspace(ws, AuditConfig(), store=False)
    finally:
        ws.close()
    assert set(spark) == set(duck) and nat_s == nat_d and nat_d["children"] > 0
    for org in duck:
        assert asdict(spark[org]) == asdict(duck[org]), org
    # Something is measured in every family: sessions, leavers, reads, overrides, exports, networks.
    la = duck["LA1"]
    assert la.sessions and la.reads and la.export_events and la.ip_events and la.enabled_accounts
    strip = {"assessment_id", "assessed_at"}
    assert ({k: v for k, v in on_spark.model_dump().items() if k not in strip}
            == {k: v for k, v in on_duck.model_dump().items() if k not in strip})
