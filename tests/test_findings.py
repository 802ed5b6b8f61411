"""The findings store: contract JSON, upsert by stable id, and supersession when a window is re-judged."""

from __future__ import annotations

from datetime import datetime

from audit_kit.models.findings import Finding, Severity, finding_key
from audit_kit.store.findings import load_findings, store_findings, supersede_findings
from audit_kit.store.workspace import Workspace


def _f(detector: str, user: str, last: datetime, sev: Severity = Severity.HIGH) -> Finding:
    return Finding(
        finding_id=finding_key(detector, "LA01", user), detector=detector, severity=sev, score=0.7,
        org_id="LA01", user_id=user, record_count=3, first_seen=last, last_seen=last,
        summary=f"{user} did something", evidence={"records": ["R-0123456789abcdef"], "baseline": 1.5},
    )


def test_contract_json_shape():
    f = _f("after_hours", "u1", datetime(2026, 10, 20, 23, 5))
    doc = f.to_json()
    assert set(doc) == {"finding_id", "detector", "severity", "score", "org_id", "user_id", "record_count",
                        "first_seen", "last_seen", "summary", "evidence"}
    assert doc["severity"] == "high" and doc["last_seen"] == "2026-10-20T23:05:00Z"
    assert finding_key("after_hours", "LA01", "u1") == f.finding_id  # stable: no run or time in it


def test_upsert_then_supersede_a_rejudged_window(tmp_path):
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        old = [_f("after_hours", "u1", datetime(2026, 10, 20)), _f("after_hours", "u2", datetime(2026, 9, 1)),
               _f("bulk_access", "u3", datetime(2026, 10, 21))]
        store_findings(ws, old, "r1", datetime(2026, 10, 22))
        store_findings(ws, old[:1], "r2", datetime(2026, 10, 23))  # same id again: replaced, not duplicated
        assert ws.count("findings") == 3
        # Re-judge after_hours over October: u1 no longer fires; u2 (September) and bulk_access stay.
        with ws.transaction():
            removed = supersede_findings(ws, ["after_hours"], datetime(2026, 10, 1), datetime(2026, 11, 1))
            store_findings(ws, [], "r3", datetime(2026, 10, 24))
        assert removed == 1
        left = {(f.detector, f.user_id) for f in load_findings(ws)}
        assert left == {("after_hours", "u2"), ("bulk_access", "u3")}
        assert [f.user_id for f in load_findings(ws, min_severity=Severity.CRITICAL)] == []
