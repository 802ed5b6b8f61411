"""The review actions the web app offers, behind one small interface.

Issue 19's workflow (`audit_kit.review`) was not on main when the web app was built, so this adapter
records verdicts itself in the people store (`web_reviews`, append-only) with the same states:
open → under_review → confirmed | explained | false_positive, a note and an assignee. Pointing the web
app at `audit_kit.review` means changing the three functions below and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from audit_kit.errors import InputError
from audit_kit.store import web
from audit_kit.store.people import PeopleStore

STATES = ("open", "under_review", "confirmed", "explained", "false_positive")
VERDICTS = ("confirmed", "explained", "false_positive")
STATE_LABELS = {"open": "Open", "under_review": "Under review", "confirmed": "Confirmed",
                "explained": "Explained", "false_positive": "False positive"}
MAX_NOTE = 4000


@dataclass(frozen=True)
class ReviewEvent:
    state: str
    assignee: str | None
    note: str
    by: str
    at: datetime


@dataclass(frozen=True)
class ReviewState:
    """A finding's place in the workflow, and how it got there."""

    finding_id: str
    state: str = "open"
    assignee: str | None = None
    history: list[ReviewEvent] = field(default_factory=list)

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


def states(people: PeopleStore, finding_ids: Sequence[str] | None = None) -> dict[str, ReviewState]:
    """The current state of each finding that has been reviewed (others are open and unassigned)."""
    out: dict[str, ReviewState] = {}
    for r in web.review_rows(people, finding_ids):
        prev = out.get(r.finding_id, ReviewState(r.finding_id))
        event = ReviewEvent(r.state, r.assignee, r.note, r.username, r.at)
        out[r.finding_id] = ReviewState(r.finding_id, r.state, r.assignee, [*prev.history, event])
    return out


def state_of(people: PeopleStore, finding_id: str) -> ReviewState:
    return states(people, [finding_id]).get(finding_id, ReviewState(finding_id))


def review(people: PeopleStore, finding_id: str, *, state: str | None, note: str, assignee: str | None,
           by: str, now: datetime) -> ReviewState:
    """Record a reviewer's action: a new state (a verdict needs a note), a note, or an assignment.

    Raises InputError naming the field when the action is not allowed.
    """
    current = state_of(people, finding_id)
    new_state = state or current.state
    if new_state not in STATES:
        raise InputError(f"state {new_state!r}: expected one of {', '.join(STATES)}")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InputError(f"note: at most {MAX_NOTE} characters")
    if new_state in VERDICTS and new_state != current.state and not note:
        raise InputError(f"a verdict of {STATE_LABELS[new_state].lower()} needs a note saying why")
    if new_state == "open" and current.state in VERDICTS and not note:
        raise InputError("reopening a finding needs a note saying why")
    assignee = (assignee or "").strip() or None
    if assignee is not None:
        user = web.get_user(people, assignee)
        if user is None or user.disabled or user.role != "reviewer":
            raise InputError(f"assignee {assignee!r}: not an active reviewer")
    if new_state == current.state and assignee == current.assignee and not note:
        raise InputError("nothing to record: change the state or the assignee, or write a note")
    web.add_review(people, web.ReviewRow(finding_id, new_state, assignee, note, by, now))
    return state_of(people, finding_id)
