"""The stress-matrix knobs: each changes the world the way its name says, and only when set."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pydantic import ValidationError

from audit_kit.synth import SynthParams, generate
from audit_kit.synth.matrix import CELLS, HELD_OUT_CELLS, TUNING_CELLS, cell_params

TINY = {"seed": 5, "orgs": 8, "days": 35, "children": 3000}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _header(path: Path) -> list[str]:
    with path.open(newline="") as fh:
        return next(csv.reader(fh))


@pytest.fixture(scope="module")
def plain_and_stressed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("matrix")
    generate(root / "plain", SynthParams(**TINY))
    generate(root / "stressed", SynthParams(
        **TINY, missing_involvements=0.3, browsing=0.08, bursts=True, popular=2, quiet=True, misuse_share=0.02,
        drop_columns=("session_id", "purpose", "auth_method", "family_key"),
    ))
    return root / "plain", root / "stressed"


def test_knobs_change_the_files_as_named(plain_and_stressed):
    plain, stressed = plain_and_stressed
    # optional columns absent
    ev = sorted((stressed / "events").glob("*.csv"))[0]
    assert not {"session_id", "purpose", "auth_method"} & set(_header(ev))
    assert "family_key" not in _header(stressed / "users.csv") + _header(stressed / "subjects.csv")
    assert {"session_id", "purpose", "auth_method"} <= set(_header(sorted((plain / "events").glob("*.csv"))[0]))
    # about 30% of the involvements left out of the file (work still follows them)
    n_plain, n_stressed = len(_rows(plain / "involvements.csv")), len(_rows(stressed / "involvements.csv"))
    assert 0.6 < n_stressed / n_plain < 0.8
    # legitimate bursts and popular records labelled; misuse at a realistic prevalence
    kinds = {r["kind"] for r in _rows(stressed / "truth_legit.csv")}
    assert {"inspection", "census_return", "popular_record_reader", "night_duty"} <= kinds
    users = len(_rows(stressed / "users.csv"))
    misuse = {r["user_id"] for r in _rows(stressed / "truth.csv") if r["user_id"]}
    assert 0 < len(misuse) <= max(3, round(0.02 * users)) + 6
    assert len(misuse) < len({r["user_id"] for r in _rows(plain / "truth.csv") if r["user_id"]})


def test_unset_knobs_leave_the_world_as_it_was(tmp_path, plain_and_stressed):
    plain, _ = plain_and_stressed
    again = tmp_path / "again"
    generate(again, SynthParams(**TINY, org_mix="default", popular=0))
    for name in ("users.csv", "involvements.csv", "truth.csv"):
        assert (again / name).read_bytes() == (plain / name).read_bytes(), name


def test_cells_are_named_and_held_out_cells_fixed():
    assert set(TUNING_CELLS) | set(HELD_OUT_CELLS) == set(CELLS)
    assert cell_params("sparse", 1).missing_involvements == 0.3
    assert cell_params("hostile", 71).quiet and cell_params("hostile", 71).drop_columns
    with pytest.raises(KeyError, match="unknown cell"):
        cell_params("nope", 1)
    with pytest.raises(ValidationError, match="cannot drop"):
        SynthParams(drop_columns=("timestamp",))
