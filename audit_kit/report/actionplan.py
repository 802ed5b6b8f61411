"""The action plan both ways, as a library: issue plans to bodies (record them and write workbooks),
and take returned workbooks back into the people-side store.

Used by `audit-kit actions` and meant for the web app too (a DPO submitting responses online calls
`audit_kit.store.actions.record_responses` with the same `ActionResponse` models).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from audit_kit.errors import InputError
from audit_kit.models.actions import IssuedAction
from audit_kit.models.assessment import NationalAssessment, OrgAssessment
from audit_kit.report.workbook import ReturnedPlan, read_action_plan, write_action_plan
from audit_kit.store import actions as action_store
from audit_kit.store.people import PeopleStore


def issued_actions(assessment: NationalAssessment, org: OrgAssessment, issued: date) -> list[IssuedAction]:
    return [IssuedAction(action_id=a.action_id, org_id=org.org_id, assessment_id=assessment.assessment_id,
                         issued=issued, due=issued + timedelta(days=a.due_days), priority=a.priority, title=a.title,
                         findings=a.findings, owner_role=a.owner_role.value) for a in org.actions]


def issue_plans(people: PeopleStore, assessment: NationalAssessment, orgs: Sequence[OrgAssessment],
                paths: dict[str, Path], issued: date) -> list[Path]:
    """Record each body's plan as issued on `issued` and write its workbook to `paths[org_id]`.

    Earlier responses to the same actions are filled in, so a body updates rather than starts again.
    """
    previous = action_store.latest_responses(people)
    written = []
    for org in orgs:
        out = paths[org.org_id]
        write_action_plan(out, org.org_id, org.name, assessment.assessment_id, issued, org.actions, previous)
        written.append(out)
    action_store.record_issued(people, [a for org in orgs for a in issued_actions(assessment, org, issued)])
    return written


@dataclass
class ImportResult:
    plans: list[ReturnedPlan] = field(default_factory=list)
    recorded: int = 0

    @property
    def problems(self) -> list[str]:
        return [f"{p.path}: {msg}" for p in self.plans for msg in p.problems]


def import_plans(people: PeopleStore, paths: Sequence[Path], now: datetime, dry_run: bool = False) -> ImportResult:
    """Read returned plans; when none has a problem (and not `dry_run`), record every response at once.

    Raises InputError for a file that cannot be read as an action plan, and (after reading all) for
    any row-level problem, listing each; nothing is recorded unless everything is valid.
    """
    known: dict[str, set[str]] = {}
    for a in action_store.issued_actions(people):
        known.setdefault(a.org_id, set()).add(a.action_id)
    result = ImportResult([read_action_plan(Path(p), known) for p in paths])
    problems = result.problems
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise InputError(f"{len(problems)} problem(s) in the returned action plan(s); nothing was recorded:\n  {shown}")
    if not dry_run:
        result.recorded = action_store.record_responses(people, [r for p in result.plans for r in p.responses], now)
    return result
