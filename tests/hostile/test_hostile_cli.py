"""Careless and hostile inputs at the command line: each ends as a clear exit 2 naming what to fix, or a
reported problem — never an internal error (exit 3) or a traceback. (The ingest doors, detectors and
report outputs have hostile cases of their own beside their tests.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from audit_kit.cli import run
from audit_kit.errors import ExitCode
from audit_kit.synth import SynthParams, generate


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    generate(root / "world", SynthParams(seed=5, orgs=4, days=28, children=500, scale=0.1))
    assert run(["ingest", str(root / "world"), "-w", str(root / "ws"), "-q"]) == 0
    return root / "ws"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    return code, err


def test_a_window_bound_centuries_away_is_a_usage_error(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["detect", "-w", str(ws), "-q", "--since", "0001-01-01"], capsys)
    assert code == ExitCode.USAGE and "--since '0001-01-01'" in err and "between 1970 and 2200" in err


@pytest.mark.parametrize("command", [["detect", "-q", "-f", "json"], ["assess", "-q", "-f", "json"], ["score", "-f", "json"]])
def test_output_into_a_missing_folder_is_refused_before_the_work(
    ws: Path, tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "no" / "such" / "folder" / "out.json"
    code, err = _run([*command, "-w", str(ws), "-o", str(out)], capsys)
    assert code == ExitCode.USAGE and f"{out}: the folder" in err and "does not exist" in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to simulate a full disk")
def test_a_full_disk_is_a_usage_error_naming_the_file(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(["detect", "-w", str(ws), "-q", "-f", "json", "-o", "/dev/full"], capsys)
    assert code == ExitCode.USAGE and "/dev/full: cannot write (No space left on device)" in err


def test_a_memory_cap_too_small_to_work_in_names_the_variable(
    ws: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUDIT_KIT_MEMORY", "10KB")
    code, err = _run(["detect", "-w", str(ws), "-q"], capsys)
    assert code == ExitCode.USAGE and "$AUDIT_KIT_MEMORY='10KB'" in err and "at least 100MB" in err


def test_a_damaged_workspace_file_is_reported_as_such(ws: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(ws, damaged)
    db = damaged / "audit.duckdb"
    with db.open("r+b") as fh:  # overwrite the first data blocks, past the file headers
        fh.seek(256 * 1024)
        fh.write(b"\xff" * (768 * 1024))
    code, err = _run(["assess", "-w", str(damaged), "-q", "-f", "json", "-o", str(tmp_path / "a.json")], capsys)
    assert code == ExitCode.USAGE and "workspace" in err and "backup" in err


def test_a_file_given_as_the_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    code, err = _run(["detect", "-w", str(tmp_path / "notes.txt"), "-q"], capsys)
    assert code == ExitCode.USAGE and "is a file, not a workspace directory" in err


def test_an_impossible_submission_date_is_a_problem_naming_the_key(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    q = tmp_path / "q.yaml"
    q.write_text("org_id: LA001\nchecklist: accessing-organisation\nsubmitted: 2026-13-45\nanswers: {GOV-01: yes}\n")
    code, err = _run(["questionnaire", "import", str(q), "-w", str(ws), "--strict"], capsys)
    assert code == ExitCode.USAGE and "submitted: expected a date YYYY-MM-DD; got '2026-13-45'" in err


def test_a_nesting_bomb_is_refused_as_a_problem(ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    q = tmp_path / "deep.yaml"
    q.write_text("org_id: LA001\nanswers: " + "[" * 5000 + "]" * 5000 + "\n")
    code, err = _run(["questionnaire", "import", str(q), "-w", str(ws), "--strict"], capsys)
    assert code == ExitCode.USAGE and "nested more than 64 levels deep" in err


def test_a_huge_questionnaire_is_refused_in_bounded_time(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Within the 5 MB byte cap, but 30,000 answers: the node budget stops the parse early.
    q = tmp_path / "huge.yaml"
    rows = "".join(f"  X-{i:05d}: {{answer: yes, comment: some text}}\n" for i in range(30_000))
    q.write_text("org_id: LA001\nchecklist: accessing-organisation\nanswers:\n" + rows)
    started = time.perf_counter()
    code, err = _run(["questionnaire", "import", str(q), "-w", str(ws), "--strict"], capsys)
    assert code == ExitCode.USAGE and "too large for an audit-kit input" in err
    assert time.perf_counter() - started < 60  # a guard against minutes, not a benchmark


def test_thousands_of_problems_are_summarised_on_the_terminal(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    q = tmp_path / "many.yaml"
    rows = "".join(f"  X-{i:04d}: yes\n" for i in range(500))
    q.write_text("org_id: LA001\nchecklist: accessing-organisation\nsubmitted: 2026-10-01\nanswers:\n" + rows)
    code, err = _run(["questionnaire", "import", str(q), "-w", str(ws)], capsys)
    assert code == ExitCode.OK
    assert err.count("problem: ") == 100 and "more problem(s): --format json lists every one" in err


def test_catalogue_text_never_becomes_a_live_formula_in_a_template(tmp_path: Path) -> None:
    import csv

    import openpyxl
    import yaml

    from audit_kit.resources import checklists_dir

    data = yaml.safe_load((checklists_dir() / "cyber-essentials.yaml").read_text())
    data["id"] = "imported"
    data["controls"][0]["title"] = '=HYPERLINK("http://attacker.invalid","open me")'
    data["controls"][0]["question"] = '+cmd|" /C calc"!A0'
    cat = tmp_path / "imported.yaml"
    cat.write_text(yaml.safe_dump(data))
    assert run(["questionnaire", "template", "-c", str(cat), "-f", "csv", "-o", str(tmp_path / "t.csv")]) == 0
    assert run(["questionnaire", "template", "-c", str(cat), "-f", "xlsx", "-o", str(tmp_path / "t.xlsx")]) == 0
    rows = list(csv.DictReader((tmp_path / "t.csv").open(encoding="utf-8")))
    assert rows[0]["title"].startswith("'=") and rows[0]["question"].startswith("'+")
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    risky = [c for c in cells if c.value.startswith(("=", "+"))]
    assert risky and all(c.data_type == "s" for c in risky)  # stored as text, not as formulas


def _oscal(groups: str) -> str:
    return ('{"catalog": {"uuid": "11111111-1111-4111-8111-111111111111", "metadata": {"title": "T", '
            '"last-modified": "2024-01-01T00:00:00Z", "version": "1", "oscal-version": "1.1.2"}, '
            f'"groups": [{groups}]}}}}')


def test_an_oscal_nesting_bomb_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for n in (100, 5000):  # within the JSON parser's reach, and past it
        src = tmp_path / f"deep{n}.json"
        src.write_text(_oscal('{"id": "g", "title": "G", "groups": [' * n + "]}" * n))
        code, err = _run(["checklist", "import-oscal", str(src), "-o", str(tmp_path / f"deep{n}.yaml")], capsys)
        assert code == ExitCode.USAGE and f"deep{n}.json" in err and "levels deep" in err
        assert not (tmp_path / f"deep{n}.yaml").exists()


def test_a_newline_in_an_oscal_title_cannot_add_a_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import yaml

    src = tmp_path / "nl.json"
    doc = json.loads(_oscal('{"id": "ac", "title": "Access\\ncontrol: injected", "controls": [{"id": "ac-1", '
                            '"title": "Policy\\nweight: 99", "parts": [{"name": "statement", '
                            '"prose": "Line one\\nmust_pass: true"}]}]}'))
    doc["catalog"]["metadata"]["title"] = "Baseline\nevil: yes"
    src.write_text(json.dumps(doc))
    out = tmp_path / "nl.yaml"
    code, _ = _run(["checklist", "import-oscal", str(src), "-o", str(out)], capsys)
    assert code == ExitCode.OK
    data = yaml.safe_load(out.read_text())
    assert "evil" not in data and data["title"] == "Baseline evil: yes"
    control = data["controls"][0]
    assert control["title"] == "Policy weight: 99" and control["domain"] == "Access control: injected"
    assert control["weight"] == 1.0 and control.get("must_pass") is not True
    assert run(["checklist", "validate", str(out)]) == ExitCode.OK


def test_a_truth_file_that_is_not_utf8_is_a_usage_error(ws: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    truth = tmp_path / "truth.csv"
    truth.write_bytes(b"user_id,org_id,category\n\xff\xfeU1,O1,after_hours\n")
    code, err = _run(["evaluate", str(truth), "-w", str(ws), "-q"], capsys)
    assert code == ExitCode.USAGE and "truth.csv: not UTF-8 text (byte 24 is 0xff)" in err
