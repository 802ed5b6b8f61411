"""Findings through review: states, verdicts, notes, assignees, and the rules verdicts leave behind.

```
open ──► under_review ──► confirmed
  │            │      ├─► explained       (leaves an explanation rule; teaches explained access)
  └────────────┴──────┴─► false_positive  (leaves a suppression rule; must expire)
        ▲                        │
        └──── reopened ◄─────────┘  (by a person, or when the rule expired and the pattern recurred)
```

Every function takes the people store and `now` as parameters (the clock is the caller's: a
RunContext's, or a test's), writes in one short transaction, and records who did what and why in
the finding's history. Nothing here reads the analytical store except `sync_findings`, which takes
an open workspace from its caller.

(Why this module runs past 400 lines: the state machine and every transition of it (start, assign, note,
verdict, reopen, revoke, publish, triage) are kept together so the rules a verdict leaves are visible beside
the verdict.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from audit_kit.errors import InputError
from audit_kit.models.findings import Finding, finding_key
from audit_kit.models.review import (
    EventKind,
    ExplainedBy,
    FindingState,
    Pattern,
    ReviewedFinding,
    ReviewEvent,
    ReviewRule,
    RuleKind,
    Verdict,
    record_of,
)
from audit_kit.store import review as repo
from audit_kit.store.findings import load_findings
from audit_kit.store.people import PeopleStore
from audit_kit.store.review import FindingFilter
from audit_kit.store.workspace import Workspace

MAX_RULE_DAYS = 730  # a suppression or explanation holds at most two years; renew it by reviewing again
DEFAULT_EXPLANATION_DAYS = 365
RISK_DAYS = 90  # a user's risk score counts findings active in the last 90 days


def pattern_of(f: Finding | ReviewedFinding) -> Pattern:
    """The recurring pattern a finding belongs to: detector × organisation × user × record."""
    record = f.record if isinstance(f, ReviewedFinding) else record_of(f.evidence)
    return Pattern(detector=f.detector, org_id=f.org_id, user_id=f.user_id, record=record)


# -- judging findings against rules ---------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """What the rules say about one finding now: `suppress` (never alerted: a benign verdict stands or
    a rule in force covers it), `reopen` (the rule that closed it has ended and the pattern recurred
    after), or `keep` (judge it as usual)."""

    action: str  # keep | suppress | reopen
    rule: ReviewRule | None = None
    state: FindingState | None = None  # the state a rule gives a newly arrived finding

    @property
    def reason(self) -> str:
        if self.rule is None:
            return "reviewed as benign" if self.action == "suppress" else ""
        return f"{self.rule.kind.value} {self.rule.rule_id} ({self.rule.note})"


def first_rule(p: Pattern, rules: Sequence[ReviewRule], now: datetime) -> ReviewRule | None:
    """The rule in force at `now` covering the pattern (explanations before suppressions, newest first)."""
    hits = [r for r in rules if r.active(now) and r.matches(p)]
    hits.sort(key=lambda r: (r.kind is not RuleKind.EXPLANATION, -r.created_at.timestamp(), r.rule_id))
    return hits[0] if hits else None


def decide(f: Finding | ReviewedFinding, current: tuple[FindingState, str | None] | None,
           rules: Sequence[ReviewRule], now: datetime) -> Decision:
    """Judge one finding (its published state and rule, if any) against the rules at `now`."""
    by_id = {r.rule_id: r for r in rules}
    state, rule_id = current if current else (None, None)
    if state is not None and state.is_closed_as_benign:
        governing = by_id.get(rule_id) if rule_id else _rule_from(f.finding_id, rules)
        if governing is not None and not governing.active(now):
            ended = governing.ended_at()
            last = f.last_seen.replace(tzinfo=None) if f.last_seen else None
            if ended is not None and last is not None and last >= ended:
                return Decision("reopen", governing)
        return Decision("suppress", governing)
    if state in (None, FindingState.OPEN):
        rule = first_rule(pattern_of(f), rules, now)
        if rule is not None:
            target = FindingState.EXPLAINED if rule.kind is RuleKind.EXPLANATION else FindingState.FALSE_POSITIVE
            return Decision("suppress", rule, target)
    return Decision("keep")


def _rule_from(finding_id: str, rules: Sequence[ReviewRule]) -> ReviewRule | None:
    """The newest rule a person's verdict on this finding left."""
    own = [r for r in rules if r.source_finding == finding_id]
    return max(own, key=lambda r: r.created_at) if own else None


