"""One vocabulary over events: what a read, an export, a strong sign-in, a dormant account and a window mean.

Detectors, the corroboration measures, the report's figures and the graphs all count the same things;
they take the words from here, and the tunable ones from the run's configuration through the functions
below, so that tuning a detector (say `dormant_account.params.dormant_days`) changes the measure that
corroborates the matching answer too. The engine-side expressions built on these words (which events
count, the per-day aggregates every consumer reads) are in `audit_kit.engine.aggregates`.

| word | meaning |
| --- | --- |
| record action | an action on one child's record (`RECORD_ACTIONS`): the detectors' record access |
| read | an action that reads or discloses a record (`READ_ACTIONS`): what shielding protects |
| view | a record looked at (`VIEW_ACTIONS`): the unit of the explained-access measure (NTK-02) |
| export | a copy leaving the system (`EXPORT_ACTIONS`: export and print) |
| work | writing on a child's record (`WORK_ACTIONS`: create and update): a referral taken and written up |
| strong sign-in | an authentication method proving more than one factor (`MFA_METHODS`) |
| service sign-in | a machine-to-machine method (`SERVICE_METHODS`), judged apart from people |
| window | the days judged (`AuditConfig.window_days`, 14 by default), UTC-day aligned |
| baseline | the history the judgement is learnt from (`AuditConfig.baseline_days`, 90), ending where the window's baseline epoch starts (`baseline_end`; epochs of `AuditConfig.baseline_refresh_days`, 7) |
| dormant | idle for `dormant_account.params.dormant_days` (90) or more |
| lingering grace | days after an involvement ends during which access is still explained (`lingering_access.params.grace_days`, 14) |
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from audit_kit.config import AuditConfig
from audit_kit.schema import RECORD_ACTIONS

# -- actions and outcomes ----------------------------------------------------------------------------
# RECORD_ACTIONS (view, create, update, delete, export, print) comes from the dataset contract.
READ_ACTIONS: tuple[str, ...] = ("view", "print", "export", "update")
VIEW_ACTIONS: tuple[str, ...] = ("view",)
EXPORT_ACTIONS: tuple[str, ...] = ("export", "print")
WORK_ACTIONS: tuple[str, ...] = ("create", "update")
LOGIN = "login"
SEARCH = "search"
SUCCESS = "success"
DENIED = "denied"

# -- authentication ----------------------------------------------------------------------------------
# Methods that prove more than one factor, and those used by service accounts (machine-to-machine
# integrations, judged by IAM-07 rather than the MFA control). Compared lower-cased.
MFA_METHODS: tuple[str, ...] = ("mfa", "smartcard", "token", "hardware_token", "otp", "fido", "fido2", "webauthn",
                                "2fa")
SERVICE_METHODS: tuple[str, ...] = ("api_key", "certificate", "service", "client_credentials")
PASSWORD_METHODS: tuple[str, ...] = ("password",)

# -- defaults of the tunable words (the configuration's values win) ------------------------------------
DORMANT_DAYS = 90
LINGERING_GRACE_DAYS = 14
DAY = timedelta(days=1)


def window_days(config: AuditConfig) -> int:
    """The days a detection judges by default (the scan window)."""
    return int(config.window_days)


def baseline_days(config: AuditConfig) -> int:
    """The history before a window that baselines are learnt from."""
    return int(config.baseline_days)


def dormant_days(config: AuditConfig) -> int:
    """Idle days that make an account dormant: the `dormant_account` detector's setting."""
    return int(config.detector("dormant_account").params.get("dormant_days", DORMANT_DAYS))


def lingering_grace_days(config: AuditConfig) -> int:
    """Days after an involvement ends during which an access still counts as explained, for every detector
    and measure: the `lingering_access` detector's `grace_days`."""
    return int(config.detector("lingering_access").params.get("grace_days", LINGERING_GRACE_DAYS))


def allowed_purposes(config: AuditConfig) -> tuple[str, ...]:
    """Purposes (shell globs) whose accesses and exports are expected work, e.g. statutory returns."""
    return tuple(config.allow.purposes)


def floor_day(ts: datetime) -> datetime:
    """UTC midnight at or before `ts` (windows and the kept aggregates are cut at UTC days)."""
    return datetime.combine(ts.date(), time())


def is_day_aligned(ts: datetime) -> bool:
    return ts == floor_day(ts)


# Baseline epochs count from a Monday, so weekly epochs start on Mondays (UTC).
EPOCH_ANCHOR = datetime(2024, 1, 1)


def baseline_end(since: datetime, config: AuditConfig) -> datetime:
    """Where the baseline of a window starting at `since` ends: the start of `since`'s baseline epoch.

    Baselines are learnt for epochs of `baseline_refresh_days` (7) days and kept, so every window starting
    in the same epoch is judged against the same baseline, [end − baseline_days, end); the days from the
    epoch's start to `since` are judged as context (findings must reach `since`). With 1 the baseline ends
    at `since`'s own midnight.
    """
    day = floor_day(since)
    step = int(config.baseline_refresh_days)
    offset = (day - EPOCH_ANCHOR).days % step
    return day - offset * DAY


def default_window(last_event: datetime, config: AuditConfig) -> tuple[datetime, datetime]:
    """[since, until) of a detection with no dates given: the last `window_days` whole UTC days, the day of
    the last event included."""
    until = floor_day(last_event) + DAY
    return until - window_days(config) * DAY, until


__all__ = [
    "DAY", "DENIED", "DORMANT_DAYS", "EPOCH_ANCHOR", "EXPORT_ACTIONS", "LINGERING_GRACE_DAYS", "LOGIN", "MFA_METHODS",
    "PASSWORD_METHODS", "READ_ACTIONS", "RECORD_ACTIONS", "SEARCH", "SERVICE_METHODS", "SUCCESS", "VIEW_ACTIONS", "WORK_ACTIONS",
    "allowed_purposes", "baseline_days", "baseline_end", "default_window", "dormant_days", "floor_day", "is_day_aligned",
    "lingering_grace_days", "window_days",
]
