"""Detection quality over the stress matrix (audit_kit.synth.matrix): recall, precision and alert volume per cell.

For each cell x seed: generate the world, ingest it into a fresh workspace, run every detector over the
last 14 days against the history before (default configuration, default alert budget) and score the
findings at medium or above against truth.csv and truth_legit.csv.

    .venv/bin/python benchmarks/detection_matrix.py                      # tuning cells x tuning seeds
    .venv/bin/python benchmarks/detection_matrix.py --cells base,sparse --seeds 1
    .venv/bin/python benchmarks/detection_matrix.py --held-out --seeds 73   # once, at the end (see docs)

Prints a markdown table (or --format json) and, with -o, writes it to a file. Worlds are made in a
temporary directory (--keep DIR keeps them).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_cell(cell: str, seed: int, root: str, budget: float | None) -> dict[str, Any]:
    from audit_kit.config import AuditConfig
    from audit_kit.detectors import run_detectors
    from audit_kit.detectors.evaluate import evaluate_run
    from audit_kit.ingest import ingest_dataset
    from audit_kit.models.findings import Severity
    from audit_kit.store.workspace import Workspace
    from audit_kit.synth import generate
    from audit_kit.synth.matrix import cell_params

    t0 = time.time()
    base = Path(root) / f"{cell}-{seed}"
    world, wsdir = base / "world", base / "ws"
    if wsdir.exists():
        shutil.rmtree(wsdir)
    summary = generate(world, cell_params(cell, seed))
    ws = Workspace.open(wsdir, create=True)
    try:
        ingest_dataset(ws, world)
        config = AuditConfig() if budget is None else AuditConfig(alert_budget=budget)
        run = run_detectors(ws, config, store=False)
        ev = evaluate_run(ws, run, world / "truth.csv", Severity.MEDIUM, config)
    finally:
        ws.close()
    months = max(ev.window_days, 1.0) / 30.4
    medium = [f for f in run.findings if f.severity >= Severity.MEDIUM and f.user_id]
    return {
        "cell": cell, "seed": seed, "users": summary.users, "events": summary.events,
        "active_users": ev.active_users, "cases": ev.cases, "recall": ev.recall, "strict_recall": ev.strict_recall,
        "missed": ev.missed_cases, "flagged_users": ev.flagged_users, "flagged_true": ev.flagged_true_users,
        "precision": ev.precision, "flagged_share": ev.flagged_share,
        "flags_per_1000_users_month": round(len(medium) / max(ev.active_users, 1) * 1000 / months, 1),
        "legit_flagged": ev.legit_flagged, "protected_flagged": ev.protected_flagged,
        "false_flagged": sorted({f.user_id for f in medium} - {t for t in _truth_users(world)}),
        "false_detectors": _false_detectors(medium, _truth_users(world)),
        "errors": run.errors, "skipped": run.skipped, "seconds": round(time.time() - t0, 1),
    }


def _truth_users(world: Path) -> set[str]:
    import csv

    with (world / "truth.csv").open() as fh:
        return {r["user_id"] for r in csv.DictReader(fh) if r["user_id"]}


def _false_detectors(findings: list[Any], truth: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        if f.user_id not in truth:
            out[f.detector] = out.get(f.detector, 0) + 1
    return dict(sorted(out.items()))


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def markdown(rows: list[dict[str, Any]]) -> str:
    out = ["| cell | seed | users active | cases | strict recall | recall | precision (flagged users) | "
           "flagged users (% active) | flags /1k users /month | legit-odd flagged | protected flagged | "
           "false flags by detector | errors |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['cell']} | {r['seed']} | run failed: {r['error'][:100]} |")
            continue
        out.append(
            f"| {r['cell']} | {r['seed']} | {r['active_users']} | {r['cases']} | {pct(r['strict_recall'])} | "
            f"{pct(r['recall'])} | {pct(r['precision'])} ({r['flagged_true']}/{r['flagged_users']}) | "
            f"{r['flagged_users']} ({100 * (r['flagged_share'] or 0):.1f}%) | {r['flags_per_1000_users_month']} | "
            f"{len(r['legit_flagged'])} | {len(r['protected_flagged'])} | "
            f"{', '.join(f'{k} {v}' for k, v in r['false_detectors'].items()) or '–'} | "
            f"{', '.join(d for d, _ in r['errors']) or '–'} |")
    ok = [r for r in rows if "error" not in r]
    if ok:
        cases = sum(r["cases"] for r in ok)
        strict = sum(round((r["strict_recall"] or 0) * r["cases"]) for r in ok)
        anyr = sum(round((r["recall"] or 0) * r["cases"]) for r in ok)
        fl = sum(r["flagged_users"] for r in ok)
        tp = sum(r["flagged_true"] for r in ok)
        worst = max((r["flagged_share"] or 0) for r in ok)
        out += ["", f"Pooled: strict recall {strict}/{cases} = {pct(strict / cases if cases else None)}, "
                f"recall {anyr}/{cases} = {pct(anyr / cases if cases else None)}, precision {tp}/{fl} = "
                f"{pct(tp / fl if fl else None)}; largest flagged share of active users {100 * worst:.1f}%; "
                f"protected legitimate users flagged: {sum(len(r['protected_flagged']) for r in ok)}."]
        missed = [f"{r['cell']}/{r['seed']} {m}" for r in ok for m in r["missed"]]
        if missed:
            out += ["", "Missed (strict): " + "; ".join(missed)]
        legit = [f"{r['cell']}/{r['seed']} {x['user_id']} ({x['kind']}: {', '.join(x['detectors'])})"
                 for r in ok for x in r["legit_flagged"]]
        if legit:
            out += ["", "Legitimate-but-odd users flagged: " + "; ".join(legit)]
    return "\n".join(out) + "\n"


def main() -> int:
    from audit_kit.synth.matrix import CELLS, HELD_OUT_CELLS, HELD_OUT_SEEDS, TUNING_CELLS, TUNING_SEEDS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", help=f"comma-separated cells (known: {', '.join(CELLS)}); default the tuning cells")
    ap.add_argument("--seeds", help="comma-separated seeds; default the tuning seeds")
    ap.add_argument("--held-out", action="store_true",
                    help="every cell on the held-out seeds, or on those of --seeds (run once, at the end)")
    ap.add_argument("--budget", type=float, help="alert budget (share of active users); default the config's")
    ap.add_argument("--jobs", type=int, default=1, help="worlds evaluated at once")
    ap.add_argument("--keep", type=Path, help="keep worlds and workspaces under this directory")
    ap.add_argument("--format", choices=["markdown", "json"], default="markdown")
    ap.add_argument("-o", "--output", type=Path, help="write the report here too")
    a = ap.parse_args()
    if a.held_out:
        cells = list(TUNING_CELLS + HELD_OUT_CELLS)
        seeds = [int(s) for s in a.seeds.split(",")] if a.seeds else list(HELD_OUT_SEEDS)
    else:
        cells = a.cells.split(",") if a.cells else list(TUNING_CELLS)
        seeds = [int(s) for s in a.seeds.split(",")] if a.seeds else list(TUNING_SEEDS)
        held = sorted(set(cells) & set(HELD_OUT_CELLS)) + [str(s) for s in seeds if s in HELD_OUT_SEEDS]
        if held:
            print(f"refusing held-out cells/seeds {', '.join(held)} without --held-out", file=sys.stderr)
            return 2
    root = a.keep or Path(tempfile.mkdtemp(prefix="ak-matrix-"))
    root.mkdir(parents=True, exist_ok=True)
    jobs = [(c, s) for c in cells for s in seeds]
    rows: list[dict[str, Any]] = []
    try:
        with ProcessPoolExecutor(max_workers=max(1, a.jobs)) as pool:
            futs = [(c, s, pool.submit(run_cell, c, s, str(root), a.budget)) for c, s in jobs]
            for c, s, fut in futs:
                try:
                    rows.append(fut.result())
                except Exception as exc:  # noqa: BLE001 - report the cell, go on with the others
                    rows.append({"cell": c, "seed": s, "error": f"{type(exc).__name__}: {exc}"})
                print(f"done {c}/{s}", file=sys.stderr, flush=True)
    finally:
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    text = json.dumps(rows, indent=1, default=str) if a.format == "json" else markdown(rows)
    print(text)
    if a.output:
        a.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
