"""Daily scheduled scans over an independent world's judged fortnights, against one batch detection each.

Splits the world's event files at its first judged day: what comes before is ingested as history, what
comes after is dropped into an inbox one (local) day at a time and scanned, as a nightly cron job would.
Then each judged fortnight is also detected in one batch run on the same workspace. Reports, per
fortnight, the users alerted at medium or above by the scans and by the batch run, against the world's
truth (misusing, legitimate-but-odd, ordinary).

    python benchmarks/holdout/scan_replay.py WORLD_DIR OUT_DIR [extra scan options, e.g. --context-days 4]

WORLD_DIR is a world written by `benchmarks/holdout/world.py` (its `truth/` included). Needs the
audit-kit CLI on PATH (or $AUDIT_KIT). About four minutes a world of 600k events on 2 cores.
Writes OUT_DIR/result.json, with per-case recall scored as `evaluate.py` scores a batch run;
`--score WORLD_DIR OUT_DIR` scores a replay again, `--table OUT_DIR...` prints a markdown table.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

SEV = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
CLI = os.environ.get("AUDIT_KIT", "audit-kit")


def replay(world: Path, out: Path, extra: list[str]) -> dict[str, object]:
    meta = json.loads((world / "truth/world.json").read_text())
    j0 = meta["windows"][0][0]
    shutil.rmtree(out, ignore_errors=True)
    hist = out / "history"
    (hist / "events").mkdir(parents=True)
    for name in ("organisations.csv", "users.csv", "subjects.csv", "involvements.csv"):
        shutil.copy(world / name, hist / name)
    days: dict[str, list[pd.DataFrame]] = {}
    for f in sorted((world / "events").iterdir()):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        before = df[df.timestamp < j0]
        if len(before):
            before.to_csv(hist / "events" / f.name, index=False)
        # one file per local day, as a body delivers them (a few events cross midnight UTC: late events)
        for d, g in df[df.timestamp >= j0].groupby(df.timestamp.str[:10]):
            days.setdefault(d, []).append(g)
    ws, inbox, done = out / "ws", out / "inbox", out / "done"
    p = subprocess.run([CLI, "ingest", str(hist), "-w", str(ws), "-q"], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"ingest of the history exited {p.returncode}: {p.stderr[-400:]}")
    inbox.mkdir()
    done.mkdir()
    alerts = []
    for d in sorted(days):
        pd.concat(days[d]).to_csv(inbox / f"audit-{d}.csv", index=False)
        p = subprocess.run([CLI, "scan", "-w", str(ws), "--inbox", str(inbox), "--move-to", str(done), "-q",
                            "--format", "json", *extra], capture_output=True, text=True)
        if p.returncode not in (0, 1):
            raise SystemExit(f"scan of {d} exited {p.returncode}: {p.stderr[-400:]}")
        print(f"{d}: {json.loads(p.stdout)['summary']}", file=sys.stderr, flush=True)
        alerts += [{"day": d, **{k: a.get(k) for k in ("severity", "detector", "user_id", "org_id", "evidence")}}
                   for a in json.loads(p.stdout)["new_alerts"]]
    mis = set(pd.read_csv(world / "truth/misuse.csv", dtype=str).user_id.dropna())
    odd = set(pd.read_csv(world / "truth/legit_odd.csv", dtype=str).user_id.dropna())
    rows = []
    for k, (since, until) in enumerate(meta["windows"], 1):
        p = subprocess.run([CLI, "detect", "-w", str(ws), "--since", since, "--until", until, "--no-store", "-q",
                            "--format", "json", "--min-severity", "medium", "-o", str(out / f"batch-w{k}.json")],
                           capture_output=True, text=True)
        if p.returncode not in (0, 1):
            raise SystemExit(f"detect of {since}..{until} exited {p.returncode}: {p.stderr[-400:]}")
        batch = {f["user_id"] for f in json.loads((out / f"batch-w{k}.json").read_text()) if f.get("user_id")}
        scans = {a["user_id"] for a in alerts if a["user_id"] and SEV[a["severity"]] >= 2 and since <= a["day"] <= until}
        for how, users in (("scans", scans), ("batch", batch)):
            rows.append({"fortnight": k, "how": how, "alerted": len(users), "misusing": len(users & mis),
                         "legit_odd": len((users & odd) - mis), "ordinary": len(users - mis - odd)})
    escalations = sum(1 for a in alerts if "escalated_from" in (a["evidence"] or {}))
    result = {"world": str(world), "cell": meta.get("cell"), "seed": meta.get("seed"), "scan_options": extra,
              "scans": len(days), "alerts": len(alerts), "escalations": escalations, "fortnights": rows,
              "cases": score_cases(world, out)}
    (out / "result.json").write_text(json.dumps(result, indent=1))
    return result


def score_cases(world: Path, out: Path) -> dict[str, dict[str, int]]:
    """Per-case recall of the scans' alerts and of the batch detections, scored by evaluate.py's own rule (a
    case is found strictly when a finding at medium+ of an expected detector overlaps it, for its user).
    A scan's alerts count in the fortnight of the last day that scan judged."""
    import duckdb

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import evaluate

    meta = json.loads((world / "truth/world.json").read_text())
    con = duckdb.connect(str(out / "ws/audit.duckdb"), read_only=True)
    rows = con.execute("SELECT detector, severity, org_id, user_id, first_seen, last_seen, window_until "
                       "FROM scan_alerts").fetchall()
    con.close()
    scored = {}
    for how in ("scans", "batch"):
        windows = []
        for k, (since, until) in enumerate(meta["windows"], 1):
            if how == "batch":
                fs = json.loads((out / f"batch-w{k}.json").read_text())
            else:
                fs = [{"detector": r[0], "severity": r[1], "org_id": r[2], "user_id": r[3],
                       "first_seen": r[4].isoformat() + "Z", "last_seen": r[5].isoformat() + "Z"}
                      for r in rows if since <= (r[6] - pd.Timedelta(days=1)).date().isoformat() <= until]
            windows.append({"since": since, "until": until, "findings": fs, "rc": 0, "errors": [], "seconds": 0})
        sc = evaluate.score(world, {"meta": meta, "windows": windows, "truth_files_read_by_ingest": [],
                                    "ingest": {}})
        judged = [c for c in sc["cases_detail"] if c["judged"] and c["user_id"]]
        scored[how] = {"user_cases": len(judged), "found": sum(c["found"] for c in judged),
                       "found_strict": sum(c["found_strict"] for c in judged),
                       "flagged_users": sc["flagged_users"], "flagged_true": sc["flagged_true"]}
    return scored


