"""How well corroboration separates overstated answers from truthful ones, on a labelled world.

`audit-kit synth` writes `truth_answers.csv` (org_id, control_id, answer_given, truthful); this
module crosses it with an assessment's checks into the confusion table reported in
docs/risk-model.md: per control, overstated and truthful answers by the status the logs gave them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from audit_kit.errors import InputError
from audit_kit.models.assessment import CheckStatus, NationalAssessment


@dataclass
class ConfusionRow:
    """Counts for one control (or the total): truth label × corroboration status."""

    control_id: str
    overstated: dict[CheckStatus, int] = field(default_factory=lambda: dict.fromkeys(CheckStatus, 0))
    truthful: dict[CheckStatus, int] = field(default_factory=lambda: dict.fromkeys(CheckStatus, 0))

    @property
    def missed(self) -> int:
        """Overstated answers the logs showed but that were not contradicted (corroborated)."""
        return self.overstated[CheckStatus.CORROBORATED]

    @property
    def false_contradictions(self) -> int:
        return self.truthful[CheckStatus.CONTRADICTED]


def read_truth(path: Path) -> dict[tuple[str, str], bool]:
    """(org_id, control_id) -> truthful, from a synthetic world's truth_answers.csv."""
    if not path.exists():
        raise InputError(f"{path}: not found", hint="truth_answers.csv is written by `audit-kit synth`")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    missing = {"org_id", "control_id", "truthful"} - set(rows[0] if rows else {})
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    return {(r["org_id"], r["control_id"]): r["truthful"].strip().lower() == "true" for r in rows}


def confusion(assessment: NationalAssessment, truth: dict[tuple[str, str], bool]) -> list[ConfusionRow]:
    """Per log-tested control, then a TOTAL row: overstated/truthful answers by check status."""
    rows: dict[str, ConfusionRow] = {}
    total = ConfusionRow("TOTAL")
    for org in assessment.orgs:
        for check in org.checks:
            label = truth.get((org.org_id, check.control_id))
            if label is None or check.claimed is None:
                continue
            row = rows.setdefault(check.control_id, ConfusionRow(check.control_id))
            for r in (row, total):
                (r.truthful if label else r.overstated)[check.status] += 1
    return [rows[k] for k in sorted(rows)] + [total]


def format_table(rows: list[ConfusionRow]) -> str:
    """The confusion table as Markdown."""
    head = ("| control | overstated: contradicted | overstated: no evidence | overstated: corroborated "
            "| truthful: contradicted | truthful: no evidence | truthful: corroborated |")
    lines = [head, "|" + "---|" * 7]
    for r in rows:
        o, t = r.overstated, r.truthful
        lines.append(
            f"| {r.control_id} | {o[CheckStatus.CONTRADICTED]} | {o[CheckStatus.NO_EVIDENCE]} | "
            f"{o[CheckStatus.CORROBORATED]} | {t[CheckStatus.CONTRADICTED]} | {t[CheckStatus.NO_EVIDENCE]} | "
            f"{t[CheckStatus.CORROBORATED]} |"
        )
    return "\n".join(lines)
