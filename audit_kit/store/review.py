"""The review's tables in the people store: findings' review state, history, rules, people over time,
and what notifications have delivered.

Tables (created by step 2 of `people.PEOPLE_MIGRATIONS`):

| table | holds |
| --- | --- |
| `review_findings` | every finding ever published from the analytical store, with its state, assignee and the rule that judged it (a read model: the web app never needs DuckDB) |
| `review_events` | each finding's history, append-only |
| `review_rules` | suppressions and explanations left by verdicts (revoked ones kept) |
| `review_user_history` | each user's standing after each detection run or scan |
| `review_deliveries` | items each notification channel delivered to each destination |

Writers call these inside `PeopleStore.transaction()` (the caller owns it, and keeps it to
milliseconds); readers need no transaction. Times are stored as ISO text, naive UTC.

(Why this module runs past 400 lines: the repository of every review table in the people store (findings'
state, events, rules, people over time, deliveries): all their SQL in one place, as the store layer requires.)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit_kit.models.findings import Finding, Severity
from audit_kit.models.review import (
    EventKind,
    ExplainedBy,
    FindingState,
    RepeatOffender,
    ReviewedFinding,
    ReviewEvent,
    ReviewRule,
    RuleKind,
    UserSnapshot,
    record_of,
)
from audit_kit.store.people import PEOPLE_FILE, PeopleStore

_FINDING_COLUMNS = (
    "finding_id, detector, severity, score, org_id, user_id, record, record_count, first_seen, last_seen,"
    " summary, evidence, state, assignee, rule_id, first_detected, last_detected, updated_at, updated_by, present"
)
_RULE_COLUMNS = (
    "rule_id, kind, detector, org_id, user_id, record, explained_by, note, created_by, created_at, expires_at,"
    " source_finding, revoked_at, revoked_by, revoke_note"
)


def ts(value: datetime | None) -> str | None:
    """A timestamp as stored: ISO text, naive UTC (aware values converted)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def parse_ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _req_ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


# -- findings -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Published:
    """What publishing a batch of findings changed: ids seen for the first time, and ids found again
    with later activity than before."""

    new: tuple[str, ...]
    redetected: tuple[str, ...]


def publish_findings(people: PeopleStore, findings: Sequence[Finding], now: datetime,
                     actor: str = "detection") -> Published:
    """Upsert findings' detection fields (never their review state); history for new and re-detected
    ones. A finding published before with the same content only has its `last_detected` moved on.
    Caller owns the transaction (keep batches to a thousand or so: see `workflow.publish`)."""
    con = people.con
    ids = [f.finding_id for f in findings]
    known: dict[str, tuple[str | None, str | None, int]] = {}
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        for fid, last, fp, present in con.execute(
            f"SELECT finding_id, last_seen, fingerprint, present FROM review_findings WHERE finding_id IN ({marks})",
            chunk,
        ):
            known[fid] = (last, fp, present)
    new, again, unchanged = [], [], []
    stamp = ts(now)
    rows = []
    for f in findings:
        evidence = json.dumps(f.evidence, sort_keys=True, default=str)
        first, last = ts(f.first_seen), ts(f.last_seen)
        fp = hashlib.sha256("\x1f".join(str(x) for x in (
            f.detector, f.severity.value, f.score, f.org_id, f.user_id, f.record_count, first, last, f.summary,
            evidence)).encode()).hexdigest()[:24]
        before = known.get(f.finding_id)
        if before is not None and before[1] == fp and before[2]:
            unchanged.append(f.finding_id)
            continue
        rows.append((
            f.finding_id, f.detector, f.severity.value, f.severity.rank, f.score, f.org_id, f.user_id,
            record_of(f.evidence), f.record_count, first, last, f.summary, evidence, stamp, stamp, stamp, fp,
        ))
        if before is None:
            new.append(f.finding_id)
        elif last is not None and (before[0] is None or last > before[0]):
            again.append(f.finding_id)
    con.executemany(
        """INSERT INTO review_findings (finding_id, detector, severity, severity_rank, score, org_id, user_id,
               record, record_count, first_seen, last_seen, summary, evidence, first_detected, last_detected,
               updated_at, fingerprint, present)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)
           ON CONFLICT (finding_id) DO UPDATE SET detector = excluded.detector, severity = excluded.severity,
               severity_rank = excluded.severity_rank, score = excluded.score, org_id = excluded.org_id,
               user_id = excluded.user_id, record = excluded.record, record_count = excluded.record_count,
               first_seen = excluded.first_seen, last_seen = excluded.last_seen, summary = excluded.summary,
               evidence = excluded.evidence, last_detected = excluded.last_detected,
               fingerprint = excluded.fingerprint, present = 1""",
        rows,
    )
    for chunk in _chunks(unchanged, 500):
        con.execute(f"UPDATE review_findings SET last_detected = ? WHERE finding_id IN ({','.join('?' * len(chunk))})",
                    [stamp, *chunk])
    con.executemany(
        "INSERT INTO review_events (finding_id, at, actor, kind, to_state, detail) VALUES (?,?,?,?,?,?)",
        [(fid, stamp, actor, EventKind.DETECTED.value, FindingState.OPEN.value, "{}") for fid in new]
        + [(fid, stamp, actor, EventKind.REDETECTED.value, None, "{}") for fid in again],
    )
    return Published(tuple(new), tuple(again))


