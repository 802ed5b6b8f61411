"""Reviewers' explanations in the explained-access model: what an `explained` verdict teaches detection.

A reviewer who explains a finding (`audit-kit findings review ID --verdict explained`) leaves an
explanation in the people store (docs/review.md). Its scope — an organisation with one child (a
relationship the involvements file lacks), a user at an organisation (a role entitlement), or one
user with one child — marks matching accesses made before the explanation ends as explained, next
to involvements, entitlements and allow-lists; so the same pattern is not found again. They count
under the explained-access rate's allow-list share.

Explanations name records by their keyed pseudonym, so the match compares the engine's pseudonym of
each access's record; with no explanation in force nothing is computed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import ibis

from audit_kit.models.review import ExplanationScope, RuleKind
from audit_kit.store.review import read_rules

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from audit_kit.detectors.context import DetectionContext

# Far-future stand-in for "no end", so every key has a comparable timestamp.
_OPEN_END = "9999-12-31 00:00:00"


def explanation_scopes(ctx: DetectionContext) -> list[ExplanationScope]:
    """The scopes of every explanation recorded in the workspace (revoked or expired ones keep their
    end time: they still explain accesses made before it)."""
    if "review_scopes" not in ctx._cache:
        rules = read_rules(ctx.ws.path, RuleKind.EXPLANATION)
        ctx._cache["review_scopes"] = [s for r in rules if (s := r.model_scope()) is not None]
    return list(ctx._cache["review_scopes"])


def with_reviewed(ctx: DetectionContext, x: ir.Table) -> ir.Table:
    """`x` (user_id, org_id, record_id, first_ts …, allowed) with `allowed` also true where a reviewer's
    explanation covers the access."""
    scopes = explanation_scopes(ctx)
    if not scopes:
        return x
    # One key per scope shape; several explanations of the same key keep the latest end.
    ends: dict[str, str] = {}
    for s in scopes:
        key = "|".join((s.org_id, s.user_id or "*", s.record or "*"))
        end = s.until.isoformat(sep=" ") if s.until else _OPEN_END
        ends[key] = max(ends.get(key, end), end)
    # Built from a literal inside the engine (no client-side table to register), kept as an aggregate.
    rows = [{"rv_key": k, "rv_until": datetime.fromisoformat(u)} for k, u in sorted(ends.items())]
    lit = ibis.literal(rows, type="array<struct<rv_key: string, rv_until: timestamp>>")
    one = ctx.table("events").aggregate(rv_n=ibis._.count())
    keys = ctx.materialise("review_keys", one.select(rv=lit.unnest()).unpack("rv"))
    pseud = ctx.pseudonymise_expr(x.record_id)
    org = x.org_id.fill_null("")
    user = x.user_id.fill_null("")
    shapes = {
        "rv_org_rec": org + "|*|" + pseud,
        "rv_user_any": org + "|" + user + "|*",
        "rv_user_rec": org + "|" + user + "|" + pseud,
    }
    y = x.mutate(**shapes)
    for i, name in enumerate(shapes):
        k = keys.select(**{f"k{i}": keys.rv_key, f"u{i}": keys.rv_until})
        y = y.left_join(k, y[name] == k[f"k{i}"]).select(y, k[f"u{i}"])
    hit = ibis.literal(False)
    for i in range(len(shapes)):
        hit = hit | (y[f"u{i}"].notnull() & (y.first_ts < y[f"u{i}"]))
    y = y.mutate(allowed=(y.allowed | hit).fill_null(False))
    return y.select(*x.columns)
