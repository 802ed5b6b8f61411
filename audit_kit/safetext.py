"""Text from untrusted inputs made safe for the formats audit-kit writes it into.

Organisation names, questionnaire answers, control titles (an imported OSCAL catalogue's included) and
quarantined rows come from the bodies being audited. A spreadsheet runs a cell that starts with
= + - @ as a formula (CSV injection), and a newline in a one-line field of a YAML or CSV header can
start a new key. Every writer of those formats passes such text through here.
"""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or carriage
    return) gets a leading apostrophe, which spreadsheets hide. Numbers and None pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def single_line(text: str) -> str:
    """Text for a one-line field: line breaks and other control characters become spaces."""
    return "".join(" " if (ch < " " and ch != "\t") or ch in "\u2028\u2029\x85" else ch for ch in text)
