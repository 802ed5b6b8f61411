"""Synthetic questionnaires for a synthetic world: one per organisation, answers derived from the
organisation's hidden practice (truth_orgs.csv), some organisations overstating what they do.

Written files: `out/questionnaires/<org_id>.{yaml,csv,xlsx}` (formats rotate) and
`out/truth_answers.csv` (org_id, control_id, answer_given, truthful). Deterministic per seed.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from audit_kit.catalogue import AnswerType, Catalogue, Control, load_catalogue
from audit_kit.errors import InputError
from audit_kit.questionnaires.layout import ABOUT_FIELDS, ANSWER_COLUMNS, SHEET_ABOUT, SHEET_ANSWERS
from audit_kit.questionnaires.templates import write_template
from audit_kit.synth.params import SynthParams

CHECKLIST = "accessing-organisation"
OVERSTATE_SHARE = 0.3  # share of organisations that claim full marks where their practice is weak
FORMATS = ("yaml", "csv", "xlsx")
Row = dict[str, str]


def _f(row: Row, key: str) -> float | None:
    v = (row.get(key) or "").strip()
    if not v:
        return None
    if v.lower() in ("true", "yes"):
        return 1.0
    if v.lower() in ("false", "no"):
        return 0.0
    try:
        return float(v)
    except ValueError:
        return None


def _ynp(good: bool, ok: bool) -> str:
    return "yes" if good else "partial" if ok else "no"


# Controls whose truthful answer follows from a practice column. Each maps to (truthful answer,
# the answer an overstating organisation gives); the two are equal where practice is already good.
def _derived(row: Row, submitted: date) -> dict[str, tuple[Any, Any]]:
    out: dict[str, tuple[Any, Any]] = {}
    mfa = _f(row, "mfa_share")
    if mfa is not None:
        out["IAM-02"] = (round(100 * mfa), 100)
    leavers = _f(row, "leavers_disabled_days")
    if leavers is not None:
        out["PPL-05"] = (int(round(leavers)), min(int(round(leavers)), 1))
    dormant = _f(row, "dormant_accounts")
    if dormant is not None:
        out["IAM-04"] = (_ynp(dormant == 0, dormant <= 5), "yes")
        review = submitted - timedelta(days=120 if dormant <= 5 else 420)
        out["IAM-05"] = (review, review if dormant <= 5 else submitted - timedelta(days=60))
    shared = _f(row, "shared_accounts")
    if shared is not None:
        out["IAM-01"] = ("yes" if shared == 0 else "no", "yes")
    explained = _f(row, "explained_share")
    if explained is not None:
        out["NTK-02"] = (_ynp(explained >= 0.95, explained >= 0.85), "yes")
    overrides = _f(row, "shielded_overrides")
    if overrides is not None:
        out["NTK-03"] = (_ynp(overrides == 0, overrides <= 2), "yes")
    exports = _f(row, "exports_controlled")
    if exports is not None:
        out["NTK-05"] = ("yes" if exports >= 1 else "no", "yes")
    undeclared = _f(row, "undeclared_ip_share")
    if undeclared is not None:
        out["DEV-04"] = (_ynp(undeclared < 0.01, undeclared < 0.05), "yes")
        out["GOV-05"] = (_ynp(undeclared < 0.01, undeclared < 0.05), "yes")
    gap = _f(row, "log_gap_days")
    if gap is not None:
        out["MON-03"] = (12 if gap == 0 else 3, 12)
    return out


def _plain(control: Control, rng: random.Random, quality: float, submitted: date) -> Any:
    """An answer for a control the practice columns say nothing about, from the org's general quality."""
    # Most bodies meet the must-pass controls (access is withheld otherwise); a few do not.
    good = rng.random() < (max(quality, 0.85) if control.must_pass else quality)
    t = control.answer_type
    if t in (AnswerType.YES_NO, AnswerType.YES_PARTIAL_NO):
        if good:
            return "yes"
        return "partial" if t is AnswerType.YES_PARTIAL_NO and rng.random() < 0.6 else "no"
    if t is AnswerType.CHOICE:
        options = sorted((control.choices or {}).items(), key=lambda kv: -kv[1])
        return (
            options[0][0] if good else options[min(len(options) - 1, 1 + rng.randrange(len(options) - 1))][0]
        )
    rule = control.scoring
    if t is AnswerType.DATE:
        full = int(rule.full) if rule else 365
        return submitted - timedelta(
            days=rng.randint(10, full) if good else rng.randint(full + 1, full * 2 + 30)
        )
    if t in (AnswerType.NUMBER, AnswerType.PERCENTAGE) and rule is not None:
        lower = rule.better.value == "lower"
        if good:
            return rule.full if not lower else max(0, rule.full - rng.randint(0, int(rule.full)))
        worse = rule.partial if rule.partial is not None else rule.full
        return round(worse * (1.5 if lower else 0.8)) if t is AnswerType.NUMBER else round(worse * 0.9)
    return "see attached"


