"""`audit-kit assess` through the real CLI entry point: formats, exit codes, every user-facing error."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from assess_world import World

from audit_kit.cli import run

QUESTIONNAIRE = """\
org_id: LA1
checklist: accessing-organisation
submitted: 2026-09-25
answers: {IAM-02: 100, NTK-05: 'yes'}
"""


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    w = World()
    w.org("LA1")
    w.org("GP1", "gp_practice")
    for i in range(60):  # 60 children: impact Low, so LA1 (contradicted MFA) is rated at least Low
        w.child(f"c{i}")
        w.involve(f"c{i}", "LA1")
    for u in ("u1", "u2"):
        w.user(u, "LA1")
        w.daily(u, "LA1", ["c0", "c1"], auth="password")
    w.user("g1", "GP1")
    w.daily("g1", "GP1", ["c2"])
    ws = w.build(tmp_path / "ws")
    q = tmp_path / "LA1.yaml"
    q.write_text(QUESTIONNAIRE)
    from audit_kit.questionnaires.importer import import_files

    import_files(ws, [q])
    ws.close()
    return tmp_path / "ws"


def test_json_ratings_to_a_file(ws_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "ratings.json"
    assert run(["assess", "--workspace", str(ws_path), "--format", "json", "-o", str(out), "-q"]) == 0
    doc = json.loads(out.read_text())
    assert {o["org_id"] for o in doc["orgs"]} == {"LA1", "GP1"}
    la = next(o for o in doc["orgs"] if o["org_id"] == "LA1")
    assert la["contradictions"][0]["control_id"] == "IAM-02" and la["logs_only"] is False
    assert 1 <= la["likelihood"] <= 5 and la["risk_level"] in ("Very Low", "Low", "Moderate", "High", "Very High")
    gp = next(o for o in doc["orgs"] if o["org_id"] == "GP1")
    assert gp["logs_only"] is True


def test_csv_and_table_on_stdout(ws_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", "--workspace", str(ws_path), "--format", "csv", "-q"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["org_id"] for r in rows} == {"LA1", "GP1"}
    assert {r["basis"] for r in rows} == {"questionnaire + logs", "logs only"}
    assert run(["assess", "--workspace", str(ws_path), "-q"]) == 0
    out = capsys.readouterr().out
    assert "LA1" in out and "GP1" in out and "Risk assessment as of 2026-09-30" in out


def test_fail_on_a_risk_level(ws_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert run(["assess", "-w", str(ws_path), "-f", "json", "-o", str(out), "-q"]) == 0
    levels = ["very-low", "low", "moderate", "high", "very-high"]
    worst = max(levels.index(o["risk_level"].lower().replace(" ", "-")) for o in json.loads(out.read_text())["orgs"])
    for name in levels[1:]:
        expected = 1 if worst >= levels.index(name) else 0
        assert run(["assess", "-w", str(ws_path), "-f", "json", "-o", str(out), "-q", "--fail-on", name]) == expected
    assert worst >= 1  # so the loop above saw exit 1 at least once
    assert run(["assess", "-w", str(ws_path), "-f", "json", "-o", str(out), "-q", "--fail-on", "never"]) == 0


def test_oscal_assessment_results(ws_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "ar.json"
    assert run(["assess", "-w", str(ws_path), "-f", "oscal-ar", "-o", str(out), "-q"]) == 0
    doc = json.loads(out.read_text())
    assert "assessment-results" in doc
    risks = doc["assessment-results"]["results"][0].get("risks", [])
    assert any("LA1" in r["title"] for r in risks)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "31/10/2026"], "--as-of: expected a date YYYY-MM-DD"),
        (["--format", "xml"], "xml"),
    ],
)
def test_bad_options_exit_2(ws_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", "-w", str(ws_path), "-q", *args]) == 2
    assert message in capsys.readouterr().err


def test_missing_workspace_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", "-w", str(tmp_path / "nope"), "-q"]) == 2
    assert "no audit-kit workspace here" in capsys.readouterr().err


def test_workspace_without_events_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = World()
    w.org("LA1")
    w.build(tmp_path / "ws").close()
    assert run(["assess", "-w", str(tmp_path / "ws"), "-q"]) == 2
    assert "no events" in capsys.readouterr().err


def test_one_shot_job_refuses_bad_dataset_dirs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", str(tmp_path / "missing"), "-w", str(tmp_path / "ws"), "-q"]) == 2
    assert "not a directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert run(["assess", str(tmp_path / "empty"), "-w", str(tmp_path / "ws"), "-q"]) == 2
    assert "no organisations.csv" in capsys.readouterr().err
    assert run(["assess", str(tmp_path / "empty"), "-f", "json", "-q"]) == 2
    assert "--format applies to ratings" in capsys.readouterr().err


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", "--help"]) == 0
    assert "audit-kit assess demo/world --workspace demo/workspace" in capsys.readouterr().out
