"""Corroboration quality on catalogues other than the shipped one (a measurement run by hand, not a test).

For each synthetic world (`audit-kit synth`), every organisation answers Cyber Essentials and the NIST
SP 800-53 LOW baseline (imported from OSCAL with the shipped measure map `nist-800-53-r5`). An
organisation that overstates in its synthetic `accessing-organisation` questionnaire (any
`truthful=false` row in truth_answers.csv) answers every control "yes"; the others answer what their
real practice (truth_orgs.csv) merits, by the definitions in `truth()` below. Then the answers are
imported and assessed through the CLI, and each tested answer is counted by its truth label and the
status the logs gave it — the confusion table of docs/risk-model.md.

Usage: python benchmarks/corroboration_quality.py [--seeds 57,88] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
LOW = ROOT / "tests" / "catalogue" / "data" / "NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"
CLI = [sys.executable, "-m", "audit_kit"]
STATUSES = ("contradicted", "no_evidence", "corroborated")


def ynp(good: bool, ok: bool) -> str:
    return "yes" if good else "partial" if ok else "no"


def truth(r: dict[str, str]) -> dict[str, str]:
    """The answer each tested control truly merits, from the organisation's real practice (a control
    whose practice column is blank for this organisation is left out: it gets no truth label)."""
    def f(name: str) -> float | None:
        v = r.get(name, "").strip().lower()
        return None if v == "" else 1.0 if v == "true" else 0.0 if v == "false" else float(v)

    rank = {"no": 0, "partial": 1, "yes": 2}
    yn = {True: "yes", False: "no"}
    out: dict[str, str] = {}
    mfa, leavers, dormant, shared = f("mfa_share"), f("leavers_disabled_days"), f("dormant_accounts"), f("shared_accounts")
    explained, undeclared, gap = f("explained_share"), f("undeclared_ip_share"), f("log_gap_days")
    if mfa is not None:
        out["IA-2(1)"] = out["IA-2(2)"] = ynp(mfa >= 0.98, mfa >= 0.90)
    if leavers is not None:
        out["PS-4"] = ynp(leavers <= 1, leavers <= 7)
    if shared is not None:
        out["IA-2"] = yn[not shared]
    if dormant is not None:
        out["CE-SC"] = yn[dormant == 0]
        if leavers is not None:
            out["AC-2"] = min(ynp(dormant == 0, dormant <= 5), out["PS-4"], key=rank.__getitem__)
    if mfa is not None and leavers is not None and shared is not None:
        out["CE-UAC"] = yn[mfa >= 0.98 and leavers <= 1 and not shared]
    if explained is not None:
        out["AC-3"] = ynp(explained >= 0.95, explained >= 0.85)
    if undeclared is not None:
        out["CE-FW"] = yn[undeclared < 0.01]
        out["AC-17"] = out["SC-7"] = out["CM-8"] = ynp(undeclared < 0.01, undeclared < 0.05)
    if gap is not None:
        out["AU-11"] = out["AU-12"] = yn[gap == 0]
    return out


def cli(*args: str) -> str:
    return subprocess.run([*CLI, *args], check=True, capture_output=True, text=True).stdout


def world(seed: int, base: Path) -> dict[str, Counter[tuple[str, bool, str]]]:
    w, ws = base / f"w{seed}", base / f"ws{seed}"
    cli("synth", str(w), "--seed", str(seed), "--orgs", "24", "--days", "60", "--children", "20000", "--quiet")
    cli("ingest", str(w), "--workspace", str(ws), "--quiet")
    practice = {r["org_id"]: r for r in csv.DictReader((w / "truth_orgs.csv").open())}
    overstating = {r["org_id"] for r in csv.DictReader((w / "truth_answers.csv").open()) if r["truthful"] == "false"}
    results: dict[str, Counter[tuple[str, bool, str]]] = {}
    for checklist, where in (("cyber-essentials", "CE-FW"), ("nist-800-53-low", "SC-7")):
        files, merits = [], {}
        blank = base / f"{checklist}-{seed}.yaml"
        cli("questionnaire", "template", "-c", checklist, "-f", "yaml", "-o", str(blank), "--force")
        for org, row in practice.items():
            template = base / f"{checklist}-{org}-{seed}.yaml"
            doc = yaml.safe_load(blank.read_text())
            doc["org_id"], doc["submitted"] = org, "2026-10-01"
            merits[org] = truth(row)
            for cid, entry in doc["answers"].items():
                entry["answer"] = "yes" if org in overstating else merits[org].get(cid, "yes")
            doc["answers"][where]["evidence"] = "Declared networks: " + row["declared_networks"].replace(";", ", ")
            template.write_text(yaml.safe_dump(doc, sort_keys=False))
            files.append(str(template))
        cli("questionnaire", "import", *files, "--workspace", str(ws), "--quiet")
        out = json.loads(cli("assess", "--workspace", str(ws), "--checklist", checklist, "--format", "json", "-q"))
        counts: Counter[tuple[str, bool, str]] = Counter()
        for o in out["orgs"]:
            for c in o["checks"]:
                merit = merits[o["org_id"]].get(c["control_id"])
                if c["claimed"] is not None and merit is not None:
                    counts[(c["control_id"], c["claimed"] == merit, c["status"])] += 1
        results[checklist] = counts
    return results


def table(counts: Counter[tuple[str, bool, str]]) -> str:
    head = ("| control | overstated: contradicted | overstated: no evidence | overstated: corroborated "
            "| truthful: contradicted | truthful: no evidence | truthful: corroborated |")
    lines = [head, "|" + "---|" * 7]
    controls = sorted({k[0] for k in counts})
    for cid in [*controls, "**total**"]:
        cells = [sum(n for (c, t, s), n in counts.items() if (cid == "**total**" or c == cid) and t is truth_
                     and s == status) for truth_ in (False, True) for status in STATUSES]
        lines.append(f"| {cid} | " + " | ".join(str(x) for x in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="57,88")
    ap.add_argument("--keep", type=Path, help="keep the worlds and workspaces here")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="corrob-quality-"))
    base.mkdir(parents=True, exist_ok=True)
    cats = base / "catalogues"
    cats.mkdir(exist_ok=True)
    os.environ["AUDIT_KIT_CHECKLISTS"] = str(cats)
    cli("checklist", "import-oscal", str(LOW), "--measures", "nist-800-53-r5", "-o", str(cats / "nist-low.yaml"),
        "--id", "nist-800-53-low", "--force")
    total: dict[str, Counter[Any]] = {"cyber-essentials": Counter(), "nist-800-53-low": Counter()}
    try:
        for seed in (int(s) for s in args.seeds.split(",")):
            for checklist, counts in world(seed, base).items():
                total[checklist].update(counts)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    for checklist, counts in total.items():
        print(f"\n{checklist} (seeds {args.seeds})\n\n{table(counts)}")


if __name__ == "__main__":
    main()
