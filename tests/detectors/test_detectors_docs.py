"""The detector and configuration docs stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from audit_kit.config import parse_config
from audit_kit.detectors import REGISTRY

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("det_id", list(REGISTRY))
def test_every_detector_is_documented_with_its_parameters(det_id):
    text = (DOCS / "detectors.md").read_text()
    spec = REGISTRY[det_id]
    assert f"### `{det_id}` — {spec.title}" in text
    section = text.split(f"### `{det_id}`")[1].split("\n### ")[0]
    assert spec.doc.splitlines()[0] in section
    for name in spec.params.model_fields:
        assert f"`{name}`" in section, f"{det_id}: parameter {name} undocumented"


def test_configuration_examples_validate():
    blocks = re.findall(r"```yaml\n(.*?)```", (DOCS / "configuration.md").read_text(), re.S)
    assert len(blocks) >= 3
    for block in blocks:
        parse_config(block, source="docs/configuration.md")


def test_quality_doc_has_a_row_per_detector():
    text = (DOCS / "detection-quality.md").read_text()
    for det_id in REGISTRY:
        assert f"| {det_id} |" in text
