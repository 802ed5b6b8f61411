"""The review actions the web app offers, over the reviewer's workflow (`audit_kit.review`).

A verdict given in the browser is the same act as `audit-kit findings review`: it moves the finding
`open → under_review → confirmed | explained | false_positive`, writes its history, and a false
positive or an explanation leaves the expiring suppression or explanation that later scans and the
explained-access model honour. The web form sends one change at a time (a state, an assignee, a
note); this module turns it into the workflow's calls and says in words what is not allowed.

The queue's texts come from the web read model (`rm_findings`, scrubbed of raw record ids); only
the state, assignee and history come from the review tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from audit_kit import review as wf
from audit_kit.errors import InputError
from audit_kit.models.review import EventKind, ExplainedBy, FindingState, Verdict
from audit_kit.store import review as review_store
from audit_kit.store import web
from audit_kit.store.people import PeopleStore

STATES = tuple(s.value for s in FindingState)
VERDICTS = tuple(v.value for v in Verdict)
STATE_LABELS = {"open": "Open", "under_review": "Under review", "confirmed": "Confirmed",
                "explained": "Explained", "false_positive": "False positive"}
EXPLAINED_BY = tuple(e.value for e in ExplainedBy)
EXPLAINED_BY_LABELS = {"other": "this user, this record (or this pattern)", "involvement": "the body works with this child",
                       "entitlement": "the user's role entitles them to it"}
KIND_LABELS = {EventKind.DETECTED: "detected", EventKind.REDETECTED: "detected again", EventKind.ASSIGNED: "assigned",
               EventKind.STATE: "state", EventKind.VERDICT: "verdict", EventKind.NOTE: "note",
               EventKind.AUTO_VERDICT: "judged by a rule", EventKind.REOPENED: "reopened",
               EventKind.RULE_REVOKED: "rule revoked"}
MAX_NOTE = 4000
SUPPRESS_DAYS = {"false_positive": 30, "explained": 365}  # what the form offers first
MAX_DAYS = 730


@dataclass(frozen=True)
class ReviewEvent:
    """One line of a finding's history as the page shows it."""

    what: str
    state: str  # the state after this event
    assignee: str | None
    note: str
    by: str
    at: datetime


@dataclass(frozen=True)
class ReviewState:
    """A finding's place in the workflow, and (for one finding) how it got there."""

    finding_id: str
    state: str = "open"
    assignee: str | None = None
    history: list[ReviewEvent] = field(default_factory=list)
    rule: str = ""  # the suppression or explanation in force from its verdict, in words

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


def states(people: PeopleStore, finding_ids: Sequence[str] | None = None) -> dict[str, ReviewState]:
    """The state and assignee of each published finding (of `finding_ids`, or all); no history."""
    return {fid: ReviewState(fid, st.value, who) for fid, (st, who) in review_store.marks(people, finding_ids).items()}


def state_of(people: PeopleStore, finding_id: str, now: datetime | None = None) -> ReviewState:
    """One finding's state with its whole history and the rule its verdict left (if still in force at `now`)."""
    now = _naive(now or web.utcnow())
    f = wf.get_finding(people, finding_id)
    if f is None:
        return ReviewState(finding_id)
    lines, state, assignee = [], FindingState.OPEN, None
    for e in wf.history(people, finding_id):
        state = e.to_state or state
        if e.kind is EventKind.ASSIGNED:
            assignee = e.detail.get("assignee")
        elif "assignee" in e.detail and e.detail.get("carried_from"):
            assignee = e.detail["assignee"]  # carried from the web app's first table (people migration 5)
        lines.append(ReviewEvent(KIND_LABELS[e.kind], state.value, assignee, e.note or "", e.actor, e.at))
    rule = ""
    if f.rule_id or f.state.is_closed_as_benign:
        for r in wf.rules(people, now):
            if r.source_finding == finding_id or r.rule_id == f.rule_id:
                until = f" until {r.expires_at:%Y-%m-%d}" if r.expires_at else ""
                rule = f"{r.kind.value} {r.rule_id}{until} (by {r.created_by})"
                break
    return ReviewState(finding_id, f.state.value, f.assignee, lines, rule)


