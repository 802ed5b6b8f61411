"""The subject access report's view model: every string the template shows, formatted here.

The template (`reports/templates/subject_access.html`) only loops and prints, like every report
template; the cover page is the shared `base.html`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path

from audit_kit import __version__
from audit_kit.errors import InputError
from audit_kit.report.models import PROTECTIVE_MARKING, KeyValue, Meta, Table
from audit_kit.report.render import html_to_pdf
from audit_kit.report.render import render_html as render_template
from audit_kit.review.subject_access import ACTION_WORDS, SubjectAccessReport

TEMPLATE = "subject_access.html"


@dataclass(frozen=True)
class OrgSection:
    heading: str
    facts: list[KeyValue]
    table: Table


@dataclass(frozen=True)
class SubjectAccessView:
    meta: Meta
    intro: list[str]
    summary: list[KeyValue]
    overview: Table
    organisations: list[OrgSection]
    findings_note: str
    findings: Table
    notes: list[str]


def _day(d: object) -> str:
    return f"{d:%d %b %Y}" if d is not None else "—"


def _actions(actions: dict[str, int]) -> str:
    return ", ".join(f"{ACTION_WORDS.get(a, a)} {n}×" for a, n in sorted(actions.items(), key=lambda kv: -kv[1])) or "—"


def build_view(r: SubjectAccessReport, holder: str | None = None) -> SubjectAccessView:
    restricted = r.audience == "restricted"
    end = r.period_end
    if end is not None and end.time() == time(0):  # an exclusive end at midnight: the day before
        end = end - timedelta(microseconds=1)
    period = f"{_day(r.period_start)} to {_day(end)}" if r.period_start else "the whole log"
    meta = Meta(
        title="Who has accessed this child's record",
        short_title="Subject access · record access history",
        subtitle=f"Reference {r.reference}",
        version=f"audit-kit {__version__}",
        generated_on=r.generated_at.date().isoformat(),
        reviewer=holder or "The data holder",
        marking=PROTECTIVE_MARKING if restricted else "OFFICIAL-SENSITIVE: PERSONAL",
        audience=("Restricted: the data holder's file copy; names staff accounts and the record id"
                  if restricted else "The requester: organisations and roles, no staff names"),
        author=holder or "audit-kit",
        subject="Subject access request: access history of one child's record",
        keywords="subject access, access history, children's records",
        period=period,
    )
    intro = [
        "This report lists every organisation whose staff viewed, searched for, printed, exported or changed "
        f"the child's record in the national database between {period}, taken from the database's own audit log.",
        "For each organisation it shows its recorded relationship with the child, and for each day the roles "
        "involved, what they did and the purpose their system recorded.",
    ]
    who = [KeyValue("Reference", r.reference)]
    if restricted:
        who += [KeyValue("Record id", r.record_id or "—"), KeyValue("Pseudonym", r.pseudonym or "—")]
    summary = who + [
        KeyValue("Period", period),
        KeyValue("Organisations", str(r.totals.get("organisations", 0))),
        KeyValue("Accesses", f"{r.totals.get('accesses', 0):,} on {r.totals.get('days', 0):,} day(s)"),
        KeyValue("Refused attempts", f"{r.totals.get('refused', 0):,}"),
        KeyValue("Findings that touched the record", str(r.totals.get("findings", 0))),
    ]
    overview = Table(
        ["Organisation", "Type", "Relationship recorded", "First", "Last", "What they did"],
        [[f"{o.name} ({o.org_id})", o.type, o.involvement, _day(o.first), _day(o.last),
          ", ".join(x for x in (_actions(o.actions) if o.actions else "",
                                f"{o.refused} refused attempt(s)" if o.refused else "") if x) or "—"]
         for o in r.organisations],
        empty="No organisation accessed the record in this period.", nowrap=(3, 4),
    )
    sections = []
    for o in r.organisations:
        headers = ["Date", "Time", "Role"] + (["User"] if restricted else []) + ["Action", "Outcome", "Purpose", "Times"]
        rows = []
        for line in o.lines:
            when = line.first_time if line.first_time == line.last_time else f"{line.first_time}–{line.last_time}"
            row = [_day(line.day), when, line.role] + ([line.user_id or "—"] if restricted else [])
            action = ACTION_WORDS.get(line.action, line.action) + (" (emergency override)" if line.break_glass else "")
            rows.append(row + [action, line.outcome, line.purpose or "not recorded", str(line.count)])
        sections.append(OrgSection(
            heading=f"{o.name} ({o.org_id})",
            facts=[KeyValue("Type and area", f"{o.type}, {o.area}" if o.area else o.type),
                   KeyValue("Relationship recorded", o.involvement),
                   KeyValue("Roles", ", ".join(o.roles)),
                   KeyValue("Stated purposes", ", ".join(o.purposes) or "none recorded"),
                   KeyValue("Accesses", f"{o.accesses:,}" + (f" (and {o.refused:,} refused)" if o.refused else ""))],
            table=Table(headers, rows, nowrap=(0, 1)),
        ))
    f_headers = ["Finding", "Check", "Severity", "Organisation", "Dates", "Review"] + (["Detail"] if restricted else [])
    f_rows = []
    for f in r.findings:
        dates = _day(f.first_seen) + ("" if not f.last_seen or _day(f.last_seen) == _day(f.first_seen)
                                      else f" – {_day(f.last_seen)}")
        row = [f.finding_id[:10], f.title, f.severity, f.org_id or "—", dates, f.state.replace("_", " ")]
        f_rows.append(row + ([f.summary or ""] if restricted else []))
    findings = Table(f_headers, f_rows, empty="No automatic check flagged any access to this record.", nowrap=(0, 4))
    note = ("audit-kit checks the audit log for risky patterns (for example access with no recorded relationship). "
            "A finding is a lead for review, not a conclusion; the review column says what a reviewer decided.")
    return SubjectAccessView(meta, intro, summary, overview, sections, note, findings, list(r.notes))


def render_html(r: SubjectAccessReport, holder: str | None = None) -> str:
    """The report as self-contained HTML."""
    return render_template(TEMPLATE, build_view(r, holder))


def render_pdf(r: SubjectAccessReport, out: Path, holder: str | None = None) -> Path:
    """The report as a tagged A4 PDF fit to enclose with a covering letter (the report renderer:
    sandboxed Jinja2, packaged assets only)."""
    try:
        html_to_pdf(render_html(r, holder), out)
    except OSError as exc:
        raise InputError(f"-o {out}: cannot write ({exc.strerror or exc})") from None
    return out
