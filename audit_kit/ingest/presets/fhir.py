"""HL7 FHIR AuditEvent (R4 and R5) as NDJSON, a Bundle, or a JSON array of resources, in JSON or XML.

The mapping (documented in docs/formats.md, tested in tests/formats/test_fhir.py):
user and organisation from the requesting agent (`agent[requestor=true].who`, the organisation from
the user identifier's assigner, else an Organization agent that is not the custodian); record from the Patient entity (or the
R5 `patient`); action from `action` C/R/U/D/E with `subtype`/`code` deciding what an execute (E) was
(search when a query, login/logout, export); outcome 0 → success, 4/8/12 → failure (denied when
the description says access was refused); purpose from `purposeOfEvent` (R4) or `authorization`
(R5) and the agents' purposeOfUse/authorization; source_ip from an agent's network address;
securityLabel R/V on the patient entity marks the record restricted (a staged-table side note,
not the purpose). An event no canonical verb fits (a break-glass declaration, an operation) is stored
as `other` with its codes kept as `source_action`. Break-glass is recognised by its standard codes:
purpose of use BTG (v3-ActReason), the security labels BTG/EMER, and the DICOM events Emergency
Override Started/Stopped (110127/110128). A record that names no organisation is passed on without
one: ingest takes it from the mapping file or `--org`, else quarantines it saying so.

XML (`<AuditEvent xmlns="http://hl7.org/fhir">`, or a `<Bundle>` of them) is read with defusedxml:
a DOCTYPE, entity declarations and external references are refused, so a file cannot expand into
gigabytes or make the reader fetch anything.

(Why this module runs past 400 lines: FHIR R4 and R5 AuditEvent in JSON and XML, with the agent, entity and
code rules each real producer needed; the mapping is one document read top to bottom (docs/formats.md mirrors
it).)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pyarrow as pa

from audit_kit.errors import InputError
from audit_kit.ingest.presets.base import SHIELDED_METADATA_KEY, JsonPreset
from audit_kit.ingest.presets.records import (
    MAX_DOCUMENT_BYTES,
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
    open_binary,
    text,
)
from audit_kit.schema import RECORD_REQUIRED_ACTIONS

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
BREAK_GLASS_CODES = {"BTG"}  # v3-ActReason "break the glass" (purpose of use)
BREAK_GLASS_LABELS = {"BTG", "EMER"}  # v3-ActCode security labels: break the glass, emergency
BREAK_GLASS_EVENTS = {"110127", "110128"}  # DICOM Emergency Override Started / Stopped
PATIENT_ROLES = {"1", "patient"}  # R4 object-role 1 = Patient
PERSON_TYPES = ("Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "Person")
CLIENT_ROLE = "110153"  # DICOM Source Role ID: the client that made the request (IHE BALP)
SERVER_ROLE = "110152"  # DICOM Destination Role ID
NOT_USER_ORG = {SERVER_ROLE, "CST", "custodian"}  # v3-ParticipationType CST: the data's custodian
# Agent types that are never the person who acted, even flagged as the requestor: DICOM Application
# (110150), Application Launcher (110151), Destination (110152, the server or recipient), Destination
# Media (110154), and the custodian. A Source (110153) agent flagged as the requestor is the one who
# asked (a person in simple logs); without the flag it is taken for the client software.
MACHINE_ROLES = {"110150", "110151", SERVER_ROLE, "110154", "CST", "custodian", "dataprocessor", "datacollector"}
# Identifier systems that name an institution, not a person: when the acting agent is identified by
# one, it is the organisation too (the E-Rezept audit trail names the practice or pharmacy by its card).
ORG_ID_SYSTEMS = {
    "https://gematik.de/fhir/sid/telematik-id",
    "https://fhir.nhs.uk/Id/ods-organization-code",
    "https://fhir.nhs.uk/Id/ods-site-code",
}
# Profiles whose AuditEvents carry the patient's id in entity.name (GEM_ERP_PR_AuditEvent: the insured
# person's KVNR, the entity's what being the prescription Task).
PATIENT_IN_ENTITY_NAME = ("GEM_ERP_PR_AuditEvent",)
# FHIR elements that are booleans in JSON (XML gives every value as text)
XML_BOOLEANS = {"requestor"}
XML_LISTS = {"agent", "entity", "subtype", "coding", "purposeOfEvent", "purposeOfUse", "authorization",
             "securityLabel", "detail", "category", "entry", "policy", "role", "extension", "profile"}
HEAD_PATTERN = re.compile(rb'"resourceType"\s*:\s*"(AuditEvent|Bundle)"')
XML_HEAD = re.compile(rb"<(?:\w+:)?(AuditEvent|Bundle)[\s>]")
FHIR_NS = "{http://hl7.org/fhir}"


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


def _xml_local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xml_to_json(elem: Any) -> Any:
    """A FHIR XML element as its FHIR JSON shape: `value` attributes become values, repeated elements
    lists, an element holding a resource (`resource`, `contained`) that resource with its resourceType.
    Narrative (`text/div`) is left out; booleans of XML_BOOLEANS become true/false."""
    name = _xml_local(elem.tag)
    children = list(elem)
    if name in ("resource", "contained") and len(children) == 1:
        return _resource(children[0])
    out: dict[str, Any] = {}
    if "value" in elem.attrib and not children:
        value = elem.attrib["value"]
        if name in XML_BOOLEANS:
            return value == "true" if value in ("true", "false") else value
        return value
    for key in ("id", "url"):
        if key in elem.attrib:
            out[key] = elem.attrib[key]
    for child in children:
        if not isinstance(child.tag, str):
            continue  # a comment or processing instruction
        cname = _xml_local(child.tag)
        if cname == "div":
            continue
        value = xml_to_json(child)
        if cname in out:
            if not isinstance(out[cname], list):
                out[cname] = [out[cname]]
            out[cname].append(value)
        elif cname in XML_LISTS:
            out[cname] = [value]
        else:
            out[cname] = value
    return out


def _resource(elem: Any) -> dict[str, Any]:
    body = xml_to_json(elem)
    body = body if isinstance(body, dict) else {}
    return {"resourceType": _xml_local(elem.tag), **body}


def parse_fhir_xml(path: Path, cap: int = MAX_DOCUMENT_BYTES) -> dict[str, Any]:
    """A FHIR XML file (one resource or a Bundle) as FHIR JSON, parsed safely: a DOCTYPE, entity
    declarations and external references are refused (defusedxml), the size is capped."""
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    with open_binary(path) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise InputError(f"{path}: the XML document is larger than the {cap // (1024 * 1024)} MiB a single "
                         "document may be", hint="export the AuditEvents as NDJSON, which is streamed")
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InputError(f"{path}: refused: the XML declares a DOCTYPE, entities or external references "
                         f"({type(exc).__name__}); FHIR XML needs none") from None
    except Exception as exc:  # xml.etree.ElementTree.ParseError and friends
        raise InputError(f"{path}: not a valid XML document: {exc}") from None
    if not isinstance(root.tag, str) or not root.tag.startswith(FHIR_NS):
        raise InputError(f"{path}: not FHIR XML (the root element is not in the http://hl7.org/fhir namespace)")
    return _resource(root)


class FhirAuditEventPreset(JsonPreset):
    """FHIR AuditEvent R4/R5 (NDJSON, Bundle or array in JSON; a resource or Bundle in XML; gzip allowed)."""

    name: ClassVar[str] = "fhir"
    title: ClassVar[str] = "HL7 FHIR AuditEvent (R4, R5)"

    def sniff(self, path: Path, head: bytes) -> bool:
        m = HEAD_PATTERN.search(head)
        if m is None and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
            m = XML_HEAD.search(head)
        return m is not None and (m.group(1) == b"AuditEvent" or b"AuditEvent" in head)

    def unwrap(self, doc: Any) -> list[Any] | None:
        if isinstance(doc, list):
            return doc
        if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
            entries = as_list(doc.get("entry"))
            return [e["resource"] if isinstance(e, dict) and "resource" in e else e for e in entries]
        return None

    def read(self, path: Path) -> pa.Table:
        with open_binary(path) as fh:
            head = fh.read(512)
        if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"<":
            return super().read(path)
        doc = parse_fhir_xml(path, self.max_document_bytes)
        entries = self.unwrap(doc)
        builder = StagedBuilder()
        shielded: set[str] = set()
        for i, entry in enumerate(entries if entries is not None else [doc], 1):
            fields = builder.add(Record(i, compact(entry), entry), self.map)
            if fields and fields.get("_shielded") == "true" and fields.get("record_id"):
                shielded.add(str(fields["record_id"]))
        table = pa.Table.from_batches([builder.batch()], schema=STAGED_SCHEMA)
        if shielded:
            import json

            table = table.replace_schema_metadata({SHIELDED_METADATA_KEY: json.dumps(sorted(shielded))})
        return table

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
            raise Unmappable(
                "AuditEvent has no agent that is a person (who.identifier, or a Practitioner, PractitionerRole, "
                "Patient, RelatedPerson or Person reference) other than the client or server software")
        user_id = who_id(user_agent.get("who"))
        org_id = self._org(agents, user_agent)
        timestamp = first_text(
            record.get("occurredDateTime"),
            get(record, "occurredPeriod", "start"),
            get(record, "period", "start"),
            record.get("recorded"),
        )
        if timestamp is None:
            raise Unmappable("AuditEvent has no recorded, period.start or occurred[x] time")

        entities = [e for e in as_list(record.get("entity")) if isinstance(e, dict)]
        said = self._codes(record)
        action = self._action(record, entities, said)
        outcome = self._outcome(record)

        patients = self._patients(record, entities)
        record_id: str | None = None
        records_returned: str | None = None
        shielded = False
        target: str | None = None
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
            if record_id is None and action in RECORD_REQUIRED_ACTIONS and outcome == "success":
                raise Unmappable(
                    f"AuditEvent ({action}) names no record: no patient, no entity whose what is a Patient "
                    "(or has role 1 Patient) and no single entity with what.identifier"
                )
        if record_id is not None:  # what the event acted on besides the patient (e.g. the prescription)
            patient_ids = {p for p, _ in patients}
            whats = [who_id(e.get("what")) for e in entities]
            target = next((w for w in whats if w and w not in patient_ids and w != record_id), None)

        labels = {c.upper() for e in entities for c in codes(e.get("securityLabel"))}
        labels |= {c.upper() for c in codes(get(record, "meta", "security"))}
        purposes = codes(
            record.get("purposeOfEvent"),
            record.get("authorization"),
            *[a.get("purposeOfUse") for a in agents],
            *[a.get("authorization") for a in agents],
        )
        break_glass = (
            any(p.upper() in BREAK_GLASS_CODES for p in purposes)
            or bool(labels & BREAK_GLASS_LABELS)
            or bool(set(said) & BREAK_GLASS_EVENTS)
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
            "break_glass": "true" if break_glass else "false",
            "source_action": self._source_action(record, said),
            "target": target,
            "_shielded": "true" if shielded else "false",
        }

    @staticmethod
    def _codes(record: dict[str, Any]) -> list[str]:
        return [c.lower() for c in codes(record.get("type"), record.get("subtype"), record.get("category"),
                                         record.get("code"))]

    @staticmethod
    def _source_action(record: dict[str, Any], said: list[str]) -> str | None:
        """The event's own codes, most specific first (subtype/code before type/category), then C/R/U/D/E."""
        specific = codes(record.get("subtype"), record.get("code")) or codes(record.get("type"), record.get("category"))
        letter = text(record.get("action"))
        parts = [p for p in specific[:3]] + ([letter] if letter else [])
        return "|".join(parts) or None

    @staticmethod
    def _user_agent(agents: list[dict[str, Any]]) -> dict[str, Any] | None:
        def machine(a: dict[str, Any]) -> bool:
            return bool(MACHINE_ROLES & set(codes(a.get("type"), a.get("role")))) or who_type(a.get("who")) == "Device"

        def is_person(a: dict[str, Any]) -> bool:
            who = a.get("who")
            if machine(a):
                return False
            if text(get(who, "identifier", "value")):
                return who_type(who) not in ("Organization", "Device")
            return who_type(who) in PERSON_TYPES and who_id(who) is not None

        requestors = [a for a in agents if a.get("requestor") is True and is_person(a)]
        if requestors:
            return requestors[0]
        # No person flagged as the requestor: the first person-like agent that is not software.
        people = [a for a in agents if is_person(a) and CLIENT_ROLE not in codes(a.get("type"))]
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
        # An institution acting in its own name (its identifier system names institutions).
        if text(get(user_agent, "who", "identifier", "system")) in ORG_ID_SYSTEMS:
            return text(get(user_agent, "who", "identifier", "value"))
        for a in agents:  # else an Organization agent that is not the record's custodian or the server
            if who_type(a.get("who")) == "Organization" and not NOT_USER_ORG & set(codes(a.get("type"))):
                org = who_id(a.get("who"))
                if org:
                    return org
        return None

    @staticmethod
    def _action(record: dict[str, Any], entities: list[dict[str, Any]], said_list: list[str]) -> str:
        said = set(said_list)
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
        if said & BREAK_GLASS_EVENTS:
            return "other"  # declaring an emergency override is not itself a read
        if letter in CRUD:
            return CRUD[letter]
        by_subtype = [SUBTYPE_ACTIONS[c] for c in said_list if c in SUBTYPE_ACTIONS]
        if by_subtype:
            return by_subtype[0]
        # An execute (E) that is none of the above, or no action at all: stored as `other`, its codes kept.
        return "other"

    @staticmethod
    def _outcome(record: dict[str, Any]) -> str:
        raw = record.get("outcome")
        if isinstance(raw, dict):
            # R5: outcome {code: Coding, detail: [CodeableConcept]}; some drafts: a CodeableConcept
            code = text(get(raw, "code", "code")) or first_text(*[get(c, "code") for c in as_list(raw.get("coding"))])
            words = " ".join(
                filter(
                    None,
                    [text(get(raw, "code", "display")), text(raw.get("text"))]
                    + [text(get(c, "display")) for c in as_list(raw.get("coding"))]
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
        """(record id, restricted?) for the patient: R5 `patient` first, then each Patient entity, in order,
        without repeats (a profile that keeps the patient's id in entity.name: that)."""
        out: dict[str, bool] = {}
        patient = who_id(record.get("patient"))  # R5: the subject of the event, when there is one
        if patient:
            out[patient] = False
        profiles = " ".join(str(p) for p in as_list(get(record, "meta", "profile")))
        by_name = any(p in profiles for p in PATIENT_IN_ENTITY_NAME)
        for e in entities:
            what = e.get("what")
            roles = {c.lower() for c in codes(e.get("role"))}
            labels = {c.upper() for c in codes(e.get("securityLabel"))}
            if who_type(what) == "Patient":  # the Patient's own id (a business identifier names the data)
                rid = reference_parts(get(what, "reference"))[1] or who_id(what)
            elif roles & PATIENT_ROLES:
                rid = who_id(what)
            elif by_name:
                rid = text(e.get("name"))
            else:
                continue
            if rid:
                out[rid] = out.get(rid, False) or bool(labels & RESTRICTED_LABELS)
            if patient and rid == patient:
                out[patient] = out[patient] or bool(labels & RESTRICTED_LABELS)
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
