"""Findings and the detection runs that produced them, with each run's explained-access rates.

`findings` is keyed by the stable `finding_id`: a re-run replaces a finding, never duplicates it.
Each detection run records its window, baseline, the detectors that ran, skipped or failed, and the
configuration it was judged under (`config_source`, `config_sha256`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from audit_kit.models.findings import Finding, Severity
from audit_kit.store.sql import bulk_insert, fetch_all, fetch_one

if TYPE_CHECKING:
    from audit_kit.store.workspace import Workspace

DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS findings (
        finding_id VARCHAR PRIMARY KEY, detector VARCHAR, severity VARCHAR, severity_rank INTEGER,
        score DOUBLE, org_id VARCHAR, user_id VARCHAR, record_count BIGINT,
        first_seen TIMESTAMP, last_seen TIMESTAMP, summary VARCHAR, evidence VARCHAR,
        run_id VARCHAR, detected_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS detection_runs (
        run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, window_start TIMESTAMP,
        window_end TIMESTAMP, baseline_start TIMESTAMP, detectors VARCHAR, findings BIGINT, skipped VARCHAR,
        errors VARCHAR, config_source VARCHAR, config_sha256 VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS explained_access (
        org_id VARCHAR, window_start TIMESTAMP, window_end TIMESTAMP, accesses BIGINT, explained BIGINT,
        by_involvement BIGINT, by_entitlement BIGINT, by_allow_list BIGINT, rate DOUBLE, records BIGINT,
        unexplained_records BIGINT, computed_at TIMESTAMP, PRIMARY KEY (org_id, window_start, window_end))""",
)

_COLUMNS = ("finding_id, detector, severity, score, org_id, user_id, record_count, first_seen, last_seen, "
            "summary, evidence")
_ORDER = "severity_rank DESC, score DESC, finding_id"


def _naive(v: datetime | None) -> datetime | None:
    return None if v is None else v.replace(tzinfo=None)


def store_findings(ws: Workspace, findings: Sequence[Finding], run_id: str, detected_at: datetime) -> None:
    """Upsert findings by `finding_id` (a re-run replaces, never duplicates). Caller owns the transaction."""
    import pyarrow as pa

    fs = list({f.finding_id: f for f in findings}.values())  # the last word on an id wins, as the upsert would
    bulk_insert(ws.con, "findings", {
        "finding_id": pa.array([f.finding_id for f in fs], pa.string()),
        "detector": pa.array([f.detector for f in fs], pa.string()),
        "severity": pa.array([f.severity.value for f in fs], pa.string()),
        "severity_rank": pa.array([f.severity.rank for f in fs], pa.int32()),
        "score": pa.array([f.score for f in fs], pa.float64()),
        "org_id": pa.array([f.org_id for f in fs], pa.string()),
        "user_id": pa.array([f.user_id for f in fs], pa.string()),
        "record_count": pa.array([f.record_count for f in fs], pa.int64()),
        "first_seen": pa.array([_naive(f.first_seen) for f in fs], pa.timestamp("us")),
        "last_seen": pa.array([_naive(f.last_seen) for f in fs], pa.timestamp("us")),
        "summary": pa.array([f.summary for f in fs], pa.string()),
        "evidence": pa.array([json.dumps(f.evidence, sort_keys=True, default=str) for f in fs], pa.string()),
        "run_id": pa.array([run_id] * len(fs), pa.string()),
        "detected_at": pa.array([_naive(detected_at)] * len(fs), pa.timestamp("us")),
    }, verb="INSERT OR REPLACE")


def supersede_findings(ws: Workspace, detectors: Sequence[str], since: datetime, until: datetime) -> int:
    """Remove stored findings of `detectors` whose activity ended inside [since, until): the run that
    re-judges that window replaces them, so a finding that no longer fires (after a config change,
    say) does not linger. Caller owns the transaction; returns how many were removed."""
    if not detectors:
        return 0
    rows = fetch_all(
        ws.con,
        "DELETE FROM findings WHERE list_contains(?, detector) AND last_seen >= ? AND last_seen < ? RETURNING 1",
        [list(detectors), since, until],
    )
    return len(rows)


