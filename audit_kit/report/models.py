"""Typed view models: everything a report template may show, already computed and formatted.

Templates only loop over these and print their fields; every decision (what to show for which
audience, how to word an empty section, where a chart bar goes) is made in Python, in
`audit_kit.report.context` and `audit_kit.report.charts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Audience(str, Enum):
    """Who may read the report.

    `restricted` (default) shows user ids and pseudonymised record ids; `public` shows aggregates
    only. Raw record ids never appear in either.
    """

    RESTRICTED = "restricted"
    PUBLIC = "public"


class ReportFormat(str, Enum):
    PDF = "pdf"
    HTML = "html"


PROTECTIVE_MARKING = "OFFICIAL-SENSITIVE"
PUBLIC_MARKING = "OFFICIAL"


@dataclass(frozen=True)
class Meta:
    """Cover-page and PDF-metadata facts."""

    title: str
    short_title: str  # running header and cover kicker
    subtitle: str
    version: str
    generated_on: str  # ISO date
    reviewer: str
    marking: str
    audience: str
    author: str
    subject: str
    keywords: str
    period: str


@dataclass(frozen=True)
class KeyValue:
    label: str
    value: str


@dataclass(frozen=True)
class Table:
    """A plain table: headers and rows of already-formatted cells. `empty` says why it has no rows."""

    headers: list[str]
    rows: list[list[str]]
    empty: str = "Nothing to show."
    caption: str = ""
    nowrap: tuple[int, ...] = ()  # columns kept on one line (dates, levels, verdicts)


# -- charts (geometry computed in Python; the SVG templates only loop) ---------------------------
@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    label: str
    value: str
    label_x: float = 0.0
    label_y: float = 0.0
    value_x: float = 0.0
    value_y: float = 0.0


@dataclass(frozen=True)
class TextMark:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    size: float = 9.0
    weight: str = "normal"
    rotate: float = 0.0


@dataclass(frozen=True)
class Chart:
    """An SVG chart: rectangles and text marks inside a viewBox, plus a title and accessible summary."""

    title: str
    description: str
    width: float
    height: float
    bars: list[Bar] = field(default_factory=list)
    texts: list[TextMark] = field(default_factory=list)
    legend: list[Bar] = field(default_factory=list)
    empty: str = ""  # when set, the chart has no data and this sentence replaces it


@dataclass(frozen=True)
class Figure:
    """A figure from another module (e.g. a graph SVG), already sanitised, or why it is absent."""

    title: str
    svg: str = ""
    caption: str = ""
    empty: str = ""


# -- sections --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coverage:
    """Scope and data coverage: what the review saw and what it could not."""

    facts: list[KeyValue]
    files: Table
    gaps: Table
    quarantine: Table


@dataclass(frozen=True)
class FindingView:
    """One access finding as a reader sees it (restricted audience only)."""

    detector: str
    severity: str
    org: str
    user: str
    records: str
    when: str
    summary: str
    evidence: list[KeyValue]


@dataclass(frozen=True)
class OrgAnnex:
    """One organisation's annex page in the national report."""

    org_id: str
    name: str
    facts: list[KeyValue]
    controls: Table
    findings: Table
    register: Table
    note: str = ""


@dataclass(frozen=True)
class NationalReport:
    """The whole context of the national risk assessment template."""

    meta: Meta
    restricted: bool
    key_messages: list[str]
    summary_facts: list[KeyValue]
    top_risks: Table
    coverage: Coverage
    method: list[KeyValue]
    scales: Table
    tier_chart: Chart
    heat_map: Chart
    league: Table
    controls_note: str
    framework_tables: list[Table]
    domain_chart: Chart
    findings_facts: list[KeyValue]
    findings_by_detector: Table
    findings_chart: Chart
    findings: list[FindingView]
    findings_note: str
    figures: list[Figure]
    register: Table
    annexes: list[OrgAnnex]
    mapping: Table
    glossary: list[KeyValue]


@dataclass(frozen=True)
class OrgPack:
    """The whole context of one organisation's DPO pack."""

    meta: Meta
    restricted: bool
    org_id: str
    org_name: str
    key_messages: list[str]
    scorecard: list[KeyValue]
    domain_chart: Chart
    domains: Table
    answers: Table
    answers_note: str
    findings: list[FindingView]
    findings_table: Table
    findings_note: str
    actions: Table
    trend: Table
    trend_note: str
    figures: list[Figure]
    glossary: list[KeyValue]