@dataclass
class Triage:
    """A batch of findings judged against the review before alerting (see `triage`)."""

    suppressed: dict[str, str] = field(default_factory=dict)  # finding_id -> why
    reopened: list[Finding] = field(default_factory=list)
    reopened_by: dict[str, str] = field(default_factory=dict)  # finding_id -> the rule that ended

    def alertable(self, findings: Sequence[Finding]) -> list[Finding]:
        """The findings that may be alerted and counted toward --fail-on."""
        return [f for f in findings if f.finding_id not in self.suppressed]


def triage(workspace: Path, findings: Sequence[Finding], now: datetime) -> Triage:
    """Which of `findings` the review suppresses at `now`, and which it reopens, read from the
    workspace's people store without holding it (nothing recorded yet: nothing suppressed).

    Suppressed: a person's benign verdict (false positive, explained) whose rule still holds, or an
    open finding a rule in force covers. Reopened: closed by a rule that has since expired or been
    revoked, with activity after that.
    """
    root = Path(workspace)
    out = Triage()
    if not findings or not (root / "people.sqlite").exists():
        return out
    with PeopleStore.open(root, read_only=True) as people:
        if not repo.has_review_tables(people):
            return out
        rules = repo.load_rules(people)
        states = repo.states_of(people, [f.finding_id for f in findings])
    for f in findings:
        d = decide(f, states.get(f.finding_id), rules, now)
        if d.action == "suppress":
            out.suppressed[f.finding_id] = d.reason
        elif d.action == "reopen" and d.rule is not None:
            out.reopened.append(f)
            out.reopened_by[f.finding_id] = d.rule.rule_id
    return out


# -- publishing findings --------------------------------------------------------------------------
@dataclass(frozen=True)
class SyncResult:
    """What publishing findings into the people store did."""

    published: int
    new: int
    redetected: int
    auto_judged: int  # arrived under a rule in force (suppressed or explained)
    reopened: int
    absent: int  # no longer in the analytical store (kept with their history)


PUBLISH_BATCH = 1000  # findings per write transaction: each holds the people store for milliseconds


def publish(people: PeopleStore, findings: Sequence[Finding], now: datetime, *,
            present_ids: Sequence[str] | None = None, actor: str = "detection") -> SyncResult:
    """Publish findings (new, re-detected or unchanged) and judge the new and re-detected ones against
    the rules. Written in short transactions of `PUBLISH_BATCH` findings, so reviewers and the web app
    never wait long behind a large publish. With `present_ids` (every id the analytical store holds),
    findings not among them are flagged absent."""
    new = again = auto = reopened = 0
    for start in range(0, len(findings), PUBLISH_BATCH):
        batch = findings[start : start + PUBLISH_BATCH]
        with people.transaction():
            pub = repo.publish_findings(people, batch, now, actor=actor)
            new, again = new + len(pub.new), again + len(pub.redetected)
            touched = set(pub.new) | set(pub.redetected)
            rules = repo.load_rules(people) if touched else []
            if not rules:
                continue  # nothing can judge them: they stay open
            states = repo.states_of(people, list(touched))
            for f in batch:
                if f.finding_id not in touched:
                    continue
                current = states.get(f.finding_id)
                d = decide(f, current, rules, now)
                if d.action == "suppress" and d.state is not None and d.rule is not None:
                    _auto_verdict(people, f.finding_id, d.rule, d.state, current, now)
                    auto += 1
                elif d.action == "reopen" and d.rule is not None and current is not None:
                    repo.set_state(people, f.finding_id, FindingState.OPEN, "review", now)
                    repo.add_event(people, f.finding_id, now, "review", EventKind.REOPENED, current[0],
                                   FindingState.OPEN,
                                   note=f"{d.rule.kind.value} {d.rule.rule_id} ended "
                                        f"{d.rule.ended_at():%Y-%m-%d %H:%M} UTC and the pattern recurred after it",
                                   detail={"rule_id": d.rule.rule_id})
                    reopened += 1
    absent = 0
    if present_ids is not None:
        with people.transaction():
            absent = repo.mark_absent(people, present_ids)
    return SyncResult(len(findings), new, again, auto, reopened, absent)


def _auto_verdict(people: PeopleStore, finding_id: str, rule: ReviewRule, state: FindingState,
                  current: tuple[FindingState, str | None] | None, now: datetime) -> None:
    actor = f"rule:{rule.rule_id}"
    repo.set_state(people, finding_id, state, actor, now, rule_id=rule.rule_id)
    until = f" until {rule.expires_at:%Y-%m-%d %H:%M} UTC" if rule.expires_at else ""
    repo.add_event(people, finding_id, now, actor, EventKind.AUTO_VERDICT,
                   current[0] if current else FindingState.OPEN, state,
                   note=f"{rule.kind.value} by {rule.created_by}{until}: {rule.note}",
                   detail={"rule_id": rule.rule_id})


