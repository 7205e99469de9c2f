"""Consent through the gateway over real RabbitMQ: it really governs who sees a log."""
import sqlite3
import subprocess
from datetime import date, timedelta

import pytest
from fhir.resources.consent import Consent as FhirConsent
from nameko.testing.services import entrypoint_hook
from sqlalchemy import create_engine, text

from stafett.dev.demo import AGENCIES, CHILDREN, EMMA, SARA
from stafett.events import Outbox
from tests.support.platform import Platform, wait_for

SCHOOL, PPT = AGENCIES["school"]["org_number"], AGENCIES["ppt"]["org_number"]
HEALTH = AGENCIES["health_station"]["org_number"]
SCOPE = {"agencies": [SCHOOL], "agency_types": ["ppt"]}


def child_id(client, name):
    return next(c["id"] for c in client.get("/api/v1/children").json()["items"]
                if c["name"] == name)


def grant(client, child, **extra):
    return client.post(f"/api/v1/children/{child}/consents",
                       json={"scope": SCOPE, "purpose": "Samarbeid om skolehverdagen", **extra})


def open_log_with_ppt(platform, emma):
    teacher = platform.client("teacher")
    log = teacher.post("/api/v1/logs", json={"child_id": emma}).json()
    omar = teacher.get(f"/api/v1/agencies/{PPT}/staff").json()["items"][0]
    added = teacher.post(f"/api/v1/logs/{log['id']}/participants", json={"person_id": omar["id"]})
    assert added.status_code == 201, added.text
    return log