def _naive(t: datetime) -> datetime:
    """The review stores naive UTC; the web app's clock is aware."""
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _days(value: str | int | None, state: str) -> int:
    if value is None or str(value).strip() == "":
        return SUPPRESS_DAYS[state]
    try:
        days = int(str(value).strip())
    except ValueError:
        raise InputError(f"suppress_days {value!r}: expected a whole number of days, 1 to {MAX_DAYS}") from None
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"suppress_days {days}: expected 1 to {MAX_DAYS} days (a suppression must expire)")
    return days


def review(people: PeopleStore, finding_id: str, *, state: str | None, note: str, assignee: str | None,
           by: str, now: datetime, suppress_days: str | int | None = None,
           explained_by: str | None = None) -> ReviewState:
    """Record a reviewer's action through the workflow: a new state (a verdict needs a note; a false
    positive or an explanation leaves a rule for `suppress_days`, by default 30 and 365 days), a new
    assignee, or a note. Raises InputError naming the field when the action is not allowed."""
    now = _naive(now)
    f = wf.get_finding(people, finding_id)
    if f is None:
        raise InputError(f"finding {finding_id}: not published to the review yet; run a detection or scan first")
    current = f.state.value
    new_state = (state or "").strip() or current
    if new_state not in STATES:
        raise InputError(f"state {new_state!r}: expected one of {', '.join(STATES)}")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InputError(f"note: at most {MAX_NOTE} characters")
    if explained_by and explained_by not in EXPLAINED_BY:
        raise InputError(f"explained_by {explained_by!r}: expected one of {', '.join(EXPLAINED_BY)}")
    who = (assignee or "").strip() or None
    if who is not None and who != f.assignee:
        user = web.get_user(people, who)
        if user is None or user.disabled or user.role != "reviewer":
            raise InputError(f"assignee {who!r}: not an active reviewer")
    change_state = new_state != current
    change_assignee = (assignee is not None) and who != f.assignee
    days: int | None = None
    if change_state:
        _check_move(current, new_state, note)
        days = _days(suppress_days, new_state) if new_state in SUPPRESS_DAYS else None
    if not change_state and not change_assignee and not note:
        raise InputError("nothing to record: change the state or the assignee, or write a note")
    if change_assignee:
        current = wf.assign(people, finding_id, who, by, now, note=None if change_state else (note or None)).state.value
    if change_state and new_state != current:
        if new_state in VERDICTS:
            wf.review_finding(people, finding_id, Verdict(new_state), note, by, now, suppress_days=days,
                              explained_by=ExplainedBy(explained_by) if explained_by and new_state == "explained"
                              else None)
        elif new_state == "under_review":
            wf.start_review(people, finding_id, by, now, note or None)
        else:
            wf.reopen(people, finding_id, by, now, note)
    elif not change_assignee and note:
        wf.add_note(people, finding_id, note, by, now)
    return state_of(people, finding_id, now)


def _check_move(current: str, new_state: str, note: str) -> None:
    """The moves the workflow allows, said in the form's words."""
    if new_state in VERDICTS and not note:
        raise InputError(f"a verdict of {STATE_LABELS[new_state].lower()} needs a note saying why")
    if new_state == "open":
        if current not in VERDICTS:
            raise InputError(f"a finding {STATE_LABELS[current].lower()} cannot be set back to open: only a "
                             "finding with a verdict is reopened")
        if not note:
            raise InputError("reopening a finding needs a note saying why")
    if new_state == "under_review" and current != "open":
        raise InputError(f"a finding that is {STATE_LABELS[current].lower()} cannot go back under review: "
                         "reopen it first")
