"""The public summary: aggregates by type of body and area, with small numbers suppressed.

Suppression follows the practice of UK official statistics for small counts:

- a count from 1 to 7 is shown as `*` (primary suppression); 0 is shown as 0;
- every other count is rounded to the nearest 5 (so a shown count is 0, `*`, or 10 or more);
- totals are computed from the true counts, then suppressed and rounded the same way;
- secondary suppression: where a row or column holds exactly one suppressed cell, the next smallest
  non-zero cell of that row or column is suppressed too, repeated until none is alone, so a
  suppressed cell cannot be worked back from its total and the other cells.

The document names no body, person, user, record, address, file or per-body control result.
"""

from __future__ import annotations

from collections.abc import Sequence

from audit_kit.models.actions import Priority
from audit_kit.models.assessment import OrgAssessment
from audit_kit.report.models import Table

SMALL = 7  # counts 1..SMALL are suppressed
ROUND_TO = 5
RULE = ("Counts from 1 to 7 are shown as * and all other counts are rounded to the nearest 5, so a count shown is "
        "0, * or 10 or more. Totals are worked out from the true figures and then suppressed or rounded in the same "
        "way, so rows may not add up exactly. Where a row or column would have only one suppressed cell, another "
        "is suppressed as well, so that no suppressed figure can be worked out from the others. No body, person, "
        "account, record, network address or file is named, and no single body's results are shown.")


def shown(value: int) -> str:
    """One count as published: 0, '*' for 1–7, else rounded to the nearest 5."""
    if value <= 0:
        return "0"
    if value <= SMALL:
        return "*"
    return f"{int(ROUND_TO * round(value / ROUND_TO)):,}"


def suppress(matrix: Sequence[Sequence[int]]) -> list[list[bool]]:
    """Which cells to suppress: primary (1–7) and secondary (no row or column with one suppressed cell)."""
    hidden = [[0 < v <= SMALL for v in row] for row in matrix]
    rows, cols = len(matrix), len(matrix[0]) if matrix else 0
    changed = True
    while changed:
        changed = False
        lines = [[(r, c) for c in range(cols)] for r in range(rows)] + [[(r, c) for r in range(rows)]
                                                                         for c in range(cols)]
        for line in lines:
            if sum(hidden[r][c] for r, c in line) != 1:
                continue
            candidates = [(matrix[r][c], r, c) for r, c in line if not hidden[r][c] and matrix[r][c] > 0]
            if not candidates:
                continue  # the others are true zeros: the total equals the hidden cell, and the total is hidden too
            _, r, c = min(candidates)
            hidden[r][c] = True
            changed = True
    return hidden


def table(row_labels: Sequence[str], col_labels: Sequence[str], matrix: Sequence[Sequence[int]], caption: str,
          first: str) -> Table:
    """A published cross-table with a Total column and row, suppressed and rounded."""
    hidden = suppress(matrix)
    body = []
    for label, values, mask in zip(row_labels, matrix, hidden, strict=True):
        total = sum(values)
        body.append([label, *["*" if h else shown(v) for v, h in zip(values, mask, strict=True)], shown(total)])
    col_totals = [sum(row[c] for row in matrix) for c in range(len(col_labels))]
    body.append(["Total", *[shown(t) for t in col_totals], shown(sum(col_totals))])
    return Table([first, *col_labels, "Total"], body, caption=caption, empty="Nothing to publish.")


def _label(text: str) -> str:
    words = text.replace("_", " ").split()
    fixed = [w.upper() if w.lower() in ("nhs", "gp") else w for w in words]
    label = " ".join(fixed)
    return label[:1].upper() + label[1:]


def by_type(rated: Sequence[OrgAssessment], opinions: dict[str, str], levels: Sequence[str]) -> Table:
    types = sorted({o.type for o in rated})
    matrix = [[sum(1 for o in rated if o.type == t and opinions[o.org_id] == lv) for lv in levels] for t in types]
    return table([_label(t) for t in types], list(levels), matrix,
                 "Bodies by type and assurance opinion", "Type of body")


def by_area(rated: Sequence[OrgAssessment], risk_levels: Sequence[str]) -> Table:
    areas = sorted({o.area for o in rated})
    matrix = [[sum(1 for o in rated if o.area == a and o.risk_level.value == lv) for lv in risk_levels]
              for a in areas]
    return table(list(areas), list(risk_levels), matrix, "Bodies by area and level of their worst risk", "Area")


def findings_by_type(rated: Sequence[OrgAssessment], theme_titles: dict[str, str]) -> Table:
    """Access findings (medium and above) behind each risk theme, by type of body."""
    types = sorted({o.type for o in rated})
    themes = [k for k in theme_titles if k != "no_assurance"]
    matrix = []
    for key in themes:
        row = []
        for t in types:
            total = 0
            for o in rated:
                if o.type != t:
                    continue
                contra = {c.finding_id for c in o.contradictions}
                total += sum(len([f for f in e.findings if f not in contra]) for e in o.register if e.theme == key)
            row.append(total)
        matrix.append(row)
    keep = [i for i, row in enumerate(matrix) if any(row)]
    return table([theme_titles[themes[i]] for i in keep], [_label(t) for t in types], [matrix[i] for i in keep],
                 "Access findings of medium severity or above, by risk theme and type of body", "Risk theme")


def actions_by_priority(rated: Sequence[OrgAssessment]) -> Table:
    types = sorted({o.type for o in rated})
    prios = list(Priority)
    matrix = [[sum(1 for o in rated if o.type == t for a in o.actions if a.priority is p) for t in types]
              for p in prios]
    return table([p.value.capitalize() for p in prios], [_label(t) for t in types], matrix,
                 "Recommendations made to bodies, by priority and type of body", "Priority")