def test_the_first_request_after_withdrawal_is_denied(platform):
    platform.seed()
    guardian, ppt, teacher = (platform.client(p) for p in ("guardian", "ppt", "teacher"))
    emma = child_id(guardian, EMMA["name"])
    consent = grant(guardian, emma).json()
    log = open_log_with_ppt(platform, emma)
    assert ppt.get(f"/api/v1/logs/{log['id']}").status_code == 200
    hold_events(platform)  # prove it is not a lucky race with the withdrawal event

    withdrawn = guardian.post(f"/api/v1/consents/{consent['id']}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    # the very next requests, with no waiting for events
    assert ppt.get(f"/api/v1/logs/{log['id']}").status_code == 404
    assert teacher.get(f"/api/v1/logs/{log['id']}").status_code == 404
    assert guardian.get(f"/api/v1/logs/{log['id']}").status_code == 200  # their log still
    # history is kept
    history = guardian.get(f"/api/v1/children/{emma}/consents").json()["items"]
    assert [c["status"] for c in history] == ["withdrawn"]


def hold_events(platform):
    """Stop the consent service's outbox relay: its events stay unpublished."""
    relay = next(d for d in platform.containers["consent"].dependencies
                 if isinstance(d, Outbox))
    relay.stop()


def test_a_logs_service_that_missed_the_withdrawal_checks_again_when_it_starts(platform):
    platform.seed()
    guardian, ppt = platform.client("guardian"), platform.client("ppt")
    emma = child_id(guardian, EMMA["name"])
    consent = grant(guardian, emma).json()
    log = open_log_with_ppt(platform, emma)
    assert ppt.get(f"/api/v1/logs/{log['id']}").status_code == 200
    hold_events(platform)
    platform.stop("logs")  # down: neither the push nor the event reaches it
    assert guardian.post(f"/api/v1/consents/{consent['id']}/withdraw").status_code == 200
    platform.start(["logs"])
    # its projection still says "active", but it predates this process: checked again
    assert ppt.get(f"/api/v1/logs/{log['id']}").status_code == 404


def test_bad_input_gets_a_clear_problem_and_writes_nothing(platform):
    platform.seed()
    guardian, other, teacher = (platform.client(p) for p in ("guardian", "other-guardian",
                                                             "teacher"))
    emma = child_id(guardian, EMMA["name"])

    def problem(response, status):
        assert response.status_code == status, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        return response.json()

    invalid = problem(teacher.post("/api/v1/children/search",
                                   json={"national_id": "12345678900"}), 422)
    assert "national_id" in invalid["errors"]
    problem(grant(guardian, "00000000-0000-0000-0000-000000000000"), 404)
    problem(grant(other, emma), 404)  # a guardian, but not of this child
    unknown = problem(guardian.post(f"/api/v1/children/{emma}/consents", json={
        "scope": {"agencies": ["999999999"]}, "purpose": "x"}), 422)
    assert "scope.agencies" in unknown["errors"]
    too_long = problem(grant(guardian, emma, valid_until=(date.today() + timedelta(
        days=1096)).isoformat()), 422)
    assert "valid_until" in too_long["errors"]
    assert guardian.get(f"/api/v1/children/{emma}/consents").json()["items"] == []

    assert grant(guardian, emma).status_code == 201
    overlap = problem(grant(guardian, emma), 409)
    assert "supersedes" in overlap["detail"]
    assert len(guardian.get(f"/api/v1/children/{emma}/consents").json()["items"]) == 1


def test_a_new_consent_can_supersede_the_old_one(platform):
    platform.seed()
    guardian, nurse = platform.client("guardian"), platform.client("nurse")
    emma = child_id(guardian, EMMA["name"])
    first = grant(guardian, emma).json()
    second = guardian.post(f"/api/v1/children/{emma}/consents", json={
        "scope": {"agency_types": ["school", "ppt", "health_station"]},
        "purpose": "Utvidet samarbeid", "supersedes": first["id"]})
    assert second.status_code == 201, second.text
    statuses = {c["id"]: c["status"] for c in
                guardian.get(f"/api/v1/children/{emma}/consents").json()["items"]}
    assert statuses == {first["id"]: "superseded", second.json()["id"]: "active"}
    # the nurse's agency is covered now, but she sees the consent only once she has a part
    # in Emma's log: need to know, not merely the right agency
    assert nurse.get(f"/api/v1/children/{emma}/consents").status_code == 404
    teacher = platform.client("teacher")
    log = teacher.post("/api/v1/logs", json={"child_id": emma}).json()
    hanne = next(p for p in teacher.get(f"/api/v1/agencies/{HEALTH}/staff").json()["items"])
    assert teacher.post(f"/api/v1/logs/{log['id']}/participants",
                        json={"person_id": hanne["id"]}).status_code == 201
    assert nurse.get(f"/api/v1/children/{emma}/consents").status_code == 200


def test_from_the_configured_age_the_youth_consents_alone(platform):
    platform.seed()
    youth, mother = platform.client("youth"), platform.client("youth-guardian")
    sara = child_id(youth, SARA["name"])
    refused = grant(mother, sara)
    assert refused.status_code == 403 and "15" in refused.json()["detail"]
    own = grant(youth, sara)
    assert own.status_code == 201, own.text
    assert own.json()["consenting_party"] == "youth" and own.json()["status"] == "active"
    assert mother.post(f"/api/v1/consents/{own.json()['id']}/withdraw").status_code == 403
    assert youth.post(f"/api/v1/consents/{own.json()['id']}/withdraw").status_code == 200


def test_under_the_all_guardians_policy_both_must_consent(container_factory, amqp_uri,
                                                          database_urls, tmp_path):
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        CONSENT_GUARDIANS="all")
    platform.start()
    platform.seed()
    mother, father, teacher = (platform.client(p) for p in ("guardian", "guardian2", "teacher"))
    emma = child_id(mother, EMMA["name"])
    pending = grant(mother, emma)
    assert pending.status_code == 201 and pending.json()["status"] == "pending"
    assert teacher.post("/api/v1/logs", json={"child_id": emma}).status_code == 404
    consent_url = f"/api/v1/consents/{pending.json()['id']}"
    assert father.post(f"{consent_url}/approve").status_code == 428
    approved = father.post(f"{consent_url}/approve",
                           headers={"If-Match": father.get(consent_url).headers["ETag"]})
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert sorted(approved.json()["granted_by"]) == sorted(
        g["id"] for g in mother.get("/api/v1/children").json()["items"][0]["guardians"])
    assert teacher.post("/api/v1/logs", json={"child_id": emma}).status_code == 201
    platform.close()


