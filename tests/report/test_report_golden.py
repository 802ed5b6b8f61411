"""Golden HTML: the templates and view models render the hand-built world exactly as reviewed.

Graphs and the catalogue appendix belong to other modules, so they are pinned here to fixed inputs;
pseudonyms depend on each workspace's random key and are normalised. Regenerate after a reviewed
template change with AUDIT_KIT_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest

from audit_kit.config import AuditConfig
from audit_kit.report import api
from audit_kit.report.models import Figure, Table

CFG = AuditConfig()  # the defaults: graphs over the window `detect` judges by default

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 4, 2)


def _normalise(html: str) -> str:
    return re.sub(r"R-[0-9a-f]{16}", "R-<pseudonym>", html)


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    fig = [
        Figure(
            "Interaction between bodies",
            '<svg xmlns="http://www.w3.org/2000/svg"><title>g</title></svg>',
            "A pinned graph.",
        )
    ]
    monkeypatch.setattr(api, "national_figures", lambda ws, audience, config: fig)
    monkeypatch.setattr(api, "org_figures", lambda ws, org_id, audience, *args: [])
    monkeypatch.setattr(
        api,
        "framework_mapping",
        lambda assessment, catalogues: Table(
            ["Control", "Title", "CAF"],
            [["IAM-02", "MFA on every channel", "B2.a"]],
            caption="Pinned catalogue",
        ),
    )


def _check(name: str, html: str) -> None:
    path = GOLDEN / name
    html = _normalise(html)
    if os.environ.get("AUDIT_KIT_UPDATE_GOLDEN"):
        path.write_text(html, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with AUDIT_KIT_UPDATE_GOLDEN=1 and review it"
    assert html == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("audience", ["restricted", "public"])
def test_national_golden(ws, pinned: None, audience: str) -> None:
    _check(
        f"national-{audience}.html",
        api.national_html(ws, audience=audience, reviewer="Jo Reviewer", today=TODAY, config=CFG),
    )


def test_org_pack_golden(ws, pinned: None) -> None:
    _check("org-pack-GP002.html", api.org_pack_html(ws, "GP002", today=TODAY, config=CFG))
