"""The one list of log checks a control may name in `log_checks`.

A log check is either a detector id (the findings contract of DESIGN.md) or a log measure: an
organisation-level number computed from the logs that can corroborate or contradict an answer.
Catalogue validation and the corroboration step (assessment) both import from here.
"""

from __future__ import annotations

from audit_kit.schema import DETECTOR_IDS as CONTRACT_DETECTOR_IDS

# Detector ids from DESIGN.md's findings contract.
DETECTOR_IDS: frozenset[str] = frozenset(CONTRACT_DETECTOR_IDS)

# Log measures: what each one measures for an organisation, and which way is good.
LOG_MEASURES: dict[str, str] = {
    "mfa_share": "share of successful logins/sessions authenticated with more than one factor",
    "leaver_activity": "events by users after their end_date (days to disable, accounts still active)",
    "dormant_accounts": "accounts with no activity for 90 days or more that are still enabled",
    "shared_accounts": "accounts used from several IPs or sessions at once (shared or generic logons)",
    "explained_access_rate": "share of record views explained by an involvement (legitimate relationship)",
    "shielded_accesses": "views of shielded records, and overrides without a recorded purpose",
    "export_volume": "exports and prints per user against their caseload",
    "undeclared_networks": "share of sessions from networks the organisation did not declare",
    "log_retention": "gaps in the organisation's log stream (days without events on working days)",
    "purpose_recorded": "share of record accesses with a non-blank, non-default purpose",
    "vetting_before_access": "users whose first login precedes their vetting date",
    "training_current": "activity by users whose training had lapsed",
    "admin_accounts": "accounts performing administrative actions, against the declared number",
    "user_count": "active users seen in the logs, against the declared number",
}

KNOWN_LOG_CHECKS: frozenset[str] = DETECTOR_IDS | frozenset(LOG_MEASURES)


def is_known(check: str) -> bool:
    """True when `check` is a detector id or a log measure."""
    return check in KNOWN_LOG_CHECKS
