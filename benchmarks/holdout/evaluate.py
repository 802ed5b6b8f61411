#!/usr/bin/env python3
"""Black-box evaluation of audit-kit's detection on independent worlds (benchmarks/holdout/world.py).

    python benchmarks/holdout/evaluate.py --cells base,noisy_browsing --seeds 1,2 [--keep DIR]
    python benchmarks/holdout/evaluate.py --world DIR [--world DIR ...]   # worlds made before

For each cell x seed: generate a world, `audit-kit ingest` it into a fresh workspace, then
`audit-kit detect --since --until --format json` once per judged 14-day window (the last four
weeks; everything before is history), and score the findings against OUT/truth/ only through the
CLI's output: no audit_kit import. Prints a markdown report (or --format json).

Scoring (severity medium or above unless said otherwise):
- recall: a misuse case is found when a finding names its user (org-level cases: a finding with no
  user on its organisation) in a window the case overlaps, and the finding's first_seen..last_seen
  touches the case's period (one day of slack either side);
- strict recall: the same, and the finding's detector is one of the case's expected_detectors;
- precision: flagged users that are misuse users / flagged users (both windows together);
- flagged per window: users with a finding in the window, as a count and a share of the users
  active in that window; flags per 1,000 active users per month: findings on users per window,
  scaled to 30.4 days;
- legitimate-but-odd users flagged (night duty, MASH, analysts, exporters, inspections...) and
  ordinary users flagged; org-level findings (no user) against the org-level truth (log gaps).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SEV = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
MEDIUM = 2
TUNING_SEEDS = list(range(1, 10))
# 112: declared 2026-12-07, before any run on it, for the scheduled scans' held-out measure
# (benchmarks/holdout/scan_replay.py over the eight cells), looked at once.
# 113: declared 2026-12-07, before any run on it, for the scans' continuation rule (a window pattern found
# again by a later window is the same incident): scan_replay.py over the eight cells, 909c516 against now.
# 114 and 115: declared 2026-12-07, before any run on them, for vip_snooping's count of bodies from outside the
# child's area (tuned on seeds 1-2 only): evaluate.py over the eight cells, once.
# 116 and 117: declared 2026-12-07, before any run on them, for vip_snooping naming each reader as strongly as
# the test that counted them (the fix 114-115 called for; tuned on seeds 1-2 only): evaluate.py, eight cells, once.
# 118 and 119: declared 2026-12-07 13:36 UTC, before any run on them, for the next round of detector work (tuned
# on seeds 1-2 only): evaluate.py over the eight cells, once, the code before and after on the same worlds.
# 120 and 121: declared 2026-12-07 13:55 UTC, before any run on them, for the relationship detectors' intake
# periods (tuned on seeds 1-2 only): evaluate.py over the eight cells, once, before and after on the same worlds.
# 122 and 123: declared 2026-12-07 14:17 UTC, before any run on them, for leaver_account's last night shift (tuned
# on seeds 1-5: night-shift leavers whose last shift ran past midnight): evaluate.py, eight cells, once.
# 124 and 125: declared 2026-12-07 14:29 UTC, before any run on them, for peer_outlier's intake periods (tuned on
# seeds 1-2 only): evaluate.py, eight cells, once, before and after on the same worlds.
# 126: declared 2026-12-07 14:55 UTC, before any run on it, for the scheduled scans under the eighth round's four
# rules (busy days, intake periods, the last night shift): scan_replay.py over the eight cells, c75358f against
# the code with all four, once.
# 127 and 128: declared 2026-12-07 16:34 UTC, before any run on them, for weak_auth's reading of users.mfa_enrolled
# (looked for on the spent seeds 120-124, whose four returner / new-starter alerts were all users not enrolled; the
# tuning seeds 1-2 checked): evaluate.py, eight cells, once, before and after on the same worlds.
# 129 and 130: declared 2026-12-07 16:48 UTC, before any run on them, for the relationship detectors' volume_shift
# (the daily-rate test only where the rest of the work per day is comparable; tuned on seeds 1-2 and an own-generator
# world with bursts and no purpose): evaluate.py, eight cells, once, before and after on the same worlds.
# 131 and 132: declared 2026-12-07 19:37 UTC, before any run on them, for vip_snooping's week (week_days: readers
# of a story spread across a weekend counted together; tuned on seeds 1-2 and 3-4): evaluate.py, eight cells,
# once, before (b4ffaeb) and after (8d85c7b) on the same worlds.
# 133 and 134: declared 2026-12-07 21:30 UTC, before any run on them, for after_hours' night test (the dead of night
# against the user's own nights; tuned on seeds 1-2 and 3-4): evaluate.py, eight cells, once, before (78d05fb) and
# after (cf61065) on the same worlds.
# 135 and 136: declared 2026-12-07 22:17 UTC, before any run on them, for vip_snooping's bulk passes (a child read
# only within a day's list of 250+ record accesses is not counted) and after_hours' single test for users with too
# little history (tuned on seeds 1-2 and 3-4): evaluate.py, eight cells, once, before (f3bf706) and after (1916041).
# 137 and 138: declared 2026-12-07 22:56 UTC, before any run on them, for vip_snooping's teams (four or more newcomer
# readers of a child from one body are not counted; tuned on seeds 1-2 and 3-4): evaluate.py, eight cells, once,
# before (77b042b) and after (0ab383b).
# 139 and 140: declared 2026-12-08 00:57 UTC, before any run on them, for the relationship detectors' peer pool (each
# colleague counts at most as many records as the group's median user; tuned on seeds 1-2): evaluate.py, eight
# cells, once, before (cce8619) and after (21d0fe0).
HELD_OUT_SEEDS = [101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119,
                  120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138,
                  139, 140]
DEFAULT_CELLS = ["base", "sparse_involvements", "noisy_browsing", "no_optional", "bursty_legit",
                 "popular_records", "small_orgs", "quiet_misuse"]


def find_cli(explicit: str | None) -> str:
    if explicit:
        return explicit
    for c in (REPO / ".venv" / "bin" / "audit-kit", Path(sys.executable).parent / "audit-kit"):
        if c.exists():
            return str(c)
    found = shutil.which("audit-kit")
    if not found:
        raise SystemExit("audit-kit not found: build the venv (make .venv) or pass --audit-kit")
    return found


def ts(s) -> datetime | None:
    if s is None or (isinstance(s, float) and pd.isna(s)) or s == "":
        return None
    d = datetime.fromisoformat(str(s).replace("Z", "+00:00"))
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def run(cmd, log, **kw):
    t0 = time.time()
    env = {**os.environ, "COLUMNS": "2000", "NO_COLOR": "1"}   # one error per line
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)
    log.append({"cmd": " ".join(map(str, cmd)), "rc": p.returncode,
                "seconds": round(time.time() - t0, 1), "stderr": p.stderr[-4000:]})
    return p


# ---------------------------------------------------------------------------------------------


def make_world(cell, seed, root: Path, args, log) -> Path:
    world = root / "world"
    cmd = [sys.executable, str(HERE / "world.py"), str(world), "--seed", str(seed), "--cell", cell,
           "--orgs", str(args.orgs), "--users", str(args.users), "--weeks", str(args.weeks),
           "--force"]
    p = run(cmd, log)
    if p.returncode != 0:
        raise RuntimeError(f"world.py failed: {p.stderr[-2000:]}")
    return world


def detect_world(world: Path, ws: Path, cli: str, args, log) -> dict:
    meta = json.loads((world / "truth" / "world.json").read_text())
    if ws.exists():
        shutil.rmtree(ws)
    p = run([cli, "ingest", str(world), "-w", str(ws), "--format", "json", "-q"], log)
    if p.returncode not in (0,):
        raise RuntimeError(f"ingest failed (rc {p.returncode}): {p.stderr[-2000:]}")
    ingest = json.loads(p.stdout)
    truth_read = [f["path"] for f in ingest.get("files", []) if "/truth/" in f["path"]]
    windows = []
    for k, (since, until) in enumerate(meta["windows"]):
        out = ws.parent / f"findings-w{k + 1}.json"
        cmd = [cli, "detect", "-w", str(ws), "--since", since, "--until", until, "--format",
               "json", "-o", str(out), "--min-severity", "info", "-q"]
        if args.config:
            cmd += ["--config", str(args.config)]
        p = run(cmd, log)
        errors = [ln.strip() for ln in p.stderr.splitlines() if ln.strip().startswith("error in")]
        if p.returncode not in (0, 1, 3) or not out.exists():
            raise RuntimeError(f"detect failed (rc {p.returncode}): {p.stderr[-2000:]}")
        windows.append({"since": since, "until": until, "rc": p.returncode, "errors": errors,
                        "seconds": log[-1]["seconds"],
                        "findings": json.loads(out.read_text() or "[]")})
    return {"meta": meta, "ingest": {k: ingest.get(k) for k in ("read", "stored", "quarantined",
                                                                   "duplicates")},
            "truth_files_read_by_ingest": truth_read, "windows": windows}


# ---------------------------------------------------------------------------------------------


def active_users(world: Path, windows) -> list[set]:
    frames = [pd.read_csv(f, usecols=["timestamp", "user_id"], dtype=str)
              for f in sorted((world / "events").glob("*.csv"))]
    ev = pd.concat(frames, ignore_index=True)
    t = pd.to_datetime(ev["timestamp"], utc=True, format="ISO8601")
    out = []
    for w in windows:
        lo = pd.Timestamp(w["since"], tz="UTC")
        hi = pd.Timestamp(w["until"], tz="UTC") + pd.Timedelta(days=1)
        out.append(set(ev.loc[(t >= lo) & (t < hi), "user_id"]))
    return out


def overlaps(a0, a1, b0, b1) -> bool:
    return a0 <= b1 and b0 <= a1


def score(world: Path, res: dict) -> dict:
    meta = res["meta"]
    mis = pd.read_csv(world / "truth" / "misuse.csv", dtype=str, keep_default_na=False)
    odd = pd.read_csv(world / "truth" / "legit_odd.csv", dtype=str, keep_default_na=False)
    users = pd.read_csv(world / "users.csv", dtype=str, keep_default_na=False)
    orgs = pd.read_csv(world / "organisations.csv", dtype=str, keep_default_na=False)
    role = dict(zip(users.user_id, users.role, strict=True))
    org_type = dict(zip(orgs.org_id, orgs.type, strict=True))
    windows = res["windows"]
    act = active_users(world, windows)
    slack = timedelta(days=1)
    wbounds = [(datetime.fromisoformat(w["since"]).replace(tzinfo=UTC),
                datetime.fromisoformat(w["until"]).replace(tzinfo=UTC) + timedelta(days=1))
               for w in windows]
    # findings at medium or above, tagged with their window
    fs = []
    for k, w in enumerate(windows):
        for f in w["findings"]:
            if SEV.get(f.get("severity"), 0) >= MEDIUM:
                fs.append((k, f))
    by_user = defaultdict(list)
    by_org_null = defaultdict(list)
    for k, f in fs:
        if f.get("user_id"):
            by_user[f["user_id"]].append((k, f))
        else:
            by_org_null[f.get("org_id")].append((k, f))

    def hits(case, cands):
        c0, c1 = ts(case["start"]), ts(case["end"])
        any_, strict = [], []
        exp = set(filter(None, case["expected_detectors"].split(";")))
        for k, f in cands:
            w0, w1 = wbounds[k]
            if not overlaps(c0, c1, w0, w1):
                continue
            f0, f1 = ts(f.get("first_seen")), ts(f.get("last_seen"))
            if f0 and f1 and not overlaps(f0, f1, c0 - slack, c1 + slack):
                continue
            any_.append(f["detector"])
            if f["detector"] in exp:
                strict.append(f["detector"])
        return any_, strict

    cases = []
    for case in mis.to_dict("records"):
        if case["user_id"]:
            a, s = hits(case, by_user.get(case["user_id"], []))
        else:
            a, s = hits(case, by_org_null.get(case["org_id"], []))
        in_window = any(overlaps(ts(case["start"]), ts(case["end"]), w0, w1)
                        for w0, w1 in wbounds)
        cases.append({**{k: case[k] for k in ("case_id", "category", "user_id", "org_id",
                                               "start", "end", "expected_detectors", "strength",
                                               "placement", "org_type", "role")},
                      "judged": in_window, "found": bool(a), "found_strict": bool(s),
                      "detectors": sorted(set(a))})
    judged = [c for c in cases if c["judged"]]
    user_cases = [c for c in judged if c["user_id"]]
    org_cases = [c for c in judged if not c["user_id"]]
    misuse_users = set(mis.loc[mis.user_id != "", "user_id"])
    odd_users = odd[odd.user_id != ""]
    odd_kind = odd_users.groupby("user_id")["kind"].apply(lambda s: ";".join(sorted(set(s))))
    odd_kind = odd_kind.to_dict()
    odd_orgs = odd[odd.user_id == ""].groupby("org_id")["kind"].apply(
        lambda s: ";".join(sorted(set(s)))).to_dict()

    per_window = []
    flagged_all = set()
    for k, w in enumerate(windows):
        wf = [f for kk, f in fs if kk == k and f.get("user_id")]
        flagged = {f["user_id"] for f in wf}
        flagged_all |= flagged
        n_act = max(1, len(act[k]))
        days = (wbounds[k][1] - wbounds[k][0]).days
        per_window.append({
            "since": w["since"], "until": w["until"], "active_users": len(act[k]),
            "findings_all": len(w["findings"]), "findings_medium_plus": len(wf),
            "org_findings_medium_plus": sum(1 for kk, f in fs if kk == k and not f.get("user_id")),
            "flagged_users": len(flagged), "flagged_pct": round(100 * len(flagged) / n_act, 2),
            "flagged_misuse_users": len(flagged & misuse_users),
            "flags_per_1k_users_month": round(len(wf) / n_act * 1000 * 30.4 / days, 1),
            "flagged_users_per_1k_month": round(len(flagged) / n_act * 1000 * 30.4 / days, 1),
            "detect_rc": w["rc"], "detector_errors": w["errors"], "seconds": w["seconds"]})
    tp = flagged_all & misuse_users
    legit_flagged = []
    for u in sorted(flagged_all - misuse_users):
        dets = sorted({f["detector"] for _, f in by_user[u]})
        legit_flagged.append({"user_id": u, "role": role.get(u, "?"),
                              "kind": odd_kind.get(u, ""), "detectors": dets})
    odd_flagged = [x for x in legit_flagged if x["kind"]]
    plain_flagged = [x for x in legit_flagged if not x["kind"]]
    # per detector: medium+ findings on users, and how many name a misuse user
    per_det = defaultdict(lambda: {"findings": 0, "on_misuse_users": 0, "org_level": 0})
    for _, f in fs:
        d = per_det[f["detector"]]
        if f.get("user_id"):
            d["findings"] += 1
            d["on_misuse_users"] += f["user_id"] in misuse_users
        else:
            d["org_level"] += 1
    # org-level findings against org-level truth
    gap_orgs = {c["org_id"]: c for c in org_cases}
    org_level = []
    for o, lst in sorted(by_org_null.items(), key=lambda x: str(x[0])):
        for k, f in lst:
            c = gap_orgs.get(o)
            ok = False
            if c:
                f0, f1 = ts(f.get("first_seen")), ts(f.get("last_seen"))
                ok = not (f0 and f1) or overlaps(f0, f1, ts(c["start"]) - slack,
                                                  ts(c["end"]) + slack)
            org_level.append({"window": k + 1, "org_id": o, "org_type": org_type.get(o, "?"),
                              "detector": f["detector"], "severity": f["severity"],
                              "first_seen": f.get("first_seen"), "last_seen": f.get("last_seen"),
                              "true": ok, "legit_kind": odd_orgs.get(o, "")})

    def rate(lst, key):
        return round(sum(c[key] for c in lst) / len(lst), 3) if lst else None

    cat = defaultdict(lambda: [0, 0, 0])
    for c in judged:
        x = cat[c["category"]]
        x[0] += 1
        x[1] += c["found"]
        x[2] += c["found_strict"]
    return {
        "cell": meta["cell"], "seed": meta["seed"], "events": meta["events"],
        "users": meta["users"], "organisations": meta["organisations"],
        "cases": len(judged), "user_cases": len(user_cases), "org_cases": len(org_cases),
        "recall": rate(user_cases, "found"), "strict_recall": rate(user_cases, "found_strict"),
        "flagged_users": len(flagged_all), "flagged_true": len(tp),
        "precision": round(len(tp) / len(flagged_all), 3) if flagged_all else None,
        "windows": per_window,
        "legit_odd_flagged": odd_flagged, "ordinary_flagged": plain_flagged,
        "org_recall": rate(org_cases, "found"),
        "org_findings": org_level,
        "org_false": sum(1 for x in org_level if not x["true"]),
        "per_category": {k: {"cases": v[0], "found": v[1], "strict": v[2]}
                         for k, v in sorted(cat.items())},
        "per_detector": dict(sorted(per_det.items())),
        "cases_detail": cases,
        "truth_files_read_by_ingest": res["truth_files_read_by_ingest"],
        "ingest": res["ingest"],
    }


# ---------------------------------------------------------------------------------------------


def pct(x):
    return "–" if x is None else f"{100 * x:.0f}%"


def markdown(results: list[dict], header: dict) -> str:
    L = []
    L.append(f"Holdout evaluation — {header['when']}, commit {header['commit']}, "
             f"{header['orgs']} bodies / {header['users']} users / {header['weeks']} weeks per "
             f"world; judged windows: the last two fortnights; severity medium or above.")
    L.append("")
    L.append("| cell | seed | events | cases (user/org) | recall | strict recall | precision "
             "(flagged users) | flagged users per window (n, % active) | flags /1k users /month "
             "| legit-odd flagged | ordinary flagged | org-level: gaps found / false | detector "
             "errors |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            L.append(f"| {r['cell']} | {r['seed']} | – | – | – | – | – | – | – | – | – | – | "
                     f"run failed: {r['error'][:80]} |")
            continue
        fw = ", ".join(f"{w['flagged_users']} ({w['flagged_pct']:.1f}%)" for w in r["windows"])
        fl = ", ".join(f"{w['flags_per_1k_users_month']:.0f}" for w in r["windows"])
        errs = sorted({e.split(":")[0].replace("error in ", "") for w in r["windows"]
                       for e in w["detector_errors"]})
        org_found = sum(1 for c in r["cases_detail"] if c["judged"] and not c["user_id"]
                        and c["found"])
        L.append(f"| {r['cell']} | {r['seed']} | {r['events']:,} | {r['user_cases']}/"
                 f"{r['org_cases']} | {pct(r['recall'])} | {pct(r['strict_recall'])} | "
                 f"{pct(r['precision'])} ({r['flagged_true']}/{r['flagged_users']}) | {fw} | {fl} | "
                 f"{len(r['legit_odd_flagged'])} | {len(r['ordinary_flagged'])} | "
                 f"{org_found}/{r['org_cases']} / {r['org_false']} | {', '.join(errs) or '–'} |")
    ok = [r for r in results if "error" not in r]
    if not ok:
        return "\n".join(L) + "\n"
    # per category across runs
    cats = sorted({k for r in ok for k in r["per_category"]})
    cells = list(dict.fromkeys(r["cell"] for r in ok))
    L += ["", "Recall per misuse category (found / cases, strict in brackets), all seeds:", ""]
    L.append("| category | " + " | ".join(cells) + " | all |")
    L.append("|---|" + "---|" * (len(cells) + 1))
    for k in cats:
        row = [k]
        tot = [0, 0, 0]
        for c in cells:
            x = [0, 0, 0]
            for r in ok:
                if r["cell"] == c and k in r["per_category"]:
                    v = r["per_category"][k]
                    x = [x[0] + v["cases"], x[1] + v["found"], x[2] + v["strict"]]
            tot = [a + b for a, b in zip(tot, x, strict=True)]
            row.append(f"{x[1]}/{x[0]} ({x[2]})" if x[0] else "–")
        row.append(f"{tot[1]}/{tot[0]} ({tot[2]})")
        L.append("| " + " | ".join(row) + " |")
    # by strength and placement
    L += ["", "Recall by strength and placement (all runs):", ""]
    det = [c for r in ok for c in r["cases_detail"] if c["judged"] and c["user_id"]]
    for key in ("strength", "placement"):
        g = defaultdict(lambda: [0, 0])
        for c in det:
            g[c[key]][0] += 1
            g[c[key]][1] += c["found"]
        L.append(f"- {key}: " + ", ".join(f"{k} {v[1]}/{v[0]}" for k, v in sorted(g.items())))
    # legit-odd flagged
    kinds = Counter()
    dets = defaultdict(Counter)
    for r in ok:
        for x in r["legit_odd_flagged"]:
            for kd in x["kind"].split(";"):
                kinds[kd] += 1
                dets[kd].update(x["detectors"])
    L += ["", "Legitimate-but-odd users flagged medium+ (all runs), by kind and detector:", ""]
    if kinds:
        for kd, n in kinds.most_common():
            L.append(f"- {kd}: {n} — " + ", ".join(f"{d} {m}" for d, m in dets[kd].most_common()))
    else:
        L.append("- none")
    L += ["", "<details><summary>Legitimate-but-odd users flagged, one by one</summary>", ""]
    for r in ok:
        lst = "; ".join(f"{x['user_id']} ({x['kind']}, {x['role']}: {'/'.join(x['detectors'])})"
                        for x in r["legit_odd_flagged"]) or "none"
        L.append(f"- {r['cell']} seed {r['seed']}: {lst}")
    L += ["", "</details>"]
    pd_ = Counter()
    roles = Counter()
    for r in ok:
        for x in r["ordinary_flagged"]:
            pd_.update(x["detectors"])
            roles[x["role"]] += 1
    L += ["", "Ordinary (unlabelled) users flagged medium+ (all runs): "
          f"{sum(roles.values())}; by detector: "
          + (", ".join(f"{d} {m}" for d, m in pd_.most_common()) or "none")
          + "; by role: " + (", ".join(f"{d} {m}" for d, m in roles.most_common(8)) or "none")]
    # per detector
    agg = defaultdict(lambda: [0, 0, 0])
    for r in ok:
        for d, v in r["per_detector"].items():
            agg[d][0] += v["findings"]
            agg[d][1] += v["on_misuse_users"]
            agg[d][2] += v["org_level"]
    L += ["", "Medium+ findings per detector (all runs): on users (of which on misuse users), "
          "org-level:", ""]
    L.append("| detector | on users | on misuse users | org-level |")
    L.append("|---|---|---|---|")
    for d, v in sorted(agg.items()):
        L.append(f"| {d} | {v[0]} | {v[1]} | {v[2]} |")
    org = Counter()
    for r in ok:
        for x in r["org_findings"]:
            if not x["true"]:
                org[(x["detector"], x["org_type"], x["legit_kind"] or "-")] += 1
    L += ["", "Org-level findings (no user) that match no org-level truth: "
          + (", ".join(f"{d} on {t} ({k}) {n}" for (d, t, k), n in org.most_common()) or "none")]
    errs = Counter(e for r in ok for w in r["windows"] for e in w["detector_errors"])
    if errs:
        L += ["", "Detector errors reported by `audit-kit detect` (windows affected):"]
        L += [f"- `{e}` ({n})" for e, n in errs.most_common()]
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------------------------------------


def one(cell, seed, args, cli, base: Path) -> dict:
    root = base / f"{cell}-s{seed}"
    root.mkdir(parents=True, exist_ok=True)
    log = []
    t0 = time.time()
    try:
        world = make_world(cell, seed, root, args, log)
        res = detect_world(world, root / "workspace", cli, args, log)
        out = score(world, res)
        out["seconds"] = round(time.time() - t0, 1)
        out["log"] = [{k: v for k, v in x.items() if k != "stderr"} for x in log]
        return out
    except Exception as e:  # report the failure in the table, keep going
        return {"cell": cell, "seed": seed, "error": str(e), "log": log}
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def one_existing(world: Path, args, cli, base: Path) -> dict:
    log = []
    meta = json.loads((world / "truth" / "world.json").read_text())
    root = base / f"{meta['cell']}-s{meta['seed']}-existing"
    root.mkdir(parents=True, exist_ok=True)
    try:
        res = detect_world(world, root / "workspace", cli, args, log)
        return score(world, res)
    except Exception as e:
        return {"cell": meta["cell"], "seed": meta["seed"], "error": str(e), "log": log}
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=f"Seed policy: tuning seeds {TUNING_SEEDS[0]}-"
                                 f"{TUNING_SEEDS[-1]}; held-out seeds {HELD_OUT_SEEDS} (look once).")
    ap.add_argument("--cells", default="base", help="comma-separated cells, or 'all'")
    ap.add_argument("--seeds", default="1,2", help="comma-separated seeds")
    ap.add_argument("--world", action="append", type=Path, default=[],
                    help="evaluate an existing world directory instead (repeatable)")
    ap.add_argument("--orgs", type=int, default=40)
    ap.add_argument("--users", type=int, default=700)
    ap.add_argument("--weeks", type=int, default=13)
    ap.add_argument("--audit-kit", dest="cli", help="the audit-kit executable (default: the "
                    "repo's .venv)")
    ap.add_argument("--config", type=Path, help="audit-kit.yaml passed to detect")
    ap.add_argument("--keep", type=Path, help="keep worlds, workspaces and findings under DIR")
    ap.add_argument("--jobs", type=int, default=1, help="worlds evaluated at once")
    ap.add_argument("--format", choices=["markdown", "json"], default="markdown")
    ap.add_argument("-o", "--output", type=Path, help="write the report here (default stdout)")
    ap.add_argument("--json-out", type=Path, help="also write the full results as JSON here")
    ap.add_argument("--allow-held-out", action="store_true",
                    help=f"needed to run the held-out seeds {HELD_OUT_SEEDS}")
    args = ap.parse_args(argv)
    cli = find_cli(args.cli)
    cells = DEFAULT_CELLS if args.cells == "all" else [c for c in args.cells.split(",") if c]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    if set(seeds) & set(HELD_OUT_SEEDS) and not args.allow_held_out:
        ap.error(f"seeds {sorted(set(seeds) & set(HELD_OUT_SEEDS))} are held out: run them once, "
                 "for a final measure, with --allow-held-out (see README.md)")
    base = args.keep or Path(tempfile.mkdtemp(prefix="holdout-"))
    base.mkdir(parents=True, exist_ok=True)
    jobs = [(c, s) for c in cells for s in seeds] if not args.world else []
    t0 = time.time()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        futs = [ex.submit(one, c, s, args, cli, base) for c, s in jobs]
        futs += [ex.submit(one_existing, w, args, cli, base) for w in args.world]
        results = []
        for f in futs:
            r = f.result()
            results.append(r)
            state = f"error: {r['error'][:200]}" if "error" in r else \
                f"recall {pct(r['recall'])}, precision {pct(r['precision'])}, {r.get('seconds', '?')}s"
            print(f"[holdout] {r['cell']} seed {r['seed']}: {state}", file=sys.stderr)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    def dirty(path):
        return subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", path],
                              capture_output=True, text=True).stdout.strip()

    notes = [f"{p} modified" for p in ("audit_kit", "benchmarks/holdout") if dirty(p)]
    header = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
              "commit": commit + (f" ({', '.join(notes)})" if notes else ""),
              "orgs": args.orgs, "users": args.users, "weeks": args.weeks,
              "cpus": os.cpu_count(), "seconds": round(time.time() - t0, 1)}
    blob = json.dumps({"header": header, "results": results}, indent=1, default=str) + "\n"
    if args.json_out:
        args.json_out.write_text(blob)
    text = blob if args.format == "json" else markdown(results, header)
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