def _read_rows(path: Path) -> list[Row]:
    if not path.exists():
        raise InputError(f"{path}: not found (write organisations.csv and truth_orgs.csv first)")
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_questionnaires(out: Path, seed: int, submitted: date | None = None) -> list[Path]:
    """Write one questionnaire per organisation in `out/organisations.csv` and `out/truth_answers.csv`.

    Practice comes from `out/truth_orgs.csv` (org_id plus practice columns; missing columns are
    answered from the organisation's general quality). Returns the questionnaire paths.
    """
    orgs = _read_rows(out / "organisations.csv")
    truth_path = out / "truth_orgs.csv"
    practice = {r.get("org_id", ""): r for r in _read_rows(truth_path)} if truth_path.exists() else {}
    if submitted is None:
        submitted = SynthParams().end_date - timedelta(days=30)
    catalogue = load_catalogue(CHECKLIST)
    rng = random.Random(seed * 7919 + 3)
    qdir = out / "questionnaires"
    qdir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    truth_rows: list[tuple[str, str, str, bool]] = []
    for i, org in enumerate(orgs):
        org_id = org["org_id"]
        row = practice.get(org_id, {})
        derived = _derived(row, submitted)
        weak = sum(1 for cid, (true, best) in derived.items() if true != best)
        overstate = rng.random() < OVERSTATE_SHARE and weak > 0
        quality = max(0.35, 0.92 - 0.08 * weak)
        answers: dict[str, dict[str, Any]] = {}
        for c in catalogue.controls:
            if c.id in derived:
                true, best = derived[c.id]
                given = best if overstate else true
                truthful = given == true
            else:
                given, truthful = _plain(c, rng, quality, submitted), True
            evidence = f"{org_id}-{c.id.lower()}-evidence.pdf" if rng.random() < 0.6 else ""
            comment = ""
            if c.id == "DEV-04" and row.get("declared_networks"):
                # A respondent names the ranges access comes from: what the logs are tested against.
                comment = "Access only from " + ", ".join(row["declared_networks"].split(";"))
            answers[c.id] = {"answer": given, "evidence": evidence, "comment": comment}
            shown = given.isoformat() if isinstance(given, date) else str(given)
            truth_rows.append((org_id, c.id, shown, truthful))
        fmt = FORMATS[i % len(FORMATS)]
        path = qdir / f"{org_id}.{fmt}"
        _WRITERS[fmt](catalogue, org_id, submitted, answers, path)
        paths.append(path)
    with (out / "truth_answers.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["org_id", "control_id", "answer_given", "truthful"])
        for org_id, cid, given, truthful in truth_rows:
            w.writerow([org_id, cid, given, "true" if truthful else "false"])
    return paths


def _respondent(org_id: str) -> dict[str, str]:
    return {
        "name": f"Data Protection Officer ({org_id})",
        "role": "DPO",
        "email": f"dpo@{org_id.lower()}.example",
    }


def _write_yaml(
    cat: Catalogue, org_id: str, submitted: date, answers: dict[str, dict[str, Any]], path: Path
) -> None:
    import yaml

    entries = {cid: (a if a["evidence"] or a["comment"] else a["answer"]) for cid, a in answers.items()}
    doc: dict[str, Any] = {
        "org_id": org_id,
        "checklist": cat.id,
        "submitted": submitted,
        "respondent": _respondent(org_id),
        "answers": entries,
    }
    for a in entries.values():
        if isinstance(a, dict) and not a["comment"]:
            del a["comment"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _write_csv(
    cat: Catalogue, org_id: str, submitted: date, answers: dict[str, dict[str, Any]], path: Path
) -> None:
    resp = _respondent(org_id)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "org_id",
                "checklist",
                "submitted",
                "respondent_name",
                "respondent_role",
                "respondent_email",
                "control_id",
                "answer",
                "evidence",
                "comment",
            ]
        )
        for cid, a in answers.items():
            v = a["answer"]
            w.writerow(
                [
                    org_id,
                    cat.id,
                    submitted.isoformat(),
                    resp["name"],
                    resp["role"],
                    resp["email"],
                    cid,
                    v.isoformat() if isinstance(v, date) else v,
                    a["evidence"],
                    a["comment"],
                ]
            )


def _write_xlsx(
    cat: Catalogue, org_id: str, submitted: date, answers: dict[str, dict[str, Any]], path: Path
) -> None:
    fill_workbook(cat, org_id, submitted, _respondent(org_id), answers, path)


def fill_workbook(
    cat: Catalogue,
    org_id: str,
    submitted: date,
    respondent: dict[str, str],
    answers: dict[str, dict[str, Any]],
    path: Path,
) -> Path:
    """Write the Excel template for `cat` and fill it in as a respondent would (used by synth and tests)."""
    import openpyxl

    write_template(cat, "xlsx", path, org_id)
    wb = openpyxl.load_workbook(path)
    about = wb[SHEET_ABOUT]
    values = {
        "submitted": submitted,
        "respondent_name": respondent.get("name"),
        "respondent_role": respondent.get("role"),
        "respondent_email": respondent.get("email"),
    }
    for r, (key, _) in enumerate(ABOUT_FIELDS, 2):
        if key in values:
            about.cell(r, 2, values[key])
    sheet = wb[SHEET_ANSWERS]
    col = {k: i + 1 for i, (k, _) in enumerate(ANSWER_COLUMNS)}
    for r in range(2, sheet.max_row + 1):
        a = answers.get(str(sheet.cell(r, col["control_id"]).value))
        if a:
            sheet.cell(r, col["answer"], a.get("answer"))
            sheet.cell(r, col["evidence"], a.get("evidence") or None)
            sheet.cell(r, col["comment"], a.get("comment") or None)
    wb.save(path)
    return path


_WRITERS: dict[str, Callable[[Catalogue, str, date, dict[str, dict[str, Any]], Path], None]] = {
    "yaml": _write_yaml,
    "csv": _write_csv,
    "xlsx": _write_xlsx,
}
