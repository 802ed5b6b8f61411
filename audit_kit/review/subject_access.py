"""Subject access: who has looked at one child's record — every organisation and role that read,
searched, printed or exported it in a period, when, for what stated purpose, and the findings that
touched it.

The one raw record id is the caller's input. What comes out depends on the audience:

| | `public` (default: the copy sent to the family) | `restricted` (the holder's own file copy) |
| --- | --- | --- |
| the child | the holder's case reference (`reference`), else the keyed pseudonym | raw record id, pseudonym and reference |
| staff | organisation and role only | user ids as well |
| findings | the detector's plain title, dates, review state | the summary, with other records masked |
| other children | never (masked as "another child's record") | never |

Free text from the logs (stated purposes) and finding summaries are scrubbed of every other record
id the workspace knows and of every pseudonym but the child's, so the output names no other child.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from audit_kit.errors import InputError
from audit_kit.models.review import PSEUDONYM_RE, FindingState
from audit_kit.store import record_access as store
from audit_kit.store import review as repo
from audit_kit.store.ingest import event_span
from audit_kit.store.people import PEOPLE_FILE, PeopleStore
from audit_kit.store.workspace import Workspace

ACTION_WORDS = {"view": "viewed", "search": "found in a search", "print": "printed", "export": "exported",
                "create": "created", "update": "updated", "delete": "deleted"}
# Identifier-shaped tokens worth checking against the workspace's record ids (see report.safety).
_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_-])(?=[A-Za-z_-]*[0-9])[A-Za-z0-9][A-Za-z0-9_-]{3,63}")
OTHER_RECORD = "another child's record"
THIS_RECORD = "this child's record"


class AccessLine(BaseModel):
    """Accesses by one organisation on one day, by role (and user, restricted), action, outcome and purpose."""

    day: date
    first_time: str  # HH:MM, the organisation's local time
    last_time: str
    role: str
    user_id: str | None = None  # restricted audience only
    action: str
    outcome: str
    purpose: str | None
    count: int
    break_glass: bool = False


class OrganisationAccess(BaseModel):
    """One organisation's accesses to the record in the period."""

    org_id: str
    name: str
    type: str
    area: str
    involvement: str  # the recorded relationship, in words
    accesses: int
    refused: int  # attempts denied or failed
    first: datetime
    last: datetime
    actions: dict[str, int]
    roles: list[str]
    purposes: list[str]
    lines: list[AccessLine]


class TouchingFinding(BaseModel):
    """A finding whose evidence names the record, with its review state."""

    finding_id: str
    detector: str
    title: str
    severity: str
    org_id: str | None
    user_id: str | None = None  # restricted only
    first_seen: datetime | None
    last_seen: datetime | None
    state: str
    summary: str | None = None  # restricted only, other records masked


class SubjectAccessReport(BaseModel):
    """The whole answer to one subject access request (JSON as `to_json`, PDF via `render_pdf`)."""

    audience: str
    reference: str
    record_id: str | None = None  # restricted only
    pseudonym: str | None = None  # restricted only
    period_start: datetime | None
    period_end: datetime | None
    generated_at: datetime
    organisations: list[OrganisationAccess] = Field(default_factory=list)
    findings: list[TouchingFinding] = Field(default_factory=list)
    totals: dict[str, int] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _scrubber(ws: Workspace, record_id: str, pseudonym: str, texts: list[str]) -> Any:
    """A function masking every other record id and pseudonym in free text (the child's own id and
    pseudonym become "this child's record")."""
    tokens: set[str] = set()
    for t in texts:
        tokens |= set(_TOKEN_RE.findall(t))
    others = store.known_record_ids(ws, tokens) - {record_id}
    raw = re.compile(
        r"(?<![A-Za-z0-9_-])(" + "|".join(re.escape(x) for x in sorted(others, key=len, reverse=True)) + r")(?![A-Za-z0-9_-])"
    ) if others else None

    def scrub(text: str | None) -> str | None:
        if text is None:
            return None
        out = PSEUDONYM_RE.sub(lambda m: THIS_RECORD if m.group(0) == pseudonym else OTHER_RECORD, text)
        if raw is not None:
            out = raw.sub(OTHER_RECORD, out)
        return re.sub(rf"(?<![A-Za-z0-9_-]){re.escape(record_id)}(?![A-Za-z0-9_-])", THIS_RECORD, out)

    return scrub


def _involvement_text(rows: list[store.Involvement]) -> str:
    if not rows:
        return "no involvement recorded"
    parts = []
    for r in rows:
        span = (f"from {r.start_date:%d %b %Y}" if r.start_date else "") + (
            f" to {r.end_date:%d %b %Y}" if r.end_date else (" (current)" if r.start_date else "current"))
        parts.append(((r.role or "involved") + " " + span.strip()).strip())
    return "; ".join(parts)


