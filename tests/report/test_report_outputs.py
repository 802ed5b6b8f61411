"""Fast checks of the pieces the reports' guarantees rest on: small-number suppression, unique output
names, spreadsheet-safe text, the action plan workbook's validation, and output paths."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit_kit.cli import run
from audit_kit.errors import InputError
from audit_kit.models.actions import ActionKind, OwnerRole, Priority, Recommendation
from audit_kit.report.api import pack_filename, pack_paths
from audit_kit.report.sections import public
from audit_kit.report.workbook import neutralise, read_action_plan, write_action_plan


@pytest.mark.parametrize(("value", "text"), [(0, "0"), (1, "*"), (7, "*"), (8, "10"), (12, "10"), (13, "15"),
                                             (1234, "1,235")])
def test_counts_are_suppressed_and_rounded(value: int, text: str) -> None:
    assert public.shown(value) == text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 40), min_size=2, max_size=5), min_size=2, max_size=6).filter(
    lambda m: len({len(r) for r in m}) == 1))
def test_no_suppressed_cell_can_be_worked_back(matrix: list[list[int]]) -> None:
    hidden = public.suppress(matrix)
    for r, row in enumerate(matrix):
        for c, v in enumerate(row):
            if 0 < v <= public.SMALL:
                assert hidden[r][c]  # primary
    lines = [[(r, c) for c in range(len(matrix[0]))] for r in range(len(matrix))]
    lines += [[(r, c) for r in range(len(matrix))] for c in range(len(matrix[0]))]
    for line in lines:
        alone = [(r, c) for r, c in line if hidden[r][c]]
        if len(alone) == 1:  # allowed only when every other cell of the line is a true zero
            assert all(matrix[r][c] == 0 for r, c in line if (r, c) != alone[0])


def test_published_table_has_no_small_count() -> None:
    t = public.table(["a", "b"], ["x", "y", "z"], [[3, 20, 9], [0, 40, 12]], "c", "first")
    cells = [c for row in t.rows for c in row[1:]]
    assert all(c in ("*", "0") or int(c.replace(",", "")) >= 10 for c in cells)
    assert t.rows[0][1] == "*" and t.rows[0][3] == "*"  # 3 primary; 9 secondary (its row would give it away)


def test_pack_names_never_collide() -> None:
    assert pack_filename("GP01", "pdf") == "GP01-dpo-pack.pdf"
    for hostile in ("GP01.", "_GP01", "GP01/", "../GP01"):
        assert pack_filename(hostile, "pdf") != pack_filename("GP01", "pdf")
        assert "/" not in pack_filename(hostile, "pdf") and not pack_filename(hostile, "pdf").startswith(".")
    paths = pack_paths(Path("out"), ["GP01", "GP01.", "_LA01", "LA01"], "pdf")
    assert len(set(paths.values())) == 4


def test_spreadsheet_text_is_neutralised() -> None:
    assert neutralise("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert neutralise("+1") == "'+1" and neutralise("@SUM(A1)") == "'@SUM(A1)" and neutralise("-2") == "'-2"
    assert neutralise("two\nlines\r\nhere") == "two lines here"
    assert neutralise("plain") == "plain"


def _rec(title: str) -> Recommendation:
    return Recommendation(action_id="LA01/snooping/investigate", org_id="LA01", priority=Priority.HIGH,
                          kind=ActionKind.INVESTIGATE, due_days=30, title=title, steps=["=cmd|' /C calc'!A0"],
                          findings=["abc123def4567890aaaa"], risk_id="LA01/snooping", risk_title="t",
                          owner_role=OwnerRole.IAO)


def test_workbook_writes_no_formula_and_reads_back_validated(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = write_action_plan(tmp_path / "p.xlsx", "LA01", "=Evil\nCouncil", "A-1", date(2026, 1, 5),
                            [_rec("=1+1 look")])
    wb = load_workbook(out)
    for sheet in wb:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert "\n" not in str(cell.value or "")
    sheet = wb["Action plan"]
    sheet.cell(5, 7, "agreed-ish")
    sheet.cell(5, 9, "done")
    wb.save(out)
    plan = read_action_plan(out, {"LA01": {"LA01/snooping/investigate"}})
    assert any("row 5, column 'Management response'" in p for p in plan.problems)
    assert any("Evidence of closure" in p for p in plan.problems)
    with pytest.raises(InputError, match="no action plan was issued"):
        read_action_plan(out, {"GP02": set()})


def test_report_into_a_missing_directory_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from audit_kit.store.workspace import Workspace

    Workspace.open(tmp_path / "ws", create=True).close()
    missing = tmp_path / "nowhere" / "r.pdf"
    assert run(["report", "-w", str(tmp_path / "ws"), "-o", str(missing), "-q"]) == 2
    assert str(missing.parent) in capsys.readouterr().err
    assert run(["report", "-w", str(tmp_path / "ws"), "-o", str(tmp_path / "r.html"), "--templates",
                str(tmp_path / "no-templates"), "-q"]) == 2
    assert run(["report", "-w", str(tmp_path / "ws"), "-o", str(tmp_path / "r.html"), "--issued", "soon"]) == 2


def test_templates_directory_overrides_wording_in_the_same_sandbox(stored_ws: Path, tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "_wording_limitations.html").write_text("<p>Our own wording for limitations.</p>\n")
    (own / "_wording_signoff.html").write_text("{{ r.__class__.__mro__ }}")  # sandbox: no attribute escape
    out = tmp_path / "r.html"
    assert run(["report", "-w", str(stored_ws), "-o", str(out), "--templates", str(own), "-q"]) == 2
    (own / "_wording_signoff.html").write_text("<p>Signed by our board.</p>\n")
    assert run(["report", "-w", str(stored_ws), "-o", str(out), "--templates", str(own), "-q"]) == 0
    html = out.read_text()
    assert "Our own wording for limitations." in html and "Signed by our board." in html


def test_a_record_id_equal_to_a_body_id_does_not_erase_the_body(ws) -> None:  # noqa: ANN001
    from audit_kit.config import AuditConfig
    from audit_kit.report import national_html

    ws.con.execute("INSERT INTO subjects (record_id, home_area, shielded) VALUES ('LA001', 'Northshire', false)")
    html = national_html(ws, config=AuditConfig())
    assert "LA001" in html and "Northshire County Council" in html
