"""Tagged PDFs with hundreds of pages in linear time: pydyf's page references, kept until a page is added.

pydyf (0.13) builds a new tuple of every page's reference each time `PDF.page_references` is read, and
WeasyPrint's PDF tagging (`pdf_tags=True`: the structure that makes the reports accessible) reads it once
per tagged element. At the national report's ~490 pages that is ~100,000 reads of ~490 references each:
profiled on the 10M benchmark world, a sixth of the report's time. `enable()` replaces the property with one
that keeps the tuple until the page list changes. The values are the same, so the PDF is byte for byte the
same. Like `fonts.enable`, it leaves a pydyf of another shape alone.
"""

from __future__ import annotations

from typing import Any

_CACHE = "_audit_kit_page_references"


def enable() -> bool:
    """Install the kept page references into pydyf (idempotent); False if this pydyf has no such property."""
    import pydyf

    prop = getattr(pydyf.PDF, "page_references", None)
    if not isinstance(prop, property) or prop.fget is None:
        return False
    if getattr(prop.fget, "_audit_kit", False):
        return True
    build = prop.fget

    def page_references(pdf: Any) -> Any:
        kids = pdf.pages["Kids"]
        kept = pdf.__dict__.get(_CACHE)
        # Pages are only ever appended: the same list with the same length holds the same pages.
        if kept is None or kept[0] is not kids or kept[1] != len(kids):
            kept = (kids, len(kids), build(pdf))
            pdf.__dict__[_CACHE] = kept
        return kept[2]

    page_references._audit_kit = True  # type: ignore[attr-defined]
    pydyf.PDF.page_references = property(page_references)
    return True
