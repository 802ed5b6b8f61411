"""AWS CloudTrail records: `{"Records": [...]}` files (as delivered, usually gzip), NDJSON, single records,
and the EventBridge envelope (`"detail-type": "AWS API Call via CloudTrail"`, the record in `detail`).

`eventID` → event_id, `eventTime` → timestamp, the caller's user name (IAM user, the session name of
an assumed role, the Identity Center user, the AWS service acting) → user_id, `userIdentity.accountId`
(else `recipientAccountId`, else the envelope's `account`) → org_id: each accessing body's own AWS
account (map account ids to org ids in organisations.csv, or with `values:` in a mapping file).

Most CloudTrail records are about the cloud account, not about a child's record: only data events that
name one object (an S3 object key, a DynamoDB item key) touch a record. The rest are stored with no
record and an action from the call (docs/formats.md): sign-ins and role assumption → login, KMS
cryptography → key_use, changes to identities and permissions → admin, other changes (trails, logging,
keys, infrastructure) → config_change, reads that name no record → search, anything else → other. The
call is kept as `source_action` (`iam:CreateUser`) and what it acted on as `target`.

The outcome comes from `errorCode` (none → success; AccessDenied-like → denied; else failure).
CloudTrail digest files (hashes of the log files, no events) are recognised and skipped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from audit_kit.ingest.presets.base import JsonPreset
from audit_kit.ingest.presets.records import (
    Mapped,
    Unmappable,
    as_list,
    first_text,
    get,
    ip_or_none,
    read_head,
    text,
)

LOGIN_EVENTS = {
    "ConsoleLogin",
    "CheckMfa",
    "Authenticate",
    "UserAuthentication",
    "CredentialVerification",
    "CredentialChallenge",
    "Federate",
    "ExternalIdPDirectoryLogin",
    "SwitchRole",
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "GetSessionToken",
    "GetFederationToken",
    "GetRoleCredentials",
}
LOGOUT_EVENTS = {"Logout", "SignOut", "ConsoleLogout"}
KEY_USE_EVENTS = {
    "Decrypt", "Encrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify", "GenerateMac", "VerifyMac",
}
# Services whose changes are to identities and permissions (admin); other services' changes are
# configuration (config_change).
IDENTITY_SERVICES = {
    "iam", "sts", "sso", "sso-directory", "identitystore", "organizations", "cognito-idp", "cognito-identity",
    "signin", "access-analyzer", "ds",
}
# The leading verb of an API name, e.g. GetObject -> Get. Batch/Bulk prefixes are looked through.
READ_VERBS = {
    "Get", "Describe", "Head", "Read", "View", "Open", "List", "Search", "Query", "Scan", "Select", "Lookup",
    "Find", "Filter", "Check", "Simulate", "Validate", "Estimate", "Preview", "Test", "Verify", "Detect",
    "Discover", "Download", "Export", "Count", "Evaluate", "Batch",
}
CHANGE_VERBS = {
    "Create", "Post", "Insert", "Add", "Upload", "Import", "Register", "Restore", "Put", "Update", "Modify", "Set",
    "Patch", "Replace", "Edit", "Write", "Delete", "Remove", "Purge", "Deregister", "Attach", "Detach",
    "Enable", "Disable", "Stop", "Start", "Tag", "Untag", "Associate", "Disassociate", "Authorize", "Revoke",
    "Reset", "Change", "Run", "Terminate", "Reboot", "Schedule", "Cancel", "Accept", "Reject", "Apply",
    "Rotate", "Assign", "Unassign", "Grant", "Retire", "Allocate", "Release", "Copy", "Deactivate",
    "Activate", "Enroll", "Resync", "Upgrade", "Rename", "Move", "Merge", "Suspend", "Resume", "Lock",
    "Unlock", "Adopt", "Invite", "Leave", "Decline", "Disconnect", "Connect", "Mount", "Unmount",
}
# Verbs on one record (a data event that names the object) and what they are.
RECORD_VERBS = {
    "Get": "view", "Head": "view", "Read": "view", "View": "view", "Open": "view", "Describe": "view",
    "Select": "view",
    "List": "search", "Search": "search", "Query": "search", "Scan": "search", "Lookup": "search",
    "Find": "search", "Filter": "search",
    "Create": "create", "Post": "create", "Insert": "create", "Add": "create", "Upload": "create",
    "Import": "create", "Restore": "create",
    "Put": "update", "Update": "update", "Modify": "update", "Set": "update", "Patch": "update",
    "Replace": "update", "Edit": "update", "Write": "update",
    "Delete": "delete", "Remove": "delete", "Purge": "delete",
    "Export": "export", "Download": "export", "Copy": "export",
    "Print": "print",
}
VERB = re.compile(r"^(?:Batch|Bulk)?([A-Z][a-z]+)")
DENIED_CODES = re.compile(
    r"AccessDenied|Unauthori[sz]ed|NotAuthori[sz]ed|Forbidden|AuthFailure|InvalidClientTokenId|"
    r"SignatureDoesNotMatch|ExpiredToken|InvalidToken",
    re.I,
)
HEAD_PATTERN = re.compile(rb'"(eventVersion|eventSource)"\s*:')
# What a change acted on, by the request parameter that names it (first found wins).
TARGET_PARAMS = (
    "userName", "roleName", "groupName", "policyArn", "policyName", "instanceProfileName", "roleArn",
    "trailName", "name", "keyId", "aliasName", "bucketName", "tableName", "functionName", "logGroupName",
    "detectorId", "dBInstanceIdentifier", "clusterName", "loadBalancerArn", "loadBalancerName", "groupId",
    "instanceId", "secretId", "parameterName", "topicArn", "queueUrl", "repositoryName", "stackName",
    "configurationRecorderName", "deliveryChannelName", "accountId", "targetId", "principalArn",
)
DIGEST_KEYS = (b'"digestStartTime"', b'"digestEndTime"', b'"logFiles"', b'"digestSignatureAlgorithm"')
DIGEST_NOTE = (
    "a CloudTrail digest file (hashes that prove the log files unchanged; it holds no events): "
    "not read as events"
)
ENVELOPE_TYPES = ("AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail",
                  "AWS Service Event via CloudTrail", "AWS Insight via CloudTrail")


def is_cloudtrail_digest(path: Path) -> bool:
    """Whether a JSON file is a CloudTrail digest file (from its first bytes, gzip looked through)."""
    try:
        head = read_head(path, 8192)
    except Exception:  # an unreadable file is reported by the reader that opens it
        return False
    return sum(k in head for k in DIGEST_KEYS) >= 2 and b'"eventName"' not in head


def service(record: dict[str, Any]) -> str:
    """`iam` from eventSource `iam.amazonaws.com` (empty when missing)."""
    src = text(record.get("eventSource")) or ""
    return src.split(".", 1)[0].lower()


class CloudTrailPreset(JsonPreset):
    """AWS CloudTrail log records (Records files, NDJSON, single records, EventBridge; gzip allowed)."""

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
        envelope: dict[str, Any] = {}
        if isinstance(record.get("detail"), dict) and ("detail-type" in record or "eventName" in record["detail"]):
            envelope, record = record, record["detail"]  # EventBridge: the CloudTrail record is the detail
        name = text(record.get("eventName"))
        if name is None:
            kind = text(envelope.get("detail-type"))
            if kind and kind not in ENVELOPE_TYPES:
                raise Unmappable(f"EventBridge event {kind!r} is not a CloudTrail record (no detail.eventName)")
            raise Unmappable("CloudTrail record has no eventName")
        timestamp = first_text(record.get("eventTime"), envelope.get("time"))
        if timestamp is None:
            raise Unmappable("CloudTrail record has no eventTime")
        ident = record.get("userIdentity")
        if not isinstance(ident, dict):
            raise Unmappable("CloudTrail record has no userIdentity")
        user_id = self._user(ident)
        if user_id is None:
            raise Unmappable("CloudTrail userIdentity has no userName, session name, principalId, invokedBy or arn")
        org_id = first_text(ident.get("accountId"), record.get("recipientAccountId"), envelope.get("account"))
        svc = service(record)
        record_id = self._record(record)
        action = self._action(name, svc, record_id, record)
        if action not in ("view", "create", "update", "delete", "export", "print", "search") or (
            action == "search" and record_id is not None and not self._is_data(record)
        ):
            record_id = None
        key = ident.get("accessKeyId")
        return {
            "event_id": first_text(record.get("eventID"), envelope.get("id")),
            "timestamp": timestamp,
            "user_id": user_id,
            "org_id": org_id,
            "record_id": record_id,
            "action": action,
            "outcome": self._outcome(record, name),
            "source_ip": ip_or_none(record.get("sourceIPAddress")),
            "auth_method": self._auth(record, ident, name),
            "purpose": None,
            # Temporary credentials (ASIA…) belong to one session; long-term keys (AKIA…) do not.
            "session_id": text(key) if isinstance(key, str) and key.startswith("ASIA") else None,
            "records_returned": None,
            "break_glass": None,
            "source_action": f"{svc}:{name}" if svc else name,
            "target": None if record_id is not None else self._target(record),
        }

    @staticmethod
    def _user(ident: dict[str, Any]) -> str | None:
        kind = text(ident.get("type"))
        principal = text(ident.get("principalId"))
        session_name = principal.split(":", 1)[1] if principal and ":" in principal else None
        if kind == "AssumedRole" and session_name:
            return session_name
        if kind == "Root":
            return first_text(ident.get("userName"), "root")
        if kind == "AWSService":
            return first_text(ident.get("invokedBy"), principal)
        return first_text(
            ident.get("userName"),
            get(ident, "onBehalfOf", "userId"),
            session_name,
            principal,
            ident.get("arn"),
            ident.get("invokedBy"),
        )

    @staticmethod
    def _is_data(record: dict[str, Any]) -> bool:
        """A data event (on objects or items, not on the account's set-up)."""
        if text(record.get("eventCategory")) == "Data" or record.get("managementEvent") is False:
            return True
        params = record.get("requestParameters")
        return text(get(params, "key")) is not None or isinstance(get(params, "key"), dict)

    @classmethod
    def _action(cls, name: str, svc: str, record_id: str | None, record: dict[str, Any]) -> str:
        if name in LOGIN_EVENTS:
            return "login"
        if name in LOGOUT_EVENTS:
            return "logout"
        if name in KEY_USE_EVENTS or (svc == "kms" and name in ("GenerateRandom",)):
            return "key_use"
        m = VERB.match(name)
        verb = m.group(1) if m else ""
        if "Export" in name and verb not in ("Describe", "List", "Get", "Cancel", "Delete"):
            # CreateExportTask, ExportTableToPointInTime: data leaving, whole or in part
            return "export"
        if record_id is not None and cls._is_data(record) and verb in RECORD_VERBS:
            return RECORD_VERBS[verb]
        if verb in READ_VERBS or name.startswith("BatchGet"):
            return "search"  # a read that names no child's record: a listing or a look at set-up
        if verb in CHANGE_VERBS:
            if svc in IDENTITY_SERVICES:
                return "admin"
            return "config_change"
        return "other"

    @staticmethod
    def _outcome(record: dict[str, Any], name: str) -> str:
        error = text(record.get("errorCode"))
        response = get(record, "responseElements", name) if name in ("ConsoleLogin", "CheckMfa") else None
        if text(response) == "Failure":
            return "failure"
        if error is None:
            return "success"
        return "denied" if DENIED_CODES.search(error) else "failure"

    @staticmethod
    def _auth(record: dict[str, Any], ident: dict[str, Any], name: str) -> str | None:
        used = text(get(record, "additionalEventData", "MFAUsed"))
        if name == "ConsoleLogin" and used in ("Yes", "No"):
            return "mfa" if used == "Yes" else "password"
        if name == "CheckMfa":
            return "mfa"
        if name == "AssumeRoleWithSAML" or text(ident.get("type")) == "SAMLUser":
            return "saml"
        if name == "AssumeRoleWithWebIdentity" or text(ident.get("type")) == "WebIdentityUser":
            return "web_identity"
        if text(get(ident, "sessionContext", "attributes", "mfaAuthenticated")) == "true":
            return "mfa"
        key = text(ident.get("accessKeyId"))
        if key and key.startswith("AKIA"):
            return "access_key"
        return None

    @staticmethod
    def _record(record: dict[str, Any]) -> str | None:
        """The one object a data call named: an S3 object key or a DynamoDB item key."""
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
        if text(record.get("eventCategory")) == "Data":
            for res in as_list(record.get("resources")):
                kind = text(get(res, "type")) or ""
                arn = text(get(res, "ARN"))
                if arn and kind in ("AWS::S3::Object", "AWS::DynamoDB::Item"):
                    return arn
        return None

    @staticmethod
    def _target(record: dict[str, Any]) -> str | None:
        params = record.get("requestParameters")
        if isinstance(params, dict):
            for k in TARGET_PARAMS:
                t = text(params.get(k))
                if t:
                    return t
        for res in as_list(record.get("resources")):
            arn = first_text(get(res, "ARN"), get(res, "arn"))
            if arn:
                return arn
        return None