def table(results: list[dict]) -> str:
    """Per world: users alerted at medium+ over both fortnights, misusing / not misusing, scans and batch."""
    lines = ["| cell | seed | scans: misusing | scans: not misusing | batch: misusing | batch: not misusing | "
             "escalations | scans: strict recall | batch: strict recall |", "|---|---|---|---|---|---|---|---|---|"]
    tot = {"scans": [0, 0], "batch": [0, 0]}
    strict = {"scans": [0, 0], "batch": [0, 0]}
    for r in results:
        cells = []
        for how in ("scans", "batch"):
            fs = [f for f in r["fortnights"] if f["how"] == how]
            m, n = sum(f["misusing"] for f in fs), sum(f["alerted"] - f["misusing"] for f in fs)
            tot[how][0] += m
            tot[how][1] += n
            cells += [str(m), str(n)]
        rec = []
        for how in ("scans", "batch"):
            c = r.get("cases", {}).get(how)
            if c:
                strict[how][0] += c["found_strict"]
                strict[how][1] += c["user_cases"]
            rec.append(f"{c['found_strict']}/{c['user_cases']}" if c else "–")
        lines.append(f"| {r['cell']} | {r['seed']} | " + " | ".join(cells) + f" | {r['escalations']} | "
                     + " | ".join(rec) + " |")
    prec = {h: v[0] / max(v[0] + v[1], 1) for h, v in tot.items()}
    rec_all = {h: f"{v[0]}/{v[1]} = {v[0] / v[1]:.3f}" if v[1] else "–" for h, v in strict.items()}
    lines.append(f"| all | | {tot['scans'][0]} | {tot['scans'][1]} (precision {prec['scans']:.3f}) | "
                 f"{tot['batch'][0]} | {tot['batch'][1]} (precision {prec['batch']:.3f}) | | "
                 f"{rec_all['scans']} | {rec_all['batch']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1] == "--score":  # --score WORLD_DIR OUT_DIR: score a replay already run (adds "cases")
        w, o = Path(sys.argv[2]), Path(sys.argv[3])
        res = json.loads((o / "result.json").read_text())
        res["cases"] = score_cases(w, o)
        (o / "result.json").write_text(json.dumps(res, indent=1))
        print(json.dumps(res["cases"]))
        raise SystemExit(0)
    if sys.argv[1] == "--table":
        print(table([json.loads((Path(d) / "result.json").read_text()) for d in sys.argv[2:]]))
        raise SystemExit(0)
    res = replay(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
    for r in res["fortnights"]:  # type: ignore[union-attr]
        print(f"{res['cell']} s{res['seed']} fortnight {r['fortnight']} {r['how']}: {r['alerted']} users alerted, "
              f"{r['misusing']} misusing, {r['legit_odd']} legitimate-but-odd, {r['ordinary']} ordinary")
