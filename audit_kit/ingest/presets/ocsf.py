"""OCSF events (JSON lines, JSON documents or arrays, and Parquet as Amazon Security Lake stores them).

Common attributes: `time` (epoch milliseconds, UTC; `time_dt` when it carries an offset) → timestamp;
`metadata.uid` → event_id; `actor.user.uid` (Authentication and account changes: the `user` who logged on
or was changed, the account tried for a failed logon) → user_id; that user's `org.uid` (else `org.name`),
else the cloud account (`cloud.account.uid`, `actor.user.account.uid`; an ARN gives its account) →
org_id; `src_endpoint.ip` → source_ip; `actor.session.uid` → session_id; `status_id` 1 → success,
2 → failure (denied when the status detail or HTTP/API response says access was refused).

The class and activity give the action (tables in docs/formats.md): datastore, API and web-resource
activity on a record → view/search/create/update/delete/export; the same on anything else (a pod, a
bucket, a role) → search for a read, config_change (admin for identity services) for a change, with
the resource kept as `target`; Authentication → login/logout; account, group and access management →
admin; application lifecycle → config_change; any other class whose event names a user → other. The
class and activity names are kept as `source_action`.

(Why this module runs past 400 lines: the OCSF classes and activities as tables of rules, and the organisation
fallbacks real producers need; one mapping read top to bottom, mirrored in docs/formats.md.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from audit_kit.errors import InputError
from audit_kit.ingest.presets.base import JsonPreset
from audit_kit.ingest.presets.records import (
    BATCH_ROWS,
    STAGED_SCHEMA,
    Mapped,
    Record,
    StagedBuilder,
    Unmappable,
    as_list,
    compact,
    first_text,
    get,
    ip_or_none,
    text,
)

AUTHENTICATION, ACCOUNT_CHANGE, AUTHORIZE_SESSION, ENTITY_MANAGEMENT = 3002, 3001, 3003, 3004
USER_ACCESS, GROUP_MANAGEMENT = 3005, 3006
WEB_RESOURCES, APP_LIFECYCLE, API, WEB_ACCESS, DATASTORE = 6001, 6002, 6003, 6004, 6005
CLASS_NAMES = {
    DATASTORE: "Datastore Activity", API: "API Activity", AUTHENTICATION: "Authentication",
    ACCOUNT_CHANGE: "Account Change", AUTHORIZE_SESSION: "Authorize Session",
    ENTITY_MANAGEMENT: "Entity Management", USER_ACCESS: "User Access Management",
    GROUP_MANAGEMENT: "Group Management", WEB_RESOURCES: "Web Resources Activity",
    APP_LIFECYCLE: "Application Lifecycle", WEB_ACCESS: "Web Resource Access Activity",
}
# Datastore Activity: 1 Read, 2 Update, 3 Connect, 4 Query, 5 Write, 6 Create, 7 Delete, 8 List,
# 9 Encrypt, 10 Decrypt.
DATASTORE_ACTIONS = {
    1: "view", 2: "update", 3: "login", 4: "search", 5: "update", 6: "create", 7: "delete", 8: "search",
    9: "key_use", 10: "key_use",
}
DATASTORE_NAMES = {1: "Read", 2: "Update", 3: "Connect", 4: "Query", 5: "Write", 6: "Create", 7: "Delete",
                   8: "List", 9: "Encrypt", 10: "Decrypt", 0: "Unknown", 99: "Other"}
API_ACTIONS = {1: "create", 2: "view", 3: "update", 4: "delete"}
API_NAMES = {1: "Create", 2: "Read", 3: "Update", 4: "Delete", 0: "Unknown", 99: "Other"}
WEB_ACTIONS = {1: "create", 2: "view", 3: "update", 4: "delete", 5: "search", 6: "create", 7: "export"}
WEB_NAMES = {1: "Create", 2: "Read", 3: "Update", 4: "Delete", 5: "Search", 6: "Import", 7: "Export",
             8: "Share", 0: "Unknown", 99: "Other"}
# Authentication: 1 Logon, 2 Logoff, 3 Authentication Ticket (Kerberos TGT), 4 Service Ticket Validation,
# 5 Service Ticket Request, 6 Preauth. A ticket-granting ticket and a pre-authentication are a logon's
# first step (a failed one is a failed logon); a service ticket is the use of a logon already made.
AUTH_ACTIONS = {1: "login", 2: "logout", 3: "login", 6: "login"}
AUTH_NAMES = {1: "Logon", 2: "Logoff", 3: "Authentication Ticket", 4: "Service Ticket Validation",
              5: "Service Ticket Request", 6: "Preauth", 0: "Unknown", 99: "Other"}
ADMIN_CLASSES = {ACCOUNT_CHANGE, USER_ACCESS, GROUP_MANAGEMENT}
# API operation verbs for an Other (99) activity, or to tell a search from a read.
OPERATION_VERBS = [
    (re.compile(r"export|download", re.I), "export"),
    (re.compile(r"print", re.I), "print"),
    (re.compile(r"search|query|list|find|lookup|watch", re.I), "search"),
]
DENIED_WORDS = re.compile(r"denied|forbidden|unauthori[sz]ed|not authori[sz]ed|refused|permission", re.I)
RECORD_TYPES = {"patient", "record", "child", "person", "subject"}
IDENTITY_SERVICES = {"iam", "sts", "sso", "identitystore", "organizations", "cognito-idp"}
HEAD_PATTERN = re.compile(rb'"class_uid"\s*:\s*"?\d')
# Windows writes these for the subject of a logon that has none, or the SID of an account that does
# not exist (a failed logon): not a user; the account name tried is.
NO_USER = {"S-1-0-0", "NULL SID", "-", "NULL", "N/A", "S-1-5-18"}
ARN_ACCOUNT = re.compile(r"^arn:[^:]+:[^:]*:[^:]*:(\d{12}):")
PARQUET_MAGIC = b"PAR1"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def epoch_ms_to_iso(value: Any) -> str | None:
    """OCSF `time` (milliseconds since the epoch, UTC) as ISO 8601 with Z; None if not a number."""
    if isinstance(value, datetime):  # Parquet: a typed timestamp (UTC)
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        dt = datetime.fromtimestamp(value / 1000.0, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_HAS_OFFSET = re.compile(r"([zZ]|[+-]\d\d(:?\d\d)?)$")
_NAIVE_DT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def event_time(record: dict[str, Any]) -> str | None:
    """The event's instant: `time_dt` when it carries an offset, else `time` (UTC by definition), else a
    `time_dt` written without an offset, read as UTC (OCSF date-times are UTC; some producers drop the Z)."""
    dt = record.get("time_dt")
    if isinstance(dt, datetime):
        return epoch_ms_to_iso(dt)
    dt_text = text(dt)
    if dt_text and _HAS_OFFSET.search(dt_text) and not _NAIVE_DT.match(dt_text):
        return dt_text
    from_ms = epoch_ms_to_iso(record.get("time"))
    if from_ms:
        return from_ms
    t = text(record.get("time"))
    if t and not t.isdigit():
        dt_text = dt_text or t
    if dt_text and _NAIVE_DT.match(dt_text):
        return dt_text.replace(" ", "T") + "Z"
    return dt_text


def account_of(value: Any) -> str | None:
    """A cloud account id from an account uid or an ARN (`arn:aws:sts::123456789012:…` → 123456789012)."""
    t = text(value)
    if t is None:
        return None
    m = ARN_ACCOUNT.match(t)
    if m:
        return m.group(1)
    return None if t.startswith("arn:") else t


def _person(user: Any) -> str | None:
    """A user's id: uid, else name (with its domain when given), else e-mail — a NULL SID is no one."""
    uid = text(get(user, "uid"))
    name = text(get(user, "name"))
    if uid and uid.upper() not in NO_USER:
        return uid
    if name and name.upper() not in NO_USER:
        domain = text(get(user, "domain"))
        return f"{domain}\\{name}" if domain and domain.upper() not in NO_USER and "\\" not in name else name
    return first_text(get(user, "email_addr"))


