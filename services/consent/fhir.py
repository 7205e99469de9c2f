"""FHIR R5 ``Consent`` for a consent: what an agency system imports.

Built as plain JSON; tests validate it with the ``fhir.resources`` R5 models and assert
the codes, which the models do not check. Persons appear as references by id only.
"""
from __future__ import annotations

LOINC = "http://loinc.org"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ORG_NUMBER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"  # Enhetsregisteret organisation number

#: our lifecycle onto FHIR R5 Consent.status (draft | active | inactive | …)
STATUS = {"pending": "draft", "active": "active", "withdrawn": "inactive",
          "expired": "inactive", "superseded": "inactive"}


def consent_resource(consent) -> dict:
    grantors = ([{"reference": f"Patient/{consent.child_id}"}]
                if consent.consenting_party == "youth"
                else [{"reference": f"RelatedPerson/{p}"} for p in consent.granted_by])
    recipients = [{"role": {"coding": [{"system": PARTICIPATION, "code": "IRCP"}]},
                   "reference": {"type": "Organization", "identifier": {
                       "system": ORG_NUMBER_SYSTEM, "value": org}}}
                  for org in consent.scope_agencies]
    recipients += [{"role": {"coding": [{"system": PARTICIPATION, "code": "IRCP"}]},
                    "reference": {"type": "Organization", "display": agency_type}}
                   for agency_type in consent.scope_agency_types]
    period = {"start": consent.valid_from.isoformat(), "end": consent.valid_until.isoformat()}
    resource = {
        "resourceType": "Consent",
        "id": consent.id,
        "status": STATUS[consent.status],
        "category": [{"coding": [{"system": LOINC, "code": "59284-0",
                                  "display": "Patient Consent"}]}],
        "subject": {"reference": f"Patient/{consent.child_id}"},
        "date": consent.created_at.date().isoformat(),
        "period": period,
        "grantor": grantors,
        "grantee": [{"type": "Organization", "identifier": {"system": ORG_NUMBER_SYSTEM,
                                                             "value": org}}
                    for org in consent.scope_agencies],
        "decision": "permit",
        "provision": [{
            "period": period,
            "actor": recipients,
            "purpose": [{"system": ACT_REASON, "code": "COC", "display": "coordination of care"}],
        }],
    }
    # FHIR JSON forbids empty arrays: a scope of agency types only has no named grantee
    for key in ("grantor", "grantee"):
        if not resource[key]:
            del resource[key]
    if consent.paper_kind:
        resource["sourceAttachment"] = [{"title": f"{consent.paper_kind}: {consent.paper_reference}"}]
    return resource