def mark_absent(people: PeopleStore, present_ids: Iterable[str]) -> int:
    """Flag findings the analytical store no longer holds (state and history kept). Caller owns the
    transaction; returns how many changed."""
    con = people.con
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _present (finding_id TEXT PRIMARY KEY)")
    con.execute("DELETE FROM _present")
    con.executemany("INSERT OR IGNORE INTO _present VALUES (?)", [(i,) for i in present_ids])
    cur = con.execute(
        "UPDATE review_findings SET present = 0 WHERE present = 1 AND finding_id NOT IN (SELECT finding_id FROM _present)"
    )
    con.execute("DELETE FROM _present")
    return int(cur.rowcount)


def _finding(r: sqlite3.Row | tuple[Any, ...]) -> ReviewedFinding:
    return ReviewedFinding(
        finding_id=r[0], detector=r[1], severity=Severity(r[2]), score=r[3], org_id=r[4], user_id=r[5],
        record=r[6], record_count=r[7], first_seen=parse_ts(r[8]), last_seen=parse_ts(r[9]), summary=r[10],
        evidence=json.loads(r[11]), state=FindingState(r[12]), assignee=r[13], rule_id=r[14],
        first_detected=_req_ts(r[15]), last_detected=_req_ts(r[16]), updated_at=_req_ts(r[17]),
        updated_by=r[18], present=bool(r[19]),
    )


@dataclass(frozen=True)
class FindingFilter:
    """Which reviewed findings to list. Empty fields filter nothing."""

    states: tuple[FindingState, ...] = ()
    org_ids: tuple[str, ...] = ()
    user_id: str | None = None
    detector: str | None = None
    assignee: str | None = None
    min_severity: Severity = Severity.INFO
    record: str | None = None  # a pseudonym
    include_absent: bool = False
    finding_ids: tuple[str, ...] | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses = ["severity_rank >= ?"]
        params: list[Any] = [self.min_severity.rank]
        if self.states:
            clauses.append(f"state IN ({','.join('?' * len(self.states))})")
            params += [s.value for s in self.states]
        if self.org_ids:
            clauses.append(f"org_id IN ({','.join('?' * len(self.org_ids))})")
            params += list(self.org_ids)
        for col, value in (("user_id", self.user_id), ("detector", self.detector), ("assignee", self.assignee),
                           ("record", self.record)):
            if value is not None:
                clauses.append(f"{col} = ?")
                params.append(value)
        if not self.include_absent:
            clauses.append("present = 1")
        if self.finding_ids is not None:
            clauses.append(f"finding_id IN ({','.join('?' * len(self.finding_ids)) or 'NULL'})")
            params += list(self.finding_ids)
        return " AND ".join(clauses), params


