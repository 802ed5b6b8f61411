"""Cover facts and document control: version history, distribution, sign-off and approval, basis."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from audit_kit import __version__
from audit_kit.models.assessment import NationalAssessment
from audit_kit.report.format import day
from audit_kit.report.models import PROTECTIVE_MARKING, PUBLIC_MARKING, DocControl, KeyValue, Meta, Table


def meta(
    title: str, short_title: str, subtitle: str, restricted: bool, reviewer: str | None, period: str,
    subject: str, keywords: Sequence[str], issued: date, public_doc: bool = False,
) -> Meta:
    return Meta(
        title=title, short_title=short_title, subtitle=subtitle, version=f"audit-kit {__version__}",
        generated_on=issued.isoformat(), reviewer=reviewer or "Not yet signed off",
        marking=PROTECTIVE_MARKING if restricted else PUBLIC_MARKING,
        audience=(
            "Restricted: names user accounts and pseudonymised records; share only with the data holder "
            "and the organisation concerned" if restricted
            else "Public: aggregates by type of body and area only; small numbers suppressed" if public_doc
            else "Public summary: aggregates only, no user or record identifiers"
        ),
        author=reviewer or "audit-kit", subject=subject, keywords=", ".join(keywords), period=period,
    )


def basis(assessment: NationalAssessment | None) -> list[KeyValue]:
    """What the report was judged under: assessment, method and configuration (with its fingerprint)."""
    if assessment is None:
        return [KeyValue("Assessment", "none stored: run `audit-kit assess`")]
    sha = assessment.config_sha256
    return [
        KeyValue("Assessment", f"{assessment.assessment_id}, as of {day(assessment.as_of)}"),
        KeyValue("Risk method", f"version {assessment.method_version} (docs/risk-model.md)"),
        KeyValue("Checklist", assessment.checklist_id or "—"),
        KeyValue("Configuration", (assessment.config_source or "not recorded")
                 + (f" (sha256 {sha[:16]}…)" if sha else "")),
    ]


def doc_control(
    history: Sequence[tuple[str, str, str, int]], assessment: NationalAssessment | None, issued: date,
    reviewer: str | None, distribution: Sequence[tuple[str, str]],
) -> DocControl:
    rows = [[f"0.{i}", as_of, f"Assessment {aid} ({orgs} bodies)", "superseded"]
            for i, (aid, _at, as_of, orgs) in enumerate(history, 1)
            if assessment is None or aid != assessment.assessment_id]
    rows.append([f"0.{len(rows) + 1}" if reviewer is None else "1.0", issued.isoformat(),
                 f"This issue, from assessment {assessment.assessment_id}" if assessment else "This issue",
                 "draft for review" if reviewer is None else "issued for approval"])
    signoff = Table(
        ["Role", "Name", "Signature", "Date"],
        [
            ["Prepared by (reviewer)", reviewer or "", "", issued.isoformat() if reviewer else ""],
            ["Reviewed by (quality review)", "", "", ""],
            ["Approved by (Senior Information Risk Owner)", "", "", ""],
        ],
    )
    return DocControl(
        history=Table(["Version", "Date", "Change", "Status"], rows[-6:], nowrap=(0, 1)),
        distribution=Table(["Recipient", "Receives"], [list(r) for r in distribution]),
        signoff=signoff,
        basis=basis(assessment),
    )


NATIONAL_DISTRIBUTION = (
    ("Senior Information Risk Owner of the database holder", "whole report (for approval)"),
    ("Data Protection Officer of the database holder", "whole report"),
    ("Information governance board", "whole report"),
    ("Each accessing body's DPO", "its own DPO pack only, never this report"),
    ("The public", "the public summary only (a separate document)"),
)
PACK_DISTRIBUTION = (
    ("The body's Data Protection Officer", "this pack"),
    ("The body's Senior Information Risk Owner", "this pack"),
    ("Owners named in the action plan", "the actions they own"),
    ("The database holder's DPO", "this pack and the returned action plan"),
)
