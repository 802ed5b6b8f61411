"""Tables repeated hundreds of times (the national annex, every risk's evidence) carry their column widths, so
WeasyPrint lays them out without measuring every cell first (the HTML goldens hold the markup); a wrong set of
widths is refused when built."""

from __future__ import annotations

import pytest

from audit_kit.report.models import Table


def test_a_table_with_column_widths_gives_every_column_a_share_of_100() -> None:
    assert Table(["Domain", "Score"], [["People", "79%"]], widths=(70, 30)).widths == (70, 30)
    for bad in ((70,), (70, 20), (50, 30, 20)):
        with pytest.raises(ValueError, match="100 in all"):
            Table(["Domain", "Score"], [], widths=bad)


def test_a_table_says_its_classes() -> None:
    assert Table(["Domain", "Score"], [], widths=(70, 30)).css == "fixed"
    assert Table([str(i) for i in range(7)], []).css == "wide"
    assert Table(["Domain", "Score"], []).css == ""