def load_findings(people: PeopleStore, flt: FindingFilter | None = None, limit: int | None = None,
                  offset: int = 0) -> list[ReviewedFinding]:
    """Reviewed findings, most severe first (then by score, latest activity and id)."""
    where, params = (flt or FindingFilter()).where()
    tail = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = people.con.execute(
        f"SELECT {_FINDING_COLUMNS} FROM review_findings WHERE {where}"
        f" ORDER BY severity_rank DESC, score DESC, last_seen DESC, finding_id{tail}", params
    ).fetchall()
    return [_finding(r) for r in rows]


def count_findings(people: PeopleStore, flt: FindingFilter | None = None) -> dict[FindingState, int]:
    """How many findings the filter matches, by state (every state present, zero included)."""
    where, params = (flt or FindingFilter()).where()
    counts = {s: 0 for s in FindingState}
    for state, n in people.con.execute(
        f"SELECT state, count(*) FROM review_findings WHERE {where} GROUP BY state", params
    ):
        counts[FindingState(state)] = int(n)
    return counts


def get_finding(people: PeopleStore, finding_id: str) -> ReviewedFinding | None:
    row = people.con.execute(
        f"SELECT {_FINDING_COLUMNS} FROM review_findings WHERE finding_id = ?", [finding_id]
    ).fetchone()
    return None if row is None else _finding(row)


def ids_with_prefix(people: PeopleStore, prefix: str, limit: int = 5) -> list[str]:
    """Finding ids starting with `prefix` (for short ids typed by a person)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [r[0] for r in people.con.execute(
        "SELECT finding_id FROM review_findings WHERE finding_id LIKE ? ESCAPE '\\' ORDER BY finding_id LIMIT ?",
        [escaped + "%", limit],
    )]


def states_of(people: PeopleStore, finding_ids: Sequence[str]) -> dict[str, tuple[FindingState, str | None]]:
    """(state, rule_id) of the findings among `finding_ids` that are published."""
    out: dict[str, tuple[FindingState, str | None]] = {}
    for chunk in _chunks(list(finding_ids), 500):
        marks = ",".join("?" * len(chunk))
        for fid, state, rule in people.con.execute(
            f"SELECT finding_id, state, rule_id FROM review_findings WHERE finding_id IN ({marks})", chunk
        ):
            out[fid] = (FindingState(state), rule)
    return out


def marks(people: PeopleStore, finding_ids: Sequence[str] | None = None) -> dict[str, tuple[FindingState, str | None]]:
    """(state, assignee) of published findings: of `finding_ids`, or of every finding (a queue's
    worth of rows, without the summaries and evidence `load_findings` carries)."""
    sql = "SELECT finding_id, state, assignee FROM review_findings"
    if finding_ids is None:
        return {fid: (FindingState(st), who) for fid, st, who in people.con.execute(sql)}
    out: dict[str, tuple[FindingState, str | None]] = {}
    for chunk in _chunks(list(finding_ids), 500):
        for fid, st, who in people.con.execute(f"{sql} WHERE finding_id IN ({','.join('?' * len(chunk))})", chunk):
            out[fid] = (FindingState(st), who)
    return out


def set_state(people: PeopleStore, finding_id: str, state: FindingState, actor: str, at: datetime,
              rule_id: str | None = None) -> None:
    """Change a finding's state (and the rule that set it, None for a person). Caller owns the transaction."""
    people.con.execute(
        "UPDATE review_findings SET state = ?, rule_id = ?, updated_at = ?, updated_by = ? WHERE finding_id = ?",
        [state.value, rule_id, ts(at), actor, finding_id],
    )


