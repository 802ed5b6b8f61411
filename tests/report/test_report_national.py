"""The national risk assessment through the real CLI: sections, PDF quality, audiences, empty sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from report_world import raw_ids_at as raw_ids

from audit_kit.cli import run

NATIONAL_SECTIONS = [
    "Document control",
    "Version history",
    "Distribution",
    "Sign-off and approval",
    "Executive summary",
    "Key messages",
    "Top risks",
    "Assurance opinions",
    "Recommendations by priority",
    "Follow-up of earlier actions",
    "Limitations",
    "Scope and data coverage",
    "Files read",
    "Gaps in logs",
    "Quarantined rows",
    "Method and scales",
    "Heat map and league table",
    "League table",
    "Control results",
    "Good practice",
    "Access findings",
    "Findings by kind",
    "Findings over time",
    "Graphs of access",
    "Risk register",
    "Annex: organisations",
    "Appendix: framework mapping",
    "Glossary",
]


def _text(pdf: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


def _outline_titles(items: list) -> list[str]:
    out = []
    for item in items:
        if isinstance(item, list):
            out += _outline_titles(item)
        else:
            out.append(item.title)
    return out


@pytest.fixture(scope="module")
def national_pdf(stored_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "national.pdf"
    assert run(["report", "-w", str(stored_ws), "-o", str(out), "--reviewer", "Jo Reviewer", "-q"]) == 0
    return out


def test_pdf_has_every_section_and_the_assessment(national_pdf: Path) -> None:
    text = _text(national_pdf)
    for section in NATIONAL_SECTIONS:
        assert section in text, section
    # content from each source: coverage, assessment, register, findings, catalogue mapping
    assert "OFFICIAL-SENSITIVE" in text
    assert "Jo Reviewer" in text
    assert "Very High" in text and "Shared or weak credentials" in text
    assert "Shielded record access and overrides" in text and "Unusual out-of-hours access" in text
    assert "IAM-02" in text and "GOV-01" in text
    assert "41% of sessions were single-factor." in text  # a contradicted answer, in the annex
    assert "2026-03-12" in text  # start of SC003's eight-day gap in logs


def test_pdf_metadata_outline_page_numbers_a4(national_pdf: Path) -> None:
    reader = PdfReader(national_pdf)
    meta = reader.metadata
    assert meta.title.startswith("National risk assessment")
    assert meta.author == "Jo Reviewer"
    assert "risk register" in meta.subject.lower()
    assert "children's records" in meta["/Keywords"]
    titles = _outline_titles(reader.outline)
    for section in ("Executive summary", "League table", "Risk register", "Annex: organisations", "Glossary"):
        assert section in titles
    assert any(t.startswith("GP002") for t in titles)  # one bookmark per organisation annex
    pages = len(reader.pages)
    assert f"Page 2 of {pages}" in reader.pages[1].extract_text()
    assert "National risk assessment" in reader.pages[3].extract_text()  # running header
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.3) < 1 and abs(float(box.height) - 841.9) < 1  # A4 in points
    assert "/StructTreeRoot" in reader.trailer["/Root"]  # tagged PDF


def test_no_raw_record_id_in_restricted_pdf(national_pdf: Path, stored_ws: Path) -> None:
    text = _text(national_pdf)
    ids = raw_ids(stored_ws)
    leaked = [r for r in ids if re.search(rf"(?<![\w-]){re.escape(r)}(?![\w-])", text)]
    assert leaked == []
    assert re.search(r"R-[0-9a-f]{16}", text)  # pseudonyms are shown instead


def test_public_html_has_aggregates_only(stored_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "public.html"
    assert run(["report", "-w", str(stored_ws), "--audience", "public", "-o", str(out), "-q"]) == 0
    html = out.read_text()
    assert "OFFICIAL</div>" in html and "OFFICIAL-SENSITIVE" not in html
    assert "Counts from 1 to 7 are shown as *" in html  # the suppression rule is stated
    assert not re.search(r"R-[0-9a-f]{16}", html)
    assert not re.search(r"\bU0\d\d\b", html)  # no user ids at all
    for rid in raw_ids(stored_ws):
        assert not re.search(rf"(?<![\w-]){re.escape(rid)}(?![\w-])", html)
    assert "by risk theme and type of body" in html  # counts by risk theme remain
    assert "Northshire County Council" not in html  # no body is named


def test_restricted_html_names_users_and_flagged_user_graph(stored_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert run(["report", "-w", str(stored_ws), "-o", str(out), "-q"]) == 0
    html = out.read_text()
    assert "user U004" in html
    assert "Around flagged user U004" in html  # the ego graph of the most serious flagged user
    assert "<svg" in html


def test_empty_workspace_says_so_plainly(tmp_path: Path) -> None:
    from audit_kit.store.workspace import Workspace

    Workspace.open(tmp_path / "ws", create=True).close()
    out = tmp_path / "empty.html"
    assert run(["report", "-w", str(tmp_path / "ws"), "-o", str(out), "-q"]) == 0
    html = out.read_text()
    assert "No risk assessment is stored in this workspace" in html
    assert "No access findings are stored" in html
    assert "No questionnaires were submitted" in html
    assert "No files have been ingested into this workspace." in html
    assert "No organisations are recorded in the workspace." in html
