"""Build an OSCAL assessment-results document from a workspace's scores, assessment and findings.

What goes where (one `result` covering the assessment period):

- each organisation is a `party` in metadata; observations and findings name it as their subject;
- each scored questionnaire answer (organisation × control) is an observation (method EXAMINE, or
  EXAMINE + TEST when the logs corroborated or contradicted it) and a finding whose target is the
  control's objective (`<control>_obj`) with state satisfied (full credit) or not-satisfied
  (partial, no, contradicted by the logs, or a mandatory control left unanswered); answers the
  scorer excluded (n/a, unscored text) are observations only;
- each access finding (detectors, contradictions) is an observation (method TEST, type finding),
  a risk, and a finding targeting the objective of the control whose `log_checks` name its detector;
- each entry of the assessment's risk register is a risk (likelihood, impact, level as props) and is
  linked from the findings on its controls.

Every UUID is a uuid5 of the ids it describes, so re-exporting the same workspace gives the same
UUIDs. Record ids never appear: findings' evidence is pseudonymised by the detectors already.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any

from audit_kit import __version__
from audit_kit.catalogue import SHIPPED, CatalogueLibrary
from audit_kit.errors import AuditKitError, InputError
from audit_kit.models.findings import Finding
from audit_kit.scoring import Corroboration, CorroborationStatus, score_workspace
from audit_kit.store.assessments import load_latest_assessment
from audit_kit.store.findings import load_findings
from audit_kit.store.ingest import event_span, organisations
from audit_kit.store.workspace import Workspace

OSCAL_VERSION = "1.1.2"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:audit-kit:oscal")
PROP_NS = "urn:audit-kit:oscal"
DEFAULT_IMPORT_AP = "./assessment-plan.json"
EVIDENCE_LIMIT = 2000
_TOKEN_BAD = re.compile(r"[^A-Za-z0-9_.\-]")


def stable_uuid(*parts: object) -> str:
    """A uuid5 from the ids that identify an object (same ids, same UUID, every export)."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join("" if p is None else str(p) for p in parts)))


def control_token(control_id: str) -> str:
    """An OSCAL token for a control id: 'AC-2(1)' -> 'AC-2.1', anything else unsafe -> '_'."""
    token = _TOKEN_BAD.sub("_", control_id.replace("(", ".").replace(")", "").strip())
    return token if token[:1].isalpha() or token[:1] == "_" else "_" + token


def _ts(value: datetime | date | None, default: datetime) -> str:
    """OSCAL date-time with time zone (UTC, Z)."""
    if value is None:
        value = default
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0), tzinfo=UTC)
    if value.tzinfo is None:  # the store keeps naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _prop(name: str, value: object, ns: bool = True) -> dict[str, str] | None:
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    prop = {"name": name, "value": text}
    if ns:
        prop["ns"] = PROP_NS
    return prop


def _props(*items: dict[str, str] | None) -> dict[str, Any]:
    kept = [p for p in items if p]
    return {"props": kept} if kept else {}


def _text(value: object, fallback: str) -> str:
    s = "" if value is None else str(value).strip()
    return s or fallback


def _org_names(ws: Workspace) -> dict[str, str]:
    return {o.org_id: o.name for o in organisations(ws)}


def _corroboration_map(assessment: Any) -> dict[tuple[str, str], Any]:
    """The assessment's log checks as the scorer's corroboration hook (contradicted counts as no)."""
    out: dict[tuple[str, str], Any] = {}
    for org in assessment.orgs:
        for c in org.checks:
            out[(c.org_id, c.control_id)] = Corroboration(
                status=CorroborationStatus(c.status.value), detail=c.detail,
                sources=[c.finding_id] if c.finding_id else [],
            )
    return out


def _load_scores(ws: Workspace, assessment: Any, catalogues: CatalogueLibrary) -> list[Any]:
    corroboration = _corroboration_map(assessment) if assessment is not None else None
    try:
        return score_workspace(
            ws, checklist_id=getattr(assessment, "checklist_id", None), corroboration=corroboration,
            catalogues=catalogues,
        )
    except InputError:  # no questionnaires: a logs-only export
        return []


def _detector_controls(checklist_ids: Iterable[str], catalogues: CatalogueLibrary) -> dict[str, str]:
    """detector id -> the first control (in catalogue order) whose log_checks name it."""
    out: dict[str, str] = {}
    for cid in checklist_ids:
        try:
            catalogue = catalogues.load(cid)
        except AuditKitError:
            continue
        for control in catalogue.controls:
            for check in control.log_checks:
                out.setdefault(check, control.id)
    return out


