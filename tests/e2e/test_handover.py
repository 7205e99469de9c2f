"""Lower secondary → upper secondary school, end to end through the gateway, with a consent
step: the log and the baton follow Emma.

The contact teacher requests the handover; consent does not cover the upper secondary
school yet, so the guardians are asked; a new consent arrives; the receiving school sees
the summary (never the log) and accepts, naming the new stafettholder; the logs service
applies it; the handover completes and keeps the summary as its record.
Runs on SQLite by default and on PostgreSQL.
"""
import logging
from datetime import date, timedelta

import pytest

from stafett.dev.demo import CHILDREN, EMMA
from tests.integration.test_handover import (PPT, SCHOOL, TRANSITION, UPPER_ORG,
                                             a_log_to_hand_over, scope)
from tests.support.platform import wait_for


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.json()


def day(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


def fill_the_log(platform, thread):
    """Measures that worked and did not, the child's own words, an open question."""
    teacher, log_id = thread.teacher, thread.log["id"]
    omar = teacher.get(f"/api/v1/agencies/{PPT}/staff").json()["items"][0]
    ppt = teacher.post(f"/api/v1/logs/{log_id}/participants", json={"person_id": omar["id"]})
    assert ppt.status_code == 201, ppt.text
    me = teacher.get(f"/api/v1/logs/{log_id}").json()["viewer_participant_id"]
    measures = {}
    for title, responsible, evaluate_by in (("Fast plass nær døra", me, day(-7)),
                                            ("Lekser i skolen", me, day(-7)),
                                            ("Kartlegging av lesing", ppt.json()["id"], day(-1))):
        created = teacher.post(f"/api/v1/logs/{log_id}/measures", json={
            "title": title, "goal": "Emma får en roligere skolehverdag",
            "responsible_id": responsible, "arena": "school", "start_date": day(-40),
            "evaluate_by": evaluate_by, "status": "active"})
        assert created.status_code == 201, created.text
        measures[title] = created.json()
    for title, outcome in (("Fast plass nær døra", "green"), ("Lekser i skolen", "red")):
        evaluated = teacher.post(
            f"/api/v1/logs/{log_id}/measures/{measures[title]['id']}/evaluations",
            json={"outcome": outcome, "text": f"Vurdert: {outcome}", "evaluated_on": day(-7)})
        assert evaluated.status_code == 201, evaluated.text
    voice = platform.client("child").post(f"/api/v1/logs/{log_id}/entries", json={
        "kind": "child_voice", "text": "Jeg vil gjerne sitte ved døra på den nye skolen også."})
    assert voice.status_code == 201, voice.text
    return omar


@pytest.mark.parametrize("database_backend", ["sqlite", "postgres"], indirect=True)
def test_from_lower_to_upper_secondary_with_a_consent_step(database_backend, platform, caplog):
    caplog.set_level(logging.DEBUG)
    thread = a_log_to_hand_over(platform, cover_upper=False)
    log_id, jon = thread.log["id"], thread.staff["upper-teacher"]
    omar = fill_the_log(platform, thread)
    teacher, guardian, leader = thread.teacher, thread.guardian, thread.leader

    # the stafettholder requests the handover: consent does not cover the receiver yet
    requested = teacher.post("/api/v1/handovers", json={
        "log_id": log_id, "to_agency": UPPER_ORG, "transition": TRANSITION,
        "note": "Emma har det best med faste rammer."})
    assert requested.status_code == 201, requested.text
    handover = requested.json()
    assert requested.headers["Location"] == f"/api/v1/handovers/{handover['id']}"
    assert handover["status"] == "consent_pending"
    assert handover["summary"]["what_worked"][0]["title"] == "Fast plass nær døra"
    url = f"/api/v1/handovers/{handover['id']}"

    # the receiving school does not see it yet, not even that it exists
    assert leader.get("/api/v1/handovers?direction=incoming").json()["items"] == []
    problem(leader.get(url), 404)
    # the guardians see where the log is to go, and why they are asked
    as_guardian = guardian.get(url)
    assert as_guardian.status_code == 200, as_guardian.text
    assert (as_guardian.json()["status"], as_guardian.json()["to_agency"]) == (
        "consent_pending", UPPER_ORG)
    assert "summary" not in as_guardian.json()
    assert [h["id"] for h in guardian.get("/api/v1/handovers").json()["items"]] == [
        handover["id"]]

    # bad input: a clear problem, and nothing changes
    own = problem(teacher.post("/api/v1/handovers", json={
        "log_id": log_id, "to_agency": SCHOOL, "transition": "other"}), 422)
    assert "to_agency" in own["errors"]
    unknown = problem(teacher.post("/api/v1/handovers", json={
        "log_id": log_id, "to_agency": "999999999", "transition": "other"}), 422)
    assert "to_agency" in unknown["errors"]
    problem(platform.client("ppt").post("/api/v1/handovers", json={
        "log_id": log_id, "to_agency": UPPER_ORG, "transition": TRANSITION}), 403)
    second = problem(teacher.post("/api/v1/handovers", json={
        "log_id": log_id, "to_agency": UPPER_ORG, "transition": TRANSITION}), 409)
    assert "open handover" in second["detail"]
    assert len(teacher.get("/api/v1/handovers?direction=outgoing").json()["items"]) == 1

    # the guardian consents to the upper secondary school
    granted = guardian.post(f"/api/v1/children/{thread.emma}/consents", json={
        "scope": scope(True), "purpose": "Overgang til videregående skole",
        "supersedes": thread.consent["id"]})
    assert granted.status_code == 201, granted.text
    incoming = wait_for(lambda: leader.get("/api/v1/handovers?direction=incoming")
                        .json()["items"], timeout=15, message="the offered handover")
    assert [(h["id"], h["status"]) for h in incoming] == [(handover["id"],
                                                           "awaiting_acceptance")]

    # before acceptance the receiver sees the summary, never the log
    offered = leader.get(url).json()
    assert offered["viewer_role"] == "receiver" and offered["child"]["name"] == EMMA["name"]
    summary = offered["summary"]
    assert [m["title"] for m in summary["active_measures"]] == [
        "Fast plass nær døra", "Lekser i skolen", "Kartlegging av lesing"]
    assert [(m["title"], m["outcome"], m["evaluated_on"]) for m in summary["what_worked"]] == [
        ("Fast plass nær døra", "green", day(-7))]
    assert [(m["title"], m["outcome"]) for m in summary["what_did_not"]] == [
        ("Lekser i skolen", "red")]
    assert [v["text"] for v in summary["child_voice"]] == [
        "Jeg vil gjerne sitte ved døra på den nye skolen også."]
    assert summary["open_questions"], "measures overdue for evaluation are open questions"
    assert offered["note"] == "Emma har det best med faste rammer."
    problem(leader.get(f"/api/v1/logs/{log_id}"), 404)

    # acceptance by anyone outside the receiving agency is refused
    accept = {"new_stafettholder_person_id": jon}
    version = leader.if_match(url)  # the ETag the receiver read
    problem(leader.post(f"{url}/accept", json=accept), 428)  # an update needs If-Match
    problem(leader.post(f"{url}/accept", json=accept, headers={"If-Match": '"99"'}), 412)
    problem(platform.client("nav").post(f"{url}/accept", json=accept, headers=version), 404)
    problem(platform.client("ppt").post(f"{url}/accept", json=accept, headers=version), 404)
    problem(teacher.post(f"{url}/accept", json=accept, headers=version), 403)
    not_theirs = problem(leader.post(f"{url}/accept", json={
        "new_stafettholder_person_id": omar["id"]}, headers=version), 422)
    assert "new_stafettholder_person_id" in not_theirs["errors"]
    assert leader.get(url).json()["status"] == "awaiting_acceptance"

    # the receiver accepts, naming the new stafettholder; the logs service applies it
    accepted = leader.post(f"{url}/accept", json=accept, headers=version)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] in ("accepted", "completed")
    done = wait_for(lambda: (lambda h: h if h["status"] == "completed" else None)(
        leader.get(url).json()), timeout=15, message="the completed handover")
    assert done["new_stafettholder_person_id"] == jon and done["completed_at"]
    assert done["summary"] == summary  # it stays with the handover as the record

    # the baton has moved: Jon holds it, the contact teacher may read for the grace period
    as_jon = thread.upper_teacher.get(f"/api/v1/logs/{log_id}")
    assert as_jon.status_code == 200, as_jon.text
    assert as_jon.json()["viewer_role"] == "stafettholder"
    assert [p["person_id"] for p in as_jon.json()["participants"]
            if p["role"] == "stafettholder"] == [jon]
    as_sender = teacher.get(f"/api/v1/logs/{log_id}")
    assert as_sender.status_code == 200 and as_sender.json()["viewer_role"] == "former"
    problem(teacher.post(f"/api/v1/logs/{log_id}/entries", json={
        "kind": "note", "text": "Ikke lenger min"}), 403)
    problem(teacher.post(f"{url}/cancel", json={}, headers=teacher.if_match(url)),
            409)  # nothing left to cancel
    assert [h["status"] for h in teacher.get("/api/v1/handovers").json()["items"]] == [
        "completed"]

    # no national identity number in any log line along the way
    numbers = {c["national_id"] for c in CHILDREN} | {
        g["national_id"] for c in CHILDREN for g in c["guardians"]}
    logged = "\n".join(r.getMessage() + str(vars(r)) for r in caplog.records)
    assert not any(n in logged for n in numbers)