def test_staff_record_a_signed_paper_form(platform):
    platform.seed()
    teacher, guardian = platform.client("teacher"), platform.client("guardian")
    emma = teacher.post("/api/v1/children/search", json={"national_id": EMMA["national_id"]}).json()
    ingrid = next(g for g in emma["guardians"] if g["name"] == "Ingrid Solberg")
    no_form = grant(teacher, emma["id"])
    assert no_form.status_code == 422 and "paper" in no_form.json()["errors"]
    stranger = grant(teacher, emma["id"], paper={"kind": "signed_form", "reference": "A-17",
                                                 "signed_by": [emma["id"]]})
    assert stranger.status_code == 422 and "paper.signed_by" in stranger.json()["errors"]
    recorded = grant(teacher, emma["id"], paper={"kind": "signed_form", "reference": "A-17",
                                                 "signed_by": [ingrid["id"]]})
    assert recorded.status_code == 201, recorded.text
    body = recorded.json()
    assert (body["method"], body["paper_reference"], body["status"]) == ("paper", "A-17",
                                                                         "active")
    assert body["recorded_by"] == platform.client("teacher").get("/api/v1/me").json()["person_id"]
    # the guardian sees it among her child's consents
    assert [c["id"] for c in guardian.get(f"/api/v1/children/{emma['id']}/consents")
            .json()["items"]] == [body["id"]]
    # both guardians are told, so a form they never signed does not go unnoticed
    for parent in ("guardian", "guardian2"):
        inbox = platform.client(parent)
        wait_for(lambda: any(n["kind"] == "consent_recorded" for n in inbox.get(
            "/api/v1/notifications").json()["items"]), timeout=20,
            message=f"the paper consent notice for {parent}")
    # the one who recorded it reads it; a colleague with no part in the case does not
    assert teacher.get(f"/api/v1/consents/{body['id']}").status_code == 200
    colleague = platform.client("teacher2")
    assert colleague.get(f"/api/v1/consents/{body['id']}").status_code == 404
    assert colleague.get(f"/api/v1/children/{emma['id']}/consents").status_code == 404


def test_staff_never_record_paper_in_place_of_a_consent_given_digitally(platform):
    platform.seed()
    teacher, guardian = platform.client("teacher"), platform.client("guardian")
    emma = teacher.post("/api/v1/children/search", json={"national_id": EMMA["national_id"]}).json()
    ingrid = next(g for g in emma["guardians"] if g["name"] == "Ingrid Solberg")
    digital = grant(guardian, emma["id"]).json()
    form = {"kind": "signed_form", "reference": "B-2", "signed_by": [ingrid["id"]]}
    # the teacher takes part in the log, so she knows the consent; still she may not
    # narrow it with a paper form in its place
    assert teacher.post("/api/v1/logs", json={"child_id": emma["id"]}).status_code == 201
    refused = teacher.post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": {"agencies": [SCHOOL]}, "purpose": "Bare skolen", "paper": form,
        "supersedes": digital["id"]})
    assert refused.status_code == 403, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    history = guardian.get(f"/api/v1/children/{emma['id']}/consents").json()["items"]
    assert [(c["id"], c["status"]) for c in history] == [(digital["id"], "active")]
    # a paper form may replace an earlier paper form of the same agency, not another's
    assert guardian.post(f"/api/v1/consents/{digital['id']}/withdraw").status_code == 200
    first = grant(teacher, emma["id"], paper=form).json()
    other_agency = platform.client("ppt").post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": {"agency_types": ["ppt"]}, "purpose": "Bare PPT", "paper": form,
        "supersedes": first["id"]})
    assert other_agency.status_code == 403, other_agency.text
    second = teacher.post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": SCOPE, "purpose": "Nytt skjema", "paper": {**form, "reference": "B-3"},
        "supersedes": first["id"]})
    assert second.status_code == 201, second.text


