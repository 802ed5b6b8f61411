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
    """Upsert findings by `finding_id` (a re-run replaces, never duplicates). Caller owns the transaction.

    One bulk insert from Arrow: DuckDB's executemany costs milliseconds a row.
    """
    import pyarrow as pa

    ws.con.execute(FINDINGS_DDL)
    if not findings:
        return
    unique = {f.finding_id: f for f in findings}  # the last word on an id wins, as the upsert would
    fs = list(unique.values())

    def naive(v: datetime | None) -> datetime | None:
        return None if v is None else v.replace(tzinfo=None)

    batch = pa.table({
        "finding_id": [f.finding_id for f in fs],
        "detector": [f.detector for f in fs],
        "severity": [f.severity.value for f in fs],
        "severity_rank": pa.array([f.severity.rank for f in fs], pa.int32()),
        "score": pa.array([f.score for f in fs], pa.float64()),
        "org_id": pa.array([f.org_id for f in fs], pa.string()),
        "user_id": pa.array([f.user_id for f in fs], pa.string()),
        "record_count": pa.array([f.record_count for f in fs], pa.int64()),
        "first_seen": pa.array([naive(f.first_seen) for f in fs], pa.timestamp("us")),
        "last_seen": pa.array([naive(f.last_seen) for f in fs], pa.timestamp("us")),
        "summary": [f.summary for f in fs],
        "evidence": [json.dumps(f.evidence, sort_keys=True, default=str) for f in fs],
        "run_id": pa.array([run_id] * len(fs), pa.string()),
        "detected_at": pa.array([naive(detected_at)] * len(fs), pa.timestamp("us")),
    })
    ws.con.register("_findings_batch", batch)
    try:
        ws.con.execute("INSERT OR REPLACE INTO findings SELECT * FROM _findings_batch")
    finally:
        ws.con.unregister("_findings_batch")


def supersede_findings(ws: Workspace, detectors: list[str], since: datetime, until: datetime) -> int:
    """Remove stored findings of `detectors` whose activity ended inside [since, until): the run that
    re-judges that window replaces them, so a finding that no longer fires (after a config change,
    say) does not linger. Caller owns the transaction; returns how many were removed."""
    ws.con.execute(FINDINGS_DDL)
    if not detectors:
        return 0
    rows = ws.con.execute(
        "DELETE FROM findings WHERE list_contains(?, detector) AND last_seen >= ? AND last_seen < ? RETURNING 1",
        [list(detectors), since, until],
    ).fetchall()
    return len(rows)


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
