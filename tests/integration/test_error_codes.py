"""Error codes over the real broker (issue 13): a service's typed error crosses RPC with
its code and field codes, and the gateway's problem+json gives them as ``code`` /
``error_codes`` with ``type`` = ``<PUBLIC_URL>/problems#<code>``, a page that lists it."""
from __future__ import annotations

import uuid

import requests

from stafett.dev.demo import AGENCIES, EMMA
from tests.e2e.test_logs import day

SCHOOL, PPT = AGENCIES["school"]["org_number"], AGENCIES["ppt"]["org_number"]


def problem(response: requests.Response, status: int, code: str, public_url: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    assert body["type"] == f"{public_url}/problems#{code}"
    return body


def test_the_gateway_answers_with_the_services_codes(platform):
    platform.seed()
    public_url = platform.config("gateway")["PUBLIC_URL"].rstrip("/")
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    emma = next(c["id"] for c in guardian.get("/api/v1/children").json()["items"]
                if c["name"] == EMMA["name"])

    # 404 from the logs service, the same for a log that is not there
    problem(teacher.get(f"/api/v1/logs/{uuid.uuid4()}"), 404, "log.not_found", public_url)
    # 422 from a contract: field codes next to the messages (marshmallow's and the kernel's)
    invalid = problem(teacher.post("/api/v1/logs", json={"level": 7, "x": 1}), 422,
                      "request.invalid_fields", public_url)
    assert invalid["error_codes"]["child_id"] == ["field.required"]
    assert invalid["error_codes"]["x"] == ["field.unknown"]
    assert set(invalid["error_codes"]) == set(invalid["errors"])
    # 422 from the consent service's own rule, the field code and its parameter
    bad_number = problem(teacher.post("/api/v1/children/search",
                                      json={"national_id": "12345678901"}), 422,
                         "national_id.invalid", public_url)
    assert bad_number["error_codes"] == {"national_id": ["national_id.invalid"]}
    control = guardian.post(f"/api/v1/children/{emma}/consents", json={
        "scope": {"agencies": [SCHOOL], "agency_types": ["ppt"]},
        "purpose": "Samarbeid\x07"})
    assert control.status_code == 422, control.text
    assert control.json()["error_codes"] == {"purpose": ["text.control_character"]}
    assert control.json()["error_params"] == {"purpose": [{"char": "U+0007"}]}

    assert guardian.post(f"/api/v1/children/{emma}/consents", json={
        "scope": {"agencies": [SCHOOL], "agency_types": ["ppt"]},
        "purpose": "Samarbeid"}).status_code == 201
    log = teacher.post("/api/v1/logs", json={"child_id": emma, "level": 1}).json()
    base = f"/api/v1/logs/{log['id']}"
    # 409s from the logs service's rules
    problem(teacher.post("/api/v1/logs", json={"child_id": emma}), 409, "log.already_open",
            public_url)
    # a field code from a domain rule (several fields, each its own code)
    teacher_participant = next(p["id"] for p in log["participants"]
                               if p["role"] == "stafettholder")
    measure = problem(teacher.post(f"{base}/measures", json={
        "title": "Fast plass", "goal": "Lettere", "responsible_id": teacher_participant,
        "arena": "school", "start_date": day(5), "evaluate_by": day(1)}), 422,
        "measure.invalid", public_url)
    assert measure["error_codes"] == {"evaluate_by": ["measure.evaluate_by_before_start"]}
    # 403: only the stafettholder adds participants
    problem(guardian.post(f"{base}/participants", json={"person_id": str(uuid.uuid4())}),
            403, "log.stafettholder_only", public_url)
    etag = teacher.get(base).headers["ETag"]
    assert teacher.post(f"{base}/close", json={"reason": "Målene er nådd"},
                        headers={"If-Match": etag}).status_code == 200
    problem(guardian.post(f"{base}/entries", json={"kind": "note", "text": "hei"}), 409,
            "log.closed", public_url)

    page = requests.get(platform.url() + "/problems", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for code in ("log.not_found", "log.closed", "log.already_open", "national_id.invalid",
                 "text.control_character", "measure.evaluate_by_before_start"):
        assert f'<dt id="{code}">' in page.text
