"""A small hand-built workspace for report tests: hostile names, a raw record id in evidence, findings,
quarantined rows, a log gap, and a hand-built NationalAssessment (task F's models)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

from audit_kit.models.actions import ActionKind, OwnerRole, Priority, Recommendation
from audit_kit.models.assessment import (
    CheckStatus,
    ControlCheck,
    NationalAssessment,
    OrgAssessment,
    Period,
    Reach,
    RiskEntry,
    RiskLevel,
    ScoreSummary,
    Totals,
    Treatment,
)
from audit_kit.models.findings import Finding, Severity, finding_key
from audit_kit.store.findings import store_findings
from audit_kit.store.workspace import Workspace

HOSTILE_NAME = 'Evil <img src="http://evil.example/x.png"> </style><script>alert(1)</script> Council'
HOSTILE_CSS = "x</style><style>body{background:url(http://evil.example/css)}</style>"
HOSTILE_SUMMARY = 'Viewed <img src="file:///etc/passwd"> and <a href="http://evil.example/">here</a>'
RAW_LEAK = "C0000007"  # a real record id a careless detector put in its evidence and summary
START = datetime(2026, 3, 2, 8, 0)
DAYS = 30


def build(path: Path) -> Workspace:
    ws = Workspace.open(path, create=True)
    con = ws.con
    orgs = [
        ("LA001", "Northshire County Council", "local_authority", "Northshire"),
        ("GP002", HOSTILE_NAME, "gp_practice", "Southby"),
        ("SC003", "Hillside Primary " + HOSTILE_CSS, "school", "Northshire"),
        ("PF004", "Northshire Police", "police_force", "Northshire"),
    ]
    con.executemany("INSERT INTO organisations VALUES (?,?,?,?,NULL,NULL)", orgs)
    users = [(f"U{i:03d}", orgs[i % 4][0], "practitioner", date(2024, 1, 1), None) for i in range(12)]
    con.executemany(
        "INSERT INTO users (user_id, org_id, role, start_date, end_date) VALUES (?,?,?,?,?)", users
    )
    subjects = [(f"C{i:07d}", "Northshire" if i % 3 else "Southby", i % 10 == 0) for i in range(40)]
    con.executemany("INSERT INTO subjects (record_id, home_area, shielded) VALUES (?,?,?)", subjects)
    events = []
    for d in range(DAYS):
        for u in range(12):
            org = orgs[u % 4][0]
            if org == "SC003" and 10 <= d < 18:  # an eight-day silence: a gap in logs
                continue
            ts = START + timedelta(days=d, minutes=7 * u)
            rec = f"C{(d * 12 + u) % 40:07d}"
            events.append((f"E{d}-{u}", ts, ts, f"U{u:03d}", org, rec, "view", "success"))
    con.executemany(
        "INSERT INTO events (event_id, timestamp, local_time, user_id, org_id, record_id, action, outcome)"
        " VALUES (?,?,?,?,?,?,?,?)",
        events,
    )
    con.execute(
        "INSERT INTO ingest_files VALUES ('abc', 'events/2026-03.csv', 'events', 'b1', ?, 362, 352, 10, 0)",
        [START],
    )
    con.executemany(
        "INSERT INTO quarantine VALUES ('b1', 'events/2026-03.csv', ?, 'events', ?, ?, ?)",
        [(r, "timestamp: not ISO 8601", f"bad,row,{r}", START) for r in range(2, 12)],
    )
    findings = [
        Finding(
            finding_id=finding_key("after_hours", "GP002", "U001"),
            detector="after_hours",
            severity=Severity.HIGH,
            score=0.9,
            org_id="GP002",
            user_id="U001",
            record_count=14,
            first_seen=START + timedelta(days=3),
            last_seen=START + timedelta(days=9),
            summary=f"User U001 viewed 14 records at night, including {RAW_LEAK}.",
            evidence={"night_views": 14, "baseline": 0.4, "records": [ws.pseudonymise("C0000001"), RAW_LEAK]},
        ),
        Finding(
            finding_id=finding_key("shielded_access", "LA001", "U004"),
            detector="shielded_access",
            severity=Severity.CRITICAL,
            score=0.97,
            org_id="LA001",
            user_id="U004",
            record_count=2,
            first_seen=START + timedelta(days=12),
            last_seen=START + timedelta(days=12),
            summary=HOSTILE_SUMMARY,
            evidence={"note": HOSTILE_CSS, "shielded_records": 2},
        ),
        Finding(
            finding_id=finding_key("log_gap", "SC003"),
            detector="log_gap",
            severity=Severity.MEDIUM,
            score=0.5,
            org_id="SC003",
            user_id=None,
            record_count=0,
            first_seen=START + timedelta(days=10),
            last_seen=START + timedelta(days=17),
            summary="No events for 8 days.",
            evidence={"days": 8},
        ),
    ]
    with ws.transaction():
        store_findings(ws, findings, "run1", START + timedelta(days=DAYS))
    return ws


def assessment(as_of: date = date(2026, 4, 1), previous_id: str | None = None) -> NationalAssessment:
    """A hand-built national assessment over the world's four bodies."""

    def org(
        org_id: str,
        name: str,
        typ: str,
        lik: int,
        imp: int,
        level: RiskLevel,
        tier: int,
        received: bool = True,
    ) -> OrgAssessment:
        checks = (
            [
                ControlCheck(
                    org_id=org_id,
                    control_id="IAM-02",
                    control_title="MFA on every channel",
                    measure="mfa_share",
                    claimed="yes",
                    observed="partial",
                    status=CheckStatus.CONTRADICTED if org_id == "GP002" else CheckStatus.CORROBORATED,
                    detail="41% of sessions were single-factor."
                    if org_id == "GP002"
                    else "All sessions used MFA.",
                ),
            ]
            if received
            else []
        )
        register = [
            RiskEntry(
                risk_id=f"{org_id}/R1",
                theme="credential_misuse",
                title="Shared or weak credentials",
                statement=f"There is a risk that accounts at {name} are misused.",
                controls=["IAM-02"],
                likelihood=lik,
                impact=imp,
                risk_level=level,
                treatment=Treatment.REDUCE,
                treatment_actions=["Enforce MFA on every channel"],
                owner=f"{name} DPO",
                target_date=as_of + timedelta(days=30 * tier),
                residual_likelihood=max(1, lik - 2),
                residual_impact=imp,
                residual_risk_level=RiskLevel.LOW,
            ),
        ]
        return OrgAssessment(
            org_id=org_id,
            name=name,
            type=typ,
            area="Northshire",
            likelihood=lik,
            impact=imp,
            risk_level=level,
            tier=tier,
            questionnaire_received=received,
            logs_only=not received,
            score=ScoreSummary(
                checklist_id="accessing-organisation",
                overall=62.5 if received else None,
                previous_overall=70.0 if received else None,
            ),
            checks=checks,
            contradictions=[c for c in checks if c.status is CheckStatus.CONTRADICTED],
            finding_counts={Severity.HIGH: 1},
            reach=Reach(children=40, shielded_children=4, users=3),
            register=register,
            actions=[
                Recommendation(
                    action_id=f"{org_id}/credential_misuse/remediate", org_id=org_id, priority=Priority.HIGH,
                    kind=ActionKind.REMEDIATE, due_days=30, title="Enforce MFA on every channel",
                    steps=["Turn on a second factor for every sign-in route."], findings=[],
                    risk_id=f"{org_id}/R1", risk_title="Shared or weak credentials", owner_role=OwnerRole.IT_LEAD,
                ),
            ],
            previous_risk_level=RiskLevel.MODERATE,
        )

    orgs = [
        org("LA001", "Northshire County Council", "local_authority", 3, 4, RiskLevel.HIGH, 2),
        org("GP002", HOSTILE_NAME, "gp_practice", 5, 4, RiskLevel.VERY_HIGH, 1),
        org("SC003", "Hillside Primary " + HOSTILE_CSS, "school", 2, 2, RiskLevel.LOW, 4, received=False),
        org("PF004", "Northshire Police", "police_force", 2, 3, RiskLevel.MODERATE, 3),
    ]
    return NationalAssessment(
        assessment_id=f"A-{as_of.isoformat()}",
        assessed_at=datetime.combine(as_of, datetime.min.time()),
        as_of=as_of,
        period=Period(start=START, end=START + timedelta(days=DAYS), days=DAYS),
        checklist_id="accessing-organisation",
        method_version="1",
        orgs=orgs,
        totals=Totals(organisations=4),
        previous_assessment_id=previous_id,
    )


def raw_record_ids(ws: Workspace) -> list[str]:
    return [r[0] for r in ws.con.execute("SELECT record_id FROM subjects").fetchall()]


def raw_ids_at(path: Path) -> list[str]:
    """The raw record ids of the workspace at `path` (opened read-only)."""
    with Workspace.open(path, read_only=True) as w:
        return raw_record_ids(w)


def dump(obj: object) -> str:
    return json.dumps(obj, default=str)
