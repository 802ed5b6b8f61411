"""What the reviewer's workflow adds to a report's method and limitations: the suppressions and
explanations in force on the report's date (docs/review.md).

A suppression hides a recurring pattern from alerts until it expires, so a report must say which
patterns were set aside, by whom, why and until when. Nothing is added while there are none (a
workspace nobody has reviewed renders exactly as before).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time

from audit_kit.models.review import ReviewRule, RuleKind
from audit_kit.report.models import KeyValue
from audit_kit.store.review import read_rules
from audit_kit.store.workspace import Workspace


def rules_in_force(ws: Workspace, on: date) -> list[ReviewRule]:
    """Suppressions and explanations in force at the start of `on` (none when nothing was reviewed)."""
    at = datetime.combine(on, time())
    return [r for r in read_rules(ws.path) if r.active(at)]


def limitation_notes(ws: Workspace, on: date, restricted: bool) -> list[KeyValue]:
    """Method facts naming the suppressions and explanations in force (restricted: each one with its
    scope, reviewer and reason; public: counts by detector)."""
    found = rules_in_force(ws, on)
    out = []
    for kind, label in ((RuleKind.SUPPRESSION, "Suppressed by review"), (RuleKind.EXPLANATION, "Explained by review")):
        mine = [r for r in found if r.kind is kind]
        if not mine:
            continue
        lead = (f"{len(mine)} {kind.value}{'s' if len(mine) != 1 else ''} in force on {on:%d %b %Y}: findings of "
                "these patterns are stored but not alerted" + (" and the accesses they cover count as explained"
                                                                if kind is RuleKind.EXPLANATION else "") + ". ")
        if restricted:
            text = lead + "; ".join(r.describe() for r in mine[:20]) + (
                f"; and {len(mine) - 20} more (audit-kit findings suppressions)" if len(mine) > 20 else "")
        else:
            by = Counter(r.detector or "any detector" for r in mine)
            text = lead + "By detector: " + ", ".join(f"{d} {k}" for d, k in sorted(by.items())) + "."
        out.append(KeyValue(label, text))
    return out
