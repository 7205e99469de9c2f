"""The foundation thread, end to end through the gateway's HTTP API over real RabbitMQ.

guardian grants consent → school staff opens a log → adds a measure with a PPT person
responsible → the PPT person finds it in the inbox → the guardian reads the log → the PPT
person reads it → staff of an agency without consent get 404.
Runs on SQLite by default and on PostgreSQL with ``--database postgres``.
"""
import logging

import pytest

from stafett.dev.demo import AGENCIES, CHILDREN, EMMA
from tests.support.platform import wait_for


@pytest.mark.parametrize("database_backend", ["sqlite", "postgres"], indirect=True)
def test_the_foundation_thread(database_backend, platform, caplog):
    caplog.set_level(logging.DEBUG)
    assert all(url.startswith(database_backend) for url in platform.database_urls.values())
    platform.seed()
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    ppt, child_welfare = platform.client("ppt"), platform.client("child-welfare")

    # the guardian finds her child and grants consent for school, PPT and health station
    children = guardian.get("/api/v1/children")
    assert children.status_code == 200, children.text
    emma = next(c for c in children.json()["items"] if c["name"] == EMMA["name"])
    granted = guardian.post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": {"agencies": [AGENCIES["school"]["org_number"]],
                  "agency_types": ["ppt", "health_station"]},
        "purpose": "Samarbeid om Emmas skolehverdag"})
    assert granted.status_code == 201, granted.text
    assert granted.json()["status"] == "active"

    # school staff find the child by national id (in the body) and open a log
    found = teacher.post("/api/v1/children/search", json={"national_id": EMMA["national_id"]})
    assert found.status_code == 200, found.text
    assert found.json()["id"] == emma["id"]
    opened = teacher.post("/api/v1/logs", json={"child_id": emma["id"], "level": 2})
    assert opened.status_code == 201, opened.text
    log = opened.json()
    assert log["viewer_role"] == "stafettholder"
    assert {p["role"] for p in log["participants"]} == {"stafettholder", "guardian", "child"}

    # the stafettholder adds the PPT advisor and a measure with PPT responsible
    staff = teacher.get(f"/api/v1/agencies/{AGENCIES['ppt']['org_number']}/staff").json()
    omar = staff["items"][0]
    added = teacher.post(f"/api/v1/logs/{log['id']}/participants", json={"person_id": omar["id"]})
    assert added.status_code == 201, added.text
    measure = teacher.post(f"/api/v1/logs/{log['id']}/measures", json={
        "title": "Fast plass nær døra", "goal": "Emma kommer seg lettere inn i timen",
        "responsible_id": added.json()["id"], "arena": "school",
        "start_date": "2026-11-23", "evaluate_by": "2026-12-14"})
    assert measure.status_code == 201, measure.text

    # the PPT advisor finds an in-app notification (delivered through events)
    inbox = wait_for(lambda: ppt.get("/api/v1/notifications").json()["items"], timeout=15,
                     message="the PPT advisor's notification")
    assert inbox[0]["kind"] == "measure_assigned"
    assert inbox[0]["link"] == f"/logger/{log['id']}#tiltak-{measure.json()['id']}"
    # behind the login, the inbox names the child and the measure (the logs service lets
    # the PPT advisor know them)
    assert inbox[0]["title"] == "Nytt tiltak for Emma: «Fast plass nær døra»"

    # the guardian reads the log: the citizen view, without internal person ids
    as_guardian = guardian.get(f"/api/v1/logs/{log['id']}")
    assert as_guardian.status_code == 200, as_guardian.text
    assert as_guardian.json()["viewer_role"] == "guardian"
    assert [m["title"] for m in as_guardian.json()["measures"]] == ["Fast plass nær døra"]
    assert all("person_id" not in p for p in as_guardian.json()["participants"])

    # the PPT advisor reads it
    as_ppt = ppt.get(f"/api/v1/logs/{log['id']}")
    assert as_ppt.status_code == 200, as_ppt.text
    assert as_ppt.json()["viewer_role"] == "member"

    # child welfare: not covered by consent, so the log does not exist for them
    denied = child_welfare.get(f"/api/v1/logs/{log['id']}")
    missing = child_welfare.get("/api/v1/logs/00000000-0000-0000-0000-000000000000")
    assert denied.status_code == missing.status_code == 404
    assert denied.headers["Content-Type"] == "application/problem+json"
    assert denied.json() == missing.json()

    # and no national identity number was written to any log line along the way
    numbers = {c["national_id"] for c in CHILDREN} | {
        g["national_id"] for c in CHILDREN for g in c["guardians"]}
    logged = "\n".join(r.getMessage() + str(vars(r)) for r in caplog.records)
    assert not any(n in logged for n in numbers)
