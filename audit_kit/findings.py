"""Findings: the typed result every detector, corroboration check and scan produces.

The JSON form is the findings contract of DESIGN.md; `finding_id` is stable across re-runs.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from audit_kit.workspace import Workspace


class Severity(str, Enum):
    """Ordered severities: compare with `.rank`."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_RANK = {s: i for i, s in enumerate(Severity)}


def finding_key(*parts: object) -> str:
    """Deterministic id from the parts that identify a finding (detector, org, user, subject, bucket)."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class Finding(BaseModel):
    """One finding, as the findings contract in DESIGN.md defines it."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    finding_id: str
    detector: str
    severity: Severity
    score: float = Field(ge=0.0, le=1.0)
    org_id: str | None
    user_id: str | None = None
    record_count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The contract's JSON object (timestamps ISO 8601 UTC with Z)."""
        data = self.model_dump(mode="json")
        for k in ("first_seen", "last_seen"):
            v = getattr(self, k)
            data[k] = None if v is None else v.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
        return data


FINDINGS_DDL = """CREATE TABLE IF NOT EXISTS findings (
    finding_id VARCHAR PRIMARY KEY, detector VARCHAR, severity VARCHAR, severity_rank INTEGER,
    score DOUBLE, org_id VARCHAR, user_id VARCHAR, record_count BIGINT,
    first_seen TIMESTAMP, last_seen TIMESTAMP, summary VARCHAR, evidence VARCHAR,
    run_id VARCHAR, detected_at TIMESTAMP)"""


def store_findings(ws: Workspace, findings: list[Finding], run_id: str, detected_at: datetime) -> None:
    """Upsert findings by `finding_id` (a re-run replaces, never duplicates). Caller owns the transaction."""
    ws.con.execute(FINDINGS_DDL)
    rows = [
        (
            f.finding_id, f.detector, f.severity.value, f.severity.rank, f.score, f.org_id, f.user_id,
            f.record_count, f.first_seen, f.last_seen, f.summary,
            json.dumps(f.evidence, sort_keys=True, default=str), run_id, detected_at,
        )
        for f in findings
    ]
    if rows:
        ws.con.executemany(
            "INSERT OR REPLACE INTO findings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
        )


def load_findings(
    ws: Workspace,
    detectors: list[str] | None = None,
    min_severity: Severity = Severity.INFO,
    org_id: str | None = None,
) -> list[Finding]:
    """Findings stored in the workspace, most severe first."""
    if not ws.has_table("findings"):
        return []
    where = ["severity_rank >= ?"]
    params: list[Any] = [min_severity.rank]
    if detectors:
        where.append("list_contains(?, detector)")
        params.append(detectors)
    if org_id:
        where.append("org_id = ?")
        params.append(org_id)
    rows = ws.con.execute(
        "SELECT finding_id, detector, severity, score, org_id, user_id, record_count, first_seen,"
        " last_seen, summary, evidence FROM findings WHERE " + " AND ".join(where)
        + " ORDER BY severity_rank DESC, score DESC, finding_id",
        params,
    ).fetchall()
    return [
        Finding(
            finding_id=r[0], detector=r[1], severity=Severity(r[2]), score=r[3], org_id=r[4],
            user_id=r[5], record_count=r[6], first_seen=r[7], last_seen=r[8], summary=r[9],
            evidence=json.loads(r[10]),
        )
        for r in rows
    ]
