"""Subject access: a child read by a dozen bodies — each listed with dates and purposes; the JSON holds no
other child's record; staff are named only in the restricted copy; the PDF renders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from review_world import CHILD, CHILD_READERS, ORGS, SIBLING, T0

from audit_kit.cli import run
from audit_kit.review.subject_access import subject_access
from audit_kit.store.workspace import Workspace

NAMES = {o[0]: o[1] for o in ORGS}


def _all_record_ids(ws: Path) -> set[str]:
    with Workspace.open(ws, read_only=True) as w:
        return {r[0] for r in w.con.execute("SELECT record_id FROM subjects").fetchall()}


def test_every_body_that_read_the_child_is_listed_with_dates_and_purposes(detected_template: Path, tmp_path: Path) -> None:
    out = tmp_path / "sar.json"
    assert run(["subject-access", CHILD, "-w", str(detected_template), "-o", str(out), "--reference", "SAR-2026-014",
                "-q"]) == 0
    data = json.loads(out.read_text())
    orgs = {o["org_id"]: o for o in data["organisations"]}
    assert set(CHILD_READERS) <= set(orgs) and len(CHILD_READERS) == 12
    for org in CHILD_READERS:
        o = orgs[org]
        assert o["name"] == NAMES[org] and o["accesses"] == 1
        assert o["first"].startswith("2026-09-13") and o["purposes"]
        [line] = o["lines"]
        assert line["day"] == "2026-09-13" and line["purpose"] and line["role"] and line["user_id"] is None
    assert orgs["NHS1"]["actions"] == {"print": 1} and orgs["POL1"]["actions"] == {"export": 1}
    assert orgs["SCH3"]["accesses"] == 0 and orgs["SCH3"]["refused"] == 1  # a refused attempt is shown too
    assert orgs["NHS2"]["involvement"] == "no involvement recorded"
    assert data["totals"]["organisations"] == 13 and data["totals"]["accesses"] == 12
    assert data["reference"] == "SAR-2026-014" and data["record_id"] is None


def test_the_json_holds_no_other_childs_record(detected_template: Path, tmp_path: Path) -> None:
    for audience in ("public", "restricted"):
        out = tmp_path / f"sar-{audience}.json"
        assert run(["subject-access", CHILD, "-w", str(detected_template), "-o", str(out), "--audience", audience,
                    "-q"]) == 0
        text = out.read_text()
        with Workspace.open(detected_template, read_only=True) as w:
            own = w.pseudonymise(CHILD)
            others = _all_record_ids(detected_template) - {CHILD}
            other_pseudonyms = {w.pseudonymise(r) for r in others}
        tokens = set(re.findall(r"[A-Za-z0-9_-]+", text))
        assert not tokens & others, f"{audience}: another child's record id"
        assert not set(re.findall(r"R-[0-9a-f]{16}", text)) & other_pseudonyms
        assert SIBLING not in text and "another child's record" in text  # LA2's stated purpose named the sibling
        data = json.loads(text)
        if audience == "restricted":
            assert data["record_id"] == CHILD and data["pseudonym"] == own
            assert {line["user_id"] for o in data["organisations"] for line in o["lines"]} >= {"LA1-u0", "POL2-u0"}
        else:
            assert CHILD not in tokens and "LA1-u0" not in text and data["reference"] == own


def test_findings_that_touched_the_record_are_listed(detected_template: Path) -> None:
    from review_world import SHIELDED

    with Workspace.open(detected_template, read_only=True) as w:
        r = subject_access(w, SHIELDED, T0, audience="restricted", titles={"shielded_access": "Shielded child opened"})
        public = subject_access(w, SHIELDED, T0, audience="public", titles={"shielded_access": "Shielded child opened"})
    [f] = r.findings
    assert f.detector == "shielded_access" and f.user_id == "GP2-u1" and "this child's record" in (f.summary or "")
    assert public.findings[0].summary is None and public.findings[0].user_id is None
    assert public.findings[0].title == "Shielded child opened" and public.findings[0].state == "open"


def test_the_pdf_renders_with_each_body(detected_template: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    out = tmp_path / "sar.pdf"
    assert run(["subject-access", CHILD, "-w", str(detected_template), "-o", str(out), "--reference", "SAR-2026-014",
                "--holder", "National Children's Records Service", "-q"]) == 0
    text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
    assert "SAR-2026-014" in text and CHILD not in text and "LA1-u0" not in text
    for org in CHILD_READERS:
        assert NAMES[org] in text


@pytest.mark.parametrize("args, message", [
    (["NO-SUCH-CHILD"], "not in this workspace"),
    ([" "], "give the child's record id"),
    ([CHILD, "--reference", "about C0008"], "must not contain a record id"),
    ([CHILD, "--audience", "everyone"], "everyone"),
    ([CHILD, "--since", "last tuesday"], "--since"),
])
def test_mistakes_are_usage_errors(detected_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   args: list[str], message: str) -> None:
    code = run(["subject-access", *args, "-w", str(detected_template), "-o", str(tmp_path / "x.json"), "-q"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_no_workspace_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["subject-access", CHILD, "-w", str(tmp_path / "none"), "-o", str(tmp_path / "x.pdf")]) == 2
    assert "no audit-kit workspace" in capsys.readouterr().err
