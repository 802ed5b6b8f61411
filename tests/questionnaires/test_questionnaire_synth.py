"""Synthetic questionnaires: one per organisation in rotating formats, valid, deterministic, and some
overstating practice in a way truth_answers.csv records."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from audit_kit.questionnaires.importer import import_files
from audit_kit.scoring import Corroboration, CorroborationStatus, score_workspace
from audit_kit.store.workspace import Workspace
from audit_kit.synth.questionnaires import write_questionnaires

PRACTICE = [
    "mfa_share",
    "leavers_disabled_days",
    "dormant_accounts",
    "shared_accounts",
    "explained_share",
    "shielded_overrides",
    "exports_controlled",
    "declared_networks",
    "undeclared_ip_share",
    "log_gap_days",
]


def world(tmp_path: Path, n: int = 12) -> Path:
    out = tmp_path / "world"
    out.mkdir()
    with (out / "organisations.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["org_id", "name", "type", "area"])
        for i in range(n):
            w.writerow([f"ORG-{i:02d}", f"Org {i}", "local_authority", "Area"])
    with (out / "truth_orgs.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["org_id", *PRACTICE])
        for i in range(n):
            weak = i % 2 == 0  # every other organisation has weak practice
            w.writerow(
                [
                    f"ORG-{i:02d}",
                    0.4 if weak else 1.0,
                    21 if weak else 0,
                    14 if weak else 0,
                    3 if weak else 0,
                    0.7 if weak else 0.99,
                    4 if weak else 0,
                    "false" if weak else "true",
                    "10.1.0.0/16",
                    0.12 if weak else 0.0,
                    5 if weak else 0,
                ]
            )
    return out


def digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        if p.suffix != ".xlsx":  # xlsx zips carry timestamps; their content is checked by import
            h.update(p.read_bytes())
    return h.hexdigest()


def test_synth_questionnaires_import_cleanly_and_record_overstatement(tmp_path: Path) -> None:
    out = world(tmp_path)
    paths = write_questionnaires(out, seed=7)
    assert len(paths) == 12 and {p.suffix for p in paths} == {".yaml", ".csv", ".xlsx"}
    with (out / "truth_answers.csv").open() as fh:
        truth = list(csv.DictReader(fh))
    assert len(truth) == 12 * 40
    lies = {(r["org_id"], r["control_id"]) for r in truth if r["truthful"] == "false"}
    liars = {o for o, _ in lies}
    assert liars and all(int(o[-2:]) % 2 == 0 for o in liars)  # only weak organisations can overstate
    assert "IAM-02" in {c for _, c in lies}  # MFA is the classic overstatement
    for r in truth:
        if (r["org_id"], r["control_id"]) == (sorted(liars)[0], "IAM-02"):
            assert r["answer_given"] == "100"

    with Workspace.open(tmp_path / "ws", create=True) as ws:
        report = import_files(ws, [out / "questionnaires"], strict=True)
        assert len(report.stored) == 12
        scores = {s.org_id: s for s in score_workspace(ws)}
        liar = sorted(liars)[0]
        # The overstated MFA answer scores; the logs contradicting it takes that credit away.
        before = scores[liar].overall
        corr = {
            (liar, c): Corroboration(status=CorroborationStatus.CONTRADICTED) for o, c in lies if o == liar
        }
        after = {s.org_id: s for s in score_workspace(ws, org_id=liar, corroboration=corr)}[liar]
        assert after.raw_score < scores[liar].raw_score and after.overall <= before
        assert "IAM-02" in after.must_pass_failed


def test_synth_is_deterministic_per_seed(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        out = world(tmp_path / name, n=6)
        runs.append(digest(write_questionnaires(out, seed=3)) + (out / "truth_answers.csv").read_text())
    assert runs[0] == runs[1]


def test_synth_needs_the_world_files(tmp_path: Path) -> None:
    import pytest

    from audit_kit.errors import InputError

    with pytest.raises(InputError, match="organisations.csv: not found"):
        write_questionnaires(tmp_path, seed=1)
