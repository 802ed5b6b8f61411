"""People over time: each user's standing across scans, repeat offenders, and family look-ups.

A user's risk score (0–1, `models.review.user_risk`) combines their findings active in the last
`RISK_DAYS`: a confirmed finding weighs double, an explained or false-positive one nothing. After
each detection run or scan the review records every affected user's standing
(`review_user_history`), so a reviewer sees a person's record over months, not one window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from audit_kit.models.findings import Severity
from audit_kit.models.review import (
    FindingState,
    RepeatOffender,
    ReviewedFinding,
    UserSnapshot,
    user_risk,
)
from audit_kit.store import review as repo
from audit_kit.store.people import PeopleStore
from audit_kit.store.record_access import FamilyLookup, family_lookups
from audit_kit.store.review import FindingFilter
from audit_kit.store.workspace import Workspace

RISK_DAYS = 90

__all__ = ["RISK_DAYS", "FamilyLookup", "UserProfile", "family_lookups", "repeat_offenders", "snapshot_users",
           "user_profile"]


def snapshot_users(people: PeopleStore, run_id: str, now: datetime, risk_days: int = RISK_DAYS) -> list[UserSnapshot]:
    """Record the standing of every user with findings active in the last `risk_days` (one short
    transaction; a rerun for the same `run_id` replaces its rows). Returns what was recorded."""
    since = now - timedelta(days=risk_days)
    snaps = []
    for user, rows in repo.user_finding_states(people, since).items():
        counts = {s: 0 for s in FindingState}
        for _, state, _, _, _ in rows:
            counts[state] += 1
        worst = max((sev for _, _, sev, _, _ in rows), key=lambda s: s.rank)
        orgs = [org for org, *_ in rows if org]
        snaps.append(UserSnapshot(
            user_id=user, org_id=orgs[-1] if orgs else None, run_id=run_id, at=now, findings=len(rows),
            open=counts[FindingState.OPEN] + counts[FindingState.UNDER_REVIEW],
            confirmed=counts[FindingState.CONFIRMED], explained=counts[FindingState.EXPLAINED],
            false_positive=counts[FindingState.FALSE_POSITIVE],
            risk_score=user_risk([(state, sev, score) for _, state, sev, score, _ in rows]),
            worst_severity=worst,
        ))
    with people.transaction():
        repo.store_snapshots(people, snaps)
    return snaps


def repeat_offenders(people: PeopleStore, min_occasions: int = 2, org_ids: tuple[str, ...] = (),
                     since: datetime | None = None) -> list[RepeatOffender]:
    """Users with confirmed findings on `min_occasions` or more distinct days (see
    `audit_kit.store.review.repeat_offenders`, which reports may call directly)."""
    return repo.repeat_offenders(people, min_occasions, org_ids, since)


@dataclass(frozen=True)
class UserProfile:
    """One user as the review sees them: standing over time, every finding with its state, the current
    risk score, and their family look-ups when a workspace was given."""

    user_id: str
    org_id: str | None
    risk_score: float
    history: list[UserSnapshot]
    findings: list[ReviewedFinding]
    lookups: list[FamilyLookup]

    @property
    def confirmed(self) -> int:
        return sum(1 for f in self.findings if f.state is FindingState.CONFIRMED)


def user_profile(people: PeopleStore, user_id: str, now: datetime, ws: Workspace | None = None,
                 risk_days: int = RISK_DAYS) -> UserProfile:
    """Everything the review knows about one user (InputError-free: an unknown user has empty lists)."""
    findings = repo.load_findings(people, FindingFilter(user_id=user_id, include_absent=True))
    since = now - timedelta(days=risk_days)
    active = [f for f in findings if f.last_seen is None or f.last_seen >= since]
    risk = user_risk([(f.state, f.severity, f.score) for f in active])
    lookups = [x for x in family_lookups(ws) if x.user_id == user_id] if ws is not None else []
    org = findings[0].org_id if findings else None
    return UserProfile(user_id, org, risk, repo.user_history(people, user_id), findings, lookups)


def worst(findings: list[ReviewedFinding]) -> Severity | None:
    """The most severe finding's severity (None for none)."""
    return max((f.severity for f in findings), key=lambda s: s.rank) if findings else None
