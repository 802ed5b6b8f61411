"""How much of the real-format corpus does today's `audit-kit ingest` take in?

Ingests every file under tests/formats/data/real/{fhir,ocsf,cloudtrail}/ with the CLI, each into a
fresh temporary workspace, and prints one row per file and one per format: records read, stored,
quarantined, duplicates, the top quarantine reasons, and the share stored. The share is given two
ways: of the records the CLI read, and of the records the file holds (expected.yaml `records`,
counted by hand), since a file the CLI cannot open at all reads 0 records.

The preset is chosen from the corpus folder (fhir, ocsf, cloudtrail) and passed as --preset only
when `audit-kit ingest --help` lists that option and the file is JSON / NDJSON (the only layouts
docs/formats.md gives the presets: FHIR XML and OCSF Parquet go in without it, so the CLI's own
choice and refusal are measured); likewise --org (the organisation, for formats
whose records do not name one) is passed only when the help lists it, with the file's `org` from
expected.yaml, or the format's default below. Nothing in the library is changed or imported: this
measures the CLI as a user runs it.

Usage: .venv/bin/python benchmarks/real_formats.py [--format table|json] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "formats" / "data" / "real"
FORMATS = ("fhir", "ocsf", "cloudtrail")
SKIP_SUFFIXES = {".md", ".yaml", ".yml", ".py"}
# the suffixes docs/formats.md says a preset reads; other files (FHIR XML, OCSF Parquet) go in
# without --preset so the CLI's own choice, and its own refusal message, is what is measured
PRESET_SUFFIXES = {".json", ".ndjson", ".jsonl"}
# used for --org only if the CLI has it and expected.yaml gives no org for the file
DEFAULT_ORG = {"fhir": "corpus-fhir-org", "ocsf": "corpus-ocsf-org", "cloudtrail": "corpus-cloudtrail-org"}


def cli() -> list[str]:
    exe = Path(sys.executable).with_name("audit-kit")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "audit_kit"]


def ingest_options() -> set[str]:
    out = subprocess.run(cli() + ["ingest", "--help"], capture_output=True, text=True, env=_env())
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", out.stdout + out.stderr))


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["COLUMNS"] = "200"  # keep rich's help on one line per option
    env.pop("AUDIT_KIT_WORKSPACE", None)
    return env


def load_expected() -> dict[str, dict]:
    path = CORPUS / "expected.yaml"
    if not path.exists():
        return {}
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML ships with the project's environment
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    files = data.get("files", data)
    return {k: v for k, v in files.items() if isinstance(v, dict)}


def corpus_files(only: str | None) -> list[tuple[str, Path]]:
    found = []
    for fmt in FORMATS:
        for p in sorted((CORPUS / fmt).rglob("*")):
            if p.is_file() and p.suffix.lower() not in SKIP_SUFFIXES:
                rel = p.relative_to(CORPUS).as_posix()
                if only is None or only in rel:
                    found.append((fmt, p))
    return found


def reason_key(reason: str) -> str:
    """Group reasons that differ only in the values they quote."""
    r = re.sub(r"'[^']*'", "'…'", reason)
    r = re.sub(r"\(type/subtype codes: [^)]*\)", "(type/subtype codes: …)", r)
    r = re.sub(r"\d+", "N", r)
    return r[:140]


def run_one(fmt: str, path: Path, options: set[str], expected: dict) -> dict:
    rel = path.relative_to(CORPUS).as_posix()
    exp = expected.get(rel, {})
    row = {
        "file": rel,
        "format": fmt,
        "expected_records": exp.get("records"),
        "read": 0,
        "stored": 0,
        "quarantined": 0,
        "duplicates": 0,
        "reasons": {},
        "error": None,
        "flags": [],
    }
    ws = Path(tempfile.mkdtemp(prefix="real-formats-"))
    try:
        cmd = cli() + ["ingest", str(path), "--workspace", str(ws / "ws"), "--format", "json"]
        suffixes = [x.lower() for x in path.suffixes if x.lower() != ".gz"]
        if "--preset" in options and suffixes and suffixes[-1] in PRESET_SUFFIXES:
            cmd += ["--preset", fmt]
            row["flags"].append(f"--preset {fmt}")
        if "--org" in options:
            org = str(exp.get("org") or DEFAULT_ORG[fmt])
            cmd += ["--org", org]
            row["flags"].append(f"--org {org}")
        if "--quiet" in options:
            cmd.append("--quiet")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=ROOT)
        try:
            result = json.loads(proc.stdout)
        except json.JSONDecodeError:
            result = None
        if proc.returncode != 0 or not isinstance(result, dict):
            msg = (proc.stderr or proc.stdout).strip().splitlines()
            last = (msg[-1] if msg else "no output").replace(str(path), "FILE")
            row["error"] = f"exit {proc.returncode}: {last}"
            return row
        for k in ("read", "stored", "quarantined", "duplicates"):
            row[k] = int(result.get(k) or 0)
        qfile = result.get("quarantine_file")
        if qfile and Path(qfile).exists():
            csv.field_size_limit(1 << 24)
            with open(qfile, newline="", encoding="utf-8") as fh:
                counts = Counter(reason_key(r.get("reason") or "") for r in csv.DictReader(fh))
            row["reasons"] = dict(counts.most_common())
        return row
    finally:
        shutil.rmtree(ws, ignore_errors=True)


def summarise(rows: list[dict]) -> dict:
    per_format = {}
    for fmt in FORMATS + ("all",):
        sel = [r for r in rows if fmt == "all" or r["format"] == fmt]
        if not sel:
            continue
        reasons: Counter = Counter()
        errors: Counter = Counter()
        for r in sel:
            reasons.update(r["reasons"])
            if r["error"]:
                errors[r["error"][:140]] += 1
        read = sum(r["read"] for r in sel)
        stored = sum(r["stored"] for r in sel)
        expected = sum(r["expected_records"] or 0 for r in sel)
        per_format[fmt] = {
            "files": len(sel),
            "files_refused": sum(1 for r in sel if r["error"]),
            "expected_records": expected,
            "read": read,
            "stored": stored,
            "quarantined": sum(r["quarantined"] for r in sel),
            "duplicates": sum(r["duplicates"] for r in sel),
            "share_stored_of_read": round(stored / read, 4) if read else None,
            "share_stored_of_expected": round(stored / expected, 4) if expected else None,
            "top_reasons": dict(reasons.most_common(8)),
            "file_errors": dict(errors.most_common()),
        }
    return per_format


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def print_table(rows: list[dict], summary: dict) -> None:
    w = max(len(r["file"]) for r in rows) if rows else 10
    print(f"{'file':<{w}}  {'exp':>4} {'read':>5} {'stored':>6} {'quar':>5} {'dup':>4}  top reason / error")
    for r in rows:
        top = r["error"] or (next(iter(r["reasons"]), "") if r["reasons"] else "")
        exp = "" if r["expected_records"] is None else r["expected_records"]
        print(
            f"{r['file']:<{w}}  {exp!s:>4} {r['read']:>5} {r['stored']:>6} {r['quarantined']:>5} "
            f"{r['duplicates']:>4}  {top[:110]}"
        )
    print()
    print(f"{'format':<11} {'files':>5} {'refused':>7} {'exp':>5} {'read':>5} {'stored':>6} {'quar':>5} "
          f"{'dup':>4} {'stored/read':>11} {'stored/exp':>10}")
    for fmt, s in summary.items():
        print(
            f"{fmt:<11} {s['files']:>5} {s['files_refused']:>7} {s['expected_records']:>5} {s['read']:>5} "
            f"{s['stored']:>6} {s['quarantined']:>5} {s['duplicates']:>4} "
            f"{pct(s['share_stored_of_read']):>11} {pct(s['share_stored_of_expected']):>10}"
        )
    for fmt, s in summary.items():
        if fmt == "all":
            continue
        print(f"\n{fmt}: top quarantine reasons")
        for reason, n in s["top_reasons"].items():
            print(f"  {n:>4}  {reason}")
        for err, n in s["file_errors"].items():
            print(f"  {n:>4}  file refused: {err}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--format", choices=("table", "json"), default="table")
    ap.add_argument("--only", help="measure only files whose corpus path contains this")
    args = ap.parse_args(argv)
    options = ingest_options()
    expected = load_expected()
    rows = [run_one(fmt, p, options, expected) for fmt, p in corpus_files(args.only)]
    summary = summarise(rows)
    if args.format == "json":
        json.dump({"cli_options_used": sorted(o for o in options if o in {"--preset", "--org"}),
                   "files": rows, "summary": summary}, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print_table(rows, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