def sync_findings(ws: Workspace, people: PeopleStore, now: datetime, run_id: str | None = None) -> SyncResult:
    """Publish every finding the workspace stores into the people store (see `publish`), flag the ones
    it no longer holds, and record each user's standing for `run_id` (default: one per day)."""
    from audit_kit.review.people import snapshot_users

    findings = load_findings(ws)
    result = publish(people, findings, now, present_ids=[f.finding_id for f in findings])
    snapshot_users(people, run_id or f"day-{now:%Y-%m-%d}", now)
    return result


# -- a reviewer's actions -------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewOutcome:
    """The finding after a verdict, and the rule the verdict left (None for confirmed), plus the rules
    the verdict revoked (a changed mind) and the other open findings the new rule closed."""

    finding: ReviewedFinding
    rule: ReviewRule | None
    revoked: tuple[str, ...] = ()
    also_closed: tuple[str, ...] = ()


def resolve_finding_id(people: PeopleStore, text: str) -> str:
    """A full finding id from an id or a unique prefix of at least 6 characters (InputError otherwise)."""
    t = text.strip()
    if repo.get_finding(people, t) is not None:
        return t
    if len(t) >= 6:
        matches = repo.ids_with_prefix(people, t)
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InputError(f"finding id {t!r} is ambiguous: {', '.join(matches)}", hint="give more characters")
    raise InputError(f"finding {t!r}: not found in this workspace",
                     hint="list them with `audit-kit findings list --workspace WS`")


def _get(people: PeopleStore, finding_id: str) -> ReviewedFinding:
    f = repo.get_finding(people, finding_id)
    if f is None:
        raise InputError(f"finding {finding_id!r}: not found in this workspace",
                         hint="list them with `audit-kit findings list --workspace WS`")
    return f


def _who(name: str | None, what: str) -> str:
    who = (name or "").strip()
    if not who:
        raise InputError(f"{what}: who is acting is required", hint="pass --reviewer NAME or set $AUDIT_KIT_REVIEWER")
    if len(who) > 200:
        raise InputError(f"{what}: a name of at most 200 characters, got {len(who)}")
    return who


def _text(note: str | None, what: str, required: bool = True) -> str | None:
    text = (note or "").strip()
    if not text:
        if required:
            raise InputError(f"{what}: a note saying why is required", hint="pass --note TEXT")
        return None
    if len(text) > 10_000:
        raise InputError(f"{what}: a note of at most 10,000 characters, got {len(text):,}")
    return text


