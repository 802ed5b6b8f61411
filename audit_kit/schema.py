"""The dataset contract in code: canonical tables, their columns and vocabularies.

One declaration serves the ingest validator, the workspace DDL, the synthetic world and the docs.
"""

from __future__ import annotations

from dataclasses import dataclass

# The nine actions of the DESIGN.md contract, then the events that touch no child's record (docs/dataset.md):
# `admin` - identity and access administration (accounts, roles, groups, permissions and policies);
# `config_change` - a change to how a system is set up or watched (logging and audit trails, security
# settings, keys, infrastructure); `key_use` - a cryptographic key used (decrypt, encrypt, sign);
# `other` - an event whose verb none of these fits (the source's own verb is kept in `source_action`).
# New actions are only ever appended (the synthetic world numbers them by position).
CONTRACT_ACTIONS = ("view", "search", "create", "update", "delete", "export", "print", "login", "logout")
ACTIONS = (*CONTRACT_ACTIONS, "admin", "config_change", "key_use", "other")
OUTCOMES = ("success", "denied", "failure")
ORG_TYPES = (
    "local_authority",
    "gp_practice",
    "school",
    "nhs_trust",
    "police_force",
    "national_partner",
)
# The detector ids of the findings contract (DESIGN.md): the registry, catalogue validation and the
# synthetic world's labels all take them from here.
DETECTOR_IDS: tuple[str, ...] = (
    "after_hours",
    "volume_spike",
    "bulk_access",
    "export_spike",
    "out_of_area",
    "no_relationship",
    "shielded_access",
    "leaver_account",
    "dormant_account",
    "concurrent_sessions",
    "family_lookup",
    "vip_snooping",
    "failed_login_burst",
    "denied_spike",
    "search_fishing",
    "lingering_access",
    "weak_auth",
    "peer_outlier",
    "log_gap",
)
DEFAULT_TIMEZONE = "Europe/London"
DEFAULT_WORKING_HOURS = "07:00-19:00"
# Actions on children's records. Every one but `export` needs a record_id: an export may be a bulk one of
# many records at once (records_returned says how many when the source knows). The rest may have none.
RECORD_ACTIONS = ("view", "create", "update", "delete", "export", "print")
RECORD_REQUIRED_ACTIONS = ("view", "create", "update", "delete", "print")


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, DuckDB type and whether a row without it is rejected."""

    name: str
    type: str  # DuckDB SQL type of the stored column
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Table:
    """A canonical reference or event table and the file it is read from."""

    name: str
    file: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key: later rows with the same key update, never duplicate
    required_file: bool = False

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self, extra: str = "") -> str:
        cols = ", ".join(f'"{c.name}" {c.type}' for c in self.columns)
        return f'CREATE TABLE IF NOT EXISTS "{self.name}" ({cols}{extra})'


ORGANISATIONS = Table(
    "organisations",
    "organisations.csv",
    (
        Column("org_id", "VARCHAR", True),
        Column("name", "VARCHAR", True),
        Column("type", "VARCHAR", True, "one of " + ", ".join(ORG_TYPES)),
        Column("area", "VARCHAR", True),
        Column("timezone", "VARCHAR", doc=f"IANA zone, default {DEFAULT_TIMEZONE}"),
        Column("working_hours", "VARCHAR", doc="HH:MM-HH:MM local, default " + DEFAULT_WORKING_HOURS),
    ),
    key=("org_id",),
    required_file=True,
)

USERS = Table(
    "users",
    "users.csv",
    (
        Column("user_id", "VARCHAR", True),
        Column("org_id", "VARCHAR", True),
        Column("role", "VARCHAR", True),
        Column("start_date", "DATE"),
        Column("end_date", "DATE"),
        Column("family_key", "VARCHAR"),
        Column("mfa_enrolled", "BOOLEAN"),
        Column("vetted_on", "DATE"),
        Column("trained_on", "DATE"),
    ),
    key=("user_id",),
)

SUBJECTS = Table(
    "subjects",
    "subjects.csv",
    (
        Column("record_id", "VARCHAR", True),
        Column("home_area", "VARCHAR", True),
        Column("shielded", "BOOLEAN", True),
        Column("family_key", "VARCHAR"),
        Column("birth_year", "INTEGER"),
    ),
    key=("record_id",),
)

INVOLVEMENTS = Table(
    "involvements",
    "involvements.csv",
    (
        Column("record_id", "VARCHAR", True),
        Column("org_id", "VARCHAR", True),
        Column("role", "VARCHAR"),
        Column("start_date", "DATE"),
        Column("end_date", "DATE"),
    ),
    key=("record_id", "org_id", "role", "start_date"),
)

REFERENCE_TABLES = (ORGANISATIONS, USERS, SUBJECTS, INVOLVEMENTS)

# Canonical events. `timestamp` is the UTC instant (naive TIMESTAMP, UTC by convention, portable to
# Spark); `local_time` is the wall-clock time in the organisation's own zone, computed at ingest so
# detectors judge working hours portably, summer time included.
EVENTS = Table(
    "events",
    "events/",
    (
        Column("event_id", "VARCHAR", True, "given, or a content hash when the source has none"),
        Column("timestamp", "TIMESTAMP", True, "UTC instant"),
        Column("local_time", "TIMESTAMP", True, "wall clock in the organisation's timezone"),
        Column("user_id", "VARCHAR", True),
        Column("org_id", "VARCHAR", True),
        Column("record_id", "VARCHAR", doc="required for " + ", ".join(RECORD_REQUIRED_ACTIONS)),
        Column("action", "VARCHAR", True, "one of " + ", ".join(ACTIONS)),
        Column("outcome", "VARCHAR", True, "one of " + ", ".join(OUTCOMES)),
        Column("source_ip", "VARCHAR"),
        Column("auth_method", "VARCHAR"),
        Column("purpose", "VARCHAR"),
        Column("session_id", "VARCHAR"),
        Column("records_returned", "INTEGER"),
        Column("break_glass", "BOOLEAN"),
        Column("source_file", "VARCHAR", doc="file the event was read from"),
        Column("source_row", "BIGINT", doc="row of that file (header is row 1)"),
        Column("ingested_at", "TIMESTAMP", doc="UTC time the batch was committed"),
        Column("batch_id", "VARCHAR"),
        # Schema version 3 (last, so a migrated workspace has the same column order as a new one):
        Column("source_action", "VARCHAR", doc="the source's own name for what was done (eventName, code, verb)"),
        Column("target", "VARCHAR", doc="what an event that is not on a child's record acted on (user, role, key…)"),
    ),
    key=("event_id",),
    required_file=True,
)

# Fields a source file may supply for an event (the rest are derived at ingest).
EVENT_INPUT_FIELDS = (
    "event_id",
    "timestamp",
    "user_id",
    "org_id",
    "record_id",
    "action",
    "outcome",
    "source_ip",
    "auth_method",
    "purpose",
    "session_id",
    "records_returned",
    "break_glass",
    "source_action",
    "target",
)
# The event fields of the DESIGN.md contract (what the synthetic world writes); the rest are extensions.
CONTRACT_EVENT_FIELDS = EVENT_INPUT_FIELDS[: EVENT_INPUT_FIELDS.index("break_glass") + 1]
EVENT_REQUIRED_INPUT = ("timestamp", "user_id", "org_id", "action", "outcome")
