"""The stress matrix: named cells of synthetic worlds that stress the detectors one way each.

Every cell is a world of realistic size and prevalence (about 40 organisations, 650-850 users, 56
days, misuse by about 1.2% of users) with one or more stress knobs set. `docs/detection-quality.md`
says which seeds and cells are for tuning and which are held out; `benchmarks/detection_matrix.py`
runs them.

    from audit_kit.synth.matrix import CELLS, cell_params
    params = cell_params("sparse", seed=1)          # a SynthParams
"""

from __future__ import annotations

from typing import Any

from audit_kit.synth.params import DROPPABLE_COLUMNS, SynthParams

# What every cell shares: the ordinary world, at a realistic misuse prevalence.
BASE: dict[str, Any] = {
    "orgs": 40, "days": 56, "children": 24_000, "misuse_share": 0.012,
    "missing_involvements": 0.05, "browsing": 0.02,
}

CELLS: dict[str, tuple[str, dict[str, Any]]] = {
    "base": ("5% of involvements missing, 2% unexplained in-area browsing", {}),
    "sparse": ("30% of involvements missing from involvements.csv", {"missing_involvements": 0.3}),
    "browsing": ("8% of ordinary reads are in-area children with no involvement", {"browsing": 0.08}),
    "no_optional": ("no session_id, purpose, auth_method or family_key", {"drop_columns": DROPPABLE_COLUMNS}),
    "bursts": ("inspections, a census return and duty rotas in the judged fortnight", {"bursts": True}),
    "popular": ("five children each read by 8-16 involved staff within days", {"popular": 5}),
    "small_orgs": ("three times as many GP practices and schools, most with 2-5 users", {"org_mix": "small_orgs"}),
    "quiet": ("misuse in office hours, weaker, with cover reads", {"quiet": True}),
    # held out: never run before the end (docs/detection-quality.md)
    "hostile": ("40% missing, 10% browsing, no optional columns, bursts, popular records, quiet misuse", {
        "missing_involvements": 0.4, "browsing": 0.1, "drop_columns": DROPPABLE_COLUMNS, "bursts": True,
        "popular": 5, "quiet": True,
    }),
    "health_mix": ("a health-heavy organisation mix, 15% missing, 5% browsing", {
        "org_mix": "health", "missing_involvements": 0.15, "browsing": 0.05,
    }),
}
TUNING_CELLS: tuple[str, ...] = ("base", "sparse", "browsing", "no_optional", "bursts", "popular", "small_orgs",
                                 "quiet")
HELD_OUT_CELLS: tuple[str, ...] = ("hostile", "health_mix")
TUNING_SEEDS: tuple[int, ...] = (1, 2, 3)
# 71 and 72 were run once (2026-12-06, after the calibration); 73 was declared on 2026-12-06 at 18:10 UTC,
# before the recall work of that evening, and run once at 19:12 UTC (benchmarks/results-detection-matrix-heldout-73.md).
# 74 was declared on 2026-12-06 at 20:05 UTC, before the work of that evening, and run once at 21:29 UTC
# (benchmarks/results-detection-matrix-heldout-74.md). 75 was declared on 2026-12-07 at 01:00 UTC, before the one
# final measure of that night's work (tuned on seeds 1-2 only), and run once at 01:28 UTC
# (benchmarks/results-detection-matrix-heldout-75.json). 76 was declared on 2026-12-07 at 03:00 UTC, before the one
# final measure of that morning's work (tuned on seeds 1-2 only), and run once at 03:07 UTC
# (benchmarks/results-detection-matrix-heldout-76.json). 77 was declared on 2026-12-07, before any run on it, for
# vip_snooping's count of bodies from outside the child's area (tuned on seeds 1-2 only), run once at 12:00 UTC
# (benchmarks/results-detection-matrix-heldout-77.json). 78 was declared on 2026-12-07, before any run on it, for
# vip_snooping naming each reader as strongly as the test that counted them, and run once (12:30 UTC). 79 was
# declared on 2026-12-07 at 13:36 UTC, before any run on it, for volume_spike's busy days of one's own work, to be
# run once; 80 at 13:55 UTC, before any run on it, for the relationship detectors' intake periods, to be run once;
# 81 at 14:17 UTC, before any run on it, for leaver_account's last night shift, to be run once; 82 at 14:29 UTC,
# before any run on it, for peer_outlier's intake periods, to be run once. 83 at 16:48 UTC, before any run on it, for
# the relationship detectors' volume_shift (census returns and inspections in logs with no purpose), to be run once.
# 84 at 19:37 UTC, before any run on it, for vip_snooping's week (week_days), to be run once, before and after.
# 85 at 21:30 UTC, before any run on it, for after_hours' night test, to be run once, before and after.
# 86 at 22:17 UTC, before any run on it, for vip_snooping's bulk passes, to be run once, before and after.
# 87 at 22:56 UTC, before any run on it, for vip_snooping's teams, to be run once, before and after.
# 88 on 2026-12-08 at 00:57 UTC, before any run on it, for the relationship detectors' peer pool, once, before and after.
HELD_OUT_SEEDS: tuple[int, ...] = (71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88)


def cell_params(cell: str, seed: int, **overrides: Any) -> SynthParams:
    """The SynthParams of one matrix cell and seed (KeyError naming the known cells)."""
    if cell not in CELLS:
        raise KeyError(f"unknown cell {cell!r}; known: {', '.join(CELLS)}")
    return SynthParams(seed=seed, **{**BASE, **CELLS[cell][1], **overrides})


__all__ = ["BASE", "CELLS", "HELD_OUT_CELLS", "HELD_OUT_SEEDS", "TUNING_CELLS", "TUNING_SEEDS", "cell_params"]
