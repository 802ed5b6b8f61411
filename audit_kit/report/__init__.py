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

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Loaded on first use (PEP 562): importing any `audit_kit.report.*` module runs this file, and the
# renderer behind the API pulls in WeasyPrint (over half a second). A scan publishing the web app's
# read models needs only the record-id guard and the scores.
_FROM = {"PackFailure": "api", "PacksFailed": "api", "national_html": "api", "org_pack_html": "api",
         "pack_filename": "api", "render_all_packs": "api", "render_national": "api", "render_org_pack": "api",
         "Audience": "models", "ReportFormat": "models"}


def __getattr__(name: str) -> Any:
    module = _FROM.get(name)
    if module is None:
        raise AttributeError(f"module 'audit_kit.report' has no attribute {name!r}")
    return getattr(import_module(f"audit_kit.report.{module}"), name)


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
