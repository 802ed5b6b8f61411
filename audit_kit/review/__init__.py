"""The reviewer's workflow: finding states and verdicts, learned suppressions and explanations, people
over time, subject access, and notifications (docs/review.md).

Everything people write lives in the workspace's people store (`WS/people.sqlite`, SQLite in WAL
mode), in short transactions, so reviewing never waits for a scan. Open it with
`PeopleStore.open(workspace)`; pass the clock (`now`, naive UTC) from the run context or the request.

```python
from audit_kit.review import PeopleStore, FindingFilter, FindingState, Verdict, list_findings, review_finding
with PeopleStore.open(ws_path) as people:
    todo = list_findings(people, FindingFilter(states=(FindingState.OPEN,), org_ids=("LA001",)))
    review_finding(people, todo[0].finding_id, Verdict.FALSE_POSITIVE, "rota cover, agreed with DPO",
                   reviewer="j.smith", now=now, suppress_days=30)
```

| task | call |
| --- | --- |
| publish stored findings (after detect or a scan) | `sync_findings(ws, people, now)`, `publish(people, findings, now)` |
| list, count | `list_findings(people, FindingFilter(...), limit, offset)`, `count_findings(people, flt)` |
| one finding, its history | `get_finding(people, id)`, `history(people, id)`, `resolve_finding_id(people, text)` |
| act on a finding | `review_finding`, `start_review`, `assign`, `add_note`, `reopen` |
| suppressions and explanations | `rules(people, now, include_inactive)`, `revoke_rule(people, rule_id, …)` |
| before alerting | `triage(workspace, findings, now)` -> suppressed ids, reopened findings |
| people over time | `user_profile`, `repeat_offenders`, `snapshot_users`, `family_lookups` |
| subject access | `subject_access(ws, record_id, now, …)`, `write_json`, `render_pdf` |
| notifications | `audit_kit.review.notify` (digests, chat, tickets) |
"""

from __future__ import annotations

from audit_kit.models.review import (
    EventKind,
    ExplainedBy,
    ExplanationScope,
    FindingState,
    Pattern,
    RepeatOffender,
    ReviewedFinding,
    ReviewEvent,
    ReviewRule,
    RuleKind,
    UserSnapshot,
    Verdict,
    user_risk,
)
from audit_kit.review.people import (
    UserProfile,
    family_lookups,
    repeat_offenders,
    snapshot_users,
    user_profile,
)
from audit_kit.review.workflow import (
    Decision,
    ReviewOutcome,
    SyncResult,
    Triage,
    add_note,
    assign,
    decide,
    history,
    list_findings,
    pattern_of,
    publish,
    reopen,
    resolve_finding_id,
    review_finding,
    revoke_rule,
    rules,
    start_review,
    sync_findings,
    triage,
)
from audit_kit.store.people import PeopleStore
from audit_kit.store.review import FindingFilter, count_findings, get_finding

__all__ = [
    "Decision", "EventKind", "ExplainedBy", "ExplanationScope", "FindingFilter", "FindingState", "Pattern",
    "PeopleStore", "RepeatOffender", "ReviewEvent", "ReviewOutcome", "ReviewRule", "ReviewedFinding", "RuleKind",
    "SyncResult", "Triage", "UserProfile", "UserSnapshot", "Verdict", "add_note", "assign", "count_findings",
    "decide", "family_lookups", "get_finding", "history", "list_findings", "pattern_of", "publish",
    "repeat_offenders", "reopen", "resolve_finding_id", "review_finding", "revoke_rule", "rules",
    "snapshot_users", "start_review", "sync_findings", "triage", "user_profile", "user_risk",
]
