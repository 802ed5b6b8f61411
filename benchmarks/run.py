"""audit-kit benchmarks: wall time and peak RSS per stage, beside DuckDB's own floor, in one run.

Each stage runs as its own process so its peak RSS is its own (os.wait4). Figures go to
benchmarks/RESULTS.md with the machine's cores and memory. Targets come from the issues:

- ingest 10M events within 2x DuckDB's bare read_csv of the same files, peak RSS < 1.5 GB;
- ingest + detect on 10M within 3x one bare grouped aggregate (detection alone within 3x too);
- all graphs on 10M < 30 s and < 2 GB; assessment < 20 s;
- national report for 300 organisations < 60 s, all packs < 3 min, peak RSS < 1.5 GB;
- a one-day incremental scan < 10% of a full detection.

Detection stages: `detect` is the first detection of a freshly ingested workspace (it learns every
baseline and keeps it); `detect_warm` the same command again (baselines read from the workspace).
Scan stages: the workspace minus its last day, marked as history; `scan_cold` scans the last day's
file when no baseline of its epoch is kept yet (the first scan of a week), `scan` when the week's
baselines are kept (every other day of the week: what an earlier scan of the week learnt).

Usage: python benchmarks/run.py [--sizes 1M,10M] [--stages ingest,detect,...] [--keep]
(make bench runs the defaults; --sizes 100M is the out-of-core check and takes a long time).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
PY = sys.executable
CLI = [PY, "-m", "audit_kit"]

# Worlds sized so events land near the target: (orgs, children, days, scale).
WORLDS = {
    "1M": dict(orgs=300, children=200_000, days=90, scale=None),
    "10M": dict(orgs=300, children=500_000, days=90, scale=None),
    "100M": dict(orgs=300, children=2_000_000, days=365, scale=None),
}
TARGET_EVENTS = {"1M": 1_000_000, "10M": 10_000_000, "100M": 100_000_000}
STAGES = ["synth", "floor_load", "ingest_events", "ingest", "floor_aggregate", "detect", "detect_warm", "scan_cold",
          "scan", "assess", "graph", "report", "packs"]
# Not run by default (asked for with --stages): the same detectors on PySpark local[2] over the
# workspace exported to Parquet. Its peak RSS is the Python process's; the JVM (-Xmx2g) may not be counted.
OPTIONAL_STAGES = ["detect_spark"]


@dataclass
class Result:
    stage: str
    size: str
    seconds: float
    peak_rss_mb: float
    ok: bool
    note: str = ""
    extra: dict = field(default_factory=dict)
    measured_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))


def measured(cmd: list[str]) -> list[str]:
    """Wrap a command so it reports its own peak RSS and CPU time: run it under a tiny Python parent that
    prints RUSAGE_CHILDREN for just that child (a running max would mix stages otherwise)."""
    code = (
        "import subprocess,sys,resource,json;"
        "r=subprocess.run(sys.argv[1:]);"
        "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
        "print('__RSS__'+json.dumps([u.ru_maxrss, u.ru_utime+u.ru_stime]), file=sys.stderr);"
        "sys.exit(r.returncode)"
    )
    return [PY, "-c", code, *cmd]


def _cpu_busy() -> float | None:
    """Seconds of CPU time every process on the machine has used so far (Linux /proc/stat), else None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def busy_note(machine_cpu: float | None, own_cpu: float, seconds: float) -> str:
    """Named when other jobs shared the cores: the CPU the rest of the machine used during the stage, as a
    share of its cores (what is left when the stage's own CPU time is taken from the machine's)."""
    if machine_cpu is None or seconds <= 0:
        return ""
    others = max(machine_cpu - own_cpu, 0.0) / (seconds * (os.cpu_count() or 1))
    return f"other jobs used {others:.0%} of the cores meanwhile" if others >= 0.10 else ""


