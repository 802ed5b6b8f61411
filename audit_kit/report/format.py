"""How numbers, dates, findings and their evidence are written in a report: plain words, no raw
detector output (no 'mad=0, p99=0.7', no microseconds, no detector ids where a title exists)."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from audit_kit.detectors.registry import REGISTRY

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
CONTRADICTION = "contradiction"


def n(value: int | float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def sig(value: float, digits: int = 3) -> str:
    """A measured value to at most `digits` significant figures, never in exponent notation (1,000, not 1e+03;
    0.5, not 0.500)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    places = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    text = f"{round(value, places):,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def minute(value: datetime | None) -> str:
    """A timestamp to the minute ('2026-10-31 23:59'), never with seconds or microseconds."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M")


def period_text(start: date | datetime | None, end: date | datetime | None) -> str:
    if start is None or end is None:
        return "no events in the workspace"
    return f"{day(start)} to {day(end)}"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def level(value: Any) -> str:
    return "—" if value is None else str(getattr(value, "value", value))


def detector_title(detector: str) -> str:
    """The detector's title ('Leaver's account in use'), not its id."""
    if detector == CONTRADICTION:
        return "Answer contradicted by the logs"
    spec = REGISTRY.get(detector)
    return spec.title if spec else detector.replace("_", " ").capitalize()


def finding_ref(finding_id: str) -> str:
    """A short reference a DPO can quote to ask the data holder for re-identification."""
    return "F-" + finding_id[:10].upper()


# Why a pattern matters, in one sentence a DPO can pass on (by detector).
WHY = {
    "after_hours": "Out-of-hours access with no duty role behind it is a common sign of curiosity browsing.",
    "volume_spike": "Reading far more records than usual can mean browsing or collecting records for someone.",
    "bulk_access": "Pulling many records in an hour can be an extraction that leaves the body's control.",
    "export_spike": "Exported and printed records leave the system: a disclosure cannot be recalled.",
    "out_of_area": "Children outside the body's area are rarely its business without an involvement.",
    "no_relationship": "Opening a child's record with no involvement is the core sign of snooping.",
    "shielded_access": "A shielded child's details can put the child in danger if disclosed.",
    "leaver_account": "Someone is using an account whose owner has left: nobody can be held to account.",
    "dormant_account": "A long-unused account coming back to life is a common sign of a taken-over account.",
    "concurrent_sessions": "One account in two places at once means a shared account or stolen credentials.",
    "family_lookup": "Staff looking up their own family is a breach of the family's privacy.",
    "vip_snooping": "Many unrelated readers of one child usually follow news coverage: snooping.",
    "failed_login_burst": "Many failed sign-ins can be someone guessing a password.",
    "denied_spike": "Repeated refusals show someone trying to reach records they may not see.",
    "search_fishing": "Many searches with few records opened can be fishing for a particular child.",
    "lingering_access": "Access after the body's involvement ended has no current purpose.",
    "weak_auth": "A password or key alone is easily stolen; the rest of the body uses a second factor.",
    "peer_outlier": "Reading records that colleagues do not work with can mean access outside the job.",
    "log_gap": "While logs are silent, nothing that happened can be checked.",
    CONTRADICTION: "The body told the holder a control is in place that its logs show is not.",
}

# Evidence keys in plain words; keys not listed are shown only when they are simple values.
LABELS = {
    "chance_probability": "Chance alone would give this", "strength": "Strength of evidence (0–30)",
    "user_risk": "User's risk across findings", "chance_model": "Chance model",
    "expected_work": "Kept low as expected work",
    "value": "Observed", "threshold": "Flagged above", "unit": "Measured as", "bucket": "When",
    "accesses": "Accesses", "records": "Records", "record": "Record", "expected": "Usual for them and peers",
    "events_after_leaving": "Uses after leaving", "record_accesses_after_leaving": "Records opened after leaving",
    "end_date": "Left on", "days_after_end_to_first_use": "Days from leaving to first use",
    "active_days": "Days active", "out_of_hours_events": "Out-of-hours events", "window_events": "Events in the window",
    "unusual_record_accesses": "Records opened at unusual times", "break_glass_overrides": "Override (break-glass) uses",
    "explained": "Explained by an involvement", "involvement": "Involvement on record",
    "overlapping_session_pairs": "Overlapping sessions", "networks": "Different networks",
    "password_share": "Share of password-only sign-ins", "dormant_days": "Dormant for (days)",
    "idle_days_at_least": "Idle for at least (days)", "window_record_accesses": "Records opened in the window",
    "silent_expected_days": "Silent working days", "from": "From", "to": "To",
    "window_unexplained_readers": "Unrelated readers this period", "baseline_readers": "Usual readers",
    "window_organisations": "Bodies reading it", "views_per_search": "Records opened per search",
    "baseline_views_per_search": "Usual records per search", "fit": "Fit with colleagues (0–1)",
    "window_records": "Records opened", "claimed": "Answer given", "observed": "What the logs show",
    "control_id": "Control", "control_title": "Control title", "grace_days": "Grace period (days)",
    "source_ips": "Networks (addresses)",
    "outside_network_pairs": "Overlaps with an outside network",
    "password_only_sessions_from_outside": "Password-only sessions from outside",
    "mfa_enrolled": "Enrolled for a second factor (users.csv)",
    "children_in_fit": "Children the fit counts", "children_worked_on": "Children they wrote on",
    "counted": "What was counted",
    "unexplained_records_in_unusual_hours": "Records nothing explains",
    "expected_unusual_hours": "Unusual hours expected by chance", "window_active_hours": "Hours active in the period",
    "unusual_hours_in_the_dead_of_night": "Of those, hours in the dead of night",
    "expected_unusual_hours_at_night": "Night hours expected by chance",
}
# Left off cards: baselines (summarised once), method detail, and values another row already says (an after_hours
# card counts hours, the unit of its chance model: its event counts by the hour-of-week profile are method).
HIDDEN = {"baseline", "peer_baseline", "user_baseline", "p_value", "p_value_daily_rate", "expected_by_daily_rate",
          "records_opened_in_unusual_hours", "out_of_hours_events", "expected_unusual_events",
          "judged_in", "distinct_hours_of_week", "measure", "measures", "period", "submission_id",
          "questionnaire_version", "history_start", "last_activity_before_window", "account_start_date",
          "community", "min_overlap_minutes", "match", "organisation_password_share_others",
          "baseline_user_password_share", "authenticated_events", "password_events", "records_opened_in_window",
          "days_after_involvement_ended", "organisation_outside_password_rate_others", "expected_fit_spread",
          "active_users"}
PERSONAL = {"user_id", "users", "record_ids", "records", "record_id", "record", "source_ips", "source_ip"}
_TS = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(\.\d+)?)?")


def plain_value(value: Any) -> str:
    """One evidence value in plain words: rounded numbers, minutes not microseconds, short lists ('' for a value
    the detector could not give, which is then left out rather than shown as 'None')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if 0 < abs(value) <= 1 and not value.is_integer():
            return f"{value:.2f}"
        return f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.1f}".replace(".0", "")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return minute(value)
    if isinstance(value, list | tuple):
        shown = ", ".join(plain_value(v) for v in value[:5])
        return shown + (f" and {len(value) - 5} more" if len(value) > 5 else "")
    if isinstance(value, dict):
        return ""
    text = str(value)
    m = _TS.match(text)
    if m:
        return f"{m.group(1)} {m.group(2)}" + text[m.end():].replace(" local time", " (local time)")[:40]
    return text[:160]