def set_assignee(people: PeopleStore, finding_id: str, assignee: str | None, actor: str, at: datetime) -> None:
    """Assign a finding (None: unassign). Caller owns the transaction."""
    people.con.execute(
        "UPDATE review_findings SET assignee = ?, updated_at = ?, updated_by = ? WHERE finding_id = ?",
        [assignee, ts(at), actor, finding_id],
    )


def add_event(people: PeopleStore, finding_id: str, at: datetime, actor: str, kind: EventKind,
              from_state: FindingState | None = None, to_state: FindingState | None = None,
              note: str | None = None, detail: dict[str, Any] | None = None) -> int:
    """Append one history entry; returns its id. Caller owns the transaction."""
    cur = people.con.execute(
        "INSERT INTO review_events (finding_id, at, actor, kind, from_state, to_state, note, detail)"
        " VALUES (?,?,?,?,?,?,?,?)",
        [finding_id, ts(at), actor, kind.value, from_state.value if from_state else None,
         to_state.value if to_state else None, note, json.dumps(detail or {}, sort_keys=True, default=str)],
    )
    return int(cur.lastrowid or 0)


def load_events(people: PeopleStore, finding_id: str) -> list[ReviewEvent]:
    """A finding's history, oldest first."""
    rows = people.con.execute(
        "SELECT event_id, finding_id, at, actor, kind, from_state, to_state, note, detail FROM review_events"
        " WHERE finding_id = ? ORDER BY event_id", [finding_id]
    ).fetchall()
    return [
        ReviewEvent(event_id=r[0], finding_id=r[1], at=_req_ts(r[2]), actor=r[3], kind=EventKind(r[4]),
                    from_state=FindingState(r[5]) if r[5] else None, to_state=FindingState(r[6]) if r[6] else None,
                    note=r[7], detail=json.loads(r[8] or "{}"))
        for r in rows
    ]


def user_finding_states(people: PeopleStore, since: datetime | None = None
                        ) -> dict[str, list[tuple[str | None, FindingState, Severity, float, datetime | None]]]:
    """Per user: (org, state, severity, score, first_seen) of their findings active since `since`."""
    params: list[Any] = []
    where = "user_id IS NOT NULL"
    if since is not None:
        where += " AND (last_seen IS NULL OR last_seen >= ?)"
        params.append(ts(since))
    out: dict[str, list[tuple[str | None, FindingState, Severity, float, datetime | None]]] = {}
    for user, org, state, sev, score, first in people.con.execute(
        f"SELECT user_id, org_id, state, severity, score, first_seen FROM review_findings WHERE {where}"
        " ORDER BY user_id, first_seen", params
    ):
        out.setdefault(user, []).append((org, FindingState(state), Severity(sev), float(score), parse_ts(first)))
    return out


# -- rules ----------------------------------------------------------------------------------------
def insert_rule(people: PeopleStore, rule: ReviewRule) -> None:
    """Store a new rule. Caller owns the transaction."""
    people.con.execute(
        f"INSERT INTO review_rules ({_RULE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [rule.rule_id, rule.kind.value, rule.detector, rule.org_id, rule.user_id, rule.record,
         rule.explained_by.value if rule.explained_by else None, rule.note, rule.created_by, ts(rule.created_at),
         ts(rule.expires_at), rule.source_finding, ts(rule.revoked_at), rule.revoked_by, rule.revoke_note],
    )


def revoke_rule(people: PeopleStore, rule_id: str, by: str, at: datetime, note: str) -> bool:
    """Revoke a rule from `at` on (kept, with who and why). False when unknown or already revoked."""
    cur = people.con.execute(
        "UPDATE review_rules SET revoked_at = ?, revoked_by = ?, revoke_note = ? WHERE rule_id = ? AND revoked_at IS NULL",
        [ts(at), by, note, rule_id],
    )
    return cur.rowcount > 0


