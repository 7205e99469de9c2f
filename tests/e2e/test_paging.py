"""Lists that grow without bound are paged by their owning service: walking them one item
at a time gives every item once, newest first, whoever asks."""
from __future__ import annotations

from datetime import date

from stafett.dev.demo import AGENCIES

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


# Tests that only read share one populated platform (``read_only_populated_platform``);
# those that add items have their own.


def test_logs_and_handovers_page_through_every_item_once(populated_platform, register_file):
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

    opened = [open_log_for_a_new_pupil(teacher, register_file, n) for n in range(4)]
    for persona in ("teacher", "nurse", "guardian", "school-system"):
        client = platform.client(persona)
        whole = client.get("/api/v1/logs", params={"limit": 200}).json()
        assert whole["next_cursor"] is None
        for limit in (1, 2):
            assert ids(walk(client, "/api/v1/logs", limit)) == ids(whole["items"]), persona
    mine = teacher.get("/api/v1/logs", params={"limit": 200}).json()["items"]
    assert ids(mine)[:4] == opened[::-1] and len(mine) == 5  # newest first, and Emma's


def open_log_for_a_new_pupil(teacher, register, n: int) -> str:
    """A new pupil and its parent in the population register (synthetic numbers), the
    pupil registered by its number, a signed paper form for the school, a log."""
    register.add(f"forelder-{n}", f"Forelder {n}", date(1984, 5, 1 + n))
    number = register.add(f"elev-{n}", f"Elev {n}", date(2014, 3, 1 + n),
                          parents=[f"forelder-{n}"])
    child = teacher.post("/api/v1/children", json={"national_id": number}).json()
    consent = teacher.post(f"/api/v1/children/{child['id']}/consents", json={
        "scope": {"agencies": [SCHOOL]}, "purpose": "Samarbeid",
        "paper": {"kind": "signed_form", "reference": f"P-{n}",
                  "signed_by": [child["guardians"][0]["id"]]}})
    assert consent.status_code == 201, consent.text
    log = teacher.post("/api/v1/logs", json={"child_id": child["id"]})
    assert log.status_code == 201, log.text
    return log.json()["id"]


def test_an_agency_system_lists_the_logs_its_agency_takes_part_in(read_only_populated_platform):
    platform, world = read_only_populated_platform
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


def test_a_cursor_we_did_not_give_out_is_refused_as_problem_json(read_only_populated_platform):
    platform, world = read_only_populated_platform
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


def test_the_timeline_pages_oldest_or_newest_first(read_only_populated_platform):
    platform, world = read_only_populated_platform
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


# -- issue 12: entries without bound ------------------------------------------------------

ENTRY_TEXT = 4000  # the longest entry a schema accepts (schemas.EntryIn)
#: what GET /logs/{id} may weigh with 400 entries of 4 KB (it embeds the newest 20);
#: before entries were paged it was 1.7 MB
LOG_VIEW_BOUND = 128 * 1024


def post_entries(platform, actor, log_id: str, count: int, first: int = 0,
                 visibility: str = "all") -> None:
    """``count`` entries of 4 KB, numbered from ``first``, as ``actor`` would post them
    (over RPC: the gateway's rate limit is not what this is about)."""
    with platform.rpc(actor, timeout=30) as rpc:
        for n in range(first, first + count):
            rpc.logs.add_entry(log_id, {"kind": "note", "visibility": visibility,
                                        "text": f"#{n:04d} " + "x" * (ENTRY_TEXT - 6)})


def number(entry: dict) -> int:
    return int(entry["text"][1:5])


