"""Whole-world properties: default size and practice mix, adversarial cover traffic."""

from __future__ import annotations

import csv

import duckdb
import pytest

from audit_kit.synth import CATEGORIES, SynthParams, generate


@pytest.mark.slow
def test_default_world_size_and_practice_mix(tmp_path):
    """The default world (24 orgs, 60 days, 20k children) is 300k-1M events and every practice column
    has good and weak organisations."""
    summary = generate(tmp_path / "w", SynthParams())
    assert 300_000 <= summary.events <= 1_000_000
    assert all(n >= 3 for c, n in summary.injected.items() if c != "log_gap")
    with (tmp_path / "w" / "truth_orgs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    weak = {
        "mfa_share": lambda v: float(v) < 0.95,
        "leavers_disabled_days": lambda v: int(v) > 0,
        "dormant_accounts": lambda v: int(v) > 0,
        "shared_accounts": lambda v: v == "true",
        "shielded_overrides": lambda v: int(v) > 0,
        "exports_controlled": lambda v: v == "false",
        "undeclared_ip_share": lambda v: float(v) >= 0.05,
        "log_gap_days": lambda v: int(v) > 0,
        "explained_share": lambda v: float(v) < 0.95,
    }
    for column, is_weak in weak.items():
        verdicts = [is_weak(r[column]) for r in rows if r[column] != ""]
        assert any(verdicts) and not all(verdicts), column


def _unexplained_share(world, category):
    """Share of the labelled snoopers' scan-window views that no involvement explains."""
    con = duckdb.connect()
    return con.execute(
        f"""SELECT avg(CASE WHEN i.org_id IS NULL THEN 1 ELSE 0 END)
            FROM read_csv('{world}/events/*.csv') e
            LEFT JOIN read_csv('{world}/involvements.csv') i ON i.record_id = e.record_id AND i.org_id = e.org_id
            WHERE e.action = 'view' AND e.timestamp >= '2026-10-18'
              AND e.user_id IN (SELECT user_id FROM read_csv('{world}/truth.csv') WHERE category = ?)""",
        [category],
    ).fetchone()[0]


@pytest.mark.slow
def test_adversarial_snoopers_hide_among_cover_reads(tmp_path):
    params = SynthParams(seed=21, orgs=8, days=35, children=2500)
    plain = generate(tmp_path / "plain", params)
    adv = generate(tmp_path / "adv", params.model_copy(update={"adversarial": True}))
    # same scenarios and labels, more events: the cover
    assert adv.injected == plain.injected
    assert (tmp_path / "adv" / "truth.csv").read_text() == (tmp_path / "plain" / "truth.csv").read_text()
    assert adv.events - plain.events == adv.injected_events - plain.injected_events > 100
    # the cover is added on top: every plain event is still there, unchanged
    missing = (
        duckdb.connect()
        .execute(
            f"""SELECT count(*) FROM (
              SELECT timestamp, user_id, record_id, action, outcome, session_id
              FROM read_csv('{tmp_path / "plain"}/events/*.csv')
              EXCEPT ALL
              SELECT timestamp, user_id, record_id, action, outcome, session_id
              FROM read_csv('{tmp_path / "adv"}/events/*.csv'))"""
        )
        .fetchone()[0]
    )
    assert missing == 0
    for category in ("no_relationship", "out_of_area"):
        assert _unexplained_share(tmp_path / "adv", category) < _unexplained_share(
            tmp_path / "plain", category
        )


class _Recorder:
    def __init__(self):
        self.calls = []

    def start(self, label, total=None):
        self.calls.append(["start", label, total, 0])

    def advance(self, amount=1):
        self.calls[-1][3] += amount

    def finish(self):
        self.calls.append(["finish", None, None, 0])


def test_progress_is_reported_in_stages_with_totals(tmp_path):
    rec = _Recorder()
    summary = generate(tmp_path / "w", SynthParams(seed=2, orgs=5, days=28, children=800), rec)
    stages = [c for c in rec.calls if c[0] == "start"]
    assert [c[1] for c in stages][:4] == [
        "building the population",
        "drawing normal traffic",
        "injecting scenarios",
        "writing files",
    ]
    assert all(c[2] is not None and c[3] == c[2] for c in stages)  # every bar is finished
    assert stages[3][2] == summary.events
    assert rec.calls[-1][0] == "finish"


@pytest.mark.parametrize("seed", [5, 8, 13])
def test_even_a_tiny_world_has_every_category(tmp_path, seed):
    summary = generate(tmp_path / "w", SynthParams(seed=seed, orgs=6, days=30, children=1500))
    assert set(summary.injected) == set(CATEGORIES)
