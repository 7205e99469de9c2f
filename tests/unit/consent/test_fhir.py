"""Unit tests for services.consent.fhir: the FHIR R5 Consent an agency system imports.

``fhir.resources`` checks structure and types; the codes we emit are asserted here.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
from fhir.resources.consent import Consent

from services.consent import fhir
from services.consent.fhir import consent_resource

LOINC = "http://loinc.org"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ORG_NUMBER_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"
R5_CONSENT_STATES = {"draft", "active", "inactive", "not-done", "entered-in-error", "unknown"}
EXPECTED_STATUS = {"pending": "draft", "active": "active", "withdrawn": "inactive",
                   "expired": "inactive", "superseded": "inactive"}

CHILD = "7f1c2a9e-0000-4000-8000-000000000001"
G1 = "7f1c2a9e-0000-4000-8000-0000000000a1"
G2 = "7f1c2a9e-0000-4000-8000-0000000000a2"
STAFF = "7f1c2a9e-0000-4000-8000-0000000000s1"
SCHOOL, HEALTH = "974760673", "971526920"
VALID_FROM, VALID_UNTIL = date(2025, 3, 10), date(2026, 3, 10)
CREATED = datetime(2025, 3, 10, 9, 30, tzinfo=timezone.utc)

#: what the consent's persons are called and numbered in the registry: must never leak
NAMES = ["Kari Nordmann", "Ola Nordmann", "Emma Nordmann", "Nordmann", "Kari", "Ola", "Emma"]
NATIONAL_IDS = ["01020312345", "15057512345"]


def consent(**overrides):
    row = dict(
        id="c0nsent-0000-4000-8000-000000000001", child_id=CHILD, status="active",
        scope_agencies=[SCHOOL, HEALTH], scope_agency_types=["ppt"],
        purpose="coordinate help between school and health station",
        valid_from=VALID_FROM, valid_until=VALID_UNTIL, method="digital",
        granted_by=[G1, G2], paper_reference=None, paper_kind=None, recorded_by=None,
        created_at=CREATED, ended_at=None, ended_by=None, consenting_party="guardians",
        supersedes_id=None, expiring_notified_at=None, version=1)
    row.update(overrides)
    return SimpleNamespace(**row)


def digital_by_guardians(**kw):
    return consent(**kw)


def paper_by_staff(**kw):
    return consent(**{"method": "paper", "granted_by": [G1], "recorded_by": STAFF,
                      "paper_kind": "signed_form_scanned", "paper_reference": "ARK-2025-0042",
                      **kw})


def youth_own(**kw):
    return consent(**{"consenting_party": "youth", "granted_by": [CHILD], **kw})


KINDS = {"digital": digital_by_guardians, "paper": paper_by_staff, "youth": youth_own}
STATUSES = list(EXPECTED_STATUS)
CASES = [pytest.param(kind, status, id=f"{kind}-{status}") for kind in KINDS for status in STATUSES]


def build(kind, status="active", **kw):
    row = KINDS[kind](status=status, **kw)
    return row, consent_resource(row)


def walk(value, path="$"):
    """Every leaf (path, value) of a JSON-like structure."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
    else:
        yield path, value


# --- structure: valid R5 ---------------------------------------------------------------------

@pytest.mark.parametrize("kind, status", CASES)
def test_resource_validates_as_fhir_r5_consent(kind, status):
    row, resource = build(kind, status)
    model = Consent.model_validate(resource)
    assert model.id == row.id
    assert model.get_resource_type() == "Consent"


@pytest.mark.parametrize("kind, status", CASES)
def test_resource_is_plain_json(kind, status):
    _, resource = build(kind, status)
    assert json.loads(json.dumps(resource)) == resource


@pytest.mark.parametrize("kind, status", CASES)
def test_resource_survives_a_round_trip_through_the_model(kind, status):
    _, resource = build(kind, status)
    dumped = Consent.model_validate(resource).model_dump(mode="json", exclude_none=True)
    assert dumped["status"] == resource["status"]
    assert dumped["period"] == resource["period"]
    assert len(dumped["provision"][0]["actor"]) == len(resource["provision"][0]["actor"])


# --- codes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, status", CASES)
def test_status_mapping(kind, status):
    _, resource = build(kind, status)
    assert resource["status"] == EXPECTED_STATUS[status]
    assert resource["status"] in R5_CONSENT_STATES


