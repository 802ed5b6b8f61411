"""AWS CloudTrail records: `{"Records": [...]}` files (as delivered, usually gzip) and NDJSON.

`eventID` → event_id, `eventTime` → timestamp, the caller's user name (IAM user, the session name of
an assumed role, or the Identity Center user) → user_id, `userIdentity.accountId` → org_id (each
accessing body's own AWS account; map account ids to org ids in organisations.csv), the record from
the request (`requestParameters.key`, or the first resource ARN), the action from the verb that
starts `eventName` (Get → view, List → search, Put → update…, ConsoleLogin → login), the outcome
from `errorCode` (none → success; AccessDenied-like → denied; else failure),
`sourceIPAddress` → source_ip (when it is an address, not a service name).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from audit_kit.ingest.presets.base import JsonPreset
from audit_kit.ingest.presets.records import Mapped, Unmappable, as_list, first_text, get, ip_or_none, text

LOGIN_EVENTS = {
    "ConsoleLogin",
    "Authenticate",
    "UserAuthentication",
    "CredentialVerification",
    "CredentialChallenge",
    "Federate",
}
LOGOUT_EVENTS = {"Logout", "SignOut", "ConsoleLogout"}
# The leading verb of an API name, e.g. GetObject -> Get. Batch/Bulk prefixes are looked through.
VERB_ACTIONS = {
    "Get": "view",
    "Describe": "view",
    "Head": "view",
    "Read": "view",
    "View": "view",
    "Open": "view",
    "List": "search",
    "Search": "search",
    "Query": "search",
    "Scan": "search",
    "Select": "search",
    "Lookup": "search",
    "Find": "search",
    "Filter": "search",
    "Create": "create",
    "Post": "create",
    "Insert": "create",
    "Add": "create",
    "Upload": "create",
    "Import": "create",
    "Register": "create",
    "Put": "update",
    "Update": "update",
    "Modify": "update",
    "Set": "update",
    "Patch": "update",
    "Replace": "update",
    "Edit": "update",
    "Write": "update",
    "Delete": "delete",
    "Remove": "delete",
    "Purge": "delete",
    "Deregister": "delete",
    "Export": "export",
    "Download": "export",
    "Copy": "export",
    "Restore": "create",
    "Print": "print",
}
VERB = re.compile(r"^(?:Batch|Bulk)?([A-Z][a-z]+)")
DENIED_CODES = re.compile(r"AccessDenied|Unauthori[sz]ed|NotAuthori[sz]ed|Forbidden|AuthFailure", re.I)
HEAD_PATTERN = re.compile(rb'"(eventVersion|eventSource)"\s*:')


class CloudTrailPreset(JsonPreset):
    """AWS CloudTrail log records (Records files or NDJSON; gzip allowed)."""

    name: ClassVar[str] = "cloudtrail"
    title: ClassVar[str] = "AWS CloudTrail records"

    def sniff(self, path: Path, head: bytes) -> bool:
        return bool(HEAD_PATTERN.search(head)) and b'"eventName"' in head

    def unwrap(self, doc: Any) -> list[Any] | None:
        if isinstance(doc, list):
            return doc
        if isinstance(doc, dict) and "Records" in doc and "eventName" not in doc:
            return as_list(doc["Records"]) if not isinstance(doc["Records"], list) else doc["Records"]
        return None

    def map(self, record: Any) -> Mapped:
        if not isinstance(record, dict):
            raise Unmappable(f"not a JSON object but {type(record).__name__}")
        name = text(record.get("eventName"))
        if name is None:
            raise Unmappable("CloudTrail record has no eventName")
        timestamp = text(record.get("eventTime"))
        if timestamp is None:
            raise Unmappable("CloudTrail record has no eventTime")
        ident = record.get("userIdentity")
        if not isinstance(ident, dict):
            raise Unmappable("CloudTrail record has no userIdentity")
        user_id = self._user(ident)
        if user_id is None:
            raise Unmappable("CloudTrail userIdentity has no userName, session name, principalId or arn")
        org_id = first_text(ident.get("accountId"), record.get("recipientAccountId"))
        if org_id is None:
            raise Unmappable("CloudTrail record has no userIdentity.accountId or recipientAccountId")
        action = self._action(name)
        key = ident.get("accessKeyId")
        return {
            "event_id": text(record.get("eventID")),
            "timestamp": timestamp,
            "user_id": user_id,
            "org_id": org_id,
            "record_id": self._record(record) if action not in ("login", "logout", "search") else None,
            "action": action,
            "outcome": self._outcome(record, name),
            "source_ip": ip_or_none(record.get("sourceIPAddress")),
            "auth_method": self._auth(record, ident, name),
            "purpose": None,
            # Temporary credentials (ASIA…) belong to one session; long-term keys (AKIA…) do not.
            "session_id": text(key) if isinstance(key, str) and key.startswith("ASIA") else None,
            "records_returned": None,
            "break_glass": None,
        }

    @staticmethod
    def _user(ident: dict[str, Any]) -> str | None:
        kind = text(ident.get("type"))
        principal = text(ident.get("principalId"))
        session_name = principal.split(":", 1)[1] if principal and ":" in principal else None
        if kind == "AssumedRole" and session_name:
            return session_name
        return first_text(
            ident.get("userName"),
            get(ident, "onBehalfOf", "userId"),
            session_name,
            principal,
            ident.get("arn"),
        )

    @staticmethod
    def _action(name: str) -> str:
        if name in LOGIN_EVENTS:
            return "login"
        if name in LOGOUT_EVENTS:
            return "logout"
        if "Export" in name:  # CreateExportTask, ExportTableToPointInTime: an extraction either way
            return "export"
        m = VERB.match(name)
        if m and m.group(1) in VERB_ACTIONS:
            return VERB_ACTIONS[m.group(1)]
        raise Unmappable(f"CloudTrail eventName {name!r} has no canonical action (its verb is not known)")

    @staticmethod
    def _outcome(record: dict[str, Any], name: str) -> str:
        error = text(record.get("errorCode"))
        if name == "ConsoleLogin" and text(get(record, "responseElements", "ConsoleLogin")) == "Failure":
            return "failure"
        if error is None:
            return "success"
        return "denied" if DENIED_CODES.search(error) else "failure"

    @staticmethod
    def _auth(record: dict[str, Any], ident: dict[str, Any], name: str) -> str | None:
        used = text(get(record, "additionalEventData", "MFAUsed"))
        if name == "ConsoleLogin" and used in ("Yes", "No"):
            return "mfa" if used == "Yes" else "password"
        if text(get(ident, "sessionContext", "attributes", "mfaAuthenticated")) == "true":
            return "mfa"
        key = text(ident.get("accessKeyId"))
        if key and key.startswith("AKIA"):
            return "access_key"
        return None

    @staticmethod
    def _record(record: dict[str, Any]) -> str | None:
        params = record.get("requestParameters")
        key = get(params, "key")
        if text(key):  # S3 object key
            return text(key)
        if isinstance(key, dict):  # DynamoDB key: {"record_id": {"S": "C123"}}
            values = [first_text(*v.values()) if isinstance(v, dict) else text(v) for v in key.values()]
            present = [v for v in values if v]
            if len(present) == 1:
                return present[0]
            if present:
                return "|".join(present)
        for res in as_list(record.get("resources")):
            arn = text(get(res, "ARN"))
            if arn:
                return arn
        return None
