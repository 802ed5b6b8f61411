"""The confusion table of corroboration against truth labels."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from audit_kit.assessment.evaluation import confusion, format_table, read_truth
from audit_kit.errors import InputError
from audit_kit.models.assessment import (
    CheckStatus,
    ControlCheck,
    NationalAssessment,
    OrgAssessment,
    Period,
    RiskLevel,
)


def _assessment(checks: list[ControlCheck]) -> NationalAssessment:
    org = OrgAssessment(org_id="LA01", name="LA", type="local_authority", area="A", likelihood=3, impact=3,
                        risk_level=RiskLevel.MODERATE, tier=3, questionnaire_received=True, logs_only=False,
                        checks=checks)
    return NationalAssessment(assessment_id="a", assessed_at=datetime(2026, 11, 1), as_of=date(2026, 10, 31),
                              period=Period(start=None, end=None), checklist_id="accessing-organisation",
                              method_version="1.0", orgs=[org])


def _check(control: str, status: CheckStatus, claimed: str | None = "yes") -> ControlCheck:
    return ControlCheck(org_id="LA01", control_id=control, measure="m", claimed=claimed, observed="no",
                        status=status, detail="d")


def test_confusion_counts_by_label_and_status(tmp_path: Path) -> None:
    truth_file = tmp_path / "truth_answers.csv"
    truth_file.write_text("org_id,control_id,answer_given,truthful\nLA01,IAM-02,100,false\nLA01,NTK-05,yes,true\n"
                          "LA01,IAM-01,yes,false\n")
    truth = read_truth(truth_file)
    a = _assessment([_check("IAM-02", CheckStatus.CONTRADICTED), _check("NTK-05", CheckStatus.CORROBORATED),
                     _check("IAM-01", CheckStatus.NO_EVIDENCE), _check("DEV-04", CheckStatus.NO_EVIDENCE),
                     _check("MON-03", CheckStatus.CONTRADICTED, claimed=None)])
    rows = {r.control_id: r for r in confusion(a, truth)}
    assert set(rows) == {"IAM-02", "NTK-05", "IAM-01", "TOTAL"}  # unlabelled and unanswered checks left out
    assert rows["IAM-02"].overstated[CheckStatus.CONTRADICTED] == 1
    assert rows["NTK-05"].truthful[CheckStatus.CORROBORATED] == 1
    total = rows["TOTAL"]
    assert (total.missed, total.false_contradictions) == (0, 0)
    assert total.overstated[CheckStatus.NO_EVIDENCE] == 1
    table = format_table(list(rows.values()))
    assert table.splitlines()[0].startswith("| control | overstated: contradicted")
    assert "| TOTAL | 1 | 1 | 0 | 0 | 0 | 1 |" in table


def test_truth_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_truth(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("org_id,control\nLA01,IAM-02\n")
    with pytest.raises(InputError, match="missing column"):
        read_truth(bad)
