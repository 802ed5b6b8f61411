"""A finding as a scan would add it (for the read-model tests)."""

from __future__ import annotations

from datetime import datetime

from audit_kit.models.findings import Finding, Severity, finding_key


def extra_finding(org_id: str) -> Finding:
    return Finding(finding_id=finding_key("after_hours", org_id, "U001", "2026-04-02"), detector="after_hours",
                   severity=Severity.MEDIUM, score=0.6, org_id=org_id, user_id="U001", record_count=3,
                   first_seen=datetime(2026, 4, 2, 2, 0), last_seen=datetime(2026, 4, 2, 3, 0),
                   summary="U001 opened 3 records at 02:00, outside their usual hours.", evidence={"records": 3})
