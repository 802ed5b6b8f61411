"""pydyf's page references kept between reads (report/pdfrefs.py): the same values as pydyf builds, renewed
when a page is added, so tagged PDFs come out the same, only faster."""

from __future__ import annotations

import pydyf

from audit_kit.report import pdfrefs


def _fresh_references(pdf: pydyf.PDF) -> tuple[bytes, ...]:
    return tuple(f"{n} 0 R".encode("ascii") for n in pdf.pages["Kids"][::3])


def test_kept_page_references_follow_every_added_page() -> None:
    assert pdfrefs.enable() and pdfrefs.enable()  # idempotent
    pdf = pydyf.PDF()
    assert pdf.page_references == ()
    for _ in range(5):
        pdf.add_page(pydyf.Dictionary({"Type": "/Page"}))
        assert pdf.page_references == _fresh_references(pdf)
        assert pdf.page_references is pdf.page_references  # kept between reads
    other = pydyf.PDF()  # each document keeps its own
    other.add_page(pydyf.Dictionary({"Type": "/Page"}))
    assert len(other.page_references) == 1 and len(pdf.page_references) == 5
