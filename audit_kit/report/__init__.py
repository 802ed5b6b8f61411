"""Reports: the national risk assessment and each organisation's DPO pack, as PDF or HTML.

Public API (see docs/reports.md):
- `render_national(ws, out, fmt="pdf", audience="restricted", reviewer=None, progress=...) -> Path`
- `render_org_pack(ws, org_id, out, fmt="pdf", audience="restricted") -> Path`
- `render_all_packs(ws, out_dir, workers=2, progress=...) -> list[Path]`; raises `PacksFailed` (naming
  each organisation whose pack failed) after writing every other pack
- `national_html(ws, ...)`, `org_pack_html(ws, org_id, ...)`: the guarded HTML, for callers that
  want to embed or test it.
"""

from __future__ import annotations

from audit_kit.report.api import (
    PackFailure,
    PacksFailed,
    national_html,
    org_pack_html,
    pack_filename,
    render_all_packs,
    render_national,
    render_org_pack,
)
from audit_kit.report.models import Audience, ReportFormat

__all__ = [
    "Audience",
    "PackFailure",
    "PacksFailed",
    "ReportFormat",
    "national_html",
    "org_pack_html",
    "pack_filename",
    "render_all_packs",
    "render_national",
    "render_org_pack",
]
