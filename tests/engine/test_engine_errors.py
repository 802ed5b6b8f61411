"""User-facing errors of the engine options: each a one-line message and exit 2, never a traceback."""

from __future__ import annotations

import sys

import pytest

from audit_kit.cli import run
from audit_kit.engine import DuckDBEngine, open_engine
from audit_kit.engine.spark import SPARK_EXTRA, SparkOptions, require_java
from audit_kit.errors import ConfigError, InputError
from audit_kit.store.workspace import Workspace


@pytest.fixture
def ws_path(tmp_path):
    Workspace.open(tmp_path / "ws", create=True).close()
    return tmp_path / "ws"


@pytest.mark.parametrize("option", [["--source", "lake"], ["--source-database", "audit"],
                                    ["--spark-master", "local[2]"], ["--spark-conf", "spark.executor.memory=2g"]])
def test_spark_only_options_need_engine_spark(ws_path, capsys, option):
    assert run(["detect", "-w", str(ws_path), *option, "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{option[0]} only apply to --engine spark" in err and "Traceback" not in err


def test_unknown_engine_and_bad_spark_conf(ws_path, capsys):
    assert run(["detect", "-w", str(ws_path), "--engine", "flink", "-q"]) == 2
    assert "--engine 'flink': expected one of duckdb, spark" in capsys.readouterr().err
    assert run(["detect", "-w", str(ws_path), "--engine", "spark", "--spark-conf", "executor.memory", "-q"]) == 2
    assert "expected KEY=VALUE with a spark.* key" in capsys.readouterr().err
    assert run(["detect", "-w", str(ws_path), "--engine", "spark", "--source", "a", "--source-database", "b"]) == 2
    assert "alternatives" in capsys.readouterr().err


def test_missing_pyspark_asks_for_the_extra(ws_path, capsys, monkeypatch):
    # A None entry in sys.modules makes `import pyspark` raise ImportError, as if it were not installed.
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    assert run(["detect", "-w", str(ws_path), "--engine", "spark", "-q"]) == 2
    err = capsys.readouterr().err
    assert SPARK_EXTRA in err and "pip install 'audit-kit[spark]'" in err and "Traceback" not in err


def test_missing_java_is_named(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr("shutil.which", lambda _name: None)
    with pytest.raises(ConfigError, match="needs a Java runtime"):
        require_java()


def test_bad_source_dir_names_the_missing_table(ws_path, tmp_path, capsys):
    lake = tmp_path / "lake"
    assert run(["detect", "-w", str(ws_path), "--engine", "spark", "--source", str(lake), "-q"]) == 2
    assert f"--source {lake}: no such directory" in capsys.readouterr().err
    lake.mkdir()
    (lake / "events").mkdir()
    assert run(["detect", "-w", str(ws_path), "--engine", "spark", "--source", str(lake), "-q"]) == 2
    err = capsys.readouterr().err
    assert "no organisations table" in err and str(lake / "organisations.parquet") in err
    (lake / "events").rmdir()
    (lake / "organisations.parquet").touch()
    assert run(["detect", "-w", str(ws_path), "--engine", "spark", "--source", str(lake), "-q"]) == 2
    assert "no events table" in capsys.readouterr().err


def test_library_engine_choice(ws_path):
    ws = Workspace.open(ws_path)
    try:
        assert isinstance(open_engine("duckdb", ws), DuckDBEngine)
        with pytest.raises(InputError, match="need --engine spark"):
            open_engine("duckdb", ws, SparkOptions(source="lake"))
        with pytest.raises(InputError, match="unknown engine"):
            open_engine("flink", ws)
        eng = DuckDBEngine(ws)
        assert eng.columns("events") >= {"timestamp", "local_time"} and eng.columns("nope") == set()
        assert not eng.has_rows("events") and eng.time_span() == (None, None)
    finally:
        ws.close()