def delete_detector(ws: Workspace, detector: str) -> None:
    """Remove every finding of one detector (e.g. contradictions, which each assessment recomputes)."""
    ws.con.execute("DELETE FROM findings WHERE detector = ?", [detector])


def _finding(r: tuple[Any, ...]) -> Finding:
    return Finding(
        finding_id=r[0], detector=r[1], severity=Severity(r[2]), score=r[3], org_id=r[4], user_id=r[5],
        record_count=r[6], first_seen=r[7], last_seen=r[8], summary=r[9], evidence=json.loads(r[10]),
    )


def load_findings(
    ws: Workspace,
    detectors: Sequence[str] | None = None,
    min_severity: Severity = Severity.INFO,
    org_id: str | None = None,
    finding_ids: Sequence[str] | None = None,
    exclude_detectors: Sequence[str] = (),
    limit: int | None = None,
) -> list[Finding]:
    """Findings stored in the workspace, most severe first (then by score and id)."""
    where = ["severity_rank >= ?"]
    params: list[Any] = [min_severity.rank]
    if detectors:
        where.append("list_contains(?, detector)")
        params.append(list(detectors))
    if exclude_detectors:
        where.append("NOT list_contains(?, detector)")
        params.append(list(exclude_detectors))
    if org_id:
        where.append("org_id = ?")
        params.append(org_id)
    if finding_ids is not None:
        where.append("list_contains(?, finding_id)")
        params.append(list(finding_ids))
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    rows = fetch_all(ws.con, f"SELECT {_COLUMNS} FROM findings WHERE {' AND '.join(where)} ORDER BY {_ORDER}{tail}",
                     params)
    return [_finding(r) for r in rows]


# -- detection runs -------------------------------------------------------------------------------
@dataclass(frozen=True)
class DetectionRunRecord:
    """One detection run as stored: its window, what ran, and the configuration it was judged under."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    window_start: datetime
    window_end: datetime
    baseline_start: datetime
    detectors: tuple[str, ...]
    findings: int
    skipped: dict[str, str]
    errors: dict[str, str]
    config_source: str | None
    config_sha256: str | None


def record_run(ws: Workspace, run: DetectionRunRecord) -> None:
    """Remember one detection run (caller owns the transaction)."""
    ws.con.execute(
        "INSERT OR REPLACE INTO detection_runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        [run.run_id, run.started_at, run.finished_at, run.window_start, run.window_end, run.baseline_start,
         ",".join(run.detectors), run.findings, json.dumps(run.skipped), json.dumps(run.errors),
         run.config_source, run.config_sha256],
    )


def detection_runs(ws: Workspace) -> list[DetectionRunRecord]:
    """Every detection run, newest first."""
    rows = fetch_all(ws.con, "SELECT * FROM detection_runs ORDER BY finished_at DESC, run_id")
    return [
        DetectionRunRecord(r[0], r[1], r[2], r[3], r[4], r[5], tuple(x for x in (r[6] or "").split(",") if x),
                           int(r[7] or 0), json.loads(r[8] or "{}"), json.loads(r[9] or "{}"), r[10], r[11])
        for r in rows
    ]


# -- explained access -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ExplainedAccess:
    """One organisation's explained-access rate over a window (accesses = successful record accesses)."""

    org_id: str
    accesses: int
    explained: int
    by_involvement: int
    by_entitlement: int
    by_allow_list: int
    rate: float
    records: int
    unexplained_records: int


