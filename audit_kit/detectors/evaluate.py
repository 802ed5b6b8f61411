"""Detection quality against labelled truth (a synthetic world's `truth.csv`).

Recall per category: share of labelled entities (users; organisations for log_gap) that the
detector of the same id flagged at or above the severity floor. Precision: of the users flagged at
or above the floor by any detector, the share labelled in truth for any category (per detector too).
Legitimate-but-odd users (duty / out-of-hours, MASH, national partners, statutory returns) flagged at
or above the floor are listed: the quality bar wants none. A synthetic world's `truth_legit.csv`
(beside `truth.csv`) labels them and the legitimate bursts (inspections, census returns, duty rotas,
readers of a popular record) by kind.

Alert volume: users flagged at or above the floor as a share of the users active in the window (the
alert budget's measure), and findings per 1,000 users per month. Strict recall pools every labelled
user case (a case counts when the detector of its category flagged its user); recall counts a case
flagged by any detector.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit_kit.config import AuditConfig, role_matches
from audit_kit.detectors.context import matches_any
from audit_kit.detectors.registry import REGISTRY
from audit_kit.errors import InputError
from audit_kit.models.findings import Finding, Severity

if TYPE_CHECKING:
    from audit_kit.detectors import DetectionRun
    from audit_kit.store.workspace import Workspace

TRUTH_COLUMNS = ("user_id", "org_id", "category", "first_seen", "last_seen")
LEGIT_FILE = "truth_legit.csv"
# Kinds of legitimate work the quality bar says must never be flagged at medium or above.
PROTECTED_KINDS = ("night_duty", "mash", "national_analyst", "national_partner", "statutory_exporter",
                   "census_return")


@dataclass(frozen=True)
class TruthRow:
    user_id: str | None
    org_id: str
    category: str

    @property
    def entity(self) -> str:
        return self.user_id or f"org:{self.org_id}"


@dataclass
class DetectorQuality:
    """One detector's numbers: recall on its own category, precision over the users it flags, alert rate."""

    detector: str
    labelled: int
    caught: int
    recall: float | None
    flagged: int
    flagged_true: int
    precision: float | None
    alerts: int
    alerts_per_1000_users_month: float
    missed: list[str] = field(default_factory=list)


@dataclass
class Evaluation:
    """The whole evaluation: per-detector rows, overall precision, and legitimate users wrongly flagged."""

    min_severity: Severity
    users: int
    window_days: float
    detectors: list[DetectorQuality]
    flagged_users: int
    flagged_true_users: int
    precision: float | None
    legit_flagged: list[dict[str, Any]]
    active_users: int = 0
    cases: int = 0
    cases_found: int = 0
    cases_found_strict: int = 0
    missed_cases: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        """Share of labelled user cases flagged by any detector."""
        return round(self.cases_found / self.cases, 3) if self.cases else None

    @property
    def strict_recall(self) -> float | None:
        """Share of labelled user cases flagged by the detector of their category."""
        return round(self.cases_found_strict / self.cases, 3) if self.cases else None

    @property
    def flagged_share(self) -> float | None:
        """Users flagged at or above the floor as a share of the users active in the window."""
        return round(self.flagged_users / self.active_users, 4) if self.active_users else None

    @property
    def protected_flagged(self) -> list[dict[str, Any]]:
        """Flagged legitimate users of a kind the quality bar protects (duty, MASH, national, statutory)."""
        return [r for r in self.legit_flagged if any(k in PROTECTED_KINDS for k in str(r["kind"]).split(";"))]

    def to_json(self) -> dict[str, Any]:
        return {
            "min_severity": self.min_severity.value, "users": self.users, "window_days": round(self.window_days, 2),
            "active_users": self.active_users, "precision": self.precision, "flagged_users": self.flagged_users,
            "flagged_share": self.flagged_share, "flagged_true_users": self.flagged_true_users,
            "cases": self.cases, "recall": self.recall, "strict_recall": self.strict_recall,
            "missed_cases": self.missed_cases, "legit_flagged": self.legit_flagged,
            "protected_flagged": self.protected_flagged,
            "detectors": [d.__dict__ for d in self.detectors],
        }


def _text(p: Path) -> str:
    """A truth file's text: UTF-8 (a byte-order mark allowed), else an InputError naming the file and byte."""
    try:
        return p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not UTF-8 text (byte {exc.start} is 0x{exc.object[exc.start]:02x})",
                         hint="save the file as UTF-8 CSV") from None


