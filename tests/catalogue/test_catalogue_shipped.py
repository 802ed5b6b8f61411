"""The shipped catalogues load, keep the research ids, and the checklist commands work on them."""

from __future__ import annotations

import json

from audit_kit.catalogue import KNOWN_LOG_CHECKS, AnswerType, list_catalogues, load_catalogue
from audit_kit.cli import run

# The forty control ids of research/controls.md: the catalogue contract keeps them.
RESEARCH_IDS = (
    [f"GOV-0{i}" for i in range(1, 7)]
    + [f"PPL-0{i}" for i in range(1, 7)]
    + [f"IAM-0{i}" for i in range(1, 8)]
    + [f"NTK-0{i}" for i in range(1, 7)]
    + [f"DEV-0{i}" for i in range(1, 7)]
    + [f"MON-0{i}" for i in range(1, 5)]
    + ["INC-01", "INC-02", "ASR-01", "ASR-02", "ASR-03"]
)


def test_accessing_organisation_keeps_the_forty_research_ids() -> None:
    cat = load_catalogue("accessing-organisation")
    assert len(RESEARCH_IDS) == 40
    assert set(RESEARCH_IDS) <= set(cat.by_id())
    must = {c.id for c in cat.controls if c.must_pass}
    assert {"IAM-02", "PPL-01"} <= must  # MFA and vetting


def test_every_control_is_complete_and_mapped() -> None:
    for cat in list_catalogues():
        for c in cat.controls:
            assert c.question and c.evidence and c.remediation, c.id
            assert all(check in KNOWN_LOG_CHECKS for check in c.log_checks)
            assert c.mappings.get("ncsc_caf") and c.mappings.get("iso27001_2022"), c.id
            if c.answer_type in (AnswerType.NUMBER, AnswerType.PERCENTAGE, AnswerType.DATE):
                assert c.scoring is not None, f"{c.id} would not be scored"
    ao = load_catalogue("accessing-organisation")
    for fw in (
        "iso27001_2022",
        "ncsc_caf",
        "ncsc_caf_4",
        "dspt",
        "cyber_essentials",
        "nist_800_53",
        "uk_gdpr",
    ):
        assert ao.mapping_coverage().get(fw, 0) > 0, fw


def test_cyber_essentials_has_the_five_technical_controls_all_must_pass() -> None:
    cat = load_catalogue("cyber-essentials")
    assert sorted(m for c in cat.controls for m in c.mappings["cyber_essentials"]) == [
        "FW",
        "MP",
        "SC",
        "SUM",
        "UAC",
    ]
    assert all(c.must_pass for c in cat.controls)


def test_checklist_list_json_reports_counts_and_coverage(capsys) -> None:
    assert run(["checklist", "list", "--format", "json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["accessing-organisation"]["controls"] == len(
        load_catalogue("accessing-organisation").controls
    )
    assert rows["cyber-essentials"]["mapping_coverage"]["cyber_essentials"] == 5


def test_checklist_show_and_validate_shipped(capsys) -> None:
    assert run(["checklist", "show", "accessing-organisation", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["controls"][0]["id"] == "GOV-01"
    assert run(["checklist", "show", "cyber-essentials", "--format", "csv"]) == 0
    assert "CE-UAC" in capsys.readouterr().out
    assert run(["checklist", "show", "cyber-essentials"]) == 0
    from audit_kit.resources import checklists_dir

    for path in sorted(checklists_dir().glob("*.yaml")):
        assert run(["checklist", "validate", str(path)]) == 0
    assert "ok" in capsys.readouterr().out


def test_unknown_checklist_names_the_known_ones(capsys) -> None:
    assert run(["checklist", "show", "no-such-list"]) == 2
    err = capsys.readouterr().err
    assert "no-such-list" in err and "accessing-organisation" in err


def test_every_command_has_help_with_an_example(capsys) -> None:
    for argv in (
        ["checklist", "list"],
        ["checklist", "show"],
        ["checklist", "validate"],
        ["checklist", "import-oscal"],
        ["questionnaire", "template"],
        ["questionnaire", "import"],
        ["score"],
    ):
        assert run([*argv, "--help"]) == 0
        assert "Example: audit-kit" in capsys.readouterr().out, argv
