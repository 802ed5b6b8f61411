"""Answers to other catalogues corroborated end to end, through the CLI as a user runs it:
NIST SP 800-53 LOW imported from OSCAL with the shipped measure map, the shipped Cyber Essentials, and
a body's own catalogue that reuses shipped ids for other things.

ingest a dataset → (import OSCAL with a measure map) → questionnaire template → fill → import → assess.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from corrob_world import write_dataset

from audit_kit.cli import run

OSCAL_LOW = Path(__file__).parents[1] / "catalogue" / "data" / "NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"
NETWORKS = {"LA1": "Office network 10.1.0.0/16", "GP1": "Practice network 10.2.0.0/24"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("corrob")
    assert run(["ingest", str(write_dataset(root / "dataset")), "--workspace", str(root / "ws"), "--quiet"]) == 0
    cats = root / "catalogues"
    cats.mkdir()
    return root, cats


def fill(tmp: Path, checklist: str, org: str, evidence: dict[str, str],
         answers: dict[str, str] | None = None) -> Path:
    """Write the checklist's YAML template for `org` and answer every control "yes" (or as given)."""
    out = tmp / f"{checklist}-{org}.yaml"
    assert run(["questionnaire", "template", "-c", checklist, "--org", org, "-f", "yaml", "-o", str(out)]) == 0
    doc = yaml.safe_load(out.read_text())
    doc["submitted"] = "2026-09-28"
    doc["respondent"] = {"name": "Jo Bloggs", "role": "DPO", "email": "jo@example.org"}
    for cid, entry in doc["answers"].items():
        entry["answer"] = (answers or {}).get(cid, "yes")
        entry["evidence"] = evidence.get(cid, "")
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def assess(ws: Path, checklist: str, capsys: pytest.CaptureFixture[str],
           scores: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    capsys.readouterr()
    assert run(["assess", "--workspace", str(ws), "--checklist", checklist, "--format", "json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["checklist_id"] == checklist
    if scores is not None:
        scores.update({o["org_id"]: o["score"] for o in doc["orgs"]})
    return {o["org_id"]: {c["control_id"]: c for c in o["checks"]} for o in doc["orgs"]}


def statuses(checks: dict[str, Any], status: str) -> set[str]:
    return {cid for cid, c in checks.items() if c["status"] == status}


def test_nist_800_53_low_from_oscal_with_a_measure_map(world: tuple[Path, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root, cats = world
    monkeypatch.setenv("AUDIT_KIT_CHECKLISTS", str(cats))
    assert run(["checklist", "import-oscal", str(OSCAL_LOW), "--measures", "nist-800-53-r5",
                "-o", str(cats / "nist-low.yaml"), "--id", "nist-800-53-low"]) == 0
    out = capsys.readouterr().out
    assert "11 of them tested by the logs" in out and "not in this catalogue: AC-2(3), AC-21" in out
    files = [fill(tmp_path, "nist-800-53-low", "LA1", {"SC-7": NETWORKS["LA1"]}),
             fill(tmp_path, "nist-800-53-low", "GP1", {"CM-8": NETWORKS["GP1"]})]
    assert run(["questionnaire", "import", *map(str, files), "--workspace", str(root / "ws"), "--strict"]) == 0
    checks = assess(root / "ws", "nist-800-53-low", capsys)
    tested = {"AC-2", "AC-3", "AC-17", "AU-11", "AU-12", "CM-8", "IA-2", "IA-2(1)", "IA-2(2)", "PS-4", "SC-7"}
    assert set(checks["LA1"]) == set(checks["GP1"]) == tested  # the other 138 controls: not log-testable
    # LA1: MFA on 78% of sessions, a leaver active 13 days after leaving, a dormant account.
    assert statuses(checks["LA1"], "contradicted") == {"AC-2", "IA-2(1)", "IA-2(2)", "PS-4"}
    assert statuses(checks["LA1"], "corroborated") >= {"AC-3", "AU-11", "AU-12", "SC-7", "AC-17", "CM-8"}
    assert checks["LA1"]["IA-2"]["status"] == "no_evidence"  # no overlap proves nothing
    assert checks["LA1"]["PS-4"]["measure"] == "leaver_activity" and "13 day(s)" in checks["LA1"]["PS-4"]["detail"]
    # GP1: a week of silence in its logs; a home network it never declared.
    assert statuses(checks["GP1"], "contradicted") == {"AU-11", "AU-12", "SC-7", "AC-17", "CM-8"}
    assert statuses(checks["GP1"], "corroborated") >= {"IA-2(1)", "IA-2(2)", "AC-2", "AC-3"}
    assert checks["GP1"]["SC-7"]["measures"]["declared_networks"] == ["10.2.0.0/24"]  # declared in CM-8
    # every contradiction is a stored finding
    assert all(c["finding_id"] for org in checks.values() for c in org.values() if c["status"] == "contradicted")


def test_cyber_essentials(world: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = world
    files = [fill(tmp_path, "cyber-essentials", "LA1", {"CE-FW": NETWORKS["LA1"]}),
             fill(tmp_path, "cyber-essentials", "GP1", {"CE-FW": NETWORKS["GP1"]})]
    assert run(["questionnaire", "import", *map(str, files), "--workspace", str(root / "ws"), "--strict"]) == 0
    scores: dict[str, Any] = {}
    checks = assess(root / "ws", "cyber-essentials", capsys, scores)
    assert set(checks["LA1"]) == {"CE-FW", "CE-SC", "CE-UAC"}  # CE-SUM and CE-MP are not log-testable
    assert statuses(checks["LA1"], "contradicted") == {"CE-SC", "CE-UAC"}  # a dormant account; MFA and a leaver
    assert checks["LA1"]["CE-UAC"]["measure"] == "mfa_share"
    assert checks["LA1"]["CE-UAC"]["measures"]["other_measures"]["leaver_activity"]["status"] == "contradicted"
    assert checks["LA1"]["CE-FW"]["status"] == "corroborated"
    assert statuses(checks["GP1"], "contradicted") == {"CE-FW"}  # the undeclared home network
    assert statuses(checks["GP1"], "corroborated") == {"CE-SC", "CE-UAC"}
    # a contradicted answer scores as "no": every Cyber Essentials control is must-pass
    assert set(scores["LA1"]["must_pass_failed"]) == {"CE-SC", "CE-UAC"}
    assert set(scores["GP1"]["must_pass_failed"]) == {"CE-FW"}


def test_a_body_catalogue_reusing_shipped_ids(world: tuple[Path, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """IAM-02 is MFA in the shipped catalogue; here it is a policy question, and IAM-04 is the MFA one."""
    root, cats = world
    monkeypatch.setenv("AUDIT_KIT_CHECKLISTS", str(cats))
    base = {"domain": "Access", "answer_type": "yes_partial_no"}
    (cats / "own.yaml").write_text(yaml.safe_dump({
        "id": "own", "title": "Our own", "version": "1", "source": "a body", "controls": [
            {"id": "IAM-02", "title": "Access policy", "question": "Is there an access policy?", **base},
            {"id": "IAM-04", "title": "MFA", "question": "Is MFA used on every session?", **base,
             "log_checks": ["mfa_share"]},
        ]}))
    files = [fill(tmp_path, "own", org, {}) for org in ("LA1", "GP1")]
    assert run(["questionnaire", "import", *map(str, files), "--workspace", str(root / "ws"), "--strict"]) == 0
    checks = assess(root / "ws", "own", capsys)
    assert set(checks["LA1"]) == {"IAM-04"}  # IAM-02 is not tested as the shipped MFA control
    assert checks["LA1"]["IAM-04"]["measure"] == "mfa_share" and checks["LA1"]["IAM-04"]["status"] == "contradicted"
    assert checks["GP1"]["IAM-04"]["status"] == "corroborated"


def test_thresholds_in_the_configuration(world: tuple[Path, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = world
    ws = str(root / "ws")
    files = [fill(tmp_path, "cyber-essentials", org, {"CE-FW": NETWORKS[org]}) for org in ("LA1", "GP1")]
    assert run(["questionnaire", "import", *map(str, files), "--workspace", ws]) == 0
    # GP1's 34 sessions are enough by default; not when the configuration asks for 50
    cfg = tmp_path / "audit-kit.yaml"
    cfg.write_text("corroboration:\n  thresholds:\n    mfa_share: {min_sessions: 50}\n")
    capsys.readouterr()
    assert run(["assess", "-w", ws, "--checklist", "cyber-essentials", "-f", "json", "-q", "--config", str(cfg)]) == 0
    gp1 = next(o for o in json.loads(capsys.readouterr().out)["orgs"] if o["org_id"] == "GP1")
    uac = next(c for c in gp1["checks"] if c["control_id"] == "CE-UAC")
    assert uac["status"] == "no_evidence" and "at least 50 are needed" in uac["detail"]
    assert uac["measures"]["thresholds"] == {"min_sessions": 50}
    for text, message in [
        ("corroboration:\n  thresholds:\n    mfa_share: {min_session: 50}\n",
         "key corroboration.thresholds.mfa_share.min_session: unknown threshold for mfa_share"),
        ("corroboration:\n  controls:\n    cyber-essentials:\n      CE-SUM: {mfa_share: {z: 2}}\n",
         "key corroboration.controls.cyber-essentials.CE-SUM.mfa_share: 'mfa_share' does not test CE-SUM "
         "(tested by: nothing: not log-testable)"),
    ]:
        cfg.write_text(text)
        assert run(["assess", "-w", ws, "--checklist", "cyber-essentials", "-q", "--config", str(cfg)]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert f"{cfg}: {message}" in err
