"""OSCAL import: the NIST LOW baseline, NIST's sample catalog, and a hand-made catalog that uses the
parts of OSCAL the samples do not (top-level controls, set values, nested selections, withdrawn)."""

from __future__ import annotations

import json
from pathlib import Path

from audit_kit.catalogue import load_catalogue_file
from audit_kit.catalogue.oscal import import_oscal
from audit_kit.cli import run

DATA = Path(__file__).parent / "data"
LOW = DATA / "NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"
BASIC = DATA / "basic-catalog.json"


def test_low_baseline_imports_all_groups_controls_and_enhancements(tmp_path: Path, capsys) -> None:
    out = tmp_path / "low.yaml"
    assert run(["checklist", "import-oscal", str(LOW), "-o", str(out), "--id", "nist-low"]) == 0
    assert "18 groups, 131 controls, 18 enhancements" in capsys.readouterr().out
    cat = load_catalogue_file(out)
    assert cat.id == "nist-low" and len(cat.controls) == 149 and len(cat.domains) == 18
    ac2 = cat.control("AC-2")
    assert ac2 is not None and ac2.domain == "Access Control"
    assert ac2.mappings["nist_800_53"] == ["AC-2"]
    # parameters rendered readably, item labels kept, no raw OSCAL insert syntax left anywhere
    assert "[Assignment: prerequisites and criteria]" in ac2.question
    assert "\nb. Assign account managers" in ac2.question
    assert not any("{{" in c.question for c in cat.controls)
    assert cat.control("IA-2(1)") is not None  # an enhancement
    # the imported catalogue is usable: a questionnaire template can be made from it
    assert (
        run(
            [
                "questionnaire",
                "template",
                "--checklist",
                str(out),
                "--format",
                "csv",
                "-o",
                str(tmp_path / "q.csv"),
            ]
        )
        == 0
    )


def test_basic_sample_catalog_with_nested_groups(tmp_path: Path) -> None:
    result = import_oscal(BASIC)
    cat = result.catalogue
    assert result.groups == 4 and result.controls == len(cat.controls) == 4
    assert cat.domains == ["Organization of Information Security", "Access control"]
    first = cat.controls[0]
    assert first.id == "1.1.1"
    assert (
        "[Selection (one or more): initiating a device lock after [Assignment: a duration] of inactivity"
        in first.question
    )
    assert "nist_800_53" not in first.mappings and first.mappings["source"] == ["s1.1.1"]


def test_any_catalog_shape(tmp_path: Path, capsys) -> None:
    doc = {
        "catalog": {
            "uuid": "00000000-0000-4000-8000-000000000000",
            "metadata": {"title": "Widget Security Baseline", "version": "2"},
            "params": [{"id": "freq", "values": ["monthly"]}],
            "controls": [
                {
                    "id": "w-1",
                    "title": "Review widgets",
                    "props": [{"name": "label", "value": "W 1"}],
                    "params": [
                        {"id": "who", "select": {"choice": ["the owner", "the {{ insert: param, deputy }}"]}},
                        {"id": "deputy", "label": "deputy role"},
                    ],
                    "parts": [
                        {
                            "id": "w-1_smt",
                            "name": "statement",
                            "prose": "{{ insert: param, who }} reviews widgets {{ insert: param, freq }}.",
                        }
                    ],
                    "controls": [
                        {
                            "id": "w-1.1",
                            "title": "Automated review",
                            "parts": [{"name": "statement", "prose": "Automate it."}],
                        }
                    ],
                },
                {"id": "w-2", "title": "Old control", "props": [{"name": "status", "value": "withdrawn"}]},
                {"id": "w-3", "title": "No statement here"},
            ],
        }
    }
    src = tmp_path / "widgets.json"
    src.write_text(json.dumps(doc))
    out = tmp_path / "w.yaml"
    assert run(["checklist", "import-oscal", str(src), "-o", str(out)]) == 0
    assert "1 withdrawn skipped" in capsys.readouterr().out
    cat = load_catalogue_file(out)
    assert cat.id == "widget-security-baseline"
    assert [c.id for c in cat.controls] == ["W-1", "w-1.1", "w-3"]  # space in label made safe
    assert cat.controls[0].question == (
        "Is this in place? [Selection (one): the owner; the [Assignment: deputy role]] reviews widgets monthly."
    )
    assert cat.controls[2].question == "Is 'No statement here' implemented?"
    assert cat.domains == ["General"]


def test_oscal_errors(tmp_path: Path, capsys) -> None:
    out = tmp_path / "o.yaml"
    notjson = tmp_path / "x.json"
    notjson.write_text("{not json")
    assert run(["checklist", "import-oscal", str(notjson), "-o", str(out)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    # an OSCAL document that is not a catalog (assessment results)
    assert (
        run(["checklist", "import-oscal", str(DATA / "ifa_assessment-results-example.json"), "-o", str(out)])
        == 2
    )
    assert "not an OSCAL catalog" in capsys.readouterr().err
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"catalog": {"metadata": {"title": "Empty"}, "groups": []}}))
    assert run(["checklist", "import-oscal", str(empty), "-o", str(out)]) == 2
    assert "no (non-withdrawn) controls" in capsys.readouterr().err
    assert run(["checklist", "import-oscal", str(tmp_path / "absent.json"), "-o", str(out)]) == 2
    out.write_text("keep me")
    assert run(["checklist", "import-oscal", str(BASIC), "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_text() == "keep me"
    assert run(["checklist", "import-oscal", str(BASIC), "-o", str(out), "--force"]) == 0


def test_imported_catalogue_is_usable_by_id_end_to_end(tmp_path: Path, capsys, monkeypatch) -> None:
    """Import OSCAL into a catalogue directory, then template → fill → import → score by its id."""
    import yaml

    cats = tmp_path / "catalogues"
    cats.mkdir()
    monkeypatch.setenv("AUDIT_KIT_CHECKLISTS", str(cats))
    assert (
        run(["checklist", "import-oscal", str(BASIC), "-o", str(cats / "sample.yaml"), "--id", "sample"]) == 0
    )
    capsys.readouterr()
    assert run(["checklist", "list", "--format", "json"]) == 0
    assert "sample" in {r["id"] for r in json.loads(capsys.readouterr().out)}
    assert (
        run(["questionnaire", "template", "-c", "sample", "-f", "yaml", "-o", str(tmp_path / "q.yaml")]) == 0
    )
    doc = yaml.safe_load((tmp_path / "q.yaml").read_text())
    doc.update(org_id="LA-1", submitted="2026-01-31")
    for i, entry in enumerate(doc["answers"].values()):
        entry["answer"] = "yes" if i % 2 == 0 else "no"
    (tmp_path / "q.yaml").write_text(yaml.safe_dump(doc))
    ws = str(tmp_path / "ws")
    assert run(["questionnaire", "import", str(tmp_path / "q.yaml"), "-w", ws, "--strict"]) == 0
    capsys.readouterr()
    assert run(["score", "-w", ws, "--format", "json"]) == 0
    [s] = json.loads(capsys.readouterr().out)
    assert s["checklist_id"] == "sample" and s["overall"] == 50.0  # 2 of 4 equally weighted controls
    assert "source" not in s["frameworks"]