def test_status_table_covers_every_state_of_ours_with_r5_codes():
    from services.consent import domain
    ours = {domain.PENDING, domain.ACTIVE, domain.WITHDRAWN, domain.EXPIRED, domain.SUPERSEDED}
    assert set(fhir.STATUS) == ours
    assert set(fhir.STATUS.values()) <= R5_CONSENT_STATES


@pytest.mark.parametrize("kind", KINDS)
def test_category_is_loinc_patient_consent(kind):
    _, resource = build(kind)
    codings = [c for cat in resource["category"] for c in cat["coding"]]
    assert {"system": LOINC, "code": "59284-0"} in [
        {"system": c["system"], "code": c["code"]} for c in codings]


@pytest.mark.parametrize("kind, status", CASES)
def test_decision_is_permit(kind, status):
    _, resource = build(kind, status)
    assert resource["decision"] == "permit"


@pytest.mark.parametrize("kind", KINDS)
def test_provision_purpose_is_coordination_of_care(kind):
    _, resource = build(kind)
    (provision,) = resource["provision"]
    assert [(p["system"], p["code"]) for p in provision["purpose"]] == [(ACT_REASON, "COC")]


@pytest.mark.parametrize("kind", KINDS)
def test_provision_actors_are_information_recipients(kind):
    _, resource = build(kind)
    actors = resource["provision"][0]["actor"]
    assert len(actors) == 3  # two agencies, one agency type
    for actor in actors:
        assert actor["role"]["coding"] == [{"system": PARTICIPATION, "code": "IRCP"}]
        assert actor["reference"]["type"] == "Organization"


def test_provision_actors_name_agencies_by_org_number():
    _, resource = build("digital")
    identifiers = [a["reference"]["identifier"] for a in resource["provision"][0]["actor"]
                   if "identifier" in a["reference"]]
    assert identifiers == [{"system": ORG_NUMBER_SYSTEM, "value": SCHOOL},
                           {"system": ORG_NUMBER_SYSTEM, "value": HEALTH}]


def test_provision_actors_name_agency_types():
    _, resource = build("digital", scope_agency_types=["ppt", "school"])
    displays = [a["reference"]["display"] for a in resource["provision"][0]["actor"]
                if "display" in a["reference"]]
    assert displays == ["ppt", "school"]


def test_grantee_lists_the_agencies_by_org_number():
    _, resource = build("digital")
    assert resource["grantee"] == [
        {"type": "Organization", "identifier": {"system": ORG_NUMBER_SYSTEM, "value": SCHOOL}},
        {"type": "Organization", "identifier": {"system": ORG_NUMBER_SYSTEM, "value": HEALTH}}]


def test_every_org_number_uses_the_enhetsregisteret_system():
    _, resource = build("paper")
    identifiers = [v for p, v in walk(resource) if p.endswith(".identifier.value")]
    systems = [v for p, v in walk(resource) if p.endswith(".identifier.system")]
    assert sorted(set(identifiers)) == sorted({SCHOOL, HEALTH})
    assert set(systems) == {ORG_NUMBER_SYSTEM}


# --- persons ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_subject_is_the_child(kind):
    _, resource = build(kind)
    assert resource["subject"] == {"reference": f"Patient/{CHILD}"}


def test_grantor_of_a_youth_is_the_youth_as_patient():
    _, resource = build("youth")
    assert resource["grantor"] == [{"reference": f"Patient/{CHILD}"}]


def test_grantor_of_guardians_is_each_guardian_as_related_person():
    _, resource = build("digital")
    assert resource["grantor"] == [{"reference": f"RelatedPerson/{G1}"},
                                   {"reference": f"RelatedPerson/{G2}"}]


def test_grantor_of_a_paper_form_is_the_signing_guardian_not_the_staff_member():
    _, resource = build("paper")
    assert resource["grantor"] == [{"reference": f"RelatedPerson/{G1}"}]
    assert STAFF not in str(resource)


def test_grantor_of_a_pending_consent_is_who_has_approved_so_far():
    _, resource = build("digital", "pending", granted_by=[G2])
    assert resource["grantor"] == [{"reference": f"RelatedPerson/{G2}"}]


