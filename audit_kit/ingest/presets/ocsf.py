"""OCSF events: Datastore Activity (6005), API Activity (6003) and Authentication (3002).

Common attributes: `time_dt` (or `time`, epoch milliseconds) → timestamp; `metadata.uid` → event_id;
`actor.user.uid` (Authentication: the `user` who logged on) → user_id; that user's `org.uid` (else
`org.name`) → org_id; `src_endpoint.ip` → source_ip; `actor.session.uid` → session_id; `status_id`
1 → success, 2 → failure (denied when the status detail or HTTP/API response says access was
refused). The class's `activity_id` gives the action (tables in docs/formats.md). The record a
datastore or API call touched is the first `resources[].uid` (a Patient/record type preferred),
else `unmapped.record_id`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from audit_kit.ingest.presets.base import JsonPreset
from audit_kit.ingest.presets.records import Mapped, Unmappable, as_list, first_text, get, ip_or_none, text

DATASTORE, API, AUTHENTICATION = 6005, 6003, 3002
CLASS_NAMES = {DATASTORE: "Datastore Activity", API: "API Activity", AUTHENTICATION: "Authentication"}
DATASTORE_ACTIONS = {
    1: "view",
    2: "update",
    3: "login",
    4: "search",
    5: "update",
    6: "create",
    7: "delete",
    8: "search",
}
DATASTORE_NAMES = {9: "Encrypt", 10: "Decrypt", 0: "Unknown", 99: "Other"}
API_ACTIONS = {1: "create", 2: "view", 3: "update", 4: "delete"}
AUTH_ACTIONS = {1: "login", 2: "logout"}
AUTH_NAMES = {
    0: "Unknown",
    3: "Authentication Ticket",
    4: "Service Ticket Validation",
    5: "Service Ticket Request",
    6: "Preauth",
    99: "Other",
}
# API operation verbs for an Other (99) activity, or to tell a search from a read.
OPERATION_VERBS = [
    (re.compile(r"export|download", re.I), "export"),
    (re.compile(r"print", re.I), "print"),
    (re.compile(r"search|query|list|find|lookup", re.I), "search"),
]
DENIED_WORDS = re.compile(r"denied|forbidden|unauthori[sz]ed|not authori[sz]ed|refused|permission", re.I)
RECORD_TYPES = {"patient", "record", "child", "person", "subject"}
HEAD_PATTERN = re.compile(rb'"class_uid"\s*:\s*\d')


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
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        dt = datetime.fromtimestamp(value / 1000.0, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class OcsfPreset(JsonPreset):
    """OCSF 1.x Datastore Activity, API Activity and Authentication events (NDJSON or array; gzip)."""

    name: ClassVar[str] = "ocsf"
    title: ClassVar[str] = "OCSF Datastore Activity (6005), API Activity (6003), Authentication (3002)"

    def sniff(self, path: Path, head: bytes) -> bool:
        return bool(HEAD_PATTERN.search(head)) and (b'"activity_id"' in head or b'"type_uid"' in head)

    def map(self, record: Any) -> Mapped:
        if not isinstance(record, dict):
            raise Unmappable(f"not a JSON object but {type(record).__name__}")
        class_uid = _int(record.get("class_uid"))
        if class_uid not in CLASS_NAMES:
            name = text(record.get("class_name"))
            raise Unmappable(
                f"OCSF class_uid {record.get('class_uid')!r}{f' ({name})' if name else ''} is not supported: "
                "expected 6005 Datastore Activity, 6003 API Activity or 3002 Authentication"
            )
        activity = _int(record.get("activity_id"))
        if activity is None:
            type_uid = _int(record.get("type_uid"))
            if type_uid is not None and type_uid // 100 == class_uid:
                activity = type_uid % 100
        action = self._action(record, class_uid, activity)

        if class_uid == AUTHENTICATION:
            user = (
                record.get("user") if isinstance(record.get("user"), dict) else get(record, "actor", "user")
            )
        else:
            user = get(record, "actor", "user")
        user_id = first_text(get(user, "uid"), get(user, "name"), get(user, "email_addr"))
        if user_id is None:
            where = "user.uid" if class_uid == AUTHENTICATION else "actor.user.uid"
            raise Unmappable(f"OCSF event has no {where} (or name, email_addr)")
        org_id = first_text(get(user, "org", "uid"), get(user, "org", "name"))
        if org_id is None:
            org_id = first_text(
                get(record, "actor", "user", "org", "uid"), get(record, "actor", "user", "org", "name")
            )
        if org_id is None:
            raise Unmappable("OCSF event has no user org.uid (or org.name) for the organisation")
        timestamp = first_text(record.get("time_dt")) or epoch_ms_to_iso(record.get("time"))
        if timestamp is None:
            raise Unmappable("OCSF event has no time_dt or numeric time")

        record_id = None
        if class_uid != AUTHENTICATION:
            record_id = self._record(record)
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
            "org_id": org_id,
            "record_id": record_id,
            "action": action,
            "outcome": self._outcome(record),
            "source_ip": ip_or_none(get(record, "src_endpoint", "ip")),
            "auth_method": auth_method,
            "purpose": first_text(get(record, "unmapped", "purpose")),
            "session_id": first_text(get(record, "actor", "session", "uid"), get(record, "session", "uid")),
            "records_returned": first_text(get(record, "unmapped", "records_returned")),
            "break_glass": None,
        }

    @staticmethod
    def _action(record: dict[str, Any], class_uid: int, activity: int | None) -> str:
        known = (
            AUTH_NAMES if class_uid == AUTHENTICATION else DATASTORE_NAMES if class_uid == DATASTORE else {}
        )
        name = text(record.get("activity_name")) or known.get(activity if activity is not None else -1)
        label = ("missing" if activity is None else str(activity)) + (f" ({name})" if name else "")
        if class_uid == AUTHENTICATION:
            if activity in AUTH_ACTIONS:
                return AUTH_ACTIONS[activity]
            raise Unmappable(f"OCSF Authentication activity {label} is not a logon (1) or logoff (2)")
        operation = (
            first_text(get(record, "api", "operation"), get(record, "query_info", "query_string")) or ""
        )
        verb = next((a for pattern, a in OPERATION_VERBS if pattern.search(operation)), None)
        if class_uid == DATASTORE:
            if activity in DATASTORE_ACTIONS:
                return DATASTORE_ACTIONS[activity]
            raise Unmappable(f"OCSF Datastore Activity {label} has no canonical action")
        # API Activity: a Read whose operation is a search/list is a search; Other needs the operation.
        if activity == 2 and verb in ("search", "export", "print"):
            return verb
        if activity in API_ACTIONS:
            return API_ACTIONS[activity]
        if verb:
            return verb
        raise Unmappable(
            f"OCSF API Activity {label} with api.operation {operation or 'missing'!r} has no canonical action"
        )

    @staticmethod
    def _outcome(record: dict[str, Any]) -> str:
        status_id = _int(record.get("status_id"))
        status = (text(record.get("status")) or "").lower()
        if status_id == 1 or (status_id in (None, 0, 99) and status == "success"):
            return "success"
        if status_id == 2 or (status_id in (None, 0, 99) and status == "failure"):
            code = _int(get(record, "api", "response", "code")) or _int(get(record, "http_response", "code"))
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
        raise Unmappable(f"OCSF status_id {record.get('status_id')!r} is not 1 (Success) or 2 (Failure)")

    @staticmethod
    def _record(record: dict[str, Any]) -> str | None:
        resources = [
            r for r in as_list(record.get("resources")) if isinstance(r, dict) and text(r.get("uid"))
        ]
        typed = [r for r in resources if (text(r.get("type")) or "").lower() in RECORD_TYPES]
        chosen = (typed or resources)[:1]
        if chosen:
            return text(chosen[0].get("uid"))
        return first_text(get(record, "unmapped", "record_id"))
