"""Same seed → byte-identical files; working hours are local Europe/London time, summer time included."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from audit_kit.errors import InputError
from audit_kit.synth import SynthParams, generate
from audit_kit.synth.clock import Clock

OWN_FILES = (
    "organisations.csv",
    "users.csv",
    "subjects.csv",
    "involvements.csv",
    "truth.csv",
    "truth_orgs.csv",
)


def _files(root):
    names = list(OWN_FILES) + sorted(f"events/{p.name}" for p in (root / "events").glob("*.csv"))
    return {n: (root / n).read_bytes() for n in names}


def test_same_seed_gives_byte_identical_files(tmp_path):
    params = SynthParams(seed=3, orgs=6, days=30, children=1500)
    generate(tmp_path / "a", params)
    generate(tmp_path / "b", params)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys()
    assert [n for n in a if a[n] != b[n]] == []
    generate(tmp_path / "c", params.model_copy(update={"seed": 4}))
    c = _files(tmp_path / "c")
    assert c["users.csv"] != a["users.csv"] and c["truth.csv"] != a["truth.csv"]


def test_regenerating_into_an_earlier_world_replaces_it(tmp_path):
    out = tmp_path / "w"
    generate(out, SynthParams(seed=3, orgs=6, days=30, children=1500, end_date="2026-07-31"))
    generate(out, SynthParams(seed=3, orgs=6, days=30, children=1500))
    months = sorted(p.name for p in (out / "events").glob("*.csv"))
    assert months == ["events-2026-10.csv"]  # no stale July files left behind
    assert '"end_date": "2026-10-31"' in (out / "synth.json").read_text()


def test_regenerating_with_fewer_organisations_leaves_no_stale_questionnaires(tmp_path):
    out = tmp_path / "w"
    generate(out, SynthParams(seed=3, orgs=8, days=28, children=1500))
    generate(out, SynthParams(seed=3, orgs=6, days=28, children=1500))
    orgs = {line.split(",")[0] for line in (out / "organisations.csv").read_text().splitlines()[1:]}
    assert len(orgs) == 6
    qdir = out / "questionnaires"
    if qdir.is_dir():  # written by audit_kit.questionnaires when installed
        stems = {p.stem for p in qdir.iterdir() if p.is_file()}
        assert stems and stems <= orgs


def test_a_real_dataset_directory_is_never_overwritten(tmp_path):
    """A review dataset has the same files as a world; without synth.json it is refused."""
    real = tmp_path / "dataset"
    real.mkdir()
    (real / "organisations.csv").write_text(
        "org_id,name,type,area\nLA-001,Real Council,local_authority,North\n"
    )
    with pytest.raises(InputError, match="no synth.json"):
        generate(real, SynthParams(seed=3, orgs=6, days=28, children=1500))
    assert "Real Council" in (real / "organisations.csv").read_text()


def test_clock_converts_local_time_with_summer_time():
    london = ZoneInfo("Europe/London")
    clock = Clock(datetime(2026, 10, 20).date(), 10)
    for day, hour in ((0, 9.5), (4, 0.25), (5, 9.5), (9, 23.0)):  # 2026-10-25 is the change back to GMT
        local = clock.local(day, hour * 3600)
        utc = int(clock.to_utc(local))
        wall = datetime.fromtimestamp(utc, tz=london)
        assert (wall.date(), wall.hour, wall.minute) == (clock.day_date(day), int(hour), round(hour % 1 * 60))


def test_office_hours_hold_in_local_time_across_the_clock_change(world_db):
    """Office staff start between 07:00 and 10:00 on the wall clock in BST and in GMT alike, so their
    first login's UTC hour moves by one when the clocks go back on 25 October."""
    rows = world_db.execute(
        """WITH first_login AS (
             SELECT e.user_id, date_trunc('day', timezone('Europe/London', e.timestamp)) AS day,
                    min(e.timestamp) AS t
             FROM events e JOIN users u USING (user_id)
             WHERE e.action = 'login' AND e.outcome = 'success'
               AND u.role IN ('caseworker', 'clinician', 'gp', 'teacher', 'officer', 'manager')
               AND e.user_id NOT IN (SELECT user_id FROM truth WHERE user_id IS NOT NULL)
             GROUP BY ALL)
           SELECT day >= DATE '2026-10-26' AS gmt,
                  min(hour(timezone('Europe/London', t))), max(hour(timezone('Europe/London', t))),
                  median(hour(timezone('UTC', t)) + minute(timezone('UTC', t)) / 60.0)
           FROM first_login WHERE day < DATE '2026-10-24' OR day >= DATE '2026-10-26'
           GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    (bst, lo_b, hi_b, med_b), (gmt, lo_g, hi_g, med_g) = rows
    assert (bst, gmt) == (False, True)
    assert 7 <= lo_b and hi_b <= 10 and 7 <= lo_g and hi_g <= 10
    assert 0.6 <= med_g - med_b <= 1.4
