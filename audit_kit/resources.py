"""Find the packaged catalogues and report templates, installed or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent
_REPO = _PKG.parent


def _locate(packaged: str, source: str) -> Path:
    # A wheel carries them under audit_kit/_data/ (see pyproject force-include); an editable
    # install or a source checkout reads them where the design card puts them.
    inside = _PKG / "_data" / packaged
    if inside.is_dir():
        return inside
    return _REPO / source


def checklists_dir() -> Path:
    """Directory of the shipped control catalogues (`checklists/*.yaml`)."""
    return _locate("checklists", "checklists")


def templates_dir() -> Path:
    """Directory of the report templates and their CSS/assets (`reports/templates/`)."""
    return _locate("templates", "reports/templates")
