"""A log always has one stafettholder who can act (issue 13, point 7), end to end: the
gateway's API and web client, the five services over the real broker.

The school's teacher holds the baton; the guardian replaces the consent with one that
covers PPT only. The teacher's agency is no longer covered, so the holder lapses at once:
the PPT advisor (staff who can still act) and the guardian are told, the API and the log
page say there is no stafettholder, and the advisor takes the baton on the web page.
"""
from __future__ import annotations

from datetime import date, timedelta

from stafett.dev.demo import AGENCIES, EMMA
from tests.browser.support import WebClient, text_of
from tests.support.platform import wait_for

PPT, SCHOOL = AGENCIES["ppt"]["org_number"], AGENCIES["school"]["org_number"]
PURPOSE = "Samarbeid om Emmas skolehverdag"


def kinds(client) -> list[str]:
    return [n["kind"] for n in client.get("/api/v1/notifications").json()["items"]]


def test_a_holder_who_cannot_act_is_refused_and_a_lapse_is_told_and_shown(platform):
    platform.seed()
    guardian, teacher, ppt = (platform.client(p) for p in ("guardian", "teacher", "ppt"))
    emma = next(c for c in guardian.get("/api/v1/children").json()["items"]
                if c["name"] == EMMA["name"])
    granted = guardian.post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": {"agencies": [SCHOOL], "agency_types": ["ppt"]}, "purpose": PURPOSE})
    assert granted.status_code == 201, granted.text
    log = teacher.post("/api/v1/logs", json={"child_id": emma["id"], "level": 2}).json()
    path = f"/api/v1/logs/{log['id']}"
    holder_id = log["stafettholder_id"]
    assert holder_id == log["viewer_participant_id"] and log["can_take_baton"] is False
    omar = teacher.get(f"/api/v1/agencies/{PPT}/staff").json()["items"][0]
    advisor = teacher.post(f"{path}/participants", json={"person_id": omar["id"]}).json()

    # the log refuses a holder who cannot act: a participation that ended yesterday
    colleague = next(s for s in teacher.get(f"/api/v1/agencies/{SCHOOL}/staff").json()["items"]
                     if s["id"] != log["participants"][0]["person_id"]
                     and s["id"] not in {p["person_id"] for p in log["participants"]})
    ended = teacher.post(f"{path}/participants", json={
        "person_id": colleague["id"],
        "active_until": (date.today() - timedelta(days=1)).isoformat()})
    assert ended.status_code == 201, ended.text
    refused = teacher.post(f"{path}/stafettholder", json={"participant_id": ended.json()["id"]},
                           headers=teacher.if_match(path))
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "stafettholder.cannot_act"
    assert teacher.get(path).json()["stafettholder_id"] == holder_id

    # consent replaced by one that no longer covers the school: the holder lapses at once
    replaced = guardian.post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": {"agencies": [], "agency_types": ["ppt"]}, "purpose": PURPOSE,
        "supersedes": granted.json()["id"]})
    assert replaced.status_code == 201, replaced.text
    wait_for(lambda: "stafettholder_lapsed" in kinds(ppt), timeout=15,
             message="the PPT advisor told that the log has no stafettholder")
    wait_for(lambda: "stafettholder_lapsed_family" in kinds(guardian), timeout=15,
             message="the guardian told that the log has no stafettholder")
    assert teacher.get(path).status_code == 404          # the school has no part any longer
    seen_by_advisor, seen_by_guardian = ppt.get(path).json(), guardian.get(path).json()
    assert seen_by_advisor["stafettholder_id"] is None
    assert seen_by_advisor["can_take_baton"] is True
    assert seen_by_guardian["stafettholder_id"] is None
    assert "stafettholder" not in {p["role"] for p in seen_by_advisor["participants"]}

    # the log page says so until someone takes the baton, and the advisor takes it
    web = WebClient(platform.url())
    assert web.login("ppt").status_code == 303
    page = web.get(f"/logger/{log['id']}")
    assert page.status_code == 200
    assert "Ingen stafettholder" in text_of(page.text)
    token = web.csrf_token(f"/logger/{log['id']}")
    taken = web.post(f"/logger/{log['id']}/stafettpinne",
                     {"version": str(seen_by_advisor["version"])}, csrf=token)
    assert taken.status_code == 303, text_of(taken.text)
    shown = text_of(web.follow(taken).text)
    assert "Du er nå stafettholder for loggen." in shown
    assert "Ingen stafettholder" not in shown and f"Stafettholder: {omar['name']}" in shown
    after = ppt.get(path).json()
    assert after["stafettholder_id"] == advisor["id"] and after["can_take_baton"] is False
