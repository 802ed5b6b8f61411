"""Every user-facing questionnaire problem is reported with file, sheet/row/key and control, all at once;
--strict refuses, the default stores what is valid; untrusted files are refused fast."""

from __future__ import annotations

import json
import time
import tracemalloc
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import yaml
from qfill_helpers import SUBMITTED, fill_xlsx, full_answers

from audit_kit.catalogue import load_catalogue
from audit_kit.cli import run
from audit_kit.questionnaires.importer import import_files
from audit_kit.questionnaires.layout import MAX_XLSX_BYTES
from audit_kit.store.workspace import Workspace

CE = "cyber-essentials"


def ce_yaml(tmp_path: Path, name: str = "q.yaml", **answers: object) -> Path:
    doc = {
        "org_id": "LA-1",
        "checklist": CE,
        "submitted": "2026-03-31",
        "respondent": {"name": "A", "role": "DPO", "email": "a@example.org"},
        "answers": {"CE-FW": "yes", "CE-SC": "yes", "CE-SUM": "yes", "CE-UAC": "yes", "CE-MP": "yes"},
    }
    doc["answers"].update(answers)  # type: ignore[union-attr]
    doc["answers"] = {k: v for k, v in doc["answers"].items() if v is not None}  # type: ignore[union-attr]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def stored_answers(ws: Path) -> int:
    con = duckdb.connect(str(ws / "audit.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "questionnaire_answers" not in tables:
            return 0
        return con.execute("SELECT count(*) FROM questionnaire_answers").fetchone()[0]
    finally:
        con.close()


def test_all_answer_problems_reported_at_once_then_strict_refuses(tmp_path: Path, capsys) -> None:
    ao = tmp_path / "ao.csv"
    ao.write_text(
        "org_id,checklist,submitted,control_id,answer,evidence,comment\n"
        "GP-9,accessing-organisation,2026-03-31,GOV-01,maybe,,\n"  # wrong type for yes/partial/no
        "GP-9,accessing-organisation,2026-03-31,DEV-06,n/a,,\n"  # n/a without a comment
        "GP-9,accessing-organisation,2026-03-31,XYZ-99,yes,,\n"  # unknown control
        "GP-9,accessing-organisation,2026-03-31,PPL-01,120,,\n"  # percentage over 100
        "GP-9,accessing-organisation,2026-03-31,IAM-02,n/a,,not used\n"  # n/a on a must-pass control
        "GP-9,accessing-organisation,2026-03-31,GOV-04,2027-01-01,,\n"  # date after submission
        "GP-9,accessing-organisation,2026-03-31,PPL-05,three,,\n"  # not a number
        "GP-9,accessing-organisation,2026-03-31,MON-01,daily,,\n"  # not one of the choices
        "GP-9,accessing-organisation,2026-03-31,IAM-01,partial,,\n"  # partial on a yes/no control
        "GP-9,accessing-organisation,2026-03-31,GOV-02,yes,,\n"
        "GP-9,accessing-organisation,2026-03-31,GOV-02,no,,\n"  # answered twice
        "GP-9,accessing-organisation,2026-03-31,GOV-03,,,\n"  # blank mandatory answer
    )
    ws = tmp_path / "ws"
    assert run(["questionnaire", "import", str(ao), "-w", str(ws), "--strict"]) == 2
    err = capsys.readouterr().err
    expected = [
        "row 2: org GP-9, control GOV-01: expected yes, partial, no or n/a; got 'maybe'",
        "row 3: org GP-9, control DEV-06: n/a needs a comment",
        "row 4: org GP-9, control XYZ-99: unknown control id 'XYZ-99'",
        "row 5: org GP-9, control PPL-01: expected a percentage 0-100; got 120",
        "row 6: org GP-9, control IAM-02: n/a is not allowed for a must-pass control",
        "row 7: org GP-9, control GOV-04: date 2027-01-01 is after the submission date 2026-03-31",
        "row 8: org GP-9, control PPL-05: expected a number; got 'three'",
        "row 9: org GP-9, control MON-01: expected one of weekly, monthly, quarterly, never, n/a; got 'daily'",
        "row 10: org GP-9, control IAM-01: expected yes, no or n/a; got 'partial'",
        "row 12: org GP-9, control GOV-02: answered more than once",
        "row 13: org GP-9, control GOV-03: missing mandatory answer",
        "org GP-9, control ASR-03: missing mandatory answer (control not in the file)",
    ]
    for e in expected:
        assert e in err, e
    assert "nothing imported (--strict)" in err
    assert stored_answers(ws) == 0

    # Without --strict the valid answer (GOV-02 yes) is stored and every problem still reported.
    assert run(["questionnaire", "import", str(ao), "-w", str(ws), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stored"][0]["answers"] == 1
    assert len(report["problems"]) >= len(expected)
    assert all(p["file"] == str(ao) for p in report["problems"])
    assert stored_answers(ws) == 1
    con = duckdb.connect(str(ws / "audit.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM questionnaire_problems").fetchone()[0] == len(report["problems"])
    con.close()


def test_submission_level_problems(tmp_path: Path, capsys) -> None:
    no_org = tmp_path / "no_org.yaml"
    no_org.write_text(yaml.safe_dump({"checklist": CE, "answers": {"CE-FW": "yes"}, "colour": 1}))
    bad_list = ce_yaml(tmp_path, "bad_list.yaml")
    doc = yaml.safe_load(bad_list.read_text())
    doc.update(checklist="nope", submitted="31/03/2026")
    bad_list.write_text(yaml.safe_dump(doc))
    not_a_map = tmp_path / "list.yaml"
    not_a_map.write_text("- a\n- b\n")
    weird = tmp_path / "notes.txt"
    weird.write_text("hello")
    ans_keys = ce_yaml(
        tmp_path, "keys.yaml", **{"CE-FW": {"answer": "yes", "proof": "x"}, "CE-SC": ["yes", "no"]}
    )
    ws = tmp_path / "ws"
    assert (
        run(
            [
                "questionnaire",
                "import",
                str(no_org),
                str(bad_list),
                str(not_a_map),
                str(weird),
                str(ans_keys),
                "-w",
                str(ws),
                "--format",
                "json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    msgs = [f"{Path(p['file']).name}|{p['key']}|{p['control_id']}|{p['message']}" for p in report["problems"]]
    text = "\n".join(msgs)
    assert "no_org.yaml|colour|None|unknown key" in text
    assert "no_org.yaml|None|None|org_id is missing" in text
    assert "bad_list.yaml|None|None|checklist 'nope': unknown checklist 'nope'" in text
    assert "list.yaml|None|None|a YAML questionnaire must be a mapping" in text
    assert "notes.txt|None|None|" in text and "unsupported questionnaire format '.txt'" in text
    assert "keys.yaml|answers.CE-FW|CE-FW|unknown key 'proof'" in text
    assert "keys.yaml|answers.CE-SC|CE-SC|an answer must be a single value" in text
    assert len(report["rejected"]) == 4  # no org, unknown checklist, not a mapping, .txt
    assert [s["org_id"] for s in report["stored"]] == ["LA-1"]


def test_bad_date_reported(tmp_path: Path) -> None:
    path = ce_yaml(tmp_path)
    doc = yaml.safe_load(path.read_text())
    doc["submitted"] = "31/03/2026"
    path.write_text(yaml.safe_dump(doc))
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        report = import_files(ws, [path])
    assert [p.message for p in report.problems] == ["submitted: expected a date YYYY-MM-DD; got '31/03/2026'"]


def test_csv_problems(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "missing.csv"
    missing.write_text("org_id,answer\nLA,yes\n")
    extra = tmp_path / "extra.csv"
    extra.write_text(
        "org_id,checklist,control_id,answer,shoe_size\nLA,cyber-essentials,CE-FW,yes,9\n"
        "LA,cyber-essentials,,yes,9\n"
    )
    latin = tmp_path / "latin.csv"
    latin.write_bytes("org_id,control_id,answer,comment\nLA,CE-FW,yes,caf\xe9\n".encode("latin-1"))
    header_only = tmp_path / "header.csv"
    header_only.write_text("org_id,control_id,answer\n")
    ws = tmp_path / "ws"
    assert (
        run(
            [
                "questionnaire",
                "import",
                str(missing),
                str(extra),
                str(latin),
                str(header_only),
                "-w",
                str(ws),
                "--format",
                "json",
            ]
        )
        == 0
    )
    problems = json.loads(capsys.readouterr().out)["problems"]
    text = "\n".join(f"{Path(p['file']).name}|{p['row']}|{p['key']}|{p['message']}" for p in problems)
    assert "missing.csv|None|None|" in text and "row 1: missing column(s) control_id" in text
    assert "extra.csv|1|shoe_size|unknown column" in text
    assert "extra.csv|3|None|control_id is empty" in text
    assert "latin.csv|None|None|" in text and "not UTF-8" in text
    assert "header.csv|None|None|" in text and "no answers" in text


def test_xlsx_structure_problems(tmp_path: Path, capsys) -> None:
    cat = load_catalogue(CE)
    template = tmp_path / "t.xlsx"
    assert run(["questionnaire", "template", "-c", CE, "-o", str(template)]) == 0
    capsys.readouterr()
    answers = full_answers(cat)
    answers["CE-FW"]["answer"] = "perhaps"
    filled = fill_xlsx(template, tmp_path / "f.xlsx", "LA-1", answers)
    wb = openpyxl.load_workbook(filled)
    wb["Answers"].cell(20, 8, "yes")  # an answer typed on a row with no control id
    wb.save(filled)
    no_about = tmp_path / "no_about.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Answers"
    wb.save(no_about)
    not_zip = tmp_path / "old.xlsx"
    not_zip.write_bytes(b"\xd0\xcf\x11\xe0 an old binary .xls")
    ws = tmp_path / "ws"
    assert (
        run(["questionnaire", "import", str(filled), str(no_about), str(not_zip), "-w", str(ws), "--strict"])
        == 2
    )
    err = capsys.readouterr().err
    assert (
        "f.xlsx, sheet Answers, row 2: org LA-1, control CE-FW: expected yes, no or n/a; got 'perhaps'" in err
    )
    assert "f.xlsx, sheet Answers, row 20: answer given on a row with no control id" in err
    assert "no_about.xlsx: sheet 'About' is missing" in err
    assert "old.xlsx: not an Excel .xlsx workbook" in err


def test_formulas_are_not_evaluated_and_macros_ignored(tmp_path: Path, capsys) -> None:
    cat = load_catalogue(CE)
    template = tmp_path / "t.xlsx"
    assert run(["questionnaire", "template", "-c", CE, "-o", str(template)]) == 0
    capsys.readouterr()
    answers = full_answers(cat)
    answers["CE-FW"]["answer"] = '=IF(1=1,"yes","no")'  # a formula with no cached value
    filled = fill_xlsx(template, tmp_path / "f.xlsx", "LA-1", answers)
    macro = tmp_path / "f.xlsm"
    with zipfile.ZipFile(filled) as src, zipfile.ZipFile(macro, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr(
            "xl/vbaProject.bin", b'Attribute VB_Name = "Evil"\nSub Auto_Open()\nShell "calc"\nEnd Sub'
        )
    ws = tmp_path / "ws"
    assert run(["questionnaire", "import", str(macro), "-w", str(ws), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # only the cached value is read: the formula cell has none, so the answer is missing, not "yes"
    assert [(p["control_id"], p["message"]) for p in report["problems"]] == [
        ("CE-FW", "missing mandatory answer")
    ]
    assert report["stored"][0]["answers"] == 4


def test_oversized_and_zip_bomb_excel_refused_fast(tmp_path: Path, capsys) -> None:
    big = tmp_path / "big.xlsx"
    with big.open("wb") as fh:
        fh.truncate(MAX_XLSX_BYTES + 1)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        # 64 MB of zeros compresses to about 64 KB: never expanded, refused from the zip directory
        with zf.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(64):
                member.write(chunk)
    assert bomb.stat().st_size < MAX_XLSX_BYTES
    ws = tmp_path / "ws"
    tracemalloc.start()
    start = time.perf_counter()
    assert run(["questionnaire", "import", str(big), str(bomb), "-w", str(ws), "--strict"]) == 2
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    err = capsys.readouterr().err
    assert "big.xlsx: file is" in err and "capped at" in err
    assert "bomb.xlsx: part xl/worksheets/sheet1.xml expands" in err
    assert elapsed < 3 and peak < 50 * 1024 * 1024


def test_yaml_alias_bomb_refused_fast(tmp_path: Path, capsys) -> None:
    lines = [
        "org_id: LA-1",
        "checklist: cyber-essentials",
        'a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]',
    ]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    lines.append("answers: {CE-FW: *a9}")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    tracemalloc.start()
    start = time.perf_counter()
    assert run(["questionnaire", "import", str(bomb), "-w", str(tmp_path / "ws")]) == 0
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "not allowed" in capsys.readouterr().err
    assert elapsed < 3 and peak < 50 * 1024 * 1024


def test_resubmissions_are_versions_and_identical_ones_skipped(tmp_path: Path, capsys) -> None:
    ws = tmp_path / "ws"
    v1 = ce_yaml(tmp_path, "v1.yaml", **{"CE-MP": "no"})
    assert run(["questionnaire", "import", str(v1), "-w", str(ws)]) == 0
    assert run(["questionnaire", "import", str(v1), "-w", str(ws), "--format", "json"]) == 0
    capsys.readouterr()
    # the same answers as CSV count as the same submission
    same = tmp_path / "same.csv"
    same.write_text(
        "org_id,checklist,submitted,respondent_name,respondent_role,respondent_email,control_id,answer\n"
        + "".join(
            f"LA-1,cyber-essentials,2026-03-31,A,DPO,a@example.org,{c},{'no' if c == 'CE-MP' else 'yes'}\n"
            for c in ("CE-FW", "CE-SC", "CE-SUM", "CE-UAC", "CE-MP")
        )
    )
    assert run(["questionnaire", "import", str(same), "-w", str(ws), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stored"] == [] and len(report["duplicates"]) == 1
    v2 = ce_yaml(tmp_path, "v2.yaml")
    assert run(["questionnaire", "import", str(v2), "-w", str(ws), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["stored"][0]["version"] == 2
    assert run(["score", "-w", str(ws), "--format", "json"]) == 0
    [s] = json.loads(capsys.readouterr().out)
    assert (s["version"], s["previous_version"], s["previous_overall"], s["overall"], s["delta"]) == (
        2,
        1,
        50.0,
        100.0,
        50.0,
    )


def test_import_path_errors(tmp_path: Path, capsys) -> None:
    assert run(["questionnaire", "import", str(tmp_path / "absent.yaml"), "-w", str(tmp_path / "ws")]) == 2
    assert "absent.yaml: no such file or directory" in capsys.readouterr().err
    empty_ws = tmp_path / "ws2"
    Workspace.open(empty_ws, create=True).close()
    assert run(["score", "-w", str(empty_ws)]) == 2
    assert "no questionnaires stored" in capsys.readouterr().err
    assert SUBMITTED.year == 2026


def test_answers_from_an_unknown_organisation_are_flagged(tmp_path: Path, capsys) -> None:
    ws_path = tmp_path / "ws"
    with Workspace.open(ws_path, create=True) as ws:
        ws.con.execute(
            "INSERT INTO organisations (org_id, name, type, area) VALUES ('LA-2', 'Council', 'local_authority', 'X')"
        )
    path = ce_yaml(tmp_path)  # org LA-1, not LA-2
    assert run(["questionnaire", "import", str(path), "-w", str(ws_path), "--strict"]) == 2
    assert "q.yaml: org LA-1: org_id is not in the workspace's organisations" in capsys.readouterr().err
    assert stored_answers(ws_path) == 0
