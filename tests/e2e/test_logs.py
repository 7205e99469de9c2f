"""The stafettlogg through the gateway over real RabbitMQ, as staff, guardian and child."""
from datetime import date, timedelta

import pytest
from fhir.resources.bundle import Bundle

from stafett.dev.demo import AGENCIES, EMMA
from services.logs.schemas import MAY

SCHOOL, PPT = AGENCIES["school"]["org_number"], AGENCIES["ppt"]["org_number"]


def day(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


@pytest.fixture
def emma_log(platform):
    """Emma's log: consent for school, PPT and health; the teacher holds the baton; Omar
    (PPT) takes part."""
    return open_emma_log(platform)


def open_emma_log(platform) -> dict:
    log = platform.open_emma_log({"agencies": [SCHOOL],
                                  "agency_types": ["ppt", "health_station"]})
    emma, teacher = log["child_id"], platform.client("teacher")
    omar = teacher.get(f"/api/v1/agencies/{PPT}/staff").json()["items"][0]
    ppt_participant = teacher.post(f"/api/v1/logs/{log['id']}/participants",
                                   json={"person_id": omar["id"]}).json()
    people = {p["role"] if p["role"] != "guardian" else p["display_name"]: p["id"]
              for p in log["participants"]}
    return {"id": log["id"], "child_id": emma, "ppt": ppt_participant["id"],
            "teacher": people["stafettholder"], "child": people["child"],
            "ingrid": people["Ingrid Solberg"]}


def measure(responsible, **extra):
    return {"title": "Fast plass nær døra", "goal": "Lettere å komme inn i timen",
            "responsible_id": responsible, "arena": "school", "start_date": day(0),
            "evaluate_by": day(21), **extra}


def test_measures_and_evaluations_show_the_latest_colour_and_overdue(platform, emma_log):
    teacher = platform.client("teacher")
    base = f"/api/v1/logs/{emma_log['id']}"
    home = teacher.post(f"{base}/measures", json=measure(
        emma_log["ingrid"], title="Fast leggetid", arena="home")).json()
    late = teacher.post(f"{base}/measures", json=measure(
        emma_log["ppt"], title="Kartlegging", start_date=day(-30), evaluate_by=day(-1))).json()
    assert teacher.post(f"{base}/measures/{home['id']}/evaluations", json={
        "outcome": "yellow", "text": "Delvis"}).status_code == 201
    assert teacher.post(f"{base}/measures/{home['id']}/evaluations", json={
        "outcome": "green", "text": "Virker", "child_view": "Bra"}).status_code == 201
    listed = {m["title"]: m for m in teacher.get(f"{base}/measures").json()["items"]}
    # home and services in one list, in parallel
    assert {m["arena"] for m in listed.values()} == {"home", "school"}
    assert listed["Fast leggetid"]["latest_outcome"] == "green"
    # the latest first (evaluated the same day: the later recorded)
    assert [e["outcome"] for e in listed["Fast leggetid"]["evaluations"]] == ["green", "yellow"]
    assert listed["Kartlegging"]["overdue"] is True and listed["Fast leggetid"]["overdue"] is False
    summary = teacher.get("/api/v1/logs").json()["items"][0]
    assert (summary["overdue_measures"], summary["red_measures"]) == (1, 0)
    assert late["proposer_role"] == "stafettholder"


def test_bad_input_is_refused_with_nothing_written(platform, emma_log):
    teacher, guardian = platform.client("teacher"), platform.client("guardian")
    base = f"/api/v1/logs/{emma_log['id']}"

    def problem(response, status, field=None):
        assert response.status_code == status, response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        if field:
            assert field in response.json()["errors"]

    problem(teacher.post(f"{base}/measures", json=measure(
        emma_log["ppt"], start_date=day(5), evaluate_by=day(1))), 422, "evaluate_by")
    problem(teacher.post(f"{base}/measures", json=measure("not-a-participant")), 422,
            "responsible_id")
    assert teacher.get(f"{base}/measures").json()["items"] == []

    stopped = teacher.post(f"{base}/measures", json=measure(emma_log["ppt"])).json()
    problem(teacher.patch(f"{base}/measures/{stopped['id']}", json={"status": "stopped"}), 428)
    problem(teacher.patch(f"{base}/measures/{stopped['id']}", json={"status": "stopped"},
                          headers={"If-Match": '"99"'}), 412)
    changed = teacher.patch(f"{base}/measures/{stopped['id']}", json={"status": "stopped"},
                            headers={"If-Match": f'"{stopped["version"]}"'})
    assert changed.status_code == 200 and changed.headers["ETag"] == f'"{stopped["version"] + 1}"'
    problem(teacher.post(f"{base}/measures/{stopped['id']}/evaluations",
                         json={"outcome": "green", "text": "x"}), 409)
    assert teacher.get(f"{base}/measures/{stopped['id']}/evaluations").json()["items"] == []

    problem(teacher.post("/api/v1/logs", json={"child_id": emma_log["child_id"]}), 409)

    log = teacher.get(base)
    problem(teacher.post(f"{base}/close", json={"reason": "ok"},
                         headers={"If-Match": log.headers["ETag"]}), 422, "reason")
    closed = teacher.post(f"{base}/close", json={"reason": "Målene er nådd"},
                          headers={"If-Match": log.headers["ETag"]})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    problem(teacher.post(f"{base}/measures", json=measure(emma_log["ppt"])), 409)
    problem(guardian.post(f"{base}/entries", json={"kind": "note", "text": "hei"}), 409)
    assert len(teacher.get(f"{base}/measures").json()["items"]) == 1
    assert guardian.get(base).status_code == 200  # read-only, still there for the family


def test_participants_roles_levels_and_the_single_stafettholder(platform, emma_log):
    teacher, ppt = platform.client("teacher"), platform.client("ppt")
    base = f"/api/v1/logs/{emma_log['id']}"
    assert ppt.post(f"{base}/participants", json={"person_id": "x"}).status_code == 403
    nav = teacher.get(f"/api/v1/agencies/{AGENCIES['nav']['org_number']}/staff").json()["items"][0]
    uncovered = teacher.post(f"{base}/participants", json={"person_id": nav["id"]})
    assert uncovered.status_code == 422 and "person_id" in uncovered.json()["errors"]

    etag = teacher.get(base).headers["ETag"]
    leveled = teacher.patch(base, json={"level": 3}, headers={"If-Match": etag})
    assert leveled.status_code == 200
    assert [h["level"] for h in leveled.json()["level_history"]] == [1, 3]

    passed = teacher.post(f"{base}/stafettholder", json={"participant_id": emma_log["ppt"]},
                          headers={"If-Match": leveled.headers["ETag"]})
    assert passed.status_code == 200
    roles = [p["role"] for p in passed.json()["participants"] if p["kind"] == "staff"]
    assert roles.count("stafettholder") == 1
    assert ppt.get(base).json()["viewer_role"] == "stafettholder"
    assert teacher.get(base).json()["viewer_role"] == "member"

    # the new stafettholder removes the teacher: no access from the next request
    removed = ppt.request_delete(f"{base}/participants/{emma_log['teacher']}",
                                 headers={"If-Match": ppt.get(base).headers["ETag"]})
    assert removed.status_code == 200
    assert teacher.get(base).status_code == 404


def test_meetings_minutes_decisions_and_preparation(platform, emma_log):
    teacher, guardian = platform.client("teacher"), platform.client("guardian")
    base = f"/api/v1/logs/{emma_log['id']}"
    first = teacher.post(f"{base}/meetings", json={
        "starts_at": f"{day(-7)}T14:00:00+01:00", "mode": "in_person", "place": "Rom 2",
        "agenda": "Oppstart", "invited": [emma_log["teacher"], emma_log["ingrid"]]}).json()
    bad = teacher.post(f"{base}/meetings", json={
        "starts_at": f"{day(1)}T14:00:00+01:00", "mode": "video", "invited": ["nobody"]})
    assert bad.status_code == 422 and "invited" in bad.json()["errors"]
    minuted = teacher.post(f"{base}/meetings/{first['id']}/minutes", json={
        "minutes": "Vi ble enige om to tiltak.", "attended": [emma_log["teacher"]],
        "decisions": [measure(emma_log["teacher"], title="Pulten nærmest døra"),
                      measure(emma_log["ingrid"], title="Fast leggetid", arena="home")]},
        headers={"If-Match": f'"{first["version"]}"'})
    assert minuted.status_code == 200, minuted.text
    assert minuted.json()["attended"] == [emma_log["teacher"]]
    decided = [m for m in teacher.get(f"{base}/measures").json()["items"]
               if m["meeting_id"] == first["id"]]
    assert sorted(m["title"] for m in decided) == ["Fast leggetid", "Pulten nærmest døra"]
    # one invalid decision: nothing of the minutes is written
    held = teacher.post(f"{base}/meetings", json={
        "starts_at": f"{day(-1)}T14:00:00+01:00", "mode": "video",
        "invited": [emma_log["teacher"]]}).json()
    refused = teacher.post(f"{base}/meetings/{held['id']}/minutes", json={
        "minutes": "x", "decisions": [measure("nobody")]},
        headers={"If-Match": f'"{held["version"]}"'})
    assert refused.status_code == 422 and "decisions.0" in refused.json()["errors"]
    # minutes only once the meeting has begun
    second = teacher.post(f"{base}/meetings", json={
        "starts_at": f"{day(14)}T14:00:00+01:00", "mode": "video",
        "invited": [emma_log["teacher"]]}).json()
    early = teacher.post(f"{base}/meetings/{second['id']}/minutes", json={
        "minutes": "Skrevet før møtet"}, headers={"If-Match": f'"{second["version"]}"'})
    assert early.status_code == 409 and early.json()["code"] == "meeting.not_started"
    assert len(teacher.get(f"{base}/measures").json()["items"]) == 2
    prepared = teacher.get(f"{base}/meetings/{second['id']}/preparation").json()
    assert {m["title"] for m in prepared["open_measures"]} == {"Fast leggetid",
                                                               "Pulten nærmest døra"}
    assert prepared["previous_meeting_at"] is not None
    assert {i["kind"] for i in prepared["changes_since_last_meeting"]} >= {"measure_added"}
    # the family sees the meetings (the latest planned first) and the minutes
    meetings = guardian.get(f"{base}/meetings").json()["items"]
    assert [m["id"] for m in meetings] == [second["id"], held["id"], first["id"]]
    assert meetings[2]["minutes"] == "Vi ble enige om to tiltak."


def test_entries_visibility_and_the_childs_voice(platform, emma_log):
    teacher, guardian, child = (platform.client(p) for p in ("teacher", "guardian", "child"))
    base = f"/api/v1/logs/{emma_log['id']}"
    assert teacher.post(f"{base}/entries", json={"kind": "note", "visibility": "staff",
                                                 "text": "Internt"}).status_code == 201
    assert teacher.post(f"{base}/entries", json={"kind": "bright_spot",
                                                 "text": "God uke"}).status_code == 201
    voice = child.post(f"{base}/entries", json={"kind": "child_voice", "text": "Jeg vil sitte ved døra"})
    assert voice.status_code == 201
    assert child.post(f"{base}/entries", json={"kind": "note", "text": "x"}).status_code == 422
    assert guardian.post(f"{base}/entries", json={"kind": "note", "visibility": "staff",
                                                  "text": "x"}).status_code == 422
    staff_sees = [e["text"] for e in teacher.get(f"{base}/entries").json()["items"]]
    family_sees = [e["text"] for e in guardian.get(f"{base}/entries").json()["items"]]
    assert "Internt" in staff_sees and "Internt" not in family_sees
    assert [e["text"] for e in child.get(f"{base}/entries").json()["items"]] == family_sees
    timeline = guardian.get(f"{base}/timeline?limit=2")
    assert timeline.status_code == 200 and len(timeline.json()["items"]) == 2
    rest = guardian.get(f"{base}/timeline?limit=200&cursor={timeline.json()['next_cursor']}")
    kinds = [i["kind"] for i in timeline.json()["items"] + rest.json()["items"]]
    assert kinds[0] == "log_opened" and "entry_note" not in kinds
    assert "entry_child_voice" in kinds and "entry_bright_spot" in kinds
    assert guardian.get(f"{base}/timeline?cursor=forged").status_code == 400


def test_proposals_from_the_child_and_what_became_of_them(platform, emma_log):
    teacher, guardian, child = (platform.client(p) for p in ("teacher", "guardian", "child"))
    base = f"/api/v1/logs/{emma_log['id']}"
    late = child.post(f"{base}/proposals", json={
        "title": "Starte dagen noen minutter etter de andre", "arena": "school"}).json()
    phone = child.post(f"{base}/proposals", json={"title": "Mobil i timen", "arena": "school"}).json()
    walk = guardian.post(f"{base}/proposals", json={"title": "Gå til skolen sammen",
                                                    "arena": "home"}).json()
    assert teacher.post(f"{base}/proposals", json={"title": "x", "arena": "home"}).status_code == 403
    # answering changes the log: If-Match is the log's ETag
    assert platform.client("ppt").post(f"{base}/proposals/{late['id']}/accept", json={
        "responsible_id": emma_log["teacher"], "start_date": day(0),
        "evaluate_by": day(14)}, headers=teacher.if_match(base)).status_code == 403
    answer = {"responsible_id": emma_log["teacher"], "start_date": day(0),
              "evaluate_by": day(14)}
    assert teacher.post(f"{base}/proposals/{late['id']}/accept",
                        json=answer).status_code == 428
    accepted = teacher.post(f"{base}/proposals/{late['id']}/accept", json=answer,
                            headers=teacher.if_match(base))
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    declined = teacher.post(f"{base}/proposals/{phone['id']}/decline",
                            json={"reason": "Skolens regler tillater ikke det"},
                            headers=teacher.if_match(base))
    assert declined.json()["status"] == "declined"
    assert teacher.post(f"{base}/proposals/{phone['id']}/accept", json=answer,
                        headers=teacher.if_match(base)).status_code == 409
    # the proposer sees what became of her proposals; the child sees only her own
    mine = {p["title"]: p for p in child.get(f"{base}/proposals").json()["items"]}
    assert set(mine) == {"Starte dagen noen minutter etter de andre", "Mobil i timen"}
    assert mine["Mobil i timen"]["decline_reason"] == "Skolens regler tillater ikke det"
    made = next(m for m in child.get(base).json()["measures"]
                if m["id"] == mine["Starte dagen noen minutter etter de andre"]["measure_id"])
    assert made["proposer_role"] == "child"
    assert walk["id"] in {p["id"] for p in guardian.get(f"{base}/proposals").json()["items"]}


def test_views_are_minimised_per_role_and_strangers_get_404(platform, emma_log):
    teacher, guardian, child = (platform.client(p) for p in ("teacher", "guardian", "child"))
    base = f"/api/v1/logs/{emma_log['id']}"
    teacher.post(f"{base}/measures", json=measure(emma_log["ppt"]))
    staff_view, family_view, child_view = (c.get(base).json() for c in (teacher, guardian, child))
    assert {"child_id", "level_history"} <= set(staff_view)
    assert "child_id" not in family_view and "level_history" not in family_view
    # the stafettholder (a participant the child sees anyway), or None: "Ingen stafettholder"
    # what the child may do (audience, entry_kinds, can_* flags) is about the viewer, not data
    viewer_flags = {"audience", "entry_kinds", *MAY}
    assert set(child_view) - viewer_flags == {
        "id", "status", "viewer_role", "viewer_participant_id", "participants", "measures",
        "meetings", "entries", "proposals", "lists", "stafettholder_id"}
    assert viewer_flags <= set(child_view)
    assert child_view["audience"] == "child" and child_view["can_close"] is False
    assert "person_id" in staff_view["participants"][0]
    assert all("person_id" not in p and "agency" not in p for p in family_view["participants"])
    assert "description" not in child_view["measures"][0]
    strangers = [platform.client(p) for p in ("child-welfare", "nav", "other-guardian")]
    missing = teacher.get("/api/v1/logs/00000000-0000-0000-0000-000000000000")
    for stranger in strangers:
        response = stranger.get(base)
        assert (response.status_code, response.json()) == (404, missing.json())
    # the gateway asks for assurance level high before any personal data
    substantial = platform.client("child", acr="idporten-loa-substantial")
    assert substantial.get(base).status_code == 403


def test_the_family_sees_who_looked_at_the_log(platform, emma_log):
    guardian, child, ppt = (platform.client(p) for p in ("guardian", "child", "ppt"))
    base = f"/api/v1/logs/{emma_log['id']}"
    ppt.get(base)
    platform.client("child-welfare").get(base)  # a denied look is recorded too
    records = guardian.get(f"{base}/access-log").json()["items"]
    reads = [(r["who"], r["role"], r["outcome"]) for r in records if r["action"] == "read"]
    assert ("Omar Haddad", "member", "allowed") in reads
    assert any(r["outcome"] == "denied" for r in records)
    assert child.get(f"{base}/access-log").status_code == 200
    assert ppt.get(f"{base}/access-log").status_code == 403


def test_statistics_are_de_identified_and_small_counts_suppressed(platform, emma_log):
    teacher = platform.client("teacher")
    base = f"/api/v1/logs/{emma_log['id']}"
    for n in range(5):
        teacher.post(f"{base}/measures", json=measure(emma_log["ppt"], title=f"Tiltak {n}"))
    teacher.post(f"{base}/measures", json=measure(emma_log["teacher"], title="Eget"))
    stats = teacher.get("/api/v1/stats").json()
    assert stats["counts"] == "children" and stats["suppressed_below"] == 5
    # six measures, all in Emma's log: one child, so not even the groups are shown
    # (counting measures, the PPT group showed 5 in school/not evaluated: Emma)
    assert stats["groups"] == []
    assert platform.client("guardian").get("/api/v1/stats").status_code == 403


def test_the_fhir_export_is_a_valid_r5_bundle(platform, emma_log):
    teacher = platform.client("teacher")
    base = f"/api/v1/logs/{emma_log['id']}"
    teacher.post(f"{base}/measures", json=measure(emma_log["ppt"]))
    response = teacher.get(f"{base}/fhir")
    assert response.status_code == 200
    bundle = Bundle.model_validate(response.json())
    kinds = sorted(e.resource.get_resource_type() for e in bundle.entry)
    assert kinds == ["CarePlan", "CareTeam", "Goal", "Task"]
    assert EMMA["name"] not in response.text and EMMA["national_id"] not in response.text
    assert platform.client("guardian").get(f"{base}/fhir").status_code == 403


def test_access_is_decided_inside_the_logs_service_whatever_the_caller(platform, emma_log):
    from nameko.exceptions import RemoteError  # noqa: F401  (typed errors arrive as themselves)

    from stafett.actor import Actor
    from stafett.errors import NotFound

    stranger = Actor(kind="staff", person_id="00000000-0000-0000-0000-000000000001",
                     agency=AGENCIES["child_welfare"]["org_number"], agency_type="child_welfare")
    with platform.rpc(stranger) as rpc:
        with pytest.raises(NotFound):
            rpc.logs.get_log(emma_log["id"])
    with platform.rpc(None) as rpc:  # no actor at all
        with pytest.raises(NotFound):
            rpc.logs.get_log(emma_log["id"])


def test_an_agency_system_reads_only_with_its_scope(platform, emma_log):
    base = f"/api/v1/logs/{emma_log['id']}"
    system = platform.client("school-system")
    assert system.get(base).status_code == 200
    assert system.get(base).json()["viewer_role"] == "system"
    assert system.post(f"{base}/entries", json={"kind": "note", "text": "x"}).status_code == 403
    # without the scope the gateway refuses the route itself, for any log or none
    unscoped = platform.client("school-system", scope="stafett:other")
    assert unscoped.get(base).status_code == 403
    assert unscoped.get("/api/v1/logs/00000000-0000-0000-0000-000000000000").status_code == 403


def test_the_caps_on_participants_and_measures_refuse_with_nothing_written(
        container_factory, amqp_uri, database_urls, tmp_path):
    """What is still loaded whole is capped (LOG_MAX_PARTICIPANTS, LOG_MAX_MEASURES): at
    the cap the next one is a 409, and a handover needs room for those it may add."""
    from tests.support.platform import Platform

    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        LOG_MAX_MEASURES=2, LOG_MAX_PARTICIPANTS=5)
    platform.start()
    try:
        log = open_emma_log(platform)
        teacher = platform.client("teacher")
        base = f"/api/v1/logs/{log['id']}"
        for title in ("Første", "Andre"):
            assert teacher.post(f"{base}/measures", json=measure(
                log["teacher"], title=title)).status_code == 201
        full = teacher.post(f"{base}/measures", json=measure(log["teacher"], title="Tredje"))
        assert full.status_code == 409, full.text
        assert full.json()["detail"] == "the log has reached its limit of 2 measures"
        proposal = platform.client("guardian").post(f"{base}/proposals", json={
            "title": "Et forslag", "arena": "home"}).json()
        accepted = teacher.post(f"{base}/proposals/{proposal['id']}/accept", json={
            "responsible_id": log["teacher"], "start_date": day(0), "evaluate_by": day(7)},
            headers=teacher.if_match(base))
        assert accepted.status_code == 409, accepted.text
        assert [m["title"] for m in teacher.get(f"{base}/measures").json()["items"]] == [
            "Andre", "Første"]

        view = teacher.get(base).json()
        assert len(view["participants"]) == 5  # the child, two guardians, Lise, Omar
        nurse = teacher.get(f"/api/v1/agencies/{AGENCIES['health_station']['org_number']}"
                            "/staff").json()["items"][0]
        refused = teacher.post(f"{base}/participants", json={"person_id": nurse["id"]})
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"] == "the log has reached its limit of 5 participants"
        handover = teacher.post("/api/v1/handovers", json={
            "log_id": log["id"], "to_agency": PPT, "transition": "other"})
        assert handover.status_code == 409, handover.text
        assert "participants" in handover.json()["detail"]
        assert len(teacher.get(base).json()["participants"]) == 5
    finally:
        platform.close()