def _rule(r: tuple[Any, ...]) -> ReviewRule:
    return ReviewRule(
        rule_id=r[0], kind=RuleKind(r[1]), detector=r[2], org_id=r[3], user_id=r[4], record=r[5],
        explained_by=ExplainedBy(r[6]) if r[6] else None, note=r[7], created_by=r[8], created_at=_req_ts(r[9]),
        expires_at=parse_ts(r[10]), source_finding=r[11], revoked_at=parse_ts(r[12]), revoked_by=r[13],
        revoke_note=r[14],
    )


def load_rules(people: PeopleStore, kind: RuleKind | None = None, rule_ids: Sequence[str] | None = None,
               org_ids: Sequence[str] = ()) -> list[ReviewRule]:
    """Rules, newest first (active or not: `ReviewRule.active(now)` tells)."""
    clauses, params = ["1 = 1"], []
    if kind is not None:
        clauses.append("kind = ?")
        params.append(kind.value)
    if rule_ids is not None:
        clauses.append(f"rule_id IN ({','.join('?' * len(rule_ids)) or 'NULL'})")
        params += list(rule_ids)
    if org_ids:
        clauses.append(f"org_id IN ({','.join('?' * len(org_ids))})")
        params += list(org_ids)
    rows = people.con.execute(
        f"SELECT {_RULE_COLUMNS} FROM review_rules WHERE {' AND '.join(clauses)} ORDER BY created_at DESC, rule_id",
        params,
    ).fetchall()
    return [_rule(r) for r in rows]


def rules_in_force(people: PeopleStore, now: datetime) -> list[ReviewRule]:
    """Rules active at `now`."""
    return [r for r in load_rules(people) if r.active(now)]


def read_rules(workspace: Path, kind: RuleKind | None = None) -> list[ReviewRule]:
    """Every rule of a workspace's people store, read without holding it (none when nothing has been
    recorded yet). For analytical jobs: detection reads explanations, a scan reads suppressions."""
    if not (Path(workspace) / PEOPLE_FILE).exists():
        return []
    with PeopleStore.open(Path(workspace), read_only=True) as people:
        if not has_review_tables(people):
            return []  # written by a release before the review existed (read-only: not upgraded)
        return load_rules(people, kind)


def has_review_tables(people: PeopleStore) -> bool:
    """Whether the file has the review's tables (a read-only open of an older file is not upgraded)."""
    row = people.con.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'review_rules'").fetchone()
    return bool(row and row[0])


# -- people over time -----------------------------------------------------------------------------
def store_snapshots(people: PeopleStore, snapshots: Sequence[UserSnapshot]) -> None:
    """Write users' standings for one run (a rerun of the same run replaces). Caller owns the transaction."""
    people.con.executemany(
        "INSERT OR REPLACE INTO review_user_history VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(s.user_id, s.run_id, s.org_id, ts(s.at), s.findings, s.open, s.confirmed, s.explained, s.false_positive,
          s.risk_score, s.worst_severity.value if s.worst_severity else None) for s in snapshots],
    )


def _snapshot(r: tuple[Any, ...]) -> UserSnapshot:
    return UserSnapshot(
        user_id=r[0], run_id=r[1], org_id=r[2], at=_req_ts(r[3]), findings=r[4], open=r[5], confirmed=r[6],
        explained=r[7], false_positive=r[8], risk_score=r[9], worst_severity=Severity(r[10]) if r[10] else None,
    )


def user_history(people: PeopleStore, user_id: str) -> list[UserSnapshot]:
    """One user's standings, oldest first."""
    rows = people.con.execute(
        "SELECT * FROM review_user_history WHERE user_id = ? ORDER BY at, run_id", [user_id]
    ).fetchall()
    return [_snapshot(r) for r in rows]


