"""Golden text of whole DPO packs: what a pack *says*, frozen, so speed work on layout and graphs proves
it keeps every word.

A small synthetic world (synth → ingest → detect → assess, pseudonym key fixed so record pseudonyms are
stable) is rendered by `report --all-orgs` (the spawned pack workers, as on a real run) and by
`report --org` (one pack built in the caller); `pdftotext -layout` of two packs is compared with
tests/report/golden/pack-text-<org>.txt. Runs of spaces are collapsed (column widths move with the
assessment id) and assessment ids normalised; lines, their order and page breaks are compared exactly.

When a reviewed change alters a pack's words or their arrangement, regenerate with

    AUDIT_KIT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report/test_report_pack_text_golden.py

and review the diff of the golden files: a failure message says whether only the arrangement changed
(the same words in another order) or words were lost or added. Needs poppler's pdftotext
(`make test` installs poppler-utils when run as root); skipped, saying why, when it is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from audit_kit.cli import run
from audit_kit.config import AuditConfig

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"),
]

GOLDEN = Path(__file__).parent / "golden"
ORGS = ("LA01", "GP01")  # the largest body (a community graph of 29 users) and a practice with many findings
ISSUED = "2026-11-05"
FIXED_KEY = "5eed" * 16  # test-only pseudonym key: the same pseudonyms on every run


@pytest.fixture(scope="module")
def assessed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from audit_kit.assessment.assess import assess_workspace
    from audit_kit.detectors import run_detectors
    from audit_kit.ingest import ingest_dataset
    from audit_kit.store.workspace import KEY_FILE, Workspace
    from audit_kit.synth import SynthParams, generate

    root = tmp_path_factory.mktemp("pack-text")
    generate(root / "world", SynthParams(seed=23, orgs=5, days=28, children=600))
    with Workspace.open(root / "ws", create=True) as ws:
        (ws.path / KEY_FILE).write_text(FIXED_KEY)
        ingest_dataset(ws, root / "world")
        run_detectors(ws, AuditConfig(), store=True)
        assess_workspace(ws, AuditConfig())
    return root / "ws"


def _text(pdf: Path) -> str:
    raw = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                         text=True).stdout
    raw = re.sub(r"A-\d{8}T\d{6}-[0-9a-f]{6}", "A-<assessment>", raw)
    return "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in raw.split("\n")) + "\n"


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("AUDIT_KIT_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with AUDIT_KIT_UPDATE_GOLDEN=1 and review it"
    want = path.read_text(encoding="utf-8")
    if text != want:
        got_words, want_words = Counter(text.split()), Counter(want.split())
        if got_words == want_words:
            pytest.fail(f"{name}: the same words, arranged differently (lines or page breaks moved); "
                        "review and regenerate if intended")
        lost = sorted((want_words - got_words).elements())[:20]
        added = sorted((got_words - want_words).elements())[:20]
        pytest.fail(f"{name}: words changed; lost {lost}, added {added}")


def test_all_org_packs_say_what_the_golden_text_says(assessed: Path, tmp_path: Path) -> None:
    out = tmp_path / "packs"
    assert run(["report", "-w", str(assessed), "--all-orgs", "-o", str(out), "--workers", "2",
                "--issued", ISSUED, "-q"]) == 0
    for org in ORGS:
        _check(f"pack-text-{org}.txt", _text(out / f"{org}-dpo-pack.pdf"))


def test_a_single_pack_says_the_same(assessed: Path, tmp_path: Path) -> None:
    out = tmp_path / "LA01.pdf"
    assert run(["report", "-w", str(assessed), "--org", "LA01", "-o", str(out), "--issued", ISSUED, "-q"]) == 0
    _check("pack-text-LA01.txt", _text(out))