def assessment_results(
    ws: Workspace,
    *,
    assessment: Any = None,
    scores: list[Any] | None = None,
    findings: list[Finding] | None = None,
    import_ap: str = DEFAULT_IMPORT_AP,
    generated_at: datetime | None = None,
    title: str | None = None,
    catalogues: CatalogueLibrary = SHIPPED,
) -> dict[str, Any]:
    """An OSCAL 1.1.x assessment-results document (a dict) for the workspace.

    By default it reads the latest stored assessment (`audit-kit assess` stores one), scores the
    stored questionnaires with that assessment's log corroboration, and loads the stored findings;
    pass `assessment`, `scores` (OrgScore list) or `findings` to export other ones. A workspace
    with no questionnaires exports its findings alone. `import_ap` is the href of the assessment
    plan the results answer (audit-kit does not write plans). Never raises for empty workspaces.
    """
    now = generated_at or datetime.now(UTC)
    if assessment is None:
        assessment = load_latest_assessment(ws)
    if scores is None:
        scores = _load_scores(ws, assessment, catalogues)
    if findings is None:
        findings = load_findings(ws)
    names = _org_names(ws)
    start, end = _period(ws, assessment, scores, findings, now)

    org_ids = sorted({s.org_id for s in scores} | {f.org_id for f in findings if f.org_id}
                     | ({o.org_id for o in assessment.orgs} if assessment is not None else set()))
    party = {o: stable_uuid("party", o) for o in org_ids}
    checklists = sorted({s.checklist_id for s in scores}
                        | ({assessment.checklist_id} if assessment is not None and assessment.checklist_id else set()))
    by_detector = _detector_controls(checklists or ["accessing-organisation"], catalogues)

    observations: list[dict[str, Any]] = []
    risks: list[dict[str, Any]] = []
    oscal_findings: list[dict[str, Any]] = []
    reviewed: list[str] = []

    # The register first, so control findings can link to the risks on their controls.
    control_risks: dict[tuple[str, str], list[str]] = {}
    if assessment is not None:
        for org in assessment.orgs:
            for entry in org.register:
                rid = stable_uuid("register-risk", org.org_id, entry.risk_id)
                for cid in entry.controls:
                    control_risks.setdefault((org.org_id, cid), []).append(rid)
                risks.append({
                    "uuid": rid,
                    "title": _text(f"{org.org_id} {entry.risk_id}: {entry.title}", entry.risk_id),
                    "description": _text(entry.statement, entry.title),
                    "statement": _text(entry.statement, entry.title),
                    **_props(
                        _prop("org-id", org.org_id), _prop("risk-id", entry.risk_id), _prop("theme", entry.theme),
                        _prop("likelihood", entry.likelihood), _prop("impact", entry.impact),
                        _prop("risk-level", entry.risk_level.value), _prop("treatment", entry.treatment.value),
                        _prop("owner", entry.owner), _prop("target-date", entry.target_date.isoformat()),
                        _prop("residual-risk-level", entry.residual_risk_level.value),
                    ),
                    "status": "open",
                    "deadline": _ts(entry.target_date, now),
                    "remediations": [{
                        "uuid": stable_uuid("register-remediation", org.org_id, entry.risk_id),
                        "lifecycle": "recommendation",
                        "title": f"{entry.treatment.value.capitalize()}: {entry.title}",
                        "description": "\n".join(f"* {a}" for a in entry.treatment_actions)
                        or f"Treatment: {entry.treatment.value}.",
                    }],
                })

    for score in sorted(scores, key=lambda s: (s.org_id, s.checklist_id)):
        collected = _ts(score.submitted, now) if score.submitted else end
        for c in score.controls:
            token = control_token(c.control_id)
            if token not in reviewed:
                reviewed.append(token)
            obs_id = stable_uuid("observation", score.org_id, score.checklist_id, c.control_id)
            corr = c.corroboration
            methods = ["EXAMINE"] + (["TEST"] if corr is not None and corr.status.value != "no_evidence" else [])
            lines = [f"Answer: {c.answer if c.answer is not None else '(none)'} ({c.status.value})."]
            if c.credit is not None:
                lines.append(f"Credit: {c.credit:g} of 1, weight {c.weight:g}.")
            if c.confidence is not None:
                lines.append(f"Confidence: {c.confidence.value}.")
            if corr is not None and corr.detail:
                lines.append(f"Logs ({corr.status.value}): {corr.detail}")
            if c.comment:
                lines.append(f"Comment: {c.comment}")
            observations.append({
                "uuid": obs_id,
                "title": f"{score.org_id}: {c.control_id} {c.title}",
                "description": " ".join(lines),
                **_props(_prop("org-id", score.org_id), _prop("checklist", score.checklist_id),
                         _prop("control-id", c.control_id), _prop("answer-status", c.status.value)),
                "methods": methods,
                "types": ["control-objective"],
                "subjects": [{"subject-uuid": party[score.org_id], "type": "party"}],
                **({"relevant-evidence": [{"description": c.evidence}]} if c.evidence.strip() else {}),
                "collected": collected,
            })
            if c.credit is None and c.status.value != "missing":
                continue  # excluded from scoring (n/a, unanswered optional, unscored): no judgement
            satisfied = not c.gap and c.credit is not None and c.credit >= 1.0
            finding: dict[str, Any] = {
                "uuid": stable_uuid("control-finding", score.org_id, score.checklist_id, c.control_id),
                "title": f"{score.org_id}: {c.control_id} {'satisfied' if satisfied else 'not satisfied'}",
                "description": " ".join(lines)
                + ("" if satisfied or not c.remediation else f" Remediation: {c.remediation}"),
                **_props(_prop("org-id", score.org_id), _prop("severity", c.severity),
                         _prop("must-pass-failed", "true" if c.must_pass_failed else None)),
                "target": {
                    "type": "objective-id",
                    "target-id": f"{token}_obj",
                    "status": {"state": "satisfied" if satisfied else "not-satisfied",
                               "reason": "pass" if satisfied else "fail"},
                },
                "related-observations": [{"observation-uuid": obs_id}],
            }
            linked = control_risks.get((score.org_id, c.control_id), [])
            if linked:
                finding["related-risks"] = [{"risk-uuid": r} for r in linked]
            oscal_findings.append(finding)

    for f in findings:
        obs_id = stable_uuid("finding-observation", f.finding_id)
        risk_id = stable_uuid("finding-risk", f.finding_id)
        evidence = json.dumps(f.evidence, sort_keys=True, default=str)
        if len(evidence) > EVIDENCE_LIMIT:
            evidence = evidence[: EVIDENCE_LIMIT - 1] + "…"
        props = _props(_prop("finding-id", f.finding_id), _prop("detector", f.detector),
                       _prop("severity", f.severity.value), _prop("score", f.score),
                       _prop("org-id", f.org_id), _prop("user-id", f.user_id),
                       _prop("record-count", f.record_count),
                       _prop("first-seen", _ts(f.first_seen, now) if f.first_seen else None))
        summary = _text(f.summary, f"{f.detector} finding")
        observation: dict[str, Any] = {
            "uuid": obs_id,
            "title": f"{f.detector} ({f.severity.value})" + (f": {f.org_id}" if f.org_id else ""),
            "description": summary,
            **props,
            "methods": ["TEST"],
            "types": ["finding"],
            # A finding without times (e.g. a log gap) is dated at the end of the period: stable.
            "collected": _ts(f.last_seen or f.first_seen, now) if (f.last_seen or f.first_seen) else end,
            "remarks": f"Evidence: {evidence}",
        }
        if f.org_id in party:
            observation["subjects"] = [{"subject-uuid": party[f.org_id], "type": "party"}]
        observations.append(observation)
        risks.append({
            "uuid": risk_id,
            "title": f"{f.detector}: {summary}"[:200],
            "description": summary,
            "statement": f"Access to children's records by {'user ' + f.user_id if f.user_id else 'the organisation'}"
            f"{' at ' + f.org_id if f.org_id else ''} that the {f.detector} detector rates {f.severity.value} "
            f"(score {f.score:g}): {summary}",
            **props,
            "status": "open",
            "related-observations": [{"observation-uuid": obs_id}],
        })
        named = f.evidence.get("control_id") if isinstance(f.evidence, dict) else None
        control = named if isinstance(named, str) and named else by_detector.get(f.detector)
        target_id = f"{control_token(control)}_obj" if control else f"audit-kit-{control_token(f.detector)}_obj"
        linked = [risk_id] + (control_risks.get((f.org_id, control), []) if f.org_id and control else [])
        oscal_findings.append({
            "uuid": stable_uuid("finding", f.finding_id),
            "title": f"{f.detector} ({f.severity.value})" + (f": {f.org_id}" if f.org_id else ""),
            "description": summary,
            **props,
            "target": {
                "type": "objective-id",
                "target-id": target_id,
                "status": {"state": "not-satisfied", "reason": "fail"},
            },
            "related-observations": [{"observation-uuid": obs_id}],
            "related-risks": [{"risk-uuid": r} for r in linked],
        })
        if control and control_token(control) not in reviewed:
            reviewed.append(control_token(control))

    selection: dict[str, Any] = (
        {"include-controls": [{"control-id": t} for t in reviewed]} if reviewed else {"include-all": {}}
    )
    scope = _scope_id(assessment, scores, findings)
    as_of = assessment.as_of.isoformat() if assessment is not None else end[:10]
    result: dict[str, Any] = {
        "uuid": stable_uuid("result", scope),
        "title": title or f"audit-kit assessment of accessing organisations as of {as_of}",
        "description": (
            f"Questionnaire answers of {len({s.org_id for s in scores})} organisation(s) scored against "
            f"{', '.join(checklists) or 'no checklist'} and corroborated against the access logs, and "
            f"{len(findings)} access finding(s) from the log detectors."
        ),
        "start": start,
        "end": end,
        **_props(_prop("assessment-id", getattr(assessment, "assessment_id", None))),
        "reviewed-controls": {"control-selections": [selection]},
    }
    if observations:
        result["observations"] = observations
    if risks:
        result["risks"] = risks
    if oscal_findings:
        result["findings"] = oscal_findings

    parties = [{"uuid": party[o], "type": "organization", "name": names.get(o) or o, "short-name": o}
               for o in org_ids]
    metadata: dict[str, Any] = {
        "title": title or f"Assessment results: accessing organisations as of {as_of}",
        "last-modified": _ts(now, now),
        "version": as_of,
        "oscal-version": OSCAL_VERSION,
        **_props(_prop("generator", f"audit-kit {__version__}")),
        "roles": [{"id": "assessor", "title": "Security reviewer"},
                  {"id": "assessed-organization", "title": "Accessing organisation"}],
    }
    if parties:
        metadata["parties"] = parties
        metadata["responsible-parties"] = [{"role-id": "assessed-organization", "party-uuids": [p["uuid"] for p in parties]}]
    return {
        "assessment-results": {
            "uuid": stable_uuid("assessment-results", scope),
            "metadata": metadata,
            "import-ap": {"href": import_ap, "remarks": "The assessment plan these results answer; audit-kit "
                          "assesses against the checklists named in the result description."},
            "results": [result],
        }
    }