def subject_access(
    ws: Workspace,
    record_id: str,
    now: datetime,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    audience: str = "public",
    reference: str | None = None,
    titles: dict[str, str] | None = None,
) -> SubjectAccessReport:
    """Everything the workspace holds about who touched one record in [since, until).

    `titles` maps detector ids to plain titles (the detector registry's), used for findings in the
    public audience. Raises InputError for an empty or unknown record id or a bad audience.
    """
    rid = (record_id or "").strip()
    if not rid:
        raise InputError("RECORD_ID: give the child's record id as the data holder knows it")
    if audience not in ("public", "restricted"):
        raise InputError(f"--audience {audience!r}: expected public or restricted")
    if not store.record_known(ws, rid):
        raise InputError(f"record {rid!r}: not in this workspace (subjects, involvements or events)",
                         hint="check the id; it must match subjects.csv's record_id exactly")
    restricted = audience == "restricted"
    pseudonym = ws.pseudonymise(rid) or ""
    ref = (reference or "").strip() or pseudonym
    events = store.record_events(ws, rid, since, until)
    inv = defaultdict(list)
    for row in store.involvements(ws, rid):
        inv[row.org_id].append(row)
    found = store.findings_mentioning(ws, pseudonym)
    states: dict[str, FindingState] = {}
    if (ws.path / PEOPLE_FILE).exists():
        with PeopleStore.open(ws.path, read_only=True) as people:
            if repo.has_review_tables(people):
                states = {k: v[0] for k, v in repo.states_of(people, [f.finding_id for f in found]).items()}
    scrub = _scrubber(ws, rid, pseudonym, [e.purpose or "" for e in events] + [f.summary for f in found]
                      + ([ref] if reference else []))
    if reference and scrub(ref) != ref:
        raise InputError(f"--reference {reference!r}: must not contain a record id or pseudonym",
                         hint="use the holder's own case reference, e.g. SAR-2026-014")
    orgs = store.organisations(ws, sorted({e.org_id for e in events} | set(inv)))

    by_org: dict[str, list[store.RecordEvent]] = defaultdict(list)
    for e in events:
        by_org[e.org_id].append(e)
    organisations = []
    for org_id, evs in by_org.items():
        o = orgs.get(org_id)
        ok = [e for e in evs if e.outcome == "success"]
        groups: dict[tuple[Any, ...], list[store.RecordEvent]] = defaultdict(list)
        for e in evs:
            local = e.local_time or e.timestamp
            key = (local.date(), e.role or "(role not recorded)", e.user_id if restricted else None, e.action,
                   e.outcome, scrub(e.purpose))
            groups[key].append(e)
        lines = []
        for (day, role, user, action, outcome, purpose), g in sorted(groups.items(), key=lambda kv: (
                kv[0][0], min((x.local_time or x.timestamp) for x in kv[1]))):
            times = sorted((x.local_time or x.timestamp) for x in g)
            lines.append(AccessLine(day=day, first_time=f"{times[0]:%H:%M}", last_time=f"{times[-1]:%H:%M}",
                                    role=role, user_id=user, action=action, outcome=outcome, purpose=purpose,
                                    count=len(g), break_glass=any(x.break_glass for x in g)))
        organisations.append(OrganisationAccess(
            org_id=org_id, name=o.name if o else org_id, type=(o.type if o else "unknown").replace("_", " "),
            area=o.area if o else "", involvement=_involvement_text(inv.get(org_id, [])),
            accesses=len(ok), refused=len(evs) - len(ok), first=min(e.timestamp for e in evs),
            last=max(e.timestamp for e in evs), actions=dict(Counter(e.action for e in ok)),
            roles=sorted({e.role or "(role not recorded)" for e in evs}),
            purposes=sorted({p for e in ok if (p := scrub(e.purpose))}), lines=lines,
        ))
    organisations.sort(key=lambda o: (o.first, o.org_id))
    titles = titles or {}
    touching = [
        TouchingFinding(
            finding_id=f.finding_id, detector=f.detector, title=titles.get(f.detector, f.detector.replace("_", " ")),
            severity=f.severity.value, org_id=f.org_id, user_id=f.user_id if restricted else None,
            first_seen=f.first_seen, last_seen=f.last_seen,
            state=states.get(f.finding_id, FindingState.OPEN).value,
            summary=scrub(f.summary) if restricted else None,
        )
        for f in found
    ]
    ok_events = [e for e in events if e.outcome == "success"]
    log_start, log_end = event_span(ws)
    notes = [
        "Times are each organisation's local time; dates and periods in UTC.",
        "An access is one event in the database's audit log: viewing, finding in a search, printing, exporting "
        "or changing the record. Refused attempts are counted separately.",
        "The stated purpose is what the organisation's system recorded at the time, where it records one.",
    ]
    if not restricted:
        notes.append("Individual members of staff are not named in this copy; the data holder keeps a copy "
                     "that does, and can follow up any access with the organisation concerned.")
    if not events:
        notes.append("No organisation accessed the record in this period.")
    return SubjectAccessReport(
        audience=audience, reference=ref, record_id=rid if restricted else None,
        pseudonym=pseudonym if restricted else None,
        period_start=max(since, log_start) if since and log_start else since or log_start,
        period_end=min(until, log_end) if until and log_end else until or log_end,
        generated_at=now, organisations=organisations, findings=touching,
        totals={"organisations": len(organisations), "accesses": len(ok_events),
                "refused": len(events) - len(ok_events), "findings": len(touching),
                "days": len({(e.local_time or e.timestamp).date() for e in ok_events})},
        notes=notes,
    )


def write_json(report: SubjectAccessReport, out: Path) -> Path:
    """The report as JSON for the holder's own systems."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"-o {out}: cannot write ({exc.strerror or exc})") from None
    return out