def review_finding(
    people: PeopleStore,
    finding_id: str,
    verdict: Verdict,
    note: str,
    reviewer: str,
    now: datetime,
    *,
    suppress_days: int | None = None,
    explained_by: ExplainedBy | None = None,
) -> ReviewOutcome:
    """Record a verdict on a finding, with who decided and why.

    - `false_positive` needs `suppress_days` (1–730): the same detector × organisation × user ×
      record pattern is suppressed until then (stored, never alerted, not counted by --fail-on).
    - `explained` leaves an explanation for `suppress_days` (default 365): the pattern is explained,
      and `explained_by` (default `other`) says what the explained-access model learns.
    - `confirmed` leaves no rule; it doubles the finding's weight in its user's risk score.

    A verdict on a finding already judged replaces the earlier one and revokes the rules it left.
    Open findings the new rule covers are closed with it (each with its own history entry).
    Raises InputError for an unknown finding, a missing note or reviewer, or options that do not fit
    the verdict.
    """
    who = _who(reviewer, "findings review")
    why = _text(note, "findings review")
    verdict = Verdict(verdict)
    if verdict is Verdict.CONFIRMED and suppress_days is not None:
        raise InputError("--suppress-days applies to false_positive and explained, not confirmed")
    if verdict is not Verdict.EXPLAINED and explained_by is not None:
        raise InputError(f"--explained-by applies to the explained verdict, not {verdict.value}")
    if verdict is Verdict.FALSE_POSITIVE and suppress_days is None:
        raise InputError("a false_positive verdict needs --suppress-days N: a suppression must expire",
                         hint="e.g. --suppress-days 30; the pattern is alerted again after it")
    if suppress_days is not None and not 1 <= suppress_days <= MAX_RULE_DAYS:
        raise InputError(f"--suppress-days {suppress_days}: expected 1 to {MAX_RULE_DAYS} days")
    with people.transaction():
        f = _get(people, finding_id)
        revoked = []
        for r in repo.load_rules(people):
            if r.source_finding == f.finding_id and r.revoked_at is None and r.active(now):
                repo.revoke_rule(people, r.rule_id, who, now, f"superseded by a {verdict.value} verdict")
                revoked.append(r.rule_id)
        rule = None
        if verdict is not Verdict.CONFIRMED:
            rule = _rule_for(f, verdict, explained_by or ExplainedBy.OTHER, why or "", who, now,
                             suppress_days or DEFAULT_EXPLANATION_DAYS)
            repo.insert_rule(people, rule)
        repo.set_state(people, f.finding_id, verdict.state, who, now)
        detail: dict[str, object] = {}
        if rule is not None:
            detail = {"rule_id": rule.rule_id, "expires_at": rule.expires_at.isoformat() if rule.expires_at else None}
            if rule.explained_by:
                detail["explained_by"] = rule.explained_by.value
        if revoked:
            detail["revoked"] = revoked
        repo.add_event(people, f.finding_id, now, who, EventKind.VERDICT, f.state, verdict.state, note=why,
                       detail=detail)
        closed: list[str] = []
        if rule is not None:
            candidates = FindingFilter(states=(FindingState.OPEN,), org_ids=(rule.org_id,) if rule.org_id else (),
                                       user_id=rule.user_id, detector=rule.detector, record=rule.record,
                                       include_absent=True)
            for other in repo.load_findings(people, candidates):
                if other.finding_id != f.finding_id and rule.matches(pattern_of(other)):
                    _auto_verdict(people, other.finding_id, rule, verdict.state, (other.state, None), now)
                    closed.append(other.finding_id)
        return ReviewOutcome(_get(people, f.finding_id), rule, tuple(revoked), tuple(closed))


def _rule_for(f: ReviewedFinding, verdict: Verdict, explained_by: ExplainedBy, note: str, who: str,
              now: datetime, days: int) -> ReviewRule:
    kind = RuleKind.SUPPRESSION if verdict is Verdict.FALSE_POSITIVE else RuleKind.EXPLANATION
    detector: str | None = f.detector
    user, record = f.user_id, f.record
    if kind is RuleKind.EXPLANATION:
        if explained_by is ExplainedBy.INVOLVEMENT:
            if f.record is None or f.org_id is None:
                raise InputError(
                    f"finding {f.finding_id} is about no single record, so it cannot be explained by an involvement",
                    hint="use --explained-by entitlement or other, or add the involvement to involvements.csv")
            detector, user = None, None  # any of the organisation's users reading this child
        elif explained_by is ExplainedBy.ENTITLEMENT:
            if f.user_id is None or f.org_id is None:
                raise InputError(f"finding {f.finding_id} is about no user, so no role entitlement explains it",
                                 hint="use --explained-by other")
            record = None  # the user's accesses to any record
    rid = ("sup-" if kind is RuleKind.SUPPRESSION else "exp-") + finding_key(
        "rule", kind.value, f.finding_id, now.isoformat(), who)[:10]
    return ReviewRule(
        rule_id=rid, kind=kind, detector=detector, org_id=f.org_id, user_id=user, record=record,
        explained_by=explained_by if kind is RuleKind.EXPLANATION else None, note=note, created_by=who,
        created_at=now, expires_at=now + timedelta(days=days), source_finding=f.finding_id,
    )


def start_review(people: PeopleStore, finding_id: str, reviewer: str, now: datetime,
                 note: str | None = None) -> ReviewedFinding:
    """Move an open finding to under_review (taken by `reviewer`, who becomes its assignee if it has none)."""
    who = _who(reviewer, "findings start")
    text = _text(note, "findings start", required=False)
    with people.transaction():
        f = _get(people, finding_id)
        if f.state is not FindingState.OPEN:
            raise InputError(f"finding {f.finding_id} is {f.state.value}, not open",
                             hint="reopen it first with `audit-kit findings reopen`")
        repo.set_state(people, f.finding_id, FindingState.UNDER_REVIEW, who, now)
        if f.assignee is None:
            repo.set_assignee(people, f.finding_id, who, who, now)
        repo.add_event(people, f.finding_id, now, who, EventKind.STATE, f.state, FindingState.UNDER_REVIEW, note=text)
        return _get(people, f.finding_id)


