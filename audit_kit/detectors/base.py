"""What a detector is: its declaration (DetectorSpec), what it runs against (DetectionContext), and
helpers that turn small aggregated rows into contract Findings.

A detector is a function `(ctx, params) -> list[Finding]`. It builds Ibis expressions over the
context's shared aggregates (see `aggregates.py`) and pulls only small, already-aggregated results.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from audit_kit.models.findings import Finding, Severity, finding_key

if TYPE_CHECKING:
    from audit_kit.detectors.context import DetectionContext


class Params(BaseModel):
    """Base of every detector's parameter model: strict, so a mistyped threshold is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


DetectorFn = Callable[["DetectionContext", Any], list[Finding]]


@dataclass(frozen=True)
class DetectorSpec:
    """One built-in detector, declared once.

    `needs` lists `table.column` pairs that must hold data (else the detector is skipped with the
    reason); `severity_policy` says in words how severity is set; `portable` is False only for a
    detector that runs part of its logic outside the engine, on small aggregates pulled from it (never
    raw events): `peer_outlier` (Louvain communities over per-organisation user × child pairs, in
    networkx/scipy) and `log_gap` (a calendar walk over organisation × day counts, in pandas). Both
    still run on any engine, Spark included (docs/spark.md).
    """

    id: str
    title: str
    fn: DetectorFn
    params: type[Params]
    needs: tuple[str, ...] = ()
    severity_policy: str = ""
    portable: bool = True
    entity: str = "user"  # what a finding is about: user, org or record
    history: bool = True  # judges against a baseline: skipped when the window has no history before it
    # Its finding is a pattern judged over the whole window, keyed by the week (or day) the window first saw
    # it: a later window, starting later, finds the same ongoing pattern under a new key. A scan treats such
    # a finding as the continuation of an overlapping earlier alert (`scan.alerts`).
    window_pattern: bool = False

    @property
    def doc(self) -> str:
        """The detector's documentation: its function's docstring."""
        import inspect

        return inspect.cleandoc(self.fn.__doc__ or "")


@dataclass
class FindingBuilder:
    """Collects findings for one detector, giving each a stable id from detector + entity + bucket."""

    ctx: DetectionContext
    detector: str
    findings: list[Finding] = field(default_factory=list)

    def add(
        self,
        *,
        org_id: str | None,
        user_id: str | None,
        bucket: object,
        severity: Severity,
        score: float,
        summary: str,
        evidence: dict[str, Any],
        record_count: int = 0,
        first_seen: datetime | None = None,
        last_seen: datetime | None = None,
    ) -> None:
        """Add one finding; `bucket` (a date, a pseudonymised record…) must not depend on the run."""
        self.findings.append(
            Finding(
                finding_id=finding_key(self.detector, org_id, user_id, bucket),
                detector=self.detector,
                severity=severity,
                score=round(clamp01(score), 4),
                org_id=org_id,
                user_id=user_id,
                record_count=int(record_count or 0),
                first_seen=_py_dt(first_seen),
                last_seen=_py_dt(last_seen),
                summary=summary,
                evidence=clean_evidence(evidence),
            )
        )


def clamp01(x: float) -> float:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return 0.0
    return max(0.0, min(1.0, float(x)))


def _py_dt(v: Any) -> datetime | None:
    if v is None:
        return None
    try:
        import pandas as pd

        if v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
            return None
        if isinstance(v, pd.Timestamp):
            return v.to_pydatetime()  # type: ignore[no-any-return]  # pandas-stubs absent: Any
    except ImportError:  # pragma: no cover
        pass
    return v if isinstance(v, datetime) else None


def clean_evidence(value: Any) -> Any:
    """Evidence as plain JSON-able Python: numpy scalars unwrapped, floats rounded, NaN as null."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): clean_evidence(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_evidence(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        # Four decimals for ordinary values, four significant figures below one: a chance probability of 2e-6
        # rounded to 0.0 read as 'below 1 in a million' on a card and as impossible in the findings JSON.
        return float(f"{value:.4g}") if 0 < abs(value) < 1 else round(value, 4)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
