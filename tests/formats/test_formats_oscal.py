"""OSCAL assessment-results export: valid against NIST's schema, complete, stable, and leak-free."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from formats_helpers import OSCAL_DIR, OSCAL_SCHEMA, OSCAL_SCHEMA_SHA256, schema_errors

from audit_kit.catalogue import load_catalogue
from audit_kit.cli import run
from audit_kit.models.findings import Finding, Severity, finding_key
from audit_kit.oscal import OSCAL_VERSION, assessment_results, control_token
from audit_kit.scoring import Corroboration, CorroborationStatus, score_workspace
from audit_kit.store.assessments import load_latest_assessment
from audit_kit.store.findings import load_findings, store_findings
from audit_kit.store.workspace import Workspace

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A small synthetic world, ingested with its questionnaires, plus access findings stored."""
    root = tmp_path_factory.mktemp("oscal")
    world, ws_path = root / "world", root / "ws"
    assert run(["synth", str(world), "--orgs", "4", "--days", "28", "--children", "500", "--scale", "0.3"]) == 0
    assert run(["ingest", str(world), "--workspace", str(ws_path), "--quiet"]) == 0
    with Workspace.open(ws_path) as ws:
        orgs = [r[0] for r in ws.con.execute("SELECT org_id FROM organisations ORDER BY org_id").fetchall()]
        user, org = ws.con.execute(
            "SELECT user_id, org_id FROM events WHERE org_id = ? LIMIT 1", [orgs[0]]).fetchone()
        record = ws.con.execute("SELECT record_id FROM subjects LIMIT 1").fetchone()[0]
        first, last = ws.con.execute("SELECT min(timestamp), max(timestamp) FROM events").fetchone()
        findings = [
            Finding(finding_id=finding_key("after_hours", org, user), detector="after_hours", severity=Severity.HIGH,
                    score=0.8, org_id=org, user_id=user, record_count=12, first_seen=first, last_seen=last,
                    summary=f"{user} viewed 12 records between 01:00 and 04:00, outside their usual hours.",
                    evidence={"records": [ws.pseudonymise(record)], "night_views": 12, "baseline_p99": 0}),
            Finding(finding_id=finding_key("log_gap", None), detector="log_gap", severity=Severity.LOW, score=0.3,
                    org_id=None, summary="The national log fell silent for 6 hours.", evidence={"hours": 6}),
        ]
        with ws.transaction():
            store_findings(ws, findings, run_id="test", detected_at=NOW.replace(tzinfo=None))
    # The command the issue names: rate every body (stores the assessment), export OSCAL.
    out = root / "assessment-results.json"
    assert run(["assess", "--workspace", str(ws_path), "--format", "oscal-ar", "-o", str(out), "--quiet"]) in (0, 1)
    yield ws_path


def export(ws_path: Path, **kw: Any) -> dict[str, Any]:
    with Workspace.open(ws_path, read_only=True) as ws:
        return assessment_results(ws, generated_at=NOW, **kw)


def test_assess_cli_writes_the_same_valid_document(workspace: Path) -> None:
    written = json.loads((workspace.parent / "assessment-results.json").read_text())
    assert schema_errors(written) == []
    ours = export(workspace)
    for doc in (written, ours):
        del doc["assessment-results"]["metadata"]["last-modified"]
    assert written == ours


def test_register_risks_carry_rating_and_remediation(workspace: Path) -> None:
    with Workspace.open(workspace, read_only=True) as ws:
        assessment = load_latest_assessment(ws)
    assert assessment is not None
    entries = {(o.org_id, e.risk_id): e for o in assessment.orgs for e in o.register}
    assert entries, "the synthetic world should give at least one register entry"
    risks = export(workspace)["assessment-results"]["results"][0]["risks"]
    register = {}
    for r in risks:
        props = {p["name"]: p["value"] for p in r.get("props", [])}
        if "risk-id" in props:
            register[(props["org-id"], props["risk-id"])] = (r, props)
    assert set(register) == set(entries)
    for key, entry in entries.items():
        r, props = register[key]
        assert (props["likelihood"], props["impact"], props["risk-level"]) == (
            str(entry.likelihood), str(entry.impact), entry.risk_level.value)
        assert r["deadline"] == f"{entry.target_date.isoformat()}T00:00:00Z"
        assert r["remediations"][0]["lifecycle"] == "recommendation"
        for action in entry.treatment_actions:
            assert action in r["remediations"][0]["description"]


