"""A detector that fails leaves its kind of misuse unreported: `assess` and `report` must not hand a
reviewer a complete-looking assessment built on that run (exit 3 naming it), unless told
--allow-partial, when the report's limitations say what failed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from audit_kit.cli import run
from audit_kit.detectors import REGISTRY
from audit_kit.detectors.registry import REGISTRY as REG
from audit_kit.errors import ExitCode
from audit_kit.synth import SynthParams, generate


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("partial")
    generate(root / "world", SynthParams(seed=7, orgs=4, days=35, children=600, scale=0.1))
    return root / "world"


@pytest.fixture()
def broken_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(ctx: object, params: object) -> list[object]:
        raise ZeroDivisionError("no baseline for this role")

    monkeypatch.setitem(REG, "out_of_area", replace(REGISTRY["out_of_area"], fn=boom))


def test_the_one_shot_job_stops_before_the_report(world: Path, tmp_path: Path, broken_detector: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    code = run(["assess", str(world), "-w", str(tmp_path / "ws"), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == ExitCode.INTERNAL and not out.exists()
    assert "out_of_area: ZeroDivisionError: no baseline for this role" in err and "--allow-partial" in err
    assert "Traceback" not in err


def test_allow_partial_writes_a_report_that_says_what_failed(world: Path, tmp_path: Path, broken_detector: None,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    ws, out = tmp_path / "ws", tmp_path / "report.html"
    assert run(["assess", str(world), "-w", str(ws), "-o", str(out), "-q", "--allow-partial"]) == ExitCode.OK
    assert "detection incomplete" in capsys.readouterr().err
    assert "Detectors that failed: out_of_area" in out.read_text()
    # The same workspace later: `assess` and `report` stand on the same incomplete run.
    assert run(["assess", "-w", str(ws), "-q"]) == ExitCode.INTERNAL
    again = tmp_path / "again.html"
    assert run(["report", "-w", str(ws), "-o", str(again), "-q"]) == ExitCode.INTERNAL and not again.exists()
    assert "out_of_area" in capsys.readouterr().err
    assert run(["report", "-w", str(ws), "-o", str(again), "-q", "--allow-partial"]) == ExitCode.OK
    assert "Detectors that failed: out_of_area" in again.read_text()
