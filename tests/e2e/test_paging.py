"""Lists that grow without bound are paged by their owning service: walking them one item
at a time gives every item once, newest first, whoever asks."""
from __future__ import annotations

from stafett.demo import AGENCIES


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

    for persona in ("teacher", "nurse", "guardian", "school-system"):
        client = platform.client(persona)
        whole = client.get("/api/v1/logs", params={"limit": 200}).json()
        assert whole["next_cursor"] is None
        assert ids(walk(client, "/api/v1/logs", 1)) == ids(whole["items"]), persona


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
    platform, _ = populated_platform
    teacher = platform.client("teacher")
    for path in ("/api/v1/logs", "/api/v1/handovers", "/api/v1/notifications",
                 "/api/v1/logs/x/timeline", "/api/v1/agencies"):
        response = teacher.get(path, params={"cursor": "not-ours"})
        assert response.status_code in (400, 404), (path, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        if path != "/api/v1/logs/x/timeline":  # an unknown log is 404 before the cursor
            assert response.status_code == 400, path


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