def test_vendored_schema_is_nists_file_and_accepts_nists_example() -> None:
    assert hashlib.sha256(OSCAL_SCHEMA.read_bytes()).hexdigest() == OSCAL_SCHEMA_SHA256
    example = json.loads((OSCAL_DIR / "ifa_assessment-results-example.json").read_text())
    assert schema_errors(example) == []
    broken = json.loads(json.dumps(example))
    del broken["assessment-results"]["results"][0]["findings"][0]["target"]
    assert schema_errors(broken) == ["assessment-results/results/0/findings/0: 'target' is a required property"]


def test_export_is_valid_oscal_assessment_results(workspace: Path) -> None:
    doc = export(workspace)
    assert schema_errors(doc) == []
    ar = doc["assessment-results"]
    assert ar["metadata"]["oscal-version"] == OSCAL_VERSION
    assert ar["import-ap"]["href"] == "./assessment-plan.json"
    (result,) = ar["results"]
    with Workspace.open(workspace, read_only=True) as ws:
        period = load_latest_assessment(ws).period  # the log period the stored assessment judged
    assert result["start"] == period.start.isoformat(timespec="seconds") + "Z"
    assert result["end"] == period.end.isoformat(timespec="seconds") + "Z"


def test_every_scored_answer_is_a_finding_with_the_right_state(workspace: Path) -> None:
    with Workspace.open(workspace, read_only=True) as ws:
        assessment = load_latest_assessment(ws)
        # The export scores with the assessment's log checks: a contradicted answer counts as no.
        checks = {
            (c.org_id, c.control_id): Corroboration(status=CorroborationStatus(c.status.value), detail=c.detail)
            for o in assessment.orgs for c in o.checks
        }
        scores = score_workspace(ws, corroboration=checks)
    expected = {}
    for s in scores:
        for c in s.controls:
            if c.credit is not None or c.status.value == "missing":
                state = "satisfied" if (not c.gap and c.credit is not None and c.credit >= 1) else "not-satisfied"
                expected[(s.org_id, f"{control_token(c.control_id)}_obj")] = state
    assert any(v == "not-satisfied" for v in expected.values()) and any(v == "satisfied" for v in expected.values())
    result = export(workspace)["assessment-results"]["results"][0]
    got = {}
    for f in result["findings"]:
        props = {p["name"]: p["value"] for p in f.get("props", [])}
        if "detector" not in props:
            got[(props["org-id"], f["target"]["target-id"])] = f["target"]["status"]["state"]
    assert got == expected
    reviewed = {c["control-id"] for c in result["reviewed-controls"]["control-selections"][0]["include-controls"]}
    assert {t[:-4] for _, t in expected} <= reviewed


def test_access_findings_become_observation_risk_and_finding_on_their_control(workspace: Path) -> None:
    result = export(workspace)["assessment-results"]["results"][0]
    with Workspace.open(workspace, read_only=True) as ws:
        stored = load_findings(ws)
    catalogue = load_catalogue("accessing-organisation")

    def control_for(f: Finding) -> str | None:
        if isinstance(f.evidence.get("control_id"), str):
            return f.evidence["control_id"]
        return next((c.id for c in catalogue.controls if f.detector in c.log_checks), None)

    by_id = {}
    for f in result["findings"]:
        props = {p["name"]: p["value"] for p in f.get("props", [])}
        if "finding-id" in props:
            by_id[props["finding-id"]] = (f, props)
    assert set(by_id) == {f.finding_id for f in stored}
    assert {"after_hours", "log_gap"} <= {f.detector for f in stored}
    risks = {r["uuid"]: r for r in result["risks"]}
    observations = {o["uuid"]: o for o in result["observations"]}
    for f in stored:
        oscal, props = by_id[f.finding_id]
        control = control_for(f)
        assert oscal["target"] == {
            "type": "objective-id",
            "target-id": f"{control_token(control)}_obj" if control else f"audit-kit-{f.detector}_obj",
            "status": {"state": "not-satisfied", "reason": "fail"},
        }
        assert (props["detector"], props["severity"]) == (f.detector, f.severity.value)
        own_risk = risks[oscal["related-risks"][0]["risk-uuid"]]
        assert own_risk["status"] == "open" and own_risk["description"] == f.summary
        (obs,) = oscal["related-observations"]
        assert observations[obs["observation-uuid"]]["types"] == ["finding"]
    after_hours = next(f for f in stored if f.detector == "after_hours")
    assert by_id[after_hours.finding_id][1]["record-count"] == "12"