def _plain(value: Any) -> Any:
    """A Parquet row value as JSON would give it: maps as objects, timestamps as ISO text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(x, tuple) and len(x) == 2 for x in value):
            return {str(k): _plain(v) for k, v in value}  # a Parquet MAP column
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return epoch_ms_to_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def is_ocsf_parquet(path: Path) -> bool:
    """Whether a Parquet file holds OCSF events (a class_uid column and no canonical columns)."""
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(path).names)
    except Exception:  # not readable: the canonical reader reports it with the file's name
        return False
    return "class_uid" in names and not {"timestamp", "user_id", "action"} <= names


class OcsfPreset(JsonPreset):
    """OCSF 1.x events: JSON lines, documents or arrays (gzip allowed), and Parquet."""

    name: ClassVar[str] = "ocsf"
    title: ClassVar[str] = "OCSF events"

    def sniff(self, path: Path, head: bytes) -> bool:
        return bool(HEAD_PATTERN.search(head)) and (
            b'"activity_id"' in head or b'"type_uid"' in head or b'"category_uid"' in head
        )

    def unwrap(self, doc: Any) -> list[Any] | None:
        if isinstance(doc, list):
            return doc
        if isinstance(doc, dict) and "class_uid" not in doc:
            for key in ("events", "Records", "records", "data"):
                if isinstance(doc.get(key), list):
                    return list(doc[key])
        return None

    def read(self, path: Path) -> pa.Table:
        try:
            with open(path, "rb") as fh:
                magic = fh.read(4)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if magic == PARQUET_MAGIC:
            return pa.Table.from_batches(list(self.read_parquet(path)), schema=STAGED_SCHEMA)
        return super().read(path)

    def read_parquet(self, path: Path) -> Iterator[pa.RecordBatch]:
        """Staged rows of an OCSF Parquet file, one per row (row numbers from 1), read in batches."""
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:
            raise InputError(f"{path}: not a readable Parquet file: {exc}") from None
        builder = StagedBuilder()
        n = 0
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            for row in batch.to_pylist():
                n += 1
                value = _plain(row)
                builder.add(Record(n, compact(value), value), self.map)
            yield builder.batch()
        if len(builder):
            yield builder.batch()

    def map(self, record: Any) -> Mapped:
        if not isinstance(record, dict):
            raise Unmappable(f"not a JSON object but {type(record).__name__}")
        class_uid = _int(record.get("class_uid"))
        if class_uid is None:
            raise Unmappable("not an OCSF event: no class_uid")
        activity = _int(record.get("activity_id"))
        if activity is None:
            type_uid = _int(record.get("type_uid"))
            if type_uid is not None and type_uid // 100 == class_uid:
                activity = type_uid % 100
        class_name = text(record.get("class_name")) or CLASS_NAMES.get(class_uid) or f"class {class_uid}"
        activity_name = text(record.get("activity_name")) or self._activity_name(class_uid, activity)

        actor_user = get(record, "actor", "user")
        subject = record.get("user") if isinstance(record.get("user"), dict) else None
        if class_uid == AUTHENTICATION:
            user = subject if _person(subject) else actor_user  # the account that logged on (or tried)
        else:
            user = actor_user if _person(actor_user) else subject
        user_id = _person(user)
        if user_id is None:
            where = "user.uid or name" if class_uid == AUTHENTICATION else "actor.user.uid or name"
            raise Unmappable(f"OCSF {class_name} event names no user ({where}; a NULL SID is not one)")
        timestamp = event_time(record)
        if timestamp is None:
            raise Unmappable("OCSF event has no time or time_dt")

        record_id, target = self._objects(record, class_uid)
        action = self._action(record, class_uid, activity, activity_name, record_id)
        if action in ("login", "logout", "admin", "config_change", "key_use", "other") or (
            action == "search" and class_uid not in (DATASTORE, API, WEB_RESOURCES)
        ):
            target = target or record_id
            record_id = None
        if class_uid in ADMIN_CLASSES and subject is not None and subject is not user:
            target = _person(subject) or target  # the account or group that was changed
        auth_method = None
        if class_uid == AUTHENTICATION:
            if record.get("is_mfa") is True:
                auth_method = "mfa"
            else:
                protocol = first_text(record.get("auth_protocol"))
                auth_method = protocol.lower() if protocol else None
        return {
            "event_id": first_text(get(record, "metadata", "uid")),
            "timestamp": timestamp,
            "user_id": user_id,
            "org_id": self._org(record, user, actor_user, subject),
            "record_id": record_id,
            "action": action,
            "outcome": self._outcome(record),
            "source_ip": ip_or_none(get(record, "src_endpoint", "ip")),
            "auth_method": auth_method,
            "purpose": first_text(get(record, "unmapped", "purpose")),
            "session_id": first_text(get(record, "actor", "session", "uid"), get(record, "session", "uid")),
            "records_returned": first_text(get(record, "unmapped", "records_returned")),
            "break_glass": None,
            "source_action": f"{class_name}: {activity_name}" if activity_name else class_name,
            "target": target,
        }

    @staticmethod
    def _activity_name(class_uid: int, activity: int | None) -> str | None:
        if activity is None:
            return None
        names = {AUTHENTICATION: AUTH_NAMES, DATASTORE: DATASTORE_NAMES, API: API_NAMES, WEB_RESOURCES: WEB_NAMES}
        return names.get(class_uid, {}).get(activity, str(activity))

    @staticmethod
    def _org(record: dict[str, Any], *users: Any) -> str | None:
        for u in users:
            org = first_text(get(u, "org", "uid"), get(u, "org", "name"))
            if org:
                return org
        for value in (
            get(record, "cloud", "account", "uid"),
            get(record, "actor", "user", "account", "uid"),
            get(record, "user", "account", "uid"),
            get(record, "cloud", "account", "name"),
        ):
            account = account_of(value)
            if account:
                return account
        return None

    @staticmethod
    def _action(
        record: dict[str, Any], class_uid: int, activity: int | None, name: str | None, record_id: str | None
    ) -> str:
        operation = first_text(get(record, "api", "operation"), get(record, "query_info", "query_string")) or ""
        verb = next((a for pattern, a in OPERATION_VERBS if pattern.search(operation)), None)
        if class_uid == AUTHENTICATION:
            return AUTH_ACTIONS.get(activity if activity is not None else -1, "other")
        if class_uid in ADMIN_CLASSES:
            return "admin"
        if class_uid == ENTITY_MANAGEMENT:
            return "search" if activity == 2 else "config_change"
        if class_uid == APP_LIFECYCLE:
            return "config_change"
        if class_uid == DATASTORE:
            action = DATASTORE_ACTIONS.get(activity if activity is not None else -1, "other")
        elif class_uid == API:
            if activity == 2 and verb in ("search", "export", "print"):
                action = verb
            else:
                action = API_ACTIONS.get(activity if activity is not None else -1) or verb or "other"
        elif class_uid == WEB_RESOURCES:
            action = WEB_ACTIONS.get(activity if activity is not None else -1, "other")
        else:
            return "other"
        if record_id is None and action in ("view", "create", "update", "delete", "print"):
            # The same verbs on something that is not a child's record (a pod, a bucket, a role).
            if action == "view":
                return "search"
            service = (text(get(record, "api", "service", "name")) or "").split(".")[0].lower()
            return "admin" if service in IDENTITY_SERVICES else "config_change"
        return action

    @staticmethod
    def _outcome(record: dict[str, Any]) -> str:
        status_id = _int(record.get("status_id"))
        status = (text(record.get("status")) or "").lower()
        code = _int(get(record, "api", "response", "code")) or _int(get(record, "http_response", "code"))
        if status_id == 1 or (status_id in (None, 0, 99) and status == "success"):
            return "success"
        if status_id == 2 or (status_id in (None, 0, 99) and status == "failure"):
            words = " ".join(
                filter(
                    None,
                    [
                        text(record.get("status_detail")),
                        text(record.get("status_code")),
                        text(get(record, "api", "response", "error")),
                        text(get(record, "api", "response", "error_message")),
                        text(record.get("message")),
                    ],
                )
            )
            return "denied" if code in (401, 403) or DENIED_WORDS.search(words) else "failure"
        if status_id in (None, 0) and code is not None:  # no status, but the HTTP/API response says
            if 200 <= code < 400:
                return "success"
            return "denied" if code in (401, 403) else "failure"
        raise Unmappable(f"OCSF status_id {record.get('status_id')!r} is not 1 (Success) or 2 (Failure)")

    @staticmethod
    def _objects(record: dict[str, Any], class_uid: int) -> tuple[str | None, str | None]:
        """(record id, other target): a resource typed as a record (or untyped, with a uid) is a child's
        record; a resource of another type (pods, buckets, roles) is only a target."""
        resources = [r for r in as_list(record.get("resources")) if isinstance(r, dict)]
        record_id = target = None
        for r in resources:
            kind = (text(r.get("type")) or "").lower()
            uid = text(r.get("uid"))
            label = uid or "/".join(x for x in (text(r.get("namespace")), text(r.get("name"))) if x) or None
            if uid and (kind in RECORD_TYPES or not kind) and record_id is None:
                record_id = uid
            elif label and target is None:
                target = label
        if record_id is None:
            record_id = first_text(get(record, "unmapped", "record_id"))
        if target is None:
            target = first_text(
                get(record, "database", "name"), get(record, "table", "name"), get(record, "databucket", "name"),
                get(record, "web_resources", 0, "uid"), get(record, "web_resources", 0, "name"),
            )
        if class_uid == WEB_RESOURCES and record_id is None:
            for w in as_list(record.get("web_resources")):
                kind = (text(get(w, "type")) or "").lower()
                if kind in RECORD_TYPES and text(get(w, "uid")):
                    record_id = text(get(w, "uid"))
                    break
        return record_id, target

