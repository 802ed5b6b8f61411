"""HL7 FHIR AuditEvent (R4 and R5) as NDJSON, a Bundle, or a JSON array of resources.

The mapping (documented in docs/formats.md, tested in tests/formats/test_fhir.py):
user and organisation from the requesting agent (`agent[requestor=true].who`, the organisation from
the user identifier's assigner, else an Organization agent that is not the custodian); record from the Patient entity (or the
R5 `patient`); action from `action` C/R/U/D/E with `subtype`/`code` deciding what an execute (E) was
(search when a query, login/logout, export); outcome 0 → success, 4/8/12 → failure (denied when
the description says access was refused); purpose from `purposeOfEvent` (R4) or `authorization`
(R5) and the agents' purposeOfUse/authorization; source_ip from an agent's network address;
securityLabel R/V on the patient entity marks the record restricted (a staged-table side note,
not the purpose). Anything else is an `_error` row with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from audit_kit.ingest.presets.base import JsonPreset
from audit_kit.ingest.presets.records import Mapped, Unmappable, as_list, first_text, get, ip_or_none, text
from audit_kit.schema import RECORD_ACTIONS

CRUD = {"C": "create", "R": "view", "U": "update", "D": "delete"}
# Codes in type/subtype (R4) or category/code (R5) that say what the event was. restful-interaction
# codes (http://hl7.org/fhir/restful-interaction) and DICOM audit event codes (DCM).
LOGIN_CODES = {"110122", "login"}
LOGOUT_CODES = {"110123", "logout"}
EXPORT_CODES = {"110106", "export", "$export", "bulk-export"}
SEARCH_CODES = {
    "search",
    "search-type",
    "search-system",
    "search-compartment",
    "history-type",
    "history-system",
    "110112",
    "query",
}
SUBTYPE_ACTIONS = {
    "read": "view",
    "vread": "view",
    "history-instance": "view",
    "110110": "view",
    "create": "create",
    "update": "update",
    "patch": "update",
    "delete": "delete",
}
OUTCOME_SUCCESS = {"0", "success", "information"}
OUTCOME_FAILURE = {"4", "8", "12", "minor", "serious", "major", "fatal", "error", "failure"}
DENIED_WORDS = re.compile(r"denied|forbidden|unauthori[sz]ed|not authori[sz]ed|refused|\b403\b|\b401\b", re.I)
RESTRICTED_LABELS = {"R", "V"}  # v3-Confidentiality: restricted, very restricted
BREAK_GLASS_CODES = {"BTG"}  # v3-ActReason "break the glass"
PATIENT_ROLES = {"1", "patient"}  # R4 object-role 1 = Patient
PERSON_TYPES = ("Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "Person")
CLIENT_ROLE = "110153"  # DICOM Source Role ID: the client that made the request (IHE BALP)
SERVER_ROLE = "110152"  # DICOM Destination Role ID
NOT_USER_ORG = {SERVER_ROLE, "CST", "custodian"}  # v3-ParticipationType CST: the data's custodian
HEAD_PATTERN = re.compile(rb'"resourceType"\s*:\s*"(AuditEvent|Bundle)"')


def reference_parts(ref: Any) -> tuple[str | None, str | None]:
    """('Patient', '123') from 'Patient/123', 'http://x/fhir/Patient/123/_history/2' or similar."""
    t = text(ref)
    if t is None:
        return None, None
    parts = [p for p in t.split("?")[0].split("/") if p]
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return parts[-2], parts[-1]
    if t.startswith("urn:"):
        return None, t
    return None, parts[-1] if parts else None


def codes(*concepts: Any) -> list[str]:
    """Codes (else text) of Codings or CodeableConcepts, in order, without repeats."""
    out: list[str] = []
    for concept in concepts:
        for c in as_list(concept):
            found = [text(get(k, "code")) for k in as_list(get(c, "coding"))] + [text(get(c, "code"))]
            found = [f for f in found if f]
            if not found and text(get(c, "text")):
                found = [str(text(get(c, "text")))]
            for f in found:
                if f and f not in out:
                    out.append(f)
    return out


def who_type(who: Any) -> str | None:
    kind, _ = reference_parts(get(who, "reference"))
    return kind or text(get(who, "type"))


def who_id(who: Any) -> str | None:
    """The identifier value of a Reference, else the id of its literal reference."""
    value = text(get(who, "identifier", "value"))
    if value:
        return value
    return reference_parts(get(who, "reference"))[1]


class FhirAuditEventPreset(JsonPreset):
    """FHIR AuditEvent R4/R5 (NDJSON, Bundle or array; gzip allowed)."""

    name: ClassVar[str] = "fhir"
    title: ClassVar[str] = "HL7 FHIR AuditEvent (R4, R5)"

    def sniff(self, path: Path, head: bytes) -> bool:
        m = HEAD_PATTERN.search(head)
        return m is not None and (m.group(1) == b"AuditEvent" or b'"AuditEvent"' in head)

    def unwrap(self, doc: Any) -> list[Any] | None:
        if isinstance(doc, list):
            return doc
        if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
            entries = as_list(doc.get("entry"))
            return [e["resource"] if isinstance(e, dict) and "resource" in e else e for e in entries]
        return None

    def map(self, record: Any) -> Mapped:
        if not isinstance(record, dict):
            raise Unmappable(f"not a JSON object but {type(record).__name__}")
        rtype = record.get("resourceType")
        if rtype != "AuditEvent":
            if rtype is None and ("fullUrl" in record or "request" in record or "search" in record):
                raise Unmappable("Bundle entry has no resource")
            raise Unmappable(f"not an AuditEvent (resourceType {rtype!r})")

        agents = [a for a in as_list(record.get("agent")) if isinstance(a, dict)]
        user_agent = self._user_agent(agents)
        if user_agent is None:
            raise Unmappable("AuditEvent has no agent with who.identifier (or a person reference)")
        user_id = who_id(user_agent.get("who"))
        org_id = self._org(agents, user_agent)
        if org_id is None:
            raise Unmappable(
                "AuditEvent has no organisation: expected an agent whose who is an Organization, "
                "or who.identifier.assigner on the requesting agent"
            )
        timestamp = first_text(
            record.get("occurredDateTime"),
            get(record, "occurredPeriod", "start"),
            get(record, "period", "start"),
            record.get("recorded"),
        )
        if timestamp is None:
            raise Unmappable("AuditEvent has no recorded, period.start or occurred[x] time")

        entities = [e for e in as_list(record.get("entity")) if isinstance(e, dict)]
        action = self._action(record, entities)
        outcome = self._outcome(record)

        patients = self._patients(record, entities)
        record_id: str | None = None
        records_returned: str | None = None
        shielded = False
        if action == "search":
            if patients:
                records_returned = str(len(patients))
            if len(patients) == 1:
                record_id = patients[0][0]
        else:
            if patients:
                record_id = patients[0][0]
                shielded = patients[0][1]
            else:
                ids = [who_id(e.get("what")) for e in entities if text(get(e, "what", "identifier", "value"))]
                if len(ids) == 1:
                    record_id = ids[0]
            if record_id is None and action in RECORD_ACTIONS:
                raise Unmappable(
                    f"AuditEvent ({action}) names no record: no entity whose what is a Patient "
                    "(or has role 1 Patient) and no single entity with what.identifier"
                )

        purposes = codes(
            record.get("purposeOfEvent"),
            record.get("authorization"),
            *[a.get("purposeOfUse") for a in agents],
            *[a.get("authorization") for a in agents],
        )
        return {
            "event_id": text(record.get("id")),
            "timestamp": timestamp,
            "user_id": user_id,
            "org_id": org_id,
            "record_id": record_id,
            "action": action,
            "outcome": outcome,
            "source_ip": self._source_ip(agents, user_agent),
            "auth_method": None,
            "purpose": "|".join(purposes) or None,
            "session_id": None,
            "records_returned": records_returned,
            "break_glass": "true" if any(p.upper() in BREAK_GLASS_CODES for p in purposes) else "false",
            "_shielded": "true" if shielded else "false",
        }

    @staticmethod
    def _user_agent(agents: list[dict[str, Any]]) -> dict[str, Any] | None:
        def is_person(a: dict[str, Any]) -> bool:
            who = a.get("who")
            if text(get(who, "identifier", "value")):
                return who_type(who) not in ("Organization", "Device")
            return who_type(who) in PERSON_TYPES and who_id(who) is not None

        requestors = [a for a in agents if a.get("requestor") is True and is_person(a)]
        if requestors:
            return requestors[0]
        # No requestor flag: the first person-like agent that is not the client or server software.
        people = [
            a for a in agents if is_person(a) and not {CLIENT_ROLE, SERVER_ROLE} & set(codes(a.get("type")))
        ]
        return people[0] if people else None

    @staticmethod
    def _org(agents: list[dict[str, Any]], user_agent: dict[str, Any]) -> str | None:
        # The user's own identifier says who issued it (e.g. an ODS code): the most specific answer.
        assigner = get(user_agent, "who", "identifier", "assigner")
        org = first_text(
            get(assigner, "identifier", "value"),
            reference_parts(get(assigner, "reference"))[1],
            get(assigner, "display"),
        )
        if org:
            return org
        for a in agents:  # else an Organization agent that is not the record's custodian or the server
            if who_type(a.get("who")) == "Organization" and not NOT_USER_ORG & set(codes(a.get("type"))):
                org = who_id(a.get("who"))
                if org:
                    return org
        return None

    @staticmethod
    def _action(record: dict[str, Any], entities: list[dict[str, Any]]) -> str:
        said = {
            c.lower()
            for c in codes(
                record.get("type"), record.get("subtype"), record.get("category"), record.get("code")
            )
        }
        if said & LOGIN_CODES:
            return "login"
        if said & LOGOUT_CODES:
            return "logout"
        if said & EXPORT_CODES:
            return "export"
        is_query = any(e.get("query") for e in entities)
        if said & SEARCH_CODES or is_query:
            return "search"
        letter = text(record.get("action"))
        if letter in CRUD:
            return CRUD[letter]
        by_subtype = [SUBTYPE_ACTIONS[c] for c in said if c in SUBTYPE_ACTIONS]
        if letter == "E":
            if by_subtype:
                return by_subtype[0]
            raise Unmappable(
                "AuditEvent action E (execute) is not a query, login, logout or export "
                f"(type/subtype codes: {', '.join(sorted(said)) or 'none'})"
            )
        if letter is None:
            if by_subtype:
                return by_subtype[0]
            raise Unmappable("AuditEvent has no action and no subtype that says what it was")
        raise Unmappable(f"AuditEvent action {letter!r} is not one of C, R, U, D, E")

    @staticmethod
    def _outcome(record: dict[str, Any]) -> str:
        raw = record.get("outcome")
        if isinstance(raw, dict):  # R5: outcome {code: Coding, detail: [CodeableConcept]}
            code = text(get(raw, "code", "code"))
            words = " ".join(
                filter(
                    None,
                    [text(get(raw, "code", "display"))]
                    + codes(raw.get("detail"))
                    + [text(get(d, "text")) for d in as_list(raw.get("detail"))],
                )
            )
        else:
            code = text(raw)
            words = text(record.get("outcomeDesc")) or ""
        if code is None:
            raise Unmappable("AuditEvent has no outcome")
        if code.lower() in OUTCOME_SUCCESS:
            return "success"
        if code.lower() in OUTCOME_FAILURE:
            return "denied" if DENIED_WORDS.search(words) else "failure"
        raise Unmappable(f"AuditEvent outcome {code!r} is not one of 0, 4, 8, 12")

    @staticmethod
    def _patients(record: dict[str, Any], entities: list[dict[str, Any]]) -> list[tuple[str, bool]]:
        """(record id, restricted?) for each Patient entity, in order, without repeats."""
        out: dict[str, bool] = {}
        for e in entities:
            what = e.get("what")
            roles = {c.lower() for c in codes(e.get("role"))}
            if who_type(what) == "Patient" or roles & PATIENT_ROLES:
                rid = who_id(what)
                if rid:
                    labels = {c.upper() for c in codes(e.get("securityLabel"))}
                    out[rid] = out.get(rid, False) or bool(labels & RESTRICTED_LABELS)
        patient = who_id(record.get("patient"))  # R5
        if patient and patient not in out:
            out[patient] = False
        return list(out.items())

    @staticmethod
    def _source_ip(agents: list[dict[str, Any]], user_agent: dict[str, Any]) -> str | None:
        def ip_of(a: dict[str, Any]) -> str | None:
            uri = text(a.get("networkUri"))
            return (
                ip_or_none(get(a, "network", "address"))
                or ip_or_none(a.get("networkString"))
                or (ip_or_none(urlsplit(uri).hostname) if uri else None)
            )

        ordered = [user_agent]
        ordered += [a for a in agents if CLIENT_ROLE in codes(a.get("type"))]
        ordered += [a for a in agents if SERVER_ROLE not in codes(a.get("type"))]
        for a in ordered:
            ip = ip_of(a)
            if ip:
                return ip
        return None
