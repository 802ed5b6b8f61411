"""Charts keep every label inside the drawing: nothing a reader needs is cut off at the edge."""

from __future__ import annotations

from audit_kit.report.charts import heat_map, stacked_bars

# The same estimate the legend lays out with: about 6.2 units a character at the legend's type size.
CHAR_W = 6.2


def _legend_fits(chart) -> None:
    assert chart.legend, "the chart has a legend"
    for sw in chart.legend:
        assert sw.label_x + CHAR_W * len(sw.label) <= chart.width, f"legend label {sw.label!r} runs off the chart"
        assert sw.y + sw.height <= chart.height, f"legend row of {sw.label!r} is below the chart"


def test_a_long_scorecard_legend_wraps_inside_the_chart():
    colours = {"achieved": "#2e7d32", "partial": "#f9a825", "not achieved": "#c62828", "not answered": "#b0bec5",
               "not scored": "#dddddd"}
    rows = [(f"Domain {i}", [("achieved", 3), ("partial", 1), ("not achieved", 1)]) for i in range(8)]
    chart = stacked_bars(rows, colours, "Control outcomes", "none")
    _legend_fits(chart)
    assert len({sw.y for sw in chart.legend}) == 2  # wrapped onto a second row


def test_the_heat_map_legend_fits():
    _legend_fits(heat_map({(2, 3): ["LA01"], (5, 5): ["POL01", "GP02", "SCH03"]}, "Risk", "none"))