def assign(people: PeopleStore, finding_id: str, assignee: str | None, actor: str, now: datetime,
           note: str | None = None) -> ReviewedFinding:
    """Give a finding to `assignee` (None: unassign). An open finding moves to under_review."""
    who = _who(actor, "findings assign")
    text = _text(note, "findings assign", required=False)
    to = (assignee or "").strip() or None
    with people.transaction():
        f = _get(people, finding_id)
        repo.set_assignee(people, f.finding_id, to, who, now)
        new_state = FindingState.UNDER_REVIEW if (f.state is FindingState.OPEN and to) else None
        if new_state:
            repo.set_state(people, f.finding_id, new_state, who, now)
        repo.add_event(people, f.finding_id, now, who, EventKind.ASSIGNED, f.state if new_state else None,
                       new_state, note=text, detail={"assignee": to, "previous": f.assignee})
        return _get(people, f.finding_id)


def add_note(people: PeopleStore, finding_id: str, note: str, author: str, now: datetime) -> ReviewEvent:
    """Add a note to a finding's history (its state is unchanged)."""
    who = _who(author, "findings note")
    text = _text(note, "findings note")
    with people.transaction():
        f = _get(people, finding_id)
        event_id = repo.add_event(people, f.finding_id, now, who, EventKind.NOTE, note=text)
    return next(e for e in repo.load_events(people, f.finding_id) if e.event_id == event_id)


def reopen(people: PeopleStore, finding_id: str, reviewer: str, now: datetime, note: str) -> ReviewOutcome:
    """Reopen a judged finding (back to open), revoking the rules its verdict left."""
    who = _who(reviewer, "findings reopen")
    why = _text(note, "findings reopen")
    with people.transaction():
        f = _get(people, finding_id)
        if not f.state.is_verdict:
            raise InputError(f"finding {f.finding_id} is {f.state.value}: only a judged finding can be reopened")
        revoked = []
        for r in repo.load_rules(people):
            if r.source_finding == f.finding_id and r.revoked_at is None:
                repo.revoke_rule(people, r.rule_id, who, now, f"finding reopened: {why}")
                revoked.append(r.rule_id)
        repo.set_state(people, f.finding_id, FindingState.OPEN, who, now)
        repo.add_event(people, f.finding_id, now, who, EventKind.STATE, f.state, FindingState.OPEN, note=why,
                       detail={"revoked": revoked} if revoked else {})
        return ReviewOutcome(_get(people, f.finding_id), None, tuple(revoked))


def revoke_rule(people: PeopleStore, rule_id: str, reviewer: str, now: datetime, note: str) -> ReviewRule:
    """End a suppression or explanation now (kept, with who and why). Findings it closed stay closed;
    the pattern is alerted again from now on."""
    who = _who(reviewer, "findings revoke")
    why = _text(note, "findings revoke")
    with people.transaction():
        rules = repo.load_rules(people, rule_ids=[rule_id.strip()])
        if not rules:
            raise InputError(f"rule {rule_id!r}: no such suppression or explanation",
                             hint="list them with `audit-kit findings suppressions --all`")
        rule = rules[0]
        if rule.revoked_at is not None:
            raise InputError(f"rule {rule.rule_id} was already revoked on {rule.revoked_at:%Y-%m-%d} by {rule.revoked_by}")
        repo.revoke_rule(people, rule.rule_id, who, now, why or "")
        if rule.source_finding and repo.get_finding(people, rule.source_finding) is not None:
            repo.add_event(people, rule.source_finding, now, who, EventKind.RULE_REVOKED, note=why,
                           detail={"rule_id": rule.rule_id})
        return repo.load_rules(people, rule_ids=[rule.rule_id])[0]


# -- reading --------------------------------------------------------------------------------------
def list_findings(people: PeopleStore, flt: FindingFilter | None = None, limit: int | None = None,
                  offset: int = 0) -> list[ReviewedFinding]:
    """Reviewed findings matching `flt`, most severe first (see `store.review.FindingFilter`)."""
    return repo.load_findings(people, flt, limit, offset)


def history(people: PeopleStore, finding_id: str) -> list[ReviewEvent]:
    """A finding's history, oldest first (InputError for an unknown finding)."""
    f = _get(people, finding_id)
    return repo.load_events(people, f.finding_id)


def rules(people: PeopleStore, now: datetime, include_inactive: bool = False,
          kind: RuleKind | None = None) -> list[ReviewRule]:
    """Suppressions and explanations: those in force at `now`, or all of them."""
    found = repo.load_rules(people, kind)
    return found if include_inactive else [r for r in found if r.active(now)]
