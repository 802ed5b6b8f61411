"""Findings: the typed result every detector, corroboration check and scan produces.

The JSON form is the findings contract of DESIGN.md; `finding_id` is stable across re-runs. Stored by
`audit_kit.store.findings`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
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


class Alert(Finding):
    """A finding as a scheduled scan alerted it: the findings contract plus `alert_id` and `first_alerted`."""

    alert_id: str
    first_alerted: datetime

    def to_json(self) -> dict[str, Any]:
        """The JSON line written to the alerts file and POSTed to the webhook."""
        data = super().to_json()
        data["first_alerted"] = self.first_alerted.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
        return data