def store_rates(ws: Workspace, rates: Sequence[ExplainedAccess], since: datetime, until: datetime,
                computed_at: datetime) -> None:
    """Upsert per-organisation rates for the window [since, until). Caller owns the transaction."""
    import pyarrow as pa

    n = len(rates)
    bulk_insert(ws.con, "explained_access", {
        "org_id": pa.array([r.org_id for r in rates], pa.string()),
        "window_start": pa.array([since] * n, pa.timestamp("us")),
        "window_end": pa.array([until] * n, pa.timestamp("us")),
        **{k: pa.array([getattr(r, k) for r in rates], pa.int64())
           for k in ("accesses", "explained", "by_involvement", "by_entitlement", "by_allow_list")},
        "rate": pa.array([r.rate for r in rates], pa.float64()),
        "records": pa.array([r.records for r in rates], pa.int64()),
        "unexplained_records": pa.array([r.unexplained_records for r in rates], pa.int64()),
        "computed_at": pa.array([computed_at] * n, pa.timestamp("us")),
    }, verb="INSERT OR REPLACE")


# -- report queries (aggregated in the engine; typed rows) -----------------------------------------
@dataclass(frozen=True)
class FindingCounts:
    """Findings counted by severity, detector, organisation and week (weeks start on Monday)."""

    total: int
    by_severity: dict[str, int]
    by_detector: list[tuple[str, dict[str, int], int, int]]  # detector, by severity, orgs, users
    by_org: dict[str, dict[str, int]]
    by_week: dict[tuple[str, str], int]  # (detector, ISO Monday) -> findings first seen that week
    weeks: list[str]
    undated: int = 0  # findings with no first_seen: counted, never plotted


EMPTY_COUNTS = FindingCounts(0, {}, [], {}, {}, [])

_COUNT_SQL = """SELECT detector, severity, org_id, count(*), count(DISTINCT user_id),
                   strftime(date_trunc('week', first_seen), '%Y-%m-%d') AS wk
            FROM findings {where} GROUP BY ALL"""


def finding_counts(ws: Workspace, org_id: str | None = None, exclude_detectors: Sequence[str] = ()) -> FindingCounts:
    """Findings aggregated in the engine (one organisation's, or all), leaving out `exclude_detectors`."""
    if not ws.has_table("findings"):
        return EMPTY_COUNTS
    clauses: list[str] = ["NOT list_contains(?, detector)"]
    params: list[Any] = [list(exclude_detectors)]
    if org_id:
        clauses.append("org_id = ?")
        params.append(org_id)
    where = "WHERE " + " AND ".join(clauses)
    rows = fetch_all(ws.con, _COUNT_SQL.format(where=where), params)
    if not rows:
        return EMPTY_COUNTS
    spread = {
        str(r[0]): (int(r[1]), int(r[2]))
        for r in fetch_all(ws.con, f"SELECT detector, count(DISTINCT org_id), count(DISTINCT user_id) FROM findings "
                                   f"{where} GROUP BY 1", params)
    }
    return _counts(rows, spread)


def finding_counts_by_org(ws: Workspace, exclude_detectors: Sequence[str] = ()) -> dict[str, FindingCounts]:
    """`finding_counts(ws, org)` for every organisation at once; an org without findings is absent."""
    if not ws.has_table("findings"):
        return {}
    where, params = "WHERE NOT list_contains(?, detector)", [list(exclude_detectors)]
    rows = fetch_all(ws.con, _COUNT_SQL.format(where=where), params)
    spread: dict[str, dict[str, tuple[int, int]]] = {}
    for org, detector, users in fetch_all(
        ws.con, f"SELECT org_id, detector, count(DISTINCT user_id) FROM findings {where} GROUP BY ALL", params
    ):
        spread.setdefault(str(org), {})[str(detector)] = (1, int(users))
    by_org: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        by_org.setdefault(str(r[2]), []).append(r)
    return {org: _counts(org_rows, spread.get(org, {})) for org, org_rows in by_org.items()}