# --- period, date, paper ---------------------------------------------------------------------

@pytest.mark.parametrize("kind, status", CASES)
def test_period_matches(kind, status):
    _, resource = build(kind, status)
    expected = {"start": "2025-03-10", "end": "2026-03-10"}
    assert resource["period"] == expected
    assert resource["provision"][0]["period"] == expected


def test_date_is_the_day_the_consent_was_recorded():
    _, resource = build("digital")
    assert resource["date"] == "2025-03-10"


@pytest.mark.parametrize("kind", ["digital", "youth"])
def test_source_attachment_only_for_paper(kind):
    _, resource = build(kind)
    assert "sourceAttachment" not in resource


def test_source_attachment_names_the_paper_form():
    _, resource = build("paper")
    (attachment,) = resource["sourceAttachment"]
    assert "signed_form_scanned" in attachment["title"]
    assert "ARK-2025-0042" in attachment["title"]


def test_paper_signed_form_kind():
    _, resource = build("paper", paper_kind="signed_form")
    assert resource["sourceAttachment"][0]["title"].startswith("signed_form")
    Consent.model_validate(resource)


# --- no personal data ------------------------------------------------------------------------

ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")


@pytest.mark.parametrize("kind, status", CASES)
def test_no_national_id_or_name_anywhere(kind, status):
    row = KINDS[kind](status=status)
    # even with a name and a national id within reach on the row, none is read
    row.name = NAMES[0]
    row.child_name = NAMES[2]
    row.nin = NATIONAL_IDS[0]
    resource = consent_resource(row)
    for path, value in walk(resource):
        text = str(value)
        assert not ELEVEN_DIGITS.search(text), f"11-digit number at {path}: {text}"
        for name in NAMES:
            assert name.lower() not in text.lower(), f"a person's name at {path}: {text}"
    for path, key in walk(_keys(resource)):
        assert not ELEVEN_DIGITS.search(str(key))


def _keys(value):
    if isinstance(value, dict):
        return [[k, _keys(v)] for k, v in value.items()]
    if isinstance(value, list):
        return [_keys(v) for v in value]
    return []


def test_function_reads_only_ids_of_persons():
    """The function gets ids only: it reads no name or national id from the row."""
    class Row(SimpleNamespace):
        def __getattribute__(self, attr):
            if attr in {"name", "nin", "national_id", "birth_date", "child"} or "name" in attr:
                raise AssertionError(f"consent_resource read {attr}")
            return super().__getattribute__(attr)

    for kind in KINDS:
        Consent.model_validate(consent_resource(Row(**vars(KINDS[kind]()))))


def test_person_references_use_the_registry_ids():
    _, resource = build("digital")
    references = [v for p, v in walk(resource) if p.endswith(".reference")
                  and isinstance(v, str)]
    assert references == [f"Patient/{CHILD}", f"RelatedPerson/{G1}", f"RelatedPerson/{G2}"]


def test_youth_paper_form_is_granted_by_the_youth():
    row = paper_by_staff(consenting_party="youth", granted_by=[CHILD])
    resource = consent_resource(row)
    Consent.model_validate(resource)
    assert resource["grantor"] == [{"reference": f"Patient/{CHILD}"}]
    assert "sourceAttachment" in resource


def test_scope_of_agency_types_only_validates():
    _, resource = build("digital", scope_agencies=[], scope_agency_types=["school", "ppt"])
    Consent.model_validate(resource)
    assert [a["reference"]["display"] for a in resource["provision"][0]["actor"]] == [
        "school", "ppt"]


def _empty_arrays(value, path="$"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _empty_arrays(item, f"{path}.{key}")
    elif isinstance(value, list):
        if not value:
            yield path
        for index, item in enumerate(value):
            yield from _empty_arrays(item, f"{path}[{index}]")


@pytest.mark.parametrize("kind, status", CASES)
def test_no_empty_arrays(kind, status):
    """FHIR JSON forbids empty arrays (fhir.resources silently drops them)."""
    _, resource = build(kind, status)
    assert list(_empty_arrays(resource)) == []


def test_no_empty_grantee_for_a_scope_of_agency_types_only():
    _, resource = build("digital", scope_agencies=[], scope_agency_types=["school"])
    assert list(_empty_arrays(resource)) == []
