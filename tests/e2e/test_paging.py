"""Lists that grow without bound are paged by their owning service: walking them one item
at a time gives every item once, newest first, whoever asks."""
from __future__ import annotations

import random
from datetime import date

from services.consent.identity_numbers import generate_synthetic
from stafett.demo import AGENCIES

SCHOOL = AGENCIES["school"]["org_number"]


def walk(client, path: str, limit: int, **params) -> list[dict]:
    items, cursor = [], None
    for _ in range(100):  # bounded: a cursor that never ends fails the test
        response = client.get(path, params={"limit": limit, **params,
                                            **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert len(page["items"]) == limit  # only the last page may be short
    raise AssertionError(f"{path} did not end")


def ids(items) -> list[str]:
    return [item["id"] for item in items]


def test_logs_and_handovers_page_through_every_item_once(populated_platform):
    platform, world = populated_platform
    teacher = platform.client("teacher")
    emma = world.stories["emma"]

    # several handovers of Emma's log: each request cancelled before the next one
    handover_id = emma.handover_id
    for _ in range(3):
        current = teacher.get(f"/api/v1/handovers/{handover_id}")
        assert teacher.post(f"/api/v1/handovers/{handover_id}/cancel",
                            json={"reason": "Feil mottaker"},
                            headers={"If-Match": current.headers["ETag"]}).status_code == 200
        handover_id = teacher.post("/api/v1/handovers", json={
            "log_id": emma.log_id, "to_agency": AGENCIES["ppt"]["org_number"],
            "transition": "other", "note": "Ny forespørsel"}).json()["id"]
    whole = teacher.get("/api/v1/handovers", params={"limit": 200}).json()
    assert whole["next_cursor"] is None and len(whole["items"]) >= 4
    assert whole["items"][0]["id"] == handover_id  # newest first
    created = [h["created_at"] for h in whole["items"]]
    assert created == sorted(created, reverse=True)
    for limit in (1, 3):
        assert ids(walk(teacher, "/api/v1/handovers", limit)) == ids(whole["items"])
    outgoing = walk(teacher, "/api/v1/handovers", 2, direction="outgoing")
    assert {h["viewer_role"] for h in outgoing} == {"requester"}

    opened = [open_log_for_a_new_pupil(teacher, n) for n in range(4)]
    for persona in ("teacher", "nurse", "guardian", "school-system"):
        client = platform.client(persona)
        whole = client.get("/api/v1/logs", params={"limit": 200}).json()
        assert whole["next_cursor"] is None
        for limit in (1, 2):
            assert ids(walk(client, "/api/v1/logs", limit)) == ids(whole["items"]), persona
    mine = teacher.get("/api/v1/logs", params={"limit": 200}).json()["items"]
    assert ids(mine)[:4] == opened[::-1] and len(mine) == 5  # newest first, and Emma's


def open_log_for_a_new_pupil(teacher, n: int) -> str:
    """A new pupil (synthetic numbers), a signed paper form for the school, a log."""
    rng = random.Random(4000 + n)
    child = teacher.post("/api/v1/children", json={
        "national_id": generate_synthetic(date(2014, 3, 1 + n), rng), "name": f"Elev {n}",
        "guardians": [{"national_id": generate_synthetic(date(1984, 5, 1 + n), rng),
                       "name": f"Forelder {n}"}]}).json()
    consent = teacher.post(f"/api/v1/children/{child['id']}/consents", json={
        "scope": {"agencies": [SCHOOL]}, "purpose": "Samarbeid",
        "paper": {"kind": "signed_form", "reference": f"P-{n}",
                  "signed_by": [child["guardians"][0]["id"]]}})
    assert consent.status_code == 201, consent.text
    log = teacher.post("/api/v1/logs", json={"child_id": child["id"]})
    assert log.status_code == 201, log.text
    return log.json()["id"]


def test_an_agency_system_lists_the_logs_its_agency_takes_part_in(populated_platform):
    platform, world = populated_platform
    listed = platform.client("school-system").get("/api/v1/logs").json()["items"]
    assert world.stories["emma"].log_id in ids(listed)  # the school's teacher holds it
    assert world.stories["sara"].log_id not in ids(listed)  # the health nurse's alone
    assert {entry["viewer_role"] for entry in listed} == {"system"}
    # and it reads each of them; without the read scope it lists nothing
    system = platform.client("school-system")
    assert all(system.get(f"/api/v1/logs/{log_id}").status_code == 200
               for log_id in ids(listed))
    assert platform.client("school-system", scope="stafett:other").get(
        "/api/v1/logs").status_code == 403


def test_a_cursor_we_did_not_give_out_is_refused_as_problem_json(populated_platform):
    platform, world = populated_platform
    teacher = platform.client("teacher")
    log = f"/api/v1/logs/{world.stories['emma'].log_id}"
    for path in ("/api/v1/logs", "/api/v1/handovers", "/api/v1/notifications",
                 f"{log}/timeline", f"{log}/access-log", "/api/v1/agencies"):
        response = teacher.get(path, params={"cursor": "not-ours"})
        assert response.status_code == 400, (path, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
    # a timeline cursor is for the order it was given in
    newest = teacher.get(f"{log}/timeline", params={"limit": 1, "order": "newest"}).json()
    assert teacher.get(f"{log}/timeline", params={
        "cursor": newest["next_cursor"]}).status_code == 400


def test_the_timeline_pages_oldest_or_newest_first(populated_platform):
    platform, world = populated_platform
    teacher = platform.client("teacher")
    path = f"/api/v1/logs/{world.stories['emma'].log_id}/timeline"
    whole = teacher.get(path, params={"limit": 200}).json()
    assert whole["next_cursor"] is None and len(whole["items"]) >= 5
    moments = [item["at"] for item in whole["items"]]
    assert moments == sorted(moments)
    assert walk(teacher, path, 2) == whole["items"]
    assert walk(teacher, path, 3, order="newest") == whole["items"][::-1]
    wrong = teacher.get(path, params={"order": "sideways"})
    assert wrong.status_code == 400
    assert wrong.headers["Content-Type"] == "application/problem+json"
