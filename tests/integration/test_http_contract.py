"""The HTTP contract over a real broker: Idempotency-Key, If-Match, cursors."""
from datetime import date, timedelta

from stafett.demo import AGENCIES, EMMA


def consented_emma(platform):
    platform.seed()
    guardian = platform.client("guardian")
    emma = next(c["id"] for c in guardian.get("/api/v1/children").json()["items"]
                if c["name"] == EMMA["name"])
    guardian.post(f"/api/v1/children/{emma}/consents", json={
        "scope": {"agencies": [AGENCIES["school"]["org_number"]]}, "purpose": "Samarbeid"})
    return emma


def test_a_replayed_creating_post_returns_the_same_response_and_creates_once(platform):
    emma = consented_emma(platform)
    teacher = platform.client("teacher")
    first = teacher.post("/api/v1/logs", json={"child_id": emma},
                         headers={"Idempotency-Key": "open-emma-1"})
    again = teacher.post("/api/v1/logs", json={"child_id": emma},
                         headers={"Idempotency-Key": "open-emma-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(teacher.get("/api/v1/logs").json()["items"]) == 1

    other_body = teacher.post("/api/v1/logs", json={"child_id": emma, "level": 3},
                              headers={"Idempotency-Key": "open-emma-1"})
    assert other_body.status_code == 422 and "Idempotency-Key" in other_body.json()["errors"]

    # without a key, the same request is a second attempt and the rule applies
    assert teacher.post("/api/v1/logs", json={"child_id": emma}).status_code == 409
    # keys belong to their caller: another person's identical key is theirs alone
    nurse = platform.client("nurse")
    assert nurse.post("/api/v1/logs", json={"child_id": emma},
                      headers={"Idempotency-Key": "open-emma-1"}).status_code == 404


def test_a_refused_first_attempt_is_replayed_as_refused(platform):
    emma = consented_emma(platform)
    teacher = platform.client("teacher")
    log = teacher.post("/api/v1/logs", json={"child_id": emma}).json()
    body = {"title": "x", "goal": "y", "responsible_id": "nobody", "arena": "school",
            "start_date": date.today().isoformat(),
            "evaluate_by": (date.today() + timedelta(days=7)).isoformat()}
    first = teacher.post(f"/api/v1/logs/{log['id']}/measures", json=body,
                         headers={"Idempotency-Key": "m-1"})
    again = teacher.post(f"/api/v1/logs/{log['id']}/measures", json=body,
                         headers={"Idempotency-Key": "m-1"})
    assert first.status_code == again.status_code == 422
    assert again.headers["Content-Type"] == "application/problem+json"
    assert again.json() == first.json()