def test_four_hundred_entries_of_4_kb_are_paged_by_the_logs_service(populated_platform):
    platform, world = populated_platform
    emma = world.stories["emma"]
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    base = f"/api/v1/logs/{emma.log_id}"
    before = guardian.get(f"{base}/entries", params={"limit": 200}).json()["items"]
    post_entries(platform, world.actors["guardian"], emma.log_id, 400)

    # the log's view embeds the newest 20, the totals and the link to the rest
    view = guardian.get(base)
    assert view.status_code == 200, view.text
    assert len(view.content) < LOG_VIEW_BOUND, len(view.content)
    body = view.json()
    assert [number(e) for e in body["entries"]] == list(range(399, 379, -1))
    entries = body["lists"]["entries"]
    assert entries["total"] == 400 + len(before)
    assert entries["next"] == (f"/api/v1/logs/{emma.log_id}/entries?limit=20"
                               f"&cursor={entries['next_cursor']}")
    following = guardian.get(entries["next"]).json()
    assert [number(e) for e in following["items"]] == list(range(379, 359, -1))
    assert {"measures", "meetings", "proposals"} <= set(body["lists"])

    # one entry and a cursor; every entry once, newest first, while more are posted
    one = guardian.get(f"{base}/entries", params={"limit": 1})
    assert one.status_code == 200 and len(one.content) < 8 * 1024
    first = one.json()
    assert [number(e) for e in first["items"]] == [399] and first["next_cursor"]
    walked, cursor, posted = first["items"], first["next_cursor"], 400
    for _ in range(200):
        post_entries(platform, world.actors["guardian"], emma.log_id, 2, posted)
        posted += 2
        page = guardian.get(f"{base}/entries", params={"limit": 7, "cursor": cursor})
        assert page.status_code == 200, page.text
        walked += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
        assert len(page.json()["items"]) == 7
    assert [number(e) for e in walked[:400]] == list(range(399, -1, -1))
    assert [e["id"] for e in walked[400:]] == [e["id"] for e in before]
    assert len({e["id"] for e in walked}) == len(walked)
    # those posted meanwhile are above the first page: on top now, seen by a new walk
    top = guardian.get(f"{base}/entries", params={"limit": 3}).json()["items"]
    assert [number(e) for e in top] == [posted - 1, posted - 2, posted - 3]
    assert guardian.get(base).json()["lists"]["entries"]["total"] == posted + len(before)
    staff = walk(teacher, f"{base}/entries", 200)  # and the staff-only ones for staff
    assert teacher.get(base).json()["lists"]["entries"]["total"] == len(staff) == \
        posted + len(before) + sum(e["visibility"] == "staff" for e in staff)


def test_the_familys_pages_are_full_though_staff_only_entries_lie_between(populated_platform):
    platform, world = populated_platform
    emma = world.stories["emma"]
    base = f"/api/v1/logs/{emma.log_id}"
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    before = walk(guardian, f"{base}/entries", 200)
    for block in range(4):  # blocks of staff-only entries between the family's
        post_entries(platform, world.actors["teacher"], emma.log_id, 15, 100 * block,
                     visibility="staff")
        post_entries(platform, world.actors["guardian"], emma.log_id, 3, 100 * block + 50)
    staff = walk(teacher, f"{base}/entries", 5)
    family = walk(guardian, f"{base}/entries", 5)  # walk() holds every page but the last full
    assert [e["id"] for e in family] == [e["id"] for e in staff if e["visibility"] == "all"]
    assert [number(e) for e in family[:12]] == [352, 351, 350, 252, 251, 250, 152, 151, 150,
                                                 52, 51, 50]
    assert family[12:] == before
    assert sum(e["visibility"] == "staff" for e in staff) >= 60
    assert guardian.get(base).json()["lists"]["entries"]["total"] == len(family)


def test_a_foreign_log_answers_like_a_missing_one_whatever_the_cursor(populated_platform):
    platform, world = populated_platform
    teacher = platform.client("teacher")
    emma, sara = world.stories["emma"], world.stories["sara"]
    missing = "00000000-0000-0000-0000-000000000000"
    own = teacher.get(f"/api/v1/logs/{emma.log_id}/entries", params={"limit": 1}).json()
    measures = teacher.get(f"/api/v1/logs/{emma.log_id}/measures", params={"limit": 1}).json()
    assert own["next_cursor"] and measures["next_cursor"]
    for path in ("entries", "measures", "meetings", "proposals", "timeline",
                 f"measures/{sara.measure_id}/evaluations"):
        for cursor in (own["next_cursor"], "not-ours", None):
            params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            foreign = teacher.get(f"/api/v1/logs/{sara.log_id}/{path}", params=params)
            absent = teacher.get(f"/api/v1/logs/{missing}/{path.replace(sara.measure_id, missing)}",
                                 params=params)
            assert foreign.status_code == 404, (path, foreign.text)
            assert foreign.json() == absent.json(), path
    # a measure of another log beneath one's own log: like a missing measure
    beneath = teacher.get(f"/api/v1/logs/{emma.log_id}/measures/{sara.measure_id}/evaluations")
    assert beneath.status_code == 404
    assert beneath.json() == teacher.get(
        f"/api/v1/logs/{emma.log_id}/measures/{missing}/evaluations").json()
    # on one's own log, another list's cursor (or another log's) is not one we gave out
    for path, cursor in (("entries", measures["next_cursor"]),
                         ("proposals", own["next_cursor"]),
                         (f"measures/{emma.measure_id}/evaluations", own["next_cursor"])):
        refused = teacher.get(f"/api/v1/logs/{emma.log_id}/{path}", params={"cursor": cursor})
        assert refused.status_code == 400, (path, refused.text)
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["detail"] == "the cursor is not one we gave out"
