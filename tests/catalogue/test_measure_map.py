"""Measure maps: which log measures test the controls of an imported catalogue, and every way a map
can be wrong (exit 2, naming the map file and key)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from audit_kit.catalogue import load_catalogue_file
from audit_kit.catalogue.measure_map import (
    apply_measure_map,
    find_measure_map,
    load_measure_map,
    shipped_maps,
)
from audit_kit.catalogue.oscal import import_oscal
from audit_kit.cli import run
from audit_kit.errors import ConfigError

DATA = Path(__file__).parent / "data"
LOW = DATA / "NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"


@pytest.fixture(scope="module")
def low():
    return import_oscal(LOW, "nist-low").catalogue


def test_shipped_map_gives_the_low_baseline_its_log_tests(low) -> None:
    path = find_measure_map("nist-800-53-r5")
    assert path == shipped_maps()["nist-800-53-r5"]
    result = apply_measure_map(low, load_measure_map(path), str(path))
    assert result.tested == ["AC-2", "AC-3", "AC-17", "AU-11", "AU-12", "CM-8", "IA-2", "IA-2(1)", "IA-2(2)",
                             "PS-4", "SC-7"]
    assert result.absent == ["AC-2(3)", "AC-21"]  # MODERATE-only controls: listed, not dropped silently
    assert [c for c in result.mapped if c not in result.tested] == ["AC-7"]  # a detector only: not testable
    ia21 = result.catalogue.control("IA-2(1)")
    assert ia21 is not None and ia21.log_checks == ["mfa_share", "weak_auth"] and ia21.tested_by() == ["mfa_share"]
    ac2 = result.catalogue.control("AC-2")
    assert ac2 is not None and ac2.tested_by() == ["dormant_accounts", "leaver_activity"]
    untouched = result.catalogue.control("AC-1")
    assert untouched is not None and untouched.log_checks == [] and untouched.tested_by() == []


def test_map_keys_may_be_oscal_ids_and_carry_thresholds(low, tmp_path: Path, capsys) -> None:
    mfile = tmp_path / "map.yaml"
    mfile.write_text(yaml.safe_dump({"title": "mine", "controls": {
        "ia-2.1": {"log_checks": ["mfa_share"], "thresholds": {"mfa_share": {"min_sessions": 100}}},
        "ps-4": {"log_checks": ["leaver_activity"], "measures": []},
    }}))
    result = apply_measure_map(low, load_measure_map(mfile), str(mfile))
    assert result.mapped == ["IA-2(1)", "PS-4"] and result.tested == ["IA-2(1)"]
    out = tmp_path / "low.yaml"
    assert run(["checklist", "import-oscal", str(LOW), "--measures", str(mfile), "-o", str(out)]) == 0
    assert "1 of them tested by the logs (IA-2(1))" in capsys.readouterr().out
    ia21 = load_catalogue_file(out).control("IA-2(1)")
    assert ia21 is not None and ia21.corroboration is not None
    assert ia21.corroboration.thresholds == {"mfa_share": {"min_sessions": 100}}
    assert run(["checklist", "show", str(out)]) == 0
    assert "Tested by the logs: 1 of 149 controls (IA-2(1))" in capsys.readouterr().out


def test_apply_measures_to_a_catalogue_imported_earlier(tmp_path: Path, capsys) -> None:
    plain, tested = tmp_path / "low.yaml", tmp_path / "low-tested.yaml"
    assert run(["checklist", "import-oscal", str(LOW), "-o", str(plain)]) == 0
    assert "no control of this catalogue is tested against the logs" in capsys.readouterr().out
    assert run(["checklist", "apply-measures", str(plain), "--measures", "nist-800-53-r5", "-o", str(tested)]) == 0
    assert "11 of them tested by the logs" in capsys.readouterr().out
    assert len([c for c in load_catalogue_file(tested).controls if c.tested_by()]) == 11
    assert run(["checklist", "apply-measures", str(plain), "--measures", "nist-800-53-r5", "-o", str(tested)]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize(("data", "expected"), [
    ({"title": "m", "controls": {"IA-2": {"log_checks": ["telepathy"]}}},
     "key controls.IA-2: log_checks: log_checks[0]: unknown detector or log measure 'telepathy'"),
    ({"title": "m", "controls": {"IA-2": {"log_checks": ["mfa_share"], "measures": ["shared_accounts"]}}},
     "key controls.IA-2: corroboration.measures[0]: 'shared_accounts' is not in this control's log_checks"),
    ({"title": "m", "controls": {"IA-2": {"log_checks": ["mfa_share"], "thresholds": {"mfa_share": {"zz": 1}}}}},
     "corroboration.thresholds.mfa_share.zz: unknown threshold for mfa_share"),
    ({"title": "m", "controls": {"IA-2": {"log_checks": ["mfa_share"]}, "ia-2": {"log_checks": ["mfa_share"]}}},
     "key controls.ia-2: names control IA-2 again (already given by controls.IA-2)"),
    ({"title": "m", "controls": {"IA-2": {"log_check": ["mfa_share"]}}}, "controls.IA-2.log_check: unknown key"),
    ({"title": "m", "controls": {"IA-2": {"log_checks": []}}}, "controls.IA-2.log_checks: List should have at least 1"),
    ({"controls": {"IA-2": {"log_checks": ["mfa_share"]}}}, "title: required key is missing"),
    (["a", "list"], "a measure map must be a YAML mapping"),
])
def test_bad_maps_name_the_file_and_key(tmp_path: Path, capsys, data: object, expected: str) -> None:
    mfile = tmp_path / "bad-map.yaml"
    mfile.write_text(yaml.safe_dump(data))
    assert run(["checklist", "import-oscal", str(LOW), "--measures", str(mfile), "-o", str(tmp_path / "o.yaml")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "bad-map.yaml" in err and expected in err
    assert not (tmp_path / "o.yaml").exists()


def test_unknown_map_names_the_shipped_ones(tmp_path: Path, capsys) -> None:
    assert run(["checklist", "import-oscal", str(LOW), "--measures", "nist-9000", "-o", str(tmp_path / "o.yaml")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "nist-9000: no such measure map file" in err and "nist-800-53-r5" in err


def test_every_shipped_map_applies_cleanly(low) -> None:
    for name, path in shipped_maps().items():
        result = apply_measure_map(low, load_measure_map(path), name)
        assert result.tested, name
    with pytest.raises(ConfigError):
        load_measure_map(DATA / "basic-catalog.json")  # not a map
