"""Severity from the strength of evidence: how improbable a finding is under the baseline, not which detector made it.

Every detector states a chance model for what it counts (the user's own history, their peer group's,
the population's base rate) and gives each finding the probability `p` that chance alone would
produce at least what was seen, corrected for how many things were tested (days, hours, records).
The finding's **strength** is `-log10 p` (3.5 = a one-in-3,000 coincidence), and severity comes
from fixed, calibrated cut-offs on strength (`CUTOFFS`), the same for every detector:

| strength | severity | meaning |
| --- | --- | --- |
| below 3.5 | low | a weak signal: kept in the register and the DPO pack, not alerted |
| 3.5 to 7 | medium | improbable by chance: a reviewer should look |
| 7 and above | high | very improbable by chance |

A detector may also mark a finding **policy** (a rule broken whatever the baseline: an account used
after its holder left): critical, never held back by the alert budget. Per-user risk and the budget
are in `risk.py`. The cut-offs were calibrated on the tuning cells of the stress matrix and the
independent worlds' tuning seeds (docs/detection-quality.md), so that chance alone rarely reaches
medium among legitimate users.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from audit_kit.models.findings import Severity

MAX_STRENGTH = 30.0


@dataclass(frozen=True)
class Cutoffs:
    """Strength (-log10 p) at which a finding becomes medium and high."""

    medium: float = 3.5
    high: float = 7.0


CUTOFFS = Cutoffs()
# The strongest a finding kept low on purpose may be (expected work, an entitled reader, a day the peers shared):
# its strength still says how unusual it was, just under the medium cut-off.
KEPT_LOW = CUTOFFS.medium - 0.01


def _f(x: Any) -> float:
    """A float from anything numeric (Decimal, numpy, pandas NA → nan)."""
    try:
        if x is None or x is pd.NA:
            return float("nan")
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def poisson_tail(k: Any, mu: Any) -> float:
    """P(X ≥ k) for X ~ Poisson(mu); 1 for k ≤ 0, and a tiny floor for mu ≤ 0 with k > 0."""
    from scipy.special import pdtrc

    kf, m = _f(k), _f(mu)
    if math.isnan(kf) or kf <= 0:
        return 1.0
    if math.isnan(m) or m <= 0:
        m = 1e-9
    return float(pdtrc(math.ceil(kf) - 1, m))


def nb_tail(k: Any, mean: Any, size: float) -> float:
    """P(X ≥ k) for a negative binomial with this mean and size (a Poisson whose rate itself varies)."""
    from scipy.special import betainc

    kf, m = _f(k), _f(mean)
    if math.isnan(kf) or kf <= 0:
        return 1.0
    if math.isnan(m) or m <= 0:
        m = 1e-9
    s = max(float(size), 1e-3)
    return float(betainc(math.ceil(kf), s, m / (s + m)))


def binomial_tail(k: Any, n: Any, q: Any) -> float:
    """P(X ≥ k) for X ~ Binomial(n, q)."""
    from scipy.special import bdtrc

    kf, nf, qf = _f(k), _f(n), _f(q)
    if math.isnan(kf) or kf <= 0:
        return 1.0
    if math.isnan(nf) or nf < kf:
        nf = kf
    qf = min(max(0.0 if math.isnan(qf) else qf, 1e-12), 1.0)
    return float(bdtrc(math.ceil(kf) - 1, math.floor(nf), qf))


def normal_tail(z: Any) -> float:
    """P(Z ≥ z) for a standard normal Z."""
    from scipy.special import ndtr

    zf = _f(z)
    if math.isnan(zf):
        return 1.0
    return float(ndtr(-zf))


def corrected(p: float, tests: Any) -> float:
    """A p-value corrected for `tests` looks (Bonferroni, capped at 1)."""
    t = max(_f(tests), 1.0) if not math.isnan(_f(tests)) else 1.0
    return min(1.0, max(p, 0.0) * t)


def strength(p: Any) -> float:
    """-log10 p, between 0 and MAX_STRENGTH."""
    pf = _f(p)
    if math.isnan(pf) or pf >= 1.0:
        return 0.0
    if pf <= 0.0:
        return MAX_STRENGTH
    return float(min(MAX_STRENGTH, -math.log10(pf)))


def severity_of(s: float, cutoffs: Cutoffs = CUTOFFS) -> Severity:
    """Severity for a strength (see the table above)."""
    if s >= cutoffs.high:
        return Severity.HIGH
    if s >= cutoffs.medium:
        return Severity.MEDIUM
    return Severity.LOW


def score_of(s: float) -> float:
    """The contract's 0–1 score from a strength: 0.5 at the medium cut-off, 0.8 at high, → 1."""
    return round(1.0 - math.exp(-max(s, 0.0) * math.log(2) / CUTOFFS.medium), 4)


def numeric(df: pd.DataFrame, columns: list[str] | tuple[str, ...], fill: float | None = 0.0) -> pd.DataFrame:
    """Columns coerced to float64 (Decimal, object and nullable types included), nulls → `fill`.

    Engines return sums as Decimal or as object columns when every value is null (an empty
    baseline); numpy and scipy need plain floats.
    """
    for c in columns:
        if c in df.columns:
            col = pd.to_numeric(df[c].astype(object), errors="coerce").astype(float)
            df[c] = col.fillna(fill) if fill is not None else col
    return df


def evidence_fields(p: float, s: float, model: str, **extra: Any) -> dict[str, Any]:
    """The evidence keys every finding carries about its strength."""
    return {"chance_probability": float(f"{max(p, 0.0):.3g}"), "strength": round(s, 2), "chance_model": model,
            **extra}


def log1p_stats(values: np.ndarray) -> tuple[float, float]:
    """Robust centre and spread of log(1 + values): median and 1.4826 × MAD."""
    if len(values) == 0:
        return float("nan"), float("nan")
    lv = np.log1p(np.maximum(values.astype(float), 0.0))
    med = float(np.median(lv))
    return med, float(1.4826 * np.median(np.abs(lv - med)))


__all__ = ["CUTOFFS", "Cutoffs", "KEPT_LOW", "MAX_STRENGTH", "binomial_tail", "nb_tail", "corrected", "evidence_fields", "log1p_stats",
           "normal_tail", "numeric", "poisson_tail", "score_of", "severity_of", "strength"]
