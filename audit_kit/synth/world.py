"""generate(): the whole synthetic review world, from parameters to files on disk."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from audit_kit.errors import InputError
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.synth.clock import Clock
from audit_kit.synth.legit import LEGIT_COLUMNS, LegitWork, legit_rows
from audit_kit.synth.output import (
    EVENTS_DIR,
    TRUTH_COLUMNS,
    truth_rows,
    write_events,
    write_reference,
    write_rows,
)
from audit_kit.synth.params import SynthParams, SynthSummary
from audit_kit.synth.population import build_world
from audit_kit.synth.practice import TRUTH_ORG_COLUMNS, measure
from audit_kit.synth.questionnaires import write_questionnaires
from audit_kit.synth.scenarios import Scenarios
from audit_kit.synth.traffic import EventBuffer, SessionIds, expected_events, normal_traffic

WORLD_FILES = (
    "organisations.csv",
    "users.csv",
    "subjects.csv",
    "involvements.csv",
    "truth.csv",
    "truth_orgs.csv",
    "truth_legit.csv",
)


MARKER = "synth.json"  # marks a directory as a generated world that a new run may replace


def _prepare(out: Path) -> None:
    """Refuse to write into a file or a non-empty directory that is not an earlier synthetic world
    (a real review dataset looks just like one, minus the marker); clear an earlier world's files."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory", hint="give a new directory for the world")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise InputError(
            f"{out}: directory is not empty and holds no synthetic world (no {MARKER})",
            hint="give a new or empty directory; an earlier synthetic world there is replaced",
        )
    out.mkdir(parents=True, exist_ok=True)
    stale = list((out / EVENTS_DIR).glob("events-*.csv")) + [out / "truth_answers.csv"]
    # questionnaires of an earlier world with other organisations would be imported with this one
    stale += [p for p in (out / "questionnaires").glob("*") if p.suffix in (".yaml", ".yml", ".csv", ".xlsx")]
    for old in stale:
        old.unlink(missing_ok=True)
    # marked before anything is written, so that a run that fails half-way can simply be rerun
    (out / MARKER).write_text("{}\n")


def calibrate_scale(params: SynthParams) -> float:
    """The --scale that gives about `params.events` events (deterministic: a dry run of the sessions)."""
    assert params.events is not None
    world = build_world(params)
    clock = Clock(params.start_date, params.days)
    Scenarios(world, clock).plan()  # leavers and dormant accounts change who works
    fixed, per_scale = expected_events(world, clock)
    return round(float(np.clip((params.events - fixed) / max(per_scale, 1.0), 0.01, 100.0)), 4)


def generate(out: Path, params: SynthParams, progress: Progress = NULL_PROGRESS) -> SynthSummary:
    """Write a synthetic review world to `out` in the dataset contract, with truth.csv and truth_orgs.csv.

    Deterministic: the same params give byte-identical files. With `params.events` set, the scale is
    chosen to give about that many events (summary.params.scale shows it). Raises InputError if `out` is a file or a
    non-empty directory that is not an earlier world.
    """
    t0 = time.perf_counter()
    out = Path(out)
    _prepare(out)
    # every stage has a total: a bar without one cannot be drawn by every Progress implementation
    progress.start("building the population", total=1)
    if params.events is not None:
        params = params.model_copy(update={"scale": calibrate_scale(params)})
    world = build_world(params)
    clock = Clock(params.start_date, params.days)
    scenarios = Scenarios(world, clock)
    scenarios.plan()
    legit = LegitWork(world, clock, used=set(scenarios.used_users))
    legit.label_standing()
    progress.advance(1)

    progress.start("drawing normal traffic", total=1)
    buf = EventBuffer()
    ids = SessionIds()
    sessions = normal_traffic(world, clock, buf, ids)
    normal = buf.concat()
    buf.parts.clear()
    progress.advance(1)

    progress.start("injecting scenarios", total=1)
    injected = scenarios.inject(sessions, ids, normal).concat()
    n_injected = len(injected["ts"])
    parts = [normal, injected]
    bursts = legit.inject(sessions, ids)
    if bursts.parts:
        parts.append(bursts.concat())
    events = {k: np.concatenate([p[k] for p in parts]) for k in normal}
    del normal, injected, parts
    events = scenarios.drop_gaps(events)
    # the period is whole local days: a night shift on the last day does not spill into the next month
    lo, hi = clock.utc_of_day(0), clock.utc_of_day(params.days)
    inside = (events["ts"] >= lo) & (events["ts"] < hi)
    events = {k: v[inside] for k, v in events.items()}
    order = np.argsort(events["ts"], kind="stable")
    events = {k: v[order] for k, v in events.items()}
    n_events = len(events["ts"])
    progress.advance(1)

    progress.start("writing files", total=n_events)
    files = write_reference(world, out)
    files += write_events(world, events, out, progress.advance)
    truth = truth_rows(world, scenarios.truth)
    files.append(write_rows(out / "truth.csv", TRUTH_COLUMNS, truth))
    orgs_rows = measure(world, events, scenarios.gaps, scenarios.scan_utc)
    files.append(write_rows(out / "truth_orgs.csv", TRUTH_ORG_COLUMNS, orgs_rows))
    legit_truth = legit_rows(world, legit.rows)
    files.append(write_rows(out / "truth_legit.csv", LEGIT_COLUMNS, legit_truth))

    (out / MARKER).write_text(params.model_dump_json(indent=2) + "\n")  # with the scale chosen
    files.append(out / MARKER)

    # questionnaires/, answered from each organisation's real practice in truth_orgs.csv
    progress.start("writing questionnaires", total=1)
    files += list(write_questionnaires(out, params.seed))
    progress.advance(1)
    questionnaires = True
    progress.finish()

    per_cat: dict[str, int] = {}
    for row in truth:
        per_cat[row[2]] = per_cat.get(row[2], 0) + 1
    per_kind: dict[str, int] = {}
    for lrow in legit_truth:
        per_kind[lrow[2]] = per_kind.get(lrow[2], 0) + 1
    return SynthSummary(
        out=out,
        params=params,
        organisations=world.n_orgs,
        users=world.n_users,
        subjects=world.n_children,
        involvements=len(world.inv_rec),
        events=n_events,
        injected=dict(sorted(per_cat.items())),
        legit=dict(sorted(per_kind.items())),
        injected_events=n_injected,
        files=files,
        questionnaires=questionnaires,
        seconds=round(time.perf_counter() - t0, 3),
    )