def latest_snapshots(people: PeopleStore, org_ids: Sequence[str] = ()) -> list[UserSnapshot]:
    """Each user's most recent standing, riskiest first."""
    where = f"WHERE h.org_id IN ({','.join('?' * len(org_ids))})" if org_ids else ""
    rows = people.con.execute(
        f"""SELECT h.* FROM review_user_history h
            JOIN (SELECT user_id, max(at) AS at FROM review_user_history GROUP BY user_id) m
              ON h.user_id = m.user_id AND h.at = m.at {where}
            ORDER BY h.risk_score DESC, h.user_id""", list(org_ids)
    ).fetchall()
    seen: set[str] = set()
    out = []
    for r in rows:
        if r[0] not in seen:  # two runs at the same instant: keep one
            seen.add(r[0])
            out.append(_snapshot(r))
    return out


def repeat_offenders(people: PeopleStore, min_occasions: int = 2, org_ids: Sequence[str] = (),
                     since: datetime | None = None) -> list[RepeatOffender]:
    """Users with confirmed findings on at least `min_occasions` distinct days of activity (by the day
    each confirmed finding's activity began), most occasions first. `since` keeps confirmed findings
    whose activity began then or later; `org_ids` keeps those organisations' users.

    For reports (the national report and DPO packs call this through `audit_kit.store.review`) and the
    review's `people offenders` command.
    """
    where = ["state = 'confirmed'", "user_id IS NOT NULL"]
    params: list[Any] = []
    if org_ids:
        where.append(f"org_id IN ({','.join('?' * len(org_ids))})")
        params += list(org_ids)
    if since is not None:
        where.append("first_seen >= ?")
        params.append(ts(since))
    rows = people.con.execute(
        f"""SELECT user_id, max(org_id), count(*), count(DISTINCT substr(coalesce(first_seen, first_detected), 1, 10)),
                   group_concat(DISTINCT detector), min(first_seen), max(last_seen)
            FROM review_findings WHERE {' AND '.join(where)} GROUP BY user_id""", params
    ).fetchall()
    latest = {s.user_id: s for s in latest_snapshots(people)}
    open_counts = dict(people.con.execute(
        "SELECT user_id, count(*) FROM review_findings WHERE state IN ('open', 'under_review') AND present = 1"
        " AND user_id IS NOT NULL GROUP BY user_id").fetchall())
    out = [
        RepeatOffender(
            user_id=r[0], org_id=r[1], confirmed=int(r[2]), occasions=int(r[3]),
            open=int(open_counts.get(r[0], 0)), detectors=sorted((r[4] or "").split(",")),
            first_confirmed_activity=parse_ts(r[5]), last_confirmed_activity=parse_ts(r[6]),
            risk_score=latest[r[0]].risk_score if r[0] in latest else 0.0,
        )
        for r in rows if int(r[3]) >= min_occasions
    ]
    out.sort(key=lambda o: (-o.occasions, -o.confirmed, -o.risk_score, o.user_id))
    return out


# -- deliveries -----------------------------------------------------------------------------------
def delivered_items(people: PeopleStore, channel: str, destination: str) -> set[str]:
    """Items already delivered on a channel to a destination."""
    return {r[0] for r in people.con.execute(
        "SELECT item FROM review_deliveries WHERE channel = ? AND destination = ?", [channel, destination]
    )}


def last_delivery(people: PeopleStore, channel: str, destination: str) -> datetime | None:
    """When a channel last delivered anything to a destination (None: never)."""
    row = people.con.execute("SELECT max(sent_at) FROM review_deliveries WHERE channel = ? AND destination = ?",
                             [channel, destination]).fetchone()
    return parse_ts(row[0]) if row else None


def record_delivered(people: PeopleStore, channel: str, destination: str, items: Iterable[str], at: datetime,
                     reference: str | None = None) -> None:
    """Remember items as delivered (idempotent). Caller owns the transaction."""
    people.con.executemany(
        "INSERT OR IGNORE INTO review_deliveries VALUES (?,?,?,?,?)",
        [(channel, destination, item, ts(at), reference) for item in items],
    )


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
