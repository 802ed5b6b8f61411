"""The framework mapping appendix: each control of the catalogue and what it maps to."""

from __future__ import annotations

from typing import Any

from audit_kit.catalogue import SHIPPED, CatalogueLibrary
from audit_kit.errors import ConfigError
from audit_kit.report.models import Table

DEFAULT_CHECKLIST = "accessing-organisation"
COLUMNS = (
    ("ncsc_caf", "CAF"),
    ("iso27001_2022", "ISO 27001"),
    ("dspt", "DSPT"),
    ("cyber_essentials", "CE"),
    ("nist_800_53", "NIST 800-53"),
)


def framework_mapping(assessment: Any | None = None, catalogues: CatalogueLibrary = SHIPPED) -> Table:
    """A table of control id, title and its identifiers in each framework (from the catalogue)."""
    checklist = getattr(assessment, "checklist_id", None) or DEFAULT_CHECKLIST
    try:
        catalogue = catalogues.load(checklist)
    except ConfigError as exc:
        return Table(["Control"], [], empty=f"The control catalogue {checklist!r} could not be read: {exc}")
    rows = [
        [c.id, c.title, *[", ".join(c.mappings.get(key, [])) or "–" for key, _ in COLUMNS]]
        for c in catalogue.controls
    ]
    return Table(
        ["Control", "Title", *[label for _, label in COLUMNS]],
        rows,
        empty="The catalogue has no controls.",
        caption=f"{catalogue.title} (version {catalogue.version})",
    )
