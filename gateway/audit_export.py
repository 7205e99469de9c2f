"""The agency auditor's exports of access records: CSV, and FHIR R5 ``AuditEvent``s following
IHE Basic Audit Log Patterns (BALP), in a ``collection`` Bundle (docs/audit.md).

Each record becomes one AuditEvent:
- ``meta.profile``: BALP's ``IHE.BasicAudit.Read`` / ``Create`` / ``Update`` / ``Delete``
  (or ``IHE.BasicAudit.Query`` for a list or search), the profile of the REST interaction;
- ``category``: ``audit-event-type#rest``; ``code``: ``restful-interaction#read`` (create,
  update, delete, search-type);
- ``action``: C, R, U, D or E; ``severity``: informational, or warning when refused;
- ``outcome.code``: ``audit-event-outcome#0`` (success) or ``#4`` (minor failure: denied or
  rejected), with the reason as ``outcome.detail``;
- ``authorization`` (purpose of use): the record's purpose from Stafett's catalogue
  (``STAFETT_PURPOSE``), with its bokmål text;
- agents: the user (``v3-ParticipationType#IRCP``, ``requestor`` true, with the agency as
  ``who.identifier`` of an organisation number) and the server
  (``DCM#110152`` destination); ``source.observer``: the Stafett service that kept the
  record;
- ``entity``: the object read or changed (``object-role#4`` domain resource), and the child
  or log it concerns (``object-role#1`` patient when it is the child);
- the anomalies as ``extension``s of Stafett's own (``STAFETT_ANOMALY``).
"""
from __future__ import annotations

import csv
import io

MAX_EXPORT = 10000
BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit."
EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
INTERACTION = "http://hl7.org/fhir/restful-interaction"
ACTION = "http://hl7.org/fhir/audit-event-action"
OUTCOME = "http://terminology.hl7.org/CodeSystem/audit-event-outcome"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
ORG_NUMBER = "urn:oid:2.16.578.1.12.4.1.4.101"  # Enhetsregisteret (organisasjonsnummer)
STAFETT_PURPOSE = "https://stafett.havvik.example/fhir/CodeSystem/access-purpose"
STAFETT_ANOMALY = "https://stafett.havvik.example/fhir/StructureDefinition/access-anomaly"
STAFETT_ACTOR = "https://stafett.havvik.example/fhir/actor"
STAFETT_RECORD = "https://stafett.havvik.example/fhir/access-record"

CSV_COLUMNS = ("at", "service", "id", "actor_ref", "actor_kind", "agency", "role", "action",
               "object_type", "object_id", "subject_id", "outcome", "reason", "purpose", "why",
               "protected", "anomalies")
#: an action -> (BALP profile, restful interaction, AuditEvent.action)
_READ = ("Read", "read", "R")
_INTERACTIONS = {"list": ("Query", "search-type", "E"), "search": ("Query", "search-type", "E"),
                 "audit": ("Query", "search-type", "E"),
                 "open": ("Create", "create", "C"), "create": ("Create", "create", "C"),
                 "add": ("Create", "create", "C"), "register": ("Create", "create", "C"),
                 "grant": ("Create", "create", "C"), "request": ("Create", "create", "C"),
                 "delete": ("Delete", "delete", "D"), "remove": ("Delete", "delete", "D")}


def interaction(action: str) -> tuple[str, str, str]:
    if action in _INTERACTIONS:
        return _INTERACTIONS[action]
    if action.startswith(("add_", "schedule", "propose", "create")):
        return _INTERACTIONS["create"]
    if action in ("read", "export_fhir", "resolve") or action.startswith(("read", "get")):
        return _READ
    return "Update", "update", "U"


def csv_text(records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow([_cell(" ".join(r[c]) if c == "anomalies" else r.get(c))
                         for c in CSV_COLUMNS])
    return out.getvalue()


def _cell(value) -> str:
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    # a cell a spreadsheet would run as a formula is quoted as text
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def audit_event(r: dict) -> dict:
    profile, restful, action = interaction(r["action"])
    allowed = r["outcome"] == "allowed"
    user = {"type": {"coding": [_coding(PARTICIPATION, "IRCP", "information recipient")]},
            "who": {"identifier": {"system": STAFETT_ACTOR, "value": r["actor_ref"]},
                    **({"display": r["actor_ref"]} if r["actor_ref"] else {})},
            "requestor": True}
    if r.get("role"):
        user["role"] = [{"text": r["role"]}]
    agents = [user, {"type": {"coding": [_coding(DICOM, "110152", "Destination Role ID")]},
                     "who": {"display": f"Stafett {r['service']}"}, "requestor": False}]
    if r.get("agency"):
        agents.append({"type": {"coding": [_coding(DICOM, "110150", "Application")]},
                       "who": {"identifier": {"system": ORG_NUMBER, "value": r["agency"]}},
                       "requestor": False})
    entities = [{"what": {"identifier": {"system": STAFETT_RECORD + "/" + r["object_type"],
                                         "value": r.get("object_id") or r["object_type"]}},
                 "role": {"coding": [_coding(OBJECT_ROLE, "4", "Domain Resource")]}}]
    if r.get("subject_id"):
        entities.append({"what": {"identifier": {"system": STAFETT_RECORD + "/subject",
                                                 "value": r["subject_id"]}},
                         "role": {"coding": [_coding(OBJECT_ROLE, "1", "Patient")]}})
    event = {
        "resourceType": "AuditEvent", "id": r["id"],
        "meta": {"profile": [BALP + profile]},
        "category": [{"coding": [_coding(EVENT_TYPE, "rest", "Restful Operation")]}],
        "code": {"coding": [_coding(INTERACTION, restful)]},
        "action": action, "severity": "informational" if allowed else "warning",
        "recorded": r["at"], "occurredDateTime": r["at"],
        "outcome": {"code": _coding(OUTCOME, "0" if allowed else "4",
                                    "Success" if allowed else "Minor failure"),
                    **({"detail": [{"text": r["reason"]}]} if r.get("reason") else {})},
        "authorization": [{"coding": [_coding(STAFETT_PURPOSE, r["purpose"])],
                           "text": r["why"]}],
        "agent": agents,
        "source": {"observer": {"display": f"Stafett {r['service']}"},
                   "type": [{"coding": [_coding(
                       "http://terminology.hl7.org/CodeSystem/security-source-type", "4",
                       "Application Server")]}]},
        "entity": entities,
    }
    if r.get("anomalies"):
        event["extension"] = [{"url": STAFETT_ANOMALY, "valueCode": a} for a in r["anomalies"]]
    return event


def fhir_bundle(records: list[dict]) -> dict:
    """A ``collection`` Bundle of the records' AuditEvents, validated with fhir.resources."""
    from fhir.resources.bundle import Bundle

    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": audit_event(r)}
                        for r in records]}
    Bundle.model_validate(bundle)  # a malformed export is a bug: refuse it here
    return bundle
