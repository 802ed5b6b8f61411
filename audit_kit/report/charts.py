"""Chart geometry for the templated SVG charts (no plotting library).

Each function takes small, already-aggregated data and returns a `Chart` whose rectangles and
text marks are positioned here; `charts/chart.svg` only loops over them. Colours come from one
palette so every chart reads the same way (risk: green → red; outcomes: achieved → not achieved).
"""

from __future__ import annotations

from collections.abc import Sequence

from audit_kit.assessment.risk import risk_level as matrix_level
from audit_kit.report.models import Bar, Chart, TextMark

RISK_LEVELS = ("Very Low", "Low", "Moderate", "High", "Very High")
RISK_COLOURS = {
    "Very Low": "#2e7d32",
    "Low": "#8bc34a",
    "Moderate": "#f9a825",
    "High": "#ef6c00",
    "Very High": "#c62828",
}
SEVERITY_COLOURS = {
    "info": "#90a4ae",
    "low": "#8bc34a",
    "medium": "#f9a825",
    "high": "#ef6c00",
    "critical": "#c62828",
}
NEUTRAL = "#5c6bc0"


def risk_level(likelihood: int, impact: int) -> str:
    """Level of a 5×5 cell: the same NIST SP 800-30 matrix the ratings use (audit_kit.assessment.risk)."""
    return matrix_level(likelihood, impact).value


def bar_chart(
    title: str, items: Sequence[tuple[str, float, str]], empty: str, unit: str = "", width: float = 480
) -> Chart:
    """Vertical bars, one per (label, value, colour)."""
    if not items or all(v == 0 for _, v, _ in items):
        return Chart(title=title, description=empty, width=width, height=40, empty=empty)
    height, top, bottom, left = 200.0, 18.0, 42.0, 10.0
    plot_h = height - top - bottom
    peak = max(v for _, v, _ in items) or 1
    slot = (width - 2 * left) / len(items)
    bars = []
    for i, (label, value, colour) in enumerate(items):
        h = plot_h * value / peak
        x = left + i * slot + slot * 0.15
        w = slot * 0.7
        y = top + plot_h - h
        bars.append(
            Bar(
                x=round(x, 1),
                y=round(y, 1),
                width=round(w, 1),
                height=round(h, 1),
                fill=colour,
                label=label,
                value=f"{value:,.0f}{unit}",
                label_x=round(x + w / 2, 1),
                label_y=round(top + plot_h + 14, 1),
                value_x=round(x + w / 2, 1),
                value_y=round(y - 4, 1),
            )
        )
    desc = "; ".join(f"{label}: {value:,.0f}{unit}" for label, value, _ in items)
    return Chart(title=title, description=desc, width=width, height=height, bars=bars)


def heat_map(cells: dict[tuple[int, int], list[str]], title: str, empty: str) -> Chart:
    """5×5 likelihood (rows, 5 at top) × impact (columns) grid; each cell counts bodies, names a few."""
    if not cells:
        return Chart(title=title, description=empty, width=420, height=40, empty=empty)
    size, left, top = 64.0, 70.0, 10.0
    bars, texts = [], []
    for lik in range(1, 6):
        for imp in range(1, 6):
            x = left + (imp - 1) * size
            y = top + (5 - lik) * size
            orgs = sorted(cells.get((lik, imp), []))
            level = risk_level(lik, imp)
            bars.append(
                Bar(
                    x=x,
                    y=y,
                    width=size - 2,
                    height=size - 2,
                    fill=RISK_COLOURS[level],
                    label=level,
                    value=str(len(orgs)),
                )
            )
            if orgs:
                texts.append(TextMark(x + size / 2 - 1, y + 24, str(len(orgs)), size=16, weight="bold"))
                shown = ", ".join(orgs[:2]) + (f" +{len(orgs) - 2}" if len(orgs) > 2 else "")
                texts.append(TextMark(x + size / 2 - 1, y + 42, shown[:22], size=7))
    for i in range(5):
        texts.append(TextMark(left + i * size + size / 2, top + 5 * size + 14, str(i + 1), size=9))
        texts.append(TextMark(left - 10, top + (4 - i) * size + size / 2 + 3, str(i + 1), anchor="end"))
    texts.append(TextMark(left + 2.5 * size, top + 5 * size + 30, "Impact", size=10, weight="bold"))
    texts.append(TextMark(18, top + 2.5 * size, "Likelihood", size=10, weight="bold", rotate=-90))
    legend, legend_h = _legend([(lvl, RISK_COLOURS[lvl]) for lvl in RISK_LEVELS], y=top + 5 * size + 44, left=left,
                               right=416)
    desc = "; ".join(
        f"likelihood {lik}, impact {imp}: {len(v)} bodies" for (lik, imp), v in sorted(cells.items()) if v
    )
    return Chart(
        title=title,
        description=desc,
        width=420,
        height=top + 5 * size + 46 + legend_h,
        bars=bars,
        texts=texts,
        legend=legend,
    )