def load_truth(path: str | Path) -> list[TruthRow]:
    """Read `truth.csv` (user_id, org_id, category, first_seen, last_seen); InputError names the file and row."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: truth file not found", hint="a synthetic world writes OUT/truth.csv")
    rows: list[TruthRow] = []
    with io.StringIO(_text(p), newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("user_id", "org_id", "category") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{p}: missing column(s) {', '.join(missing)}; expected {', '.join(TRUTH_COLUMNS)}")
        for i, r in enumerate(reader, start=2):
            if not r["category"] or not r["org_id"]:
                raise InputError(f"{p}, row {i}: category and org_id are required")
            rows.append(TruthRow(r["user_id"] or None, r["org_id"], r["category"]))
    return rows


def load_legit(path: str | Path) -> dict[str, str]:
    """`truth_legit.csv` (user_id, org_id, kind, ...) as user id → kinds joined by ';' ({} when absent)."""
    p = Path(path)
    if not p.is_file():
        return {}
    out: dict[str, set[str]] = {}
    with io.StringIO(_text(p), newline="") as fh:
        for r in csv.DictReader(fh):
            if r.get("user_id") and r.get("kind"):
                out.setdefault(r["user_id"], set()).add(r["kind"])
    return {u: ";".join(sorted(k)) for u, k in out.items()}


def evaluate(
    findings: list[Finding],
    truth: list[TruthRow],
    users: int,
    window_days: float,
    min_severity: Severity = Severity.MEDIUM,
    legit_users: dict[str, str] | None = None,
    detectors: list[str] | None = None,
    active_users: int = 0,
) -> Evaluation:
    """Score findings against truth (see module doc). `legit_users` maps user id → why it is legitimate."""
    ids = detectors or list(REGISTRY)
    hits = [f for f in findings if f.severity >= min_severity]
    true_users = {t.user_id for t in truth if t.user_id}
    months = max(window_days, 1.0) / 30.0
    rows: list[DetectorQuality] = []
    for det in ids:
        labelled = {t.entity for t in truth if t.category == det}
        mine = [f for f in hits if f.detector == det]
        flagged_entities = {f.user_id or f"org:{f.org_id}" for f in mine}
        caught = labelled & flagged_entities
        flagged_users = {f.user_id for f in mine if f.user_id}
        if REGISTRY[det].entity == "org":
            true_orgs = {t.entity for t in truth if t.category == det}
            flagged_users = {f"org:{f.org_id}" for f in mine}
            flagged_true = len(flagged_users & true_orgs)
        else:
            flagged_true = len(flagged_users & true_users)
        rows.append(DetectorQuality(
            detector=det, labelled=len(labelled), caught=len(caught),
            recall=round(len(caught) / len(labelled), 3) if labelled else None,
            flagged=len(flagged_users), flagged_true=flagged_true,
            precision=round(flagged_true / len(flagged_users), 3) if flagged_users else None,
            alerts=len(mine), alerts_per_1000_users_month=round(len(mine) / max(users, 1) * 1000 / months, 2),
            missed=sorted(labelled - flagged_entities),
        ))
    all_flagged = {f.user_id for f in hits if f.user_id}
    tp = len(all_flagged & true_users)
    legit = []
    for u in sorted((all_flagged - true_users) & set(legit_users or {})):
        legit.append({"user_id": u, "kind": (legit_users or {})[u], "why_legitimate": (legit_users or {})[u],
                      "detectors": sorted({f.detector for f in hits if f.user_id == u})})
    by_user: dict[str, set[str]] = {}
    for f in hits:
        if f.user_id:
            by_user.setdefault(f.user_id, set()).add(f.detector)
    cases = {(t.user_id, t.category) for t in truth if t.user_id and t.category in ids}
    found = {c for c in cases if by_user.get(c[0])}
    strict = {c for c in cases if c[1] in by_user.get(c[0], set())}
    return Evaluation(
        min_severity=min_severity, users=users, window_days=window_days, detectors=rows,
        flagged_users=len(all_flagged), flagged_true_users=tp,
        precision=round(tp / len(all_flagged), 3) if all_flagged else None, legit_flagged=legit,
        active_users=active_users, cases=len(cases), cases_found=len(found), cases_found_strict=len(strict),
        missed_cases=sorted(f"{c[1]}:{c[0]}" for c in cases - strict),
    )


def legitimate_users(ws: Workspace, config: AuditConfig) -> dict[str, str]:
    """Users whose odd-looking work is expected: duty / out-of-hours and MASH roles, national partners,
    and anyone who made allow-listed (statutory) returns. Maps user id → kind (night_duty, mash,
    national_partner, statutory_exporter: the kinds of PROTECTED_KINDS)."""
    cfg = config
    ent = cfg.entitlements
    u = ws.table("users")
    o = ws.table("organisations")
    j = u.left_join(o, u.org_id == o.org_id).select(user_id=u.user_id, role=u.role, org_type=o.type)
    out: dict[str, str] = {}
    for r in j.to_pandas().itertuples(index=False):
        if role_matches(r.role, ent.out_of_hours_roles):
            out[r.user_id] = "night_duty"
        elif role_matches(r.role, ent.cross_area_roles):
            out[r.user_id] = "mash"
        elif r.org_type in ent.cross_area_org_types:
            out[r.user_id] = "national_partner"
    e = ws.table("events")
    stat = e.filter(matches_any(e.purpose, cfg.allow.purposes)).select("user_id").distinct().to_pandas()
    for uid in stat.user_id:
        out.setdefault(uid, "statutory_exporter")
    return out


def evaluate_run(ws: Workspace, run: DetectionRun, truth_path: str | Path,
                 min_severity: Severity, config: AuditConfig) -> Evaluation:
    """Evaluate a detection run against a truth file, counting users in the workspace."""
    truth = load_truth(truth_path)
    n_users = int(ws.table("users").count().to_pandas())
    days = (min(run.until, _data_end(ws)) - run.since).total_seconds() / 86400
    legit = legitimate_users(ws, config)
    for u, kind in load_legit(Path(truth_path).with_name(LEGIT_FILE)).items():
        legit[u] = ";".join(sorted(set(kind.split(";")) | ({legit[u]} if u in legit else set())))
    e = ws.table("events")
    active = int(e.filter(e.timestamp >= run.since, e.timestamp < run.until).user_id.nunique().to_pandas())
    return evaluate(run.findings, truth, n_users, days, min_severity, legit, run.detectors, active)


def _data_end(ws: Workspace) -> datetime:
    e = ws.table("events")
    end: datetime = e.timestamp.max().to_pandas().to_pydatetime()
    return end