def chance_words(p: Any, model: str) -> str:
    """How likely chance alone would give what was seen, in words a reader weighs ('' for a rule broken,
    which is not a matter of chance: a leaver's account in use, a policy)."""
    if model.startswith(("policy", "none")) or not isinstance(p, int | float) or p != p:
        return ""
    if p <= 0 or p < 1e-6:
        return "below 1 in a million"
    if p < 0.01:
        return f"about 1 in {round(1 / p):,}"
    return f"{p:.2f}"


# Evidence shown as one row with what is usual for the user: key -> (its usual's key, label).
PAIRED = {"worked_on_share": ("usual_worked_on_share", "Records written on that day")}
_USUALS = {usual for usual, _ in PAIRED.values()}

# Rows a card never loses to the ten-row limit: how the finding stands among the user's others and why its
# severity is what it is (a detector adding evidence must not push them off the card).
KEPT = ("user_risk", "expected_work")
# Rows a card gives up first when over the limit: the chance model's wording is method, for the appendix.
YIELDS = ("chance_model",)
MAX_ROWS = 10


def plain_evidence(evidence: dict[str, Any], restricted: bool) -> list[tuple[str, str]]:
    """The evidence a reader needs, as (label, value) rows in plain words; baselines summarised once. At most
    MAX_ROWS rows, in the evidence's order; the KEPT rows are never the ones left out, the YIELDS rows first."""
    rows: list[tuple[str, str, bool]] = []
    yields: set[int] = set()
    usual = _usual(evidence)
    for key, value in evidence.items():
        if key in HIDDEN or key in _USUALS or (not restricted and key in PERSONAL) or isinstance(value, dict):
            continue
        label = LABELS.get(key, key.replace("_", " ").capitalize())
        if key == "chance_probability":
            text = chance_words(value, str(evidence.get("chance_model", "")))
        elif key in PAIRED:
            label = PAIRED[key][1]
            text = _share_with_usual(value, evidence.get(PAIRED[key][0]))
        else:
            text = plain_value(value)
        if text:
            if key in YIELDS:
                yields.add(len(rows))
            rows.append((label, text, key in KEPT))
        if key == "threshold" and usual:  # the bar and what it was drawn from, side by side
            rows.append(("Usual high (them and peers)", usual, False))
            usual = ""
    if usual:
        rows.append(("Usual high (them and peers)", usual, False))
    room = MAX_ROWS - sum(kept for *_, kept in rows)
    over = sum(not kept for *_, kept in rows) - room
    if over > 0:
        given_up = set(sorted(yields)[:over])
        rows = [r for i, r in enumerate(rows) if i not in given_up]
    out: list[tuple[str, str]] = []
    for label, text, kept in rows:
        if kept or room > 0:
            out.append((label, text))
            room -= not kept
    return out


def _share_with_usual(value: Any, usual: Any) -> str:
    """'3% (usually 27%)'; '' when the value is missing."""
    if not isinstance(value, int | float) or value != value:
        return ""
    text = f"{value:.0%}"
    return text + (f" (usually {usual:.0%})" if isinstance(usual, int | float) and usual == usual else "")


def _usual(evidence: dict[str, Any]) -> str:
    user = evidence.get("user_baseline")
    peer = evidence.get("peer_baseline")
    if isinstance(user, dict) and isinstance(peer, dict) and "p99" in user and "p99" in peer:
        high = max(float(user.get("max", 0) or 0), float(peer.get("p99", 0) or 0))
        return f"{high:,.0f} ({peer.get('group', 'peers')}, {peer.get('users', '?')} users)"
    return ""