def contiguous_weeks(weeks: Sequence[str]) -> list[str]:
    """Every Monday from the first week to the last (ISO dates), so empty weeks show as empty columns."""
    from datetime import date, timedelta

    if not weeks:
        return []
    first, last = date.fromisoformat(min(weeks)), date.fromisoformat(max(weeks))
    out = []
    while first <= last:
        out.append(first.isoformat())
        first += timedelta(days=7)
    return out


def time_grid(
    rows: list[str], columns: list[str], counts: dict[tuple[str, str], int], title: str, empty: str
) -> Chart:
    """Rows × weeks, each cell shaded by its count (findings by detector over time).

    `columns` are made contiguous (a week with no findings is an empty column, not skipped); labels
    are written as day and month, and only as often as they fit without overprinting.
    """
    columns = contiguous_weeks(columns)
    if not rows or not columns or not counts:
        return Chart(title=title, description=empty, width=480, height=40, empty=empty)
    left, top, cell_h = 215.0, 26.0, 16.0
    cell_w = min(40.0, (640 - left) / len(columns))
    peak = max(counts.values()) or 1
    bars, texts = [], []
    for r, row in enumerate(rows):
        label = row if len(row) <= 44 else row[:43] + "…"
        texts.append(TextMark(left - 6, top + r * cell_h + 11, label, anchor="end", size=8))
        for c, col in enumerate(columns):
            n = counts.get((row, col), 0)
            shade = 0.0 if n == 0 else 0.2 + 0.8 * n / peak
            fill = "#eceff1" if n == 0 else _mix("#ffe0b2", "#b71c1c", shade)
            bars.append(
                Bar(
                    x=left + c * cell_w,
                    y=top + r * cell_h,
                    width=cell_w - 1,
                    height=cell_h - 1,
                    fill=fill,
                    label=f"{row} {col}",
                    value=str(n),
                )
            )
            if n:
                texts.append(TextMark(left + c * cell_w + cell_w / 2, top + r * cell_h + 11, str(n), size=7))
    label_w = 34.0  # "12 Oct" at 7 pt
    step = max(1, int(-(-label_w // cell_w)))
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    for c, col in enumerate(columns):
        if c % step == 0:
            label = f"{int(col[8:10])} {months[int(col[5:7]) - 1]}"
            texts.append(TextMark(left + c * cell_w + 1, top - 6, label, anchor="start", size=7))
    desc = f"{sum(counts.values())} findings across {len(rows)} kinds and {len(columns)} weeks (week starting)"
    return Chart(
        title=title,
        description=desc,
        width=left + len(columns) * cell_w + 10,
        height=top + len(rows) * cell_h + 8,
        bars=bars,
        texts=texts,
    )


def stacked_bars(
    rows: list[tuple[str, list[tuple[str, float]]]], colours: dict[str, str], title: str, empty: str
) -> Chart:
    """Horizontal 100% stacked bars: one row per label, segments (category, count)."""
    rows = [(label, segs) for label, segs in rows if sum(v for _, v in segs) > 0]
    if not rows:
        return Chart(title=title, description=empty, width=480, height=40, empty=empty)
    left, top, bar_h, width = 150.0, 8.0, 16.0, 330.0
    bars, texts, desc = [], [], []
    for r, (label, segs) in enumerate(rows):
        y = top + r * (bar_h + 6)
        total = sum(v for _, v in segs)
        texts.append(TextMark(left - 6, y + 12, label[:28], anchor="end", size=8))
        x = left
        for cat, v in segs:
            w = width * v / total
            if w > 0:
                bars.append(
                    Bar(
                        x=round(x, 1),
                        y=y,
                        width=round(w, 1),
                        height=bar_h,
                        fill=colours.get(cat, NEUTRAL),
                        label=cat,
                        value=f"{v:,.0f}",
                    )
                )
                if w > 16:
                    texts.append(TextMark(round(x + w / 2, 1), y + 12, f"{v:,.0f}", size=7))
            x += w
        desc.append(f"{label}: " + ", ".join(f"{c} {v:,.0f}" for c, v in segs))
    legend_y = top + len(rows) * (bar_h + 6) + 8
    legend, legend_h = _legend(list(colours.items()), y=legend_y, left=left, right=left + width + 16)
    return Chart(
        title=title,
        description="; ".join(desc),
        width=left + width + 20,
        height=legend_y + legend_h + 6,
        bars=bars,
        texts=texts,
        legend=legend,
    )


def _legend(items: list[tuple[str, str]], y: float, left: float, right: float) -> tuple[list[Bar], float]:
    """Legend swatches from `left`, wrapped onto further rows before `right` (a chart's labels must never be
    cut off at its edge); returns the swatches and the height they take."""
    out, x, row_y = [], left, y
    for label, colour in items:
        need = 22 + 6.2 * len(label)
        if x > left and x + need - 8 > right:
            x, row_y = left, row_y + 16
        out.append(
            Bar(
                x=x,
                y=row_y,
                width=10,
                height=10,
                fill=colour,
                label=label,
                value="",
                label_x=x + 14,
                label_y=row_y + 9,
            )
        )
        x += need
    return out, row_y - y + 16


def _mix(a: str, b: str, t: float) -> str:
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))