def _period(
    ws: Workspace, assessment: Any, scores: list[Any], findings: list[Finding], now: datetime
) -> tuple[str, str]:
    """Start and end of the evidence: the assessment's log period, else the events', else the
    findings' and answers' dates, else now."""
    if assessment is not None and assessment.period.start is not None:
        start = assessment.period.start
        end = assessment.period.end or start
        return _ts(start, now), _ts(end, now)
    first, last = event_span(ws)
    if first is not None and last is not None:
        return _ts(first, now), _ts(last, now)
    moments: list[datetime] = []
    for f in findings:
        moments += [m for m in (f.first_seen, f.last_seen) if m is not None]
    for s in scores:
        if s.submitted is not None:
            moments.append(datetime.combine(s.submitted, time(0, 0)))
    if not moments:
        return _ts(now, now), _ts(now, now)
    norm = [m.replace(tzinfo=None) if m.tzinfo is None else m.astimezone(UTC).replace(tzinfo=None) for m in moments]
    return _ts(min(norm), now), _ts(max(norm), now)


def _scope_id(assessment: Any, scores: list[Any], findings: list[Finding]) -> str:
    """What the document is about, as one string: the assessment id, else its inputs' ids."""
    if assessment is not None:
        return str(assessment.assessment_id)
    h = hashlib.sha256()
    for s in sorted(scores, key=lambda s: (s.org_id, s.checklist_id)):
        h.update(f"{s.org_id}|{s.checklist_id}|{s.submission_id}\n".encode())
    for f in sorted(findings, key=lambda f: f.finding_id):
        h.update(f"{f.finding_id}\n".encode())
    return h.hexdigest()