def _counts(rows: list[tuple[Any, ...]], spread: dict[str, tuple[int, int]]) -> FindingCounts:
    by_sev: dict[str, int] = {}
    det: dict[str, dict[str, int]] = {}
    by_org: dict[str, dict[str, int]] = {}
    by_week: dict[tuple[str, str], int] = {}
    undated = 0
    for detector, sev, org, n, _users, wk in rows:
        by_sev[sev] = by_sev.get(sev, 0) + n
        det.setdefault(detector, {})[sev] = det.setdefault(detector, {}).get(sev, 0) + n
        by_org.setdefault(str(org), {})[sev] = by_org.setdefault(str(org), {}).get(sev, 0) + n
        if wk:
            by_week[(detector, wk)] = by_week.get((detector, wk), 0) + n
        else:
            undated += n
    by_detector = sorted(
        ((d, s, *spread.get(d, (0, 0))) for d, s in det.items()),
        key=lambda t: (-max(Severity(k).rank for k in t[1]), -sum(t[1].values()), t[0]),
    )
    weeks = sorted({wk for _, wk in by_week})
    return FindingCounts(sum(by_sev.values()), by_sev, by_detector, by_org, by_week, weeks, undated)


# Most serious first: severity, then strength of evidence (score, then records), then id (stable ties).
_SERIOUS_ORDER = "severity_rank DESC, score DESC, record_count DESC, finding_id"


def top_findings(ws: Workspace, limit: int, org_id: str | None = None,
                 exclude_detectors: Sequence[str] = (), per_detector: int | None = None) -> list[Finding]:
    """The most serious findings (engine-sorted). With `per_detector`, at most that many of each detector
    first, so one pattern with many tied scores cannot fill the list; the rest of `limit` is then
    filled in order of seriousness."""
    if not ws.has_table("findings"):
        return []
    clauses: list[str] = ["NOT list_contains(?, detector)"]
    params: list[Any] = [list(exclude_detectors)]
    if org_id:
        clauses.append("org_id = ?")
        params.append(org_id)
    where = " AND ".join(clauses)
    rank = "row_number() OVER (PARTITION BY detector ORDER BY " + _SERIOUS_ORDER + ")"
    order = (f"(CASE WHEN {rank} <= {int(per_detector)} THEN 0 ELSE 1 END), " if per_detector else "") + _SERIOUS_ORDER
    rows = fetch_all(ws.con, f"SELECT {_COLUMNS} FROM findings WHERE {where} ORDER BY {order} LIMIT {int(limit)}",
                     params)
    found = [_finding(r) for r in rows]
    found.sort(key=lambda f: (-f.severity.rank, -f.score, -f.record_count, f.finding_id))
    return found


def top_findings_by_org(ws: Workspace, limit: int, exclude_detectors: Sequence[str] = ()) -> dict[str, list[Finding]]:
    """`top_findings(ws, limit, org)` for every organisation at once (one windowed query)."""
    if not ws.has_table("findings"):
        return {}
    rows = fetch_all(
        ws.con,
        f"""SELECT {_COLUMNS} FROM findings WHERE NOT list_contains(?, detector)
            QUALIFY row_number() OVER (PARTITION BY org_id ORDER BY {_SERIOUS_ORDER}) <= {int(limit)}
            ORDER BY org_id, {_SERIOUS_ORDER}""",
        [list(exclude_detectors)],
    )
    out: dict[str, list[Finding]] = {}
    for r in rows:
        f = _finding(r)
        out.setdefault(str(f.org_id), []).append(f)
    return out


def most_serious_user(ws: Workspace, org_id: str | None = None) -> str | None:
    """The user whose findings are most serious (for the graph around a flagged user), or None."""
    if not ws.has_table("findings"):
        return None
    where, params = ("AND org_id = ?", [org_id]) if org_id else ("", [])
    row = fetch_one(
        ws.con,
        f"SELECT user_id FROM findings WHERE user_id IS NOT NULL {where} "
        "GROUP BY user_id ORDER BY max(severity_rank) DESC, sum(score) DESC, user_id LIMIT 1",
        params,
    )
    return None if row is None else str(row[0])