def run_measured(stage: str, size: str, cmd: list[str], note: str = "") -> Result:
    cpu_before = _cpu_busy()
    start = time.perf_counter()
    proc = subprocess.run(measured(cmd), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    cpu_after = _cpu_busy()
    rss_kb, own_cpu = 0, 0.0
    err_lines = []
    for line in proc.stderr.splitlines():
        if line.startswith("__RSS__"):
            rss_kb, own_cpu = json.loads(line[7:])
        else:
            err_lines.append(line)
    busy = busy_note(None if cpu_before is None or cpu_after is None else cpu_after - cpu_before, own_cpu, seconds)
    note = "; ".join(n for n in (note, busy) if n)
    ok = proc.returncode in (0, 1)
    msg = note if ok else f"exit {proc.returncode}: {(err_lines or proc.stdout.splitlines() or [''])[-1][:200]}"
    peak = rss_kb / 1024
    print(f"  {size:>5} {stage:<16} {seconds:8.2f} s  {peak:8.0f} MB  {'ok' if ok else 'FAILED ' + msg}",
          flush=True)
    return Result(stage, size, seconds, peak, ok, msg, {"stdout": proc.stdout[-4000:]})


def duckdb_snippet(code: str) -> list[str]:
    return [PY, "-c", "import duckdb,sys,time\n" + code]


def floor_load_cmd(events_dir: Path, db: Path) -> list[str]:
    return duckdb_snippet(
        f"c=duckdb.connect({str(db)!r}); c.execute(\"SET enable_progress_bar=false\");"
        f"c.execute(\"CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv('{events_dir}/**/*.csv')\")"
    )


def floor_aggregate_cmd(db: Path) -> list[str]:
    # One bare grouped aggregate over every event: the cheapest full pass a detector could make.
    return duckdb_snippet(
        f"c=duckdb.connect({str(db)!r}, read_only=True); c.execute(\"SET enable_progress_bar=false\");"
        "print(c.execute('SELECT count(*) FROM (SELECT user_id, org_id, action, count(*), "
        "count(DISTINCT record_id) FROM events GROUP BY ALL)').fetchone())"
    )


def prepare_scan(root: Path, ws: Path) -> tuple[Path, Path, str]:
    """A copy of the workspace without its last day (re-derived aggregates), scanned once as history, and an
    inbox holding that day's events as one file: what a nightly scan finds. Not timed."""
    import duckdb

    base = root / "scan-base"
    inbox = root / "scan-inbox"
    shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(inbox, ignore_errors=True)
    inbox.mkdir(parents=True)
    shutil.copytree(ws, base)
    for bl in (base / "alerts.jsonl",):
        bl.unlink(missing_ok=True)
    con = duckdb.connect(str(base / "audit.duckdb"))
    con.execute("SET TimeZone = 'UTC'")
    last = con.execute("SELECT max(timestamp)::DATE FROM events").fetchone()[0]
    day = str(last)
    cols = "event_id, timestamp, user_id, org_id, record_id, action, outcome, source_ip, auth_method, purpose, " \
           "session_id, records_returned, break_glass"
    con.execute(f"COPY (SELECT {cols.replace('timestamp', 'strftime(timestamp, ' + repr('%Y-%m-%dT%H:%M:%S.%fZ') + ') AS timestamp')} "
                f"FROM events WHERE timestamp >= DATE '{day}' ORDER BY timestamp, event_id) "
                f"TO '{inbox / ('events-' + day + '.csv')}' (HEADER)")
    con.execute(f"DELETE FROM events WHERE timestamp >= DATE '{day}'")
    con.execute("DELETE FROM kept_baselines")
    con.execute("CHECKPOINT")
    con.close()
    subprocess.run([*CLI, "rebuild", "-w", str(base), "--days", day, "-q"], check=True)
    empty = root / "scan-empty"
    empty.mkdir(exist_ok=True)
    subprocess.run([*CLI, "scan", "-w", str(base), "--inbox", str(empty), "--baseline", "-q"], check=True)
    return base, inbox, day


def bench_scan(root: Path, ws: Path, size: str, stages: list[str]) -> list[Result]:
    base, inbox, day = prepare_scan(root, ws)
    out: list[Result] = []
    scan_args = ["--inbox", str(inbox), "-q", "--format", "json"]
    if "scan_cold" in stages:
        cold = root / "scan-cold"
        shutil.rmtree(cold, ignore_errors=True)
        shutil.copytree(base, cold)
        out.append(run_measured("scan_cold", size, [*CLI, "scan", "-w", str(cold), *scan_args],
                                f"one day ({day}) on {size}: the week's baselines learnt by this scan"))
        shutil.rmtree(cold, ignore_errors=True)
    if "scan" in stages:
        warm = root / "scan-warm"
        shutil.rmtree(warm, ignore_errors=True)
        shutil.copytree(base, warm)
        # An earlier scan of the same week learnt its baselines: the scan's context (the batch window, 14 days
        # ending with the new day) up to the day before, judged without storing.
        prev = (datetime.fromisoformat(day) - timedelta(days=1)).date().isoformat()
        first = (datetime.fromisoformat(day) - timedelta(days=13)).date().isoformat()
        subprocess.run([*CLI, "detect", "-w", str(warm), "--since", first, "--until", prev, "--no-store", "-q",
                        "-f", "json", "-o", os.devnull], check=True)
        out.append(run_measured("scan", size, [*CLI, "scan", "-w", str(warm), *scan_args],
                                f"one day ({day}) on {size}: the week's baselines kept"))
        shutil.rmtree(warm, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)
    return out


def machine() -> str:
    import psutil  # dev dependency

    mem = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def bench_size(size: str, stages: list[str], keep: bool) -> list[Result]:
    root = DATA / size
    world, ws, out = root / "world", root / "workspace", root / "out"
    results: list[Result] = []
    spec = WORLDS[size]
    if "synth" in stages or not world.exists():
        shutil.rmtree(world, ignore_errors=True)
        args = [*CLI, "synth", str(world), "--seed", "11", "--orgs", str(spec["orgs"]),
                "--children", str(spec["children"]), "--days", str(spec["days"]), "--events", str(TARGET_EVENTS[size])]
        results.append(run_measured("synth", size, args))
    events = world / "events"
    if "floor_load" in stages:
        db = root / "floor.duckdb"
        db.unlink(missing_ok=True)
        results.append(run_measured("floor_load", size, floor_load_cmd(events, db), "bare read_csv into a table"))
        db.unlink(missing_ok=True)
    if "ingest_events" in stages:
        # The event log alone, into a fresh workspace: what issue 2's target compares with the bare load.
        ev_ws = root / "events-only"
        shutil.rmtree(ev_ws, ignore_errors=True)
        results.append(run_measured("ingest_events", size, [*CLI, "ingest", str(events), "-w", str(ev_ws), "--quiet",
                                                            "--format", "json"], "event files only"))
        shutil.rmtree(ev_ws, ignore_errors=True)
    if "ingest" in stages:
        shutil.rmtree(ws, ignore_errors=True)
        results.append(run_measured("ingest", size, [*CLI, "ingest", str(world), "-w", str(ws), "--quiet", "--format", "json"]))
    if "floor_aggregate" in stages:
        results.append(run_measured("floor_aggregate", size, floor_aggregate_cmd(ws / "audit.duckdb"),
                                    "bare grouped aggregate over events"))
    if "detect" in stages:
        # A first detection learns every baseline: forget any kept by an earlier run of the same code.
        subprocess.run(duckdb_snippet(
            f"c=duckdb.connect({str(ws / 'audit.duckdb')!r})\n"
            "for (t,) in c.execute('SELECT table_name FROM kept_baselines').fetchall(): c.execute(f'DROP TABLE IF EXISTS \"{t}\"')\n"
            "c.execute('DELETE FROM kept_baselines')"), check=True)
        results.append(run_measured("detect", size, [*CLI, "detect", "-w", str(ws), "--format", "json", "-o", str(root / "findings.json"), "--quiet"]))
    if "detect_warm" in stages:
        results.append(run_measured("detect_warm", size, [*CLI, "detect", "-w", str(ws), "--format", "json", "-o",
                                                         str(root / "findings-warm.json"), "--quiet"],
                                    "the same detect again: baselines kept"))
    if "scan_cold" in stages or "scan" in stages:
        results.extend(bench_scan(root, ws, size, stages))
    if "detect_spark" in stages:
        results.append(run_measured("detect_spark", size, [*CLI, "detect", "-w", str(ws), "--engine", "spark", "--format",
                                                          "json", "-o", str(root / "findings-spark.json"), "--quiet"],
                                    "PySpark local[2]; RSS may not count the JVM"))
    if "assess" in stages:
        results.append(run_measured("assess", size, [*CLI, "assess", "-w", str(ws), "--format", "json", "-o", str(root / "assessment.json")]))
    if "graph" in stages:
        out.mkdir(parents=True, exist_ok=True)
        results.append(run_measured("graph", size, [*CLI, "graph", "-w", str(ws), "--kind", "orgs", "--format", "svg", "-o", str(out / "orgs.svg")]))
    if "report" in stages:
        out.mkdir(parents=True, exist_ok=True)
        results.append(run_measured("report", size, [*CLI, "report", "-w", str(ws), "-o", str(out / "national.pdf")]))
    if "packs" in stages:
        out.mkdir(parents=True, exist_ok=True)
        results.append(run_measured("packs", size, [*CLI, "report", "-w", str(ws), "--all-orgs", "-o", str(out / "packs")]))
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return results


def verdicts(results: list[Result]) -> list[str]:
    by = {(r.size, r.stage): r for r in results}
    lines = []
    for size in sorted({r.size for r in results}, key=lambda s: TARGET_EVENTS[s]):
        def get(stage: str, size: str = size) -> Result | None:
            r = by.get((size, stage))
            return r if r and r.ok else None

        ingest, load, events_only = get("ingest"), get("floor_load"), get("ingest_events")
        if events_only and load:
            ratio = events_only.seconds / load.seconds
            lines.append(f"- {size}: ingest of the event log {events_only.seconds:.1f} s = {ratio:.2f}x DuckDB's bare "
                         f"read_csv of the same files ({load.seconds:.1f} s): target <= 2x "
                         f"{'MET' if ratio <= 2 else 'NOT MET'}; peak RSS {events_only.peak_rss_mb:.0f} MB: "
                         f"target < 1536 MB {'MET' if events_only.peak_rss_mb < 1536 else 'NOT MET'}")
        if ingest:
            vs = f" = {ingest.seconds / load.seconds:.2f}x the bare read_csv of its event files" if load else ""
            lines.append(f"- {size}: whole review directory (reference files, events, questionnaires) "
                         f"{ingest.seconds:.1f} s{vs}, peak {ingest.peak_rss_mb:.0f} MB (no target)")
        det, agg = get("detect"), get("floor_aggregate")
        if det and agg:
            ratio = det.seconds / agg.seconds
            lines.append(f"- {size}: detect {det.seconds:.1f} s = {ratio:.1f}x one bare grouped aggregate "
                         f"({agg.seconds:.2f} s): target <= 3x {'MET' if ratio <= 3 else 'NOT MET'}")
            if events_only:
                both = (events_only.seconds + det.seconds) / agg.seconds
                lines.append(f"- {size}: ingest of the event log + detect = {both:.1f}x the aggregate floor: "
                             f"target <= 3x {'MET' if both <= 3 else 'NOT MET'}")
        warm = get("detect_warm")
        if warm and agg:
            ratio = warm.seconds / agg.seconds
            lines.append(f"- {size}: detect again with the baselines kept {warm.seconds:.1f} s = {ratio:.1f}x the "
                         f"aggregate floor: target <= 3x {'MET' if ratio <= 3 else 'NOT MET'}")
        for stage in ("scan", "scan_cold"):
            sc = get(stage)
            if sc and det:
                share = sc.seconds / det.seconds
                lines.append(f"- {size}: {stage} of one more day {sc.seconds:.1f} s = {100 * share:.0f}% of a full "
                             f"detection ({det.seconds:.1f} s): target <= 10% {'MET' if share <= 0.10 else 'NOT MET'}"
                             + (f"; {100 * sc.seconds / warm.seconds:.0f}% of detect with kept baselines" if warm else ""))
        spark = get("detect_spark")
        if spark and det:
            lines.append(f"- {size}: detect on PySpark local[2] {spark.seconds:.1f} s against {det.seconds:.1f} s on DuckDB "
                         "(no target: Spark is for data that already lives in a cluster)")
        for stage in ("ingest_events", "detect", "detect_warm", "scan"):
            r = get(stage)
            if size == "10M" and r:
                lines.append(f"- {size}: {stage} peak RSS {r.peak_rss_mb:.0f} MB: target < 2048 MB "
                             f"{'MET' if r.peak_rss_mb < 2048 else 'NOT MET'}")
        if size == "100M":
            for stage in ("ingest_events", "ingest", "detect", "assess", "graph"):
                big, small = get(stage), get(stage, "10M")
                if big and small:
                    growth = big.seconds / small.seconds
                    lines.append(f"- 100M: {stage} {big.seconds:.1f} s, peak {big.peak_rss_mb:.0f} MB = {growth:.1f}x "
                                 f"the 10M time for 10x the events: no worse than linear "
                                 f"{'MET' if growth <= 10 * 1.1 else 'NOT MET'}")
                elif big is None and by.get(("100M", stage)) is None and small:
                    lines.append(f"- 100M: {stage} not run")
        for stage, limit, label in (("graph", 30, "graphs < 30 s"), ("assess", 20, "assessment < 20 s"),
                                    ("report", 60, "national report < 60 s"), ("packs", 180, "all packs < 3 min")):
            r = get(stage)
            if r:
                lines.append(f"- {size}: {stage} {r.seconds:.1f} s, peak {r.peak_rss_mb:.0f} MB: {label} "
                             f"{'MET' if r.seconds < limit else 'NOT MET'}")
    failed = [r for r in results if not r.ok]
    for r in failed:
        lines.append(f"- {r.size}: {r.stage} FAILED: {r.note}")
    return lines


def merged(results: list[Result], store: Path) -> list[Result]:
    """Earlier results (benchmarks/results.json) with this run's replacing the same size and stage, so a
    long 100M run and a quick 1M rerun can share one RESULTS.md; each row keeps when it was measured."""
    old: dict[tuple[str, str], Result] = {}
    if store.exists():
        for d in json.loads(store.read_text()):
            r = Result(**d)
            old[(r.size, r.stage)] = r
    for r in results:
        old[(r.size, r.stage)] = r
    listed = STAGES[: STAGES.index("detect") + 1] + OPTIONAL_STAGES + STAGES[STAGES.index("detect") + 1:]
    order = {s: i for i, s in enumerate(listed)}
    out = sorted(old.values(), key=lambda r: (TARGET_EVENTS[r.size], order.get(r.stage, 99)))
    store.write_text(json.dumps([{**r.__dict__, "extra": {}} for r in out], indent=1) + "\n")
    return out


def write_results(results: list[Result], path: Path) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = "\n".join(
        f"| {r.size} | {r.stage} | {r.seconds:.2f} | {r.peak_rss_mb:.0f} | {'ok' if r.ok else 'failed'} | {r.note} "
        f"| {r.measured_at} |"
        for r in results
    )
    text = (
        "# Benchmark results\n\n"
        f"Written {now} on {machine()} by `make bench` (`benchmarks/run.py`).\n"
        "Each stage is its own process; floors are DuckDB doing the bare minimum on the same data "
        "in the same run.\n\n"
        "Rows come from `benchmarks/results.json` (kept between runs); a rerun replaces the rows of the "
        "sizes and stages it measured. Compare a stage with the floors of the same size measured at about "
        "the same time.\n\n"
        "| events | stage | seconds | peak RSS (MB) | status | note | measured |\n|---|---|---|---|---|---|---|\n"
        f"{rows}\n\n## Targets\n\n" + "\n".join(verdicts(results)) + "\n"
    )
    path.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1M,10M")
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--keep", action="store_true", help="keep generated reports")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = ap.parse_args()
    stages = args.stages.split(",")
    results: list[Result] = []
    print(f"audit-kit benchmarks on {machine()}", flush=True)
    for size in args.sizes.split(","):
        results.extend(bench_size(size, stages, args.keep))
        # after every size, so a long run leaves figures
        write_results(merged(results, Path(args.out).with_name("results.json")), Path(args.out))
    print("\n".join(verdicts(merged(results, Path(args.out).with_name("results.json")))))
    print(f"written {args.out}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
