"""What a report's limitations section says of people's work on the review: the suppressions in force
(the review workflow, `docs/review.md`) and who used audit-kit itself in the period (the web app's
access log, `docs/web.md`). Both live in the people store; the report takes them as facts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from audit_kit.models.review import RuleKind
from audit_kit.report.facts import LimitationInputs, SuppressionFact, ToolAccessFact
from audit_kit.store.people import PEOPLE_FILE, PeopleStore
from audit_kit.store.review import read_rules
from audit_kit.store.web import access_summary, has_web_tables


def limitation_inputs(workspace: Path, on: date, restricted: bool, since: datetime | None = None) -> LimitationInputs:
    """Suppressions in force at the start of `on`, and web access in [since, end of `on`).

    The restricted audience sees each suppression's scope, reviewer and reason; the public one only
    which detector's findings were set aside (scopes name staff accounts)."""
    at = datetime.combine(on, time())
    rules = [r for r in read_rules(workspace, RuleKind.SUPPRESSION) if r.active(at)]
    suppressions = tuple(
        SuppressionFact(scope=r.describe().split(" until ")[0] if restricted else f"findings of {r.detector or 'any detector'}",
                        reason=r.note if restricted else "a reviewer's verdict",
                        until=r.expires_at.date() if r.expires_at else None,
                        by=r.created_by if restricted else "")
        for r in rules
    )
    access: tuple[ToolAccessFact, ...] | None = ()
    if (Path(workspace) / PEOPLE_FILE).exists():
        with PeopleStore.open(Path(workspace), read_only=True) as people:
            if has_web_tables(people):
                summary = access_summary(people, since, datetime.combine(on + timedelta(days=1), time()))
                access = tuple(
                    ToolAccessFact(who=name if restricted else p["role"], role=p["role"],
                                   actions=int(p["reads"]) + int(p["denied"]), first=p["first"], last=p["last"])
                    for name, p in sorted(summary.people.items())
                )
    return LimitationInputs(suppressions=suppressions, tool_access=access)
