"""DPO packs: one organisation, every organisation in parallel, and the CLI's error paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from report_world import raw_ids_at as raw_ids

from audit_kit.cli import run
from audit_kit.config import AuditConfig
from audit_kit.report import pack_filename

CFG = AuditConfig()  # the defaults: graphs over the window `detect` judges by default

PACK_SECTIONS = [
    "Scorecard",
    "Action plan",
    "Follow-up of earlier actions",
    "Your risk register",
    "Findings with evidence",
    "Answers against evidence",
    "Trend since last time",
    "Limitations",
    "Document control",
    "Glossary",
]


def test_org_pack_pdf_sections_and_content(stored_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "gp.pdf"
    assert run(["report", "-w", str(stored_ws), "--org", "GP002", "-o", str(out), "--issued", "2026-04-01",
                "-q"]) == 0
    reader = PdfReader(out)
    text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in reader.pages))
    for section in PACK_SECTIONS:
        assert section in text, section
    assert "contradicted" in text and "41% of sessions were single-factor." in text
    assert "Enforce MFA on every channel" in text and "2026-05-01" in text  # action with its due date
    assert "Compared with the assessment of 2026-03-01." in text  # trend since the stored previous run
    assert "Unusual out-of-hours access" in text and "user U001" in text
    assert reader.metadata.title.startswith("Data protection pack:")
    for rid in raw_ids(stored_ws):
        assert not re.search(rf"(?<![\w-]){re.escape(rid)}(?![\w-])", text)


def test_org_pack_logs_only_and_public(stored_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "sc.html"
    assert (
        run(["report", "-w", str(stored_ws), "--org", "SC003", "--audience", "public", "-o", str(out)]) == 0
    )
    html = out.read_text()
    assert "We received no questionnaire from you" in html
    assert "The public summary shows counts only" in html
    assert "No questionnaire was submitted, so there are no answers to test against the logs." in html
    assert not re.search(r"R-[0-9a-f]{16}", html) and "U002" not in html


def test_all_orgs_pdf_in_two_workers(
    stored_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "packs"
    assert (
        run(["report", "-w", str(stored_ws), "--all-orgs", "-o", str(out), "--workers", "2", "--json", "-q"])
        == 0
    )
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(pack_filename(o, "pdf") for o in ("LA001", "GP002", "SC003", "PF004"))
    for f in out.iterdir():
        assert PdfReader(f).pages[0].extract_text().count("OFFICIAL-SENSITIVE") >= 1
    assert '"files"' in capsys.readouterr().out


def test_all_orgs_html(stored_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "packs"
    assert (
        run(
            [
                "report",
                "-w",
                str(stored_ws),
                "--all-orgs",
                "--format",
                "html",
                "--workers",
                "1",
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    assert len(list(out.glob("*-dpo-pack.html"))) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "NOPE"], "organisation 'NOPE' is not in the workspace"),
        (["--org", "GP002", "--all-orgs"], "--org and --all-orgs cannot be used together"),
        (["-o", "{tmp}/report.docx"], "cannot tell the format from '.docx'"),
        (["--all-orgs", "-o", "{tmp}/file.txt"], "give a directory"),
        (["-o", "{tmp}/file.txt/inside.pdf"], "cannot write the report here"),
    ],
)
def test_cli_errors_exit_2_and_name_the_problem(
    stored_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (tmp_path / "file.txt").write_text("not a directory")
    argv = ["report", "-w", str(stored_ws), "-q"]
    if "-o" not in args:
        argv += ["-o", str(tmp_path / "x.pdf")]
    argv += [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert run(argv) == 2
    assert message in capsys.readouterr().err


def test_missing_workspace_and_bad_audience(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["report", "-w", str(tmp_path / "none"), "-o", str(tmp_path / "x.pdf")]) == 2
    assert "no audit-kit workspace here" in capsys.readouterr().err
    assert run(["report", "-w", str(tmp_path), "--audience", "everyone", "-o", str(tmp_path / "x.pdf")]) == 2
    assert "everyone" in capsys.readouterr().err


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["report", "--help"]) == 0
    out = capsys.readouterr().out
    assert "audit-kit report -w ws --all-orgs -o packs/" in out


def test_library_all_packs_with_a_writable_workspace(ws: object, tmp_path: Path) -> None:
    """A read-write workspace (e.g. the one-shot pipeline's) builds packs here, lays out PDFs in workers."""
    from audit_kit.report import render_all_packs

    paths = render_all_packs(ws, tmp_path / "packs", workers=2, config=CFG)
    assert sorted(p.name for p in paths) == sorted(
        pack_filename(o, "pdf") for o in ("LA001", "GP002", "SC003", "PF004")
    )
    text = re.sub(
        r"\s+", " ", PdfReader(tmp_path / "packs" / pack_filename("GP002", "pdf")).pages[1].extract_text()
    )
    assert "Scorecard" in text