def test_references_resolve_and_uuids_are_unique_uuid5(workspace: Path) -> None:
    ar = export(workspace)["assessment-results"]
    result = ar["results"][0]
    parties = {p["uuid"] for p in ar["metadata"]["parties"]}
    obs = [o["uuid"] for o in result["observations"]]
    risks = [r["uuid"] for r in result["risks"]]
    finds = [f["uuid"] for f in result["findings"]]
    defined = obs + risks + finds + list(parties) + [ar["uuid"], result["uuid"]]
    assert len(defined) == len(set(defined))
    assert all(UUID.match(u) for u in defined)
    for f in result["findings"]:
        assert {r["observation-uuid"] for r in f["related-observations"]} <= set(obs)
        assert {r["risk-uuid"] for r in f.get("related-risks", [])} <= set(risks)
    for o in result["observations"]:
        assert {s["subject-uuid"] for s in o.get("subjects", [])} <= parties


def test_re_export_gives_the_same_document(workspace: Path) -> None:
    assert export(workspace) == export(workspace)
    later = export(workspace, import_ap="https://example.org/plans/2026.json")
    assert later["assessment-results"]["import-ap"]["href"] == "https://example.org/plans/2026.json"
    assert later["assessment-results"]["uuid"] == export(workspace)["assessment-results"]["uuid"]


def test_no_child_record_id_appears(workspace: Path) -> None:
    text = json.dumps(export(workspace))
    with Workspace.open(workspace, read_only=True) as ws:
        records = {r[0] for r in ws.con.execute("SELECT record_id FROM subjects").fetchall()}
    assert records and records.isdisjoint(re.findall(r"[\w.-]+", text))


def test_logs_only_workspace_still_exports_valid_oscal(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        doc = assessment_results(ws, generated_at=NOW)
    assert schema_errors(doc) == []
    (result,) = doc["assessment-results"]["results"]
    assert result["reviewed-controls"] == {"control-selections": [{"include-all": {}}]}
    assert (result["start"], result["end"]) == ("2026-11-02T12:00:00Z", "2026-11-02T12:00:00Z")
    assert "findings" not in result


def test_control_ids_become_oscal_tokens() -> None:
    assert control_token("AC-2(1)") == "AC-2.1"
    assert control_token("GOV-01") == "GOV-01"
    assert control_token("1.2 x") == "_1.2_x"


def test_contradiction_targets_the_control_it_names(tmp_path: Path) -> None:
    contradiction = Finding(
        finding_id=finding_key("contradiction", "LA01", "IAM-02"), detector="contradiction",
        severity=Severity.MEDIUM, score=0.7, org_id="LA01",
        summary="LA01's answer to IAM-02 is contradicted by its logs: 40% of logons were single-factor.",
        evidence={"control_id": "IAM-02", "claimed": "yes", "observed": "no"},
    )
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        doc = assessment_results(ws, findings=[contradiction], generated_at=NOW)
    assert schema_errors(doc) == []
    (result,) = doc["assessment-results"]["results"]
    (finding,) = result["findings"]
    assert finding["target"]["target-id"] == "IAM-02_obj"
    assert result["reviewed-controls"] == {"control-selections": [{"include-controls": [{"control-id": "IAM-02"}]}]}
    (party,) = doc["assessment-results"]["metadata"]["parties"]
    assert (party["short-name"], party["name"]) == ("LA01", "LA01")  # no organisations.csv: the id is the name