def test_expiry_warns_then_expires_and_both_reach_notifications(platform):
    platform.seed()
    guardian, guardian2, ppt = (platform.client(p) for p in ("guardian", "guardian2", "ppt"))
    emma = child_id(guardian, EMMA["name"])
    consent = grant(guardian, emma, valid_until=(date.today() + timedelta(days=10))
                    .isoformat()).json()
    log = open_log_with_ppt(platform, emma)
    consent_container = platform.containers["consent"]

    with entrypoint_hook(consent_container, "check_expiry") as check_expiry:
        assert check_expiry() == {"expired": 0, "warned": 1}
        assert check_expiry() == {"expired": 0, "warned": 0}  # once only
    for client in (guardian, guardian2):
        inbox = wait_for(lambda c=client: c.get("/api/v1/notifications").json()["items"],
                         message="the expiry warning")
        assert [n["kind"] for n in inbox] == ["consent_expiring"]

    # the last day passes
    engine = create_engine(platform.database_urls["consent"])
    with engine.begin() as connection:
        connection.execute(text("UPDATE consents SET valid_until = :d WHERE id = :id"),
                           {"d": date.today() - timedelta(days=1), "id": consent["id"]})
    engine.dispose()
    with entrypoint_hook(consent_container, "check_expiry") as check_expiry:
        assert check_expiry() == {"expired": 1, "warned": 0}
    assert ppt.get(f"/api/v1/logs/{log['id']}").status_code == 404
    wait_for(lambda: "consent_expired" in [n["kind"] for n in
                                           guardian.get("/api/v1/notifications").json()["items"]],
             message="the expiry notice")
    assert guardian.get(f"/api/v1/consents/{consent['id']}").json()["status"] == "expired"


def test_the_fhir_export_is_a_valid_r5_consent(platform):
    platform.seed()
    guardian, child_welfare = platform.client("guardian"), platform.client("child-welfare")
    emma = child_id(guardian, EMMA["name"])
    consent = grant(guardian, emma).json()
    response = guardian.get(f"/api/v1/consents/{consent['id']}/fhir")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/fhir+json"
    resource = FhirConsent.model_validate(response.json())
    assert resource.status == "active" and resource.decision == "permit"
    assert resource.provision[0].purpose[0].code == "COC"
    assert EMMA["national_id"] not in response.text and EMMA["name"] not in response.text
    assert child_welfare.get(f"/api/v1/consents/{consent['id']}/fhir").status_code == 404


def test_agency_administrators_provision_their_own_staff(platform):
    platform.seed()
    admin, teacher = platform.client("school-admin"), platform.client("teacher")
    colleague = {"subject": "staff-new", "name": "Nils Ny", "title": "Miljøterapeut"}
    created = admin.post(f"/api/v1/agencies/{SCHOOL}/staff", json=colleague)
    assert created.status_code == 201, created.text
    assert created.json()["agency"] == SCHOOL
    assert teacher.post(f"/api/v1/agencies/{SCHOOL}/staff", json=colleague).status_code == 403
    assert admin.post(f"/api/v1/agencies/{PPT}/staff", json=colleague).status_code == 403
    names = [s["name"] for s in teacher.get(f"/api/v1/agencies/{SCHOOL}/staff")
             .json()["items"]]
    assert "Nils Ny" in names


def seeded_numbers():
    return {c["national_id"] for c in CHILDREN} | {
        g["national_id"] for c in CHILDREN for g in c["guardians"]}


def dump(url: str) -> str:
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split("///", 1)[1])
        try:
            return "\n".join(connection.iterdump())
        finally:
            connection.close()
    plain = url.replace("postgresql+psycopg2://", "postgresql://")
    return subprocess.run(["pg_dump", "--no-owner", plain], check=True, capture_output=True,
                          text=True).stdout


@pytest.mark.parametrize("database_backend", ["sqlite", "postgres"], indirect=True)
def test_no_national_identity_number_is_stored_in_plain_text(database_backend, platform):
    platform.seed()
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    emma = child_id(guardian, EMMA["name"])
    grant(guardian, emma)
    teacher.post("/api/v1/children/search", json={"national_id": EMMA["national_id"]})
    open_log_with_ppt(platform, emma)
    dumps = {service: dump(url) for service, url in platform.database_urls.items()}
    assert "Emma Solberg" in dumps["consent"]  # the dump really holds the data
    for service, text_dump in dumps.items():
        leaked = [n for n in seeded_numbers() if n in text_dump]
        assert leaked == [], f"{service} stores national identity numbers in plain text"
