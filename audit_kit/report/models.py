"""Typed view models: everything a report template may show, already computed and formatted.

Templates only loop over these and print their fields; every decision (what to show for which
audience, how to word an empty section, where a chart bar goes) is made in Python, in
`audit_kit.report.sections` and `audit_kit.report.charts`.
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
    empty: str = "Nothing to show."  # "": nothing is printed (the absence is said beside the table)
    caption: str = ""
    nowrap: tuple[int, ...] = ()  # columns kept on one line (dates, levels, verdicts)
    # Column widths in percent of the table, for tables repeated hundreds of times (the national annex): a
    # fixed layout spares WeasyPrint measuring every cell to size the columns. Empty: sized by content.
    widths: tuple[int, ...] = ()

    @property
    def css(self) -> str:
        """The table's classes: `wide` (small print) past six columns, `fixed` when its widths are set."""
        return " ".join(c for c, on in (("wide", len(self.headers) > 6), ("fixed", bool(self.widths))) if on)

    def __post_init__(self) -> None:
        if self.widths and (len(self.widths) != len(self.headers) or sum(self.widths) != 100):
            raise ValueError(f"table {self.caption or self.headers}: widths {self.widths} must give each of its "
                             f"{len(self.headers)} columns a share, 100 in all")


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
    table: Table | None = None  # a ranked table instead of (or beside) a picture that would be a hairball


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
    """One finding as a reader sees it (restricted audience only): what happened, why it matters,
    what to do next, the evidence in plain words and a reference to quote."""

    ref: str
    title: str  # the detector's title
    severity: str
    org: str
    user: str
    records: str
    when: str
    summary: str  # what happened
    why: str
    next: str
    evidence: list[KeyValue]


@dataclass(frozen=True)
class DocControl:
    """Document control: version history, distribution, sign-off and approval, configuration."""

    history: Table
    distribution: Table
    signoff: Table
    basis: list[KeyValue]  # assessment id, method version, configuration and its fingerprint


@dataclass(frozen=True)
class Opinion:
    """An assurance opinion (Substantial / Reasonable / Limited / No) with the reason for it."""

    level: str
    css: str  # substantial / reasonable / limited / none
    reason: str


@dataclass(frozen=True)
class Opinions:
    national: Opinion
    criteria: Table
    by_body: Table
    by_area: Table


@dataclass(frozen=True)
class Limitations:
    """What the review could not see or judge, from facts (window, gaps, untestable controls, …)."""

    items: list[KeyValue]


@dataclass(frozen=True)
class EntryCard:
    """One register entry printed whole: statement, controls, findings, and the evidence for L and I."""

    risk_id: str
    org: str
    title: str
    level: str
    css: str
    rating: str  # "likelihood 4 × impact 3 = High"
    statement: str
    controls: str
    findings: str
    likelihood: list[KeyValue]
    impact: list[KeyValue]
    treatment: str


@dataclass(frozen=True)
class ActionCard:
    """One recommendation of a body's action plan, printed whole."""

    ref: str
    priority: str
    due: str
    title: str
    steps: list[str]
    findings: str
    owner: str
    status: str
    breach: bool


@dataclass(frozen=True)
class OrgAnnex:
    """One organisation's annex page in the national report."""

    org_id: str
    name: str
    opinion: Opinion
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
    doc: DocControl
    key_messages: list[str]
    summary_facts: list[KeyValue]
    opinions: Opinions
    recommendations: Table
    top_risks: Table
    coverage: Coverage
    limitations: Limitations
    method: list[KeyValue]
    scales: Table
    heat_map: Chart
    league: Table
    controls_note: str
    framework_tables: list[Table]
    domain_chart: Chart
    good_practice: list[str]
    findings_facts: list[KeyValue]
    findings_by_detector: Table
    findings_chart: Chart
    findings: list[FindingView]
    findings_note: str
    figures: list[Figure]
    register: Table
    register_cards: list[EntryCard]
    followup: Table
    followup_note: str
    annexes: list[OrgAnnex]
    mapping: Table


@dataclass(frozen=True)
class OrgPack:
    """The whole context of one organisation's DPO pack."""

    meta: Meta
    restricted: bool
    org_id: str
    org_name: str
    doc: DocControl
    opinion: Opinion
    key_messages: list[str]
    scorecard: list[KeyValue]
    domain_chart: Chart
    domains: Table
    answers: Table
    answers_note: str
    findings: list[FindingView]
    findings_table: Table
    findings_note: str
    actions: list[ActionCard]
    breach_prompts: list[str]
    followup: Table
    followup_note: str
    register_cards: list[EntryCard]
    limitations: Limitations
    trend: Table
    trend_note: str
    figures: list[Figure]


@dataclass(frozen=True)
class PublicSummary:
    """The public summary: aggregates by body type and area, small numbers suppressed."""

    meta: Meta
    key_messages: list[str]
    opinion: Opinion
    criteria: Table
    headline: Table
    by_type: Table
    by_area: Table
    findings_by_type: Table
    actions_by_priority: Table
    limitations: Limitations
    rule: str
