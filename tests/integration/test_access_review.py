"""The access log as people review it, over the real broker (issue 17, points 4 and 5).

The family: a guardian's access log of her child holds records from all four services,
each with why in bokmål, and each record with its proof verifies with the standalone
verifier run as a subprocess (``python -m stafett.audit.verify_inclusion``, and the file
alone under ``python -I``); a tampered record or checkpoint fails it.

The agency auditor of the school sees exactly the school's records of all four services
(and, being read while it reads, its own audit records), never one of PPT's (another
agency, a participant of the same log), with the filters, anomalies and exports."""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from stafett.audit import access_table
from stafett.audit.purposes import PURPOSES
from stafett.dev.demo import AGENCIES
from tests.browser.support import WebClient
from tests.support.platform import Platform, wait_for
from tests.support.world import actor

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("consent", "logs", "handover", "notifications")
SCHOOL, PPT = AGENCIES["school"]["org_number"], AGENCIES["ppt"]["org_number"]
VERIFIER = ROOT / "stafett" / "audit" / "verify_inclusion.py"


@pytest.fixture
def reviewed(container_factory, amqp_uri, database_urls, tmp_path):
    # bulk reads: more than 3 reads by one person within 10 minutes in one service
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        AUDIT_BULK_READS=3, AUDIT_BULK_MINUTES=10)
    platform.start()
    try:
        platform.seed()
        logs = platform.seed_stories()
        yield platform, logs["emma"]
    finally:
        platform.close()


def all_pages(client, path: str, limit: int = 7) -> list[dict]:
    """Every page (small pages: the merge across the services is what is tested)."""
    items, cursor = [], None
    for _ in range(200):
        url = f"{path}{'&' if '?' in path else '?'}limit={limit}"
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("more than 200 pages")


def verify(*args, isolated: Path | None = None) -> subprocess.CompletedProcess:
    if isolated is not None:  # the file alone, standard library only (-I: no site, no path)
        command = [sys.executable, "-I", str(isolated), *map(str, args)]
    else:
        command = [sys.executable, "-m", "stafett.audit.verify_inclusion", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={"PATH": "/usr/bin", "PYTHONPATH": str(ROOT)})


def records_of_agency(platform, agency: str) -> set[str]:
    found = set()
    for service in SERVICES:
        engine = create_engine(platform.database_urls[service])
        with engine.connect() as connection:
            found |= {f"{service}:{i}" for i in connection.scalars(
                select(access_table.c.id).where(access_table.c.agency == agency))}
        engine.dispose()
    return found


def test_a_guardians_access_log_spans_the_services_and_each_record_verifies(reviewed,
                                                                           tmp_path):
    platform, log_id = reviewed
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    child_id = teacher.get(f"/api/v1/logs/{log_id}").json()["child_id"]
    # something from each service about Emma: a handover asked for (handover), the mother
    # reading her consents (consent) and her inbox (notifications), the log read (logs)
    assert teacher.post("/api/v1/handovers", json={
        "log_id": log_id, "to_agency": PPT, "transition": "other"}).status_code == 201
    assert guardian.get(f"/api/v1/children/{child_id}/consents").status_code == 200
    wait_for(lambda: any(i.get("child_id") == child_id or i.get("log_id") == log_id
                         for i in guardian.get("/api/v1/notifications").json()["items"]),
             timeout=20, message="a notification about Emma in her mother's inbox")
    assert platform.client("ppt").get(f"/api/v1/logs/{log_id}").status_code == 200

    items = all_pages(guardian, f"/api/v1/children/{child_id}/access-log")
    assert {i["service"] for i in items} == set(SERVICES), {i["service"] for i in items}
    times = [i["at"] for i in items]
    assert times == sorted(times, reverse=True)  # one list, newest first
    assert len({i["ref"] for i in items}) == len(items)  # no record twice across pages
    for item in items:
        assert item["why"] == PURPOSES[item["purpose"]] and item["who"], item
    why = {(i["service"], i["purpose"]) for i in items}
    assert ("logs", "participant_read") in why and ("notifications", "notification_read") in why
    assert ("consent", "consent_read") in why and ("handover", "handover") in why
    assert ("logs", "opened_after_consent") in why
    # who: staff by name and agency, citizens by role
    omar = next(i for i in items if i["service"] == "logs" and i["agency"] == PPT)
    assert (omar["who"], omar["agency_name"], omar["why"]) == (
        "Omar Haddad", "PPT Havvik", "leste loggen som deltaker")
    assert any(i["who"] == "Deg" for i in items)  # the mother's own reads
    # to the father, the mother is named as the log names its participants
    assert any(i["who"] == "Ingrid Solberg" for i in all_pages(
        platform.client("guardian2"), f"/api/v1/children/{child_id}/access-log"))

    # strangers to Emma's case find nothing, as for a log; a participant who is not the
    # stafettholder is refused
    for persona in ("other-guardian", "teacher2", "nav"):
        refused = platform.client(persona).get(f"/api/v1/children/{child_id}/access-log")
        assert refused.status_code == 404, (persona, refused.text)
        assert refused.json()["code"] == "log.not_found"
    refused = platform.client("ppt").get(f"/api/v1/children/{child_id}/access-log")
    assert (refused.status_code, refused.json()["code"]) == (403, "access_log.not_allowed")

    key_of = {c["service"]: c["verifier_key"]
              for c in teacher.get("/api/v1/audit/checkpoint").json()["checkpoints"]}
    alone = tmp_path / "alone" / "verify_inclusion.py"
    alone.parent.mkdir()
    shutil.copy(VERIFIER, alone)
    for service in SERVICES:
        item = next(i for i in items if i["service"] == service)
        base = f"/api/v1/children/{child_id}/access-log/{item['ref']}"

        def sealed():
            response = guardian.get(base + "/proof")
            return response.status_code == 200 and response
        proof = wait_for(sealed, timeout=20, message=f"a proof of a {service} record").json()
        record = guardian.get(base).json()
        assert record == proof["record"] and record["id"] == item["id"]
        assert record["purpose"] == item["purpose"]
        record_file, proof_file = tmp_path / f"{service}.json", tmp_path / f"{service}.proof"
        record_file.write_text(json.dumps(record))
        proof_file.write_text(json.dumps(proof))

        ran = verify(record_file, proof_file, "--key", key_of[service])
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "Oppføringen er bekreftet." in ran.stdout
        assert f"signert av stafett.havvik.example/audit/{service}" in ran.stdout
        ran = verify(record_file, proof_file, "--key", key_of[service], isolated=alone)
        assert ran.returncode == 0, ran.stdout + ran.stderr

        # tampered: the record says someone else did it; the checkpoint's root rewritten
        forged = tmp_path / f"{service}.forged.json"
        forged.write_text(json.dumps({**record, "actor_ref": "person:someone-else"}))
        ran = verify(forged, proof_file, "--key", key_of[service], isolated=alone)
        assert ran.returncode == 1 and "FEIL oppføringen er ikke med i loggen" in ran.stdout
        lines = proof["checkpoint"].split("\n")
        lines[1] = str(int(lines[1]) + 1)
        bent = tmp_path / f"{service}.bent.proof"
        bent.write_text(json.dumps({**proof, "tree_size": int(lines[1]),
                                    "checkpoint": "\n".join(lines)}))
        ran = verify(record_file, bent, "--key", key_of[service], isolated=alone)
        assert ran.returncode == 1 and "ingen gyldig signatur" in ran.stdout, ran.stdout

    # the web client: the same list, why in bokmål, and the downloads verify too
    web = WebClient(platform.url())
    web.login("guardian")
    page = web.get(f"/logger/{log_id}/innsyn")
    assert page.status_code == 200 and "Hvorfor" in page.text
    assert "leste loggen som deltaker" in page.text and "Omar Haddad" in page.text
    ref = next(i["ref"] for i in items if i["service"] == "handover")
    downloads = {}
    for part in ("oppforing.json", "bevis.json"):
        got = web.get(f"/logger/{log_id}/innsyn/{ref}/{part}")
        assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
        downloads[part] = tmp_path / part
        downloads[part].write_bytes(got.content)
    ran = verify(downloads["oppforing.json"], downloads["bevis.json"], "--key",
                 key_of["handover"], isolated=alone)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert web.get(f"/logger/{log_id}/innsyn/{ref}/annet.json").status_code == 404

    # a record of another child, asked for under Emma's id: as if it did not exist
    foreign = guardian.get(f"/api/v1/children/{child_id}/access-log/logs:{'0' * 36}/proof")
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "access_log.record_not_found"


def test_the_school_auditor_sees_exactly_the_schools_accesses(reviewed):
    platform, log_id = reviewed
    teacher, teacher2 = platform.client("teacher"), platform.client("teacher2")
    ppt, auditor = platform.client("ppt"), platform.client("auditor")
    for _ in range(5):  # bulk: more than 3 reads within 10 minutes
        assert teacher.get(f"/api/v1/logs/{log_id}").status_code == 200
    assert teacher2.get(f"/api/v1/logs/{log_id}").status_code == 404  # denied, not a member
    assert ppt.get(f"/api/v1/logs/{log_id}").status_code == 200  # another agency's read
    child_id = teacher.get(f"/api/v1/logs/{log_id}").json()["child_id"]
    # the school's staff in the other services: consents read, a handover, the inbox
    assert teacher.get(f"/api/v1/children/{child_id}/consents").status_code == 200
    assert teacher.post("/api/v1/handovers", json={
        "log_id": log_id, "to_agency": PPT, "transition": "other"}).status_code == 201
    log = teacher.get(f"/api/v1/logs/{log_id}").json()
    lise_id = actor(platform, "teacher").person_id
    me = next(p["id"] for p in log["participants"] if p.get("person_id") == lise_id)
    assigned = ppt.post(f"/api/v1/logs/{log_id}/measures", json={
        "title": "Lesestund", "goal": "Lese mer", "responsible_id": me, "arena": "school",
        "start_date": "2026-12-01", "evaluate_by": "2027-01-15"})
    assert assigned.status_code == 201, assigned.text
    wait_for(lambda: teacher.get("/api/v1/notifications").json()["items"], timeout=20,
             message="a notification in the teacher's inbox (a measure assigned to her)")
    assert ppt.get("/api/v1/notifications").status_code == 200

    school_before, ppt_records = records_of_agency(platform, SCHOOL), records_of_agency(
        platform, PPT)
    assert ppt_records  # PPT has records: the test could see one leak
    seen = all_pages(auditor, "/api/v1/audit/access-log", limit=50)
    school_after = records_of_agency(platform, SCHOOL)
    refs = {i["ref"] for i in seen}
    # exactly the school's records of all four services, and none of PPT's; those added
    # while it read are the auditor's own ("audit", purpose "revisjon")
    assert school_before <= refs <= school_after
    assert not refs & ppt_records
    assert {i["agency"] for i in seen} == {SCHOOL}
    assert {i["service"] for i in seen} == set(SERVICES)
    for extra in refs - school_before:
        item = next(i for i in seen if i["ref"] == extra)
        assert (item["action"], item["why"]) == ("audit", "revisjon")

    lise, jon = actor(platform, "teacher"), actor(platform, "teacher2")
    reads = [i for i in seen if i["actor_ref"] == lise.ref and i["action"] == "read"
             and i["service"] == "logs"]
    assert any("bulk" in i["anomalies"] for i in reads)
    denied = [i for i in seen if i["actor_ref"] == jon.ref and i["outcome"] == "denied"]
    assert denied and all({"denied", "outside_participation"} <= set(i["anomalies"])
                          for i in denied if i["service"] == "logs")

    # filters: person, child, period, outcome
    only_jon = all_pages(auditor, f"/api/v1/audit/access-log?person={jon.person_id}")
    assert only_jon and {i["actor_ref"] for i in only_jon} == {jon.ref}
    refused = all_pages(auditor, "/api/v1/audit/access-log?outcome=denied")
    assert refused and {i["outcome"] for i in refused} == {"denied"}
    about_emma = all_pages(auditor, f"/api/v1/audit/access-log?child={child_id}")
    assert about_emma and {i["subject_id"] for i in about_emma} <= {log_id, child_id}
    future = all_pages(auditor, "/api/v1/audit/access-log?since=2100-01-01T00:00:00Z")
    assert future == []
    assert auditor.get("/api/v1/audit/access-log?outcome=maybe").status_code == 400
    assert teacher.get("/api/v1/audit/access-log").status_code == 403
    assert ppt.get("/api/v1/audit/access-log").json()["code"] == "access_log.auditor_only"

    # exports: CSV with the same records, FHIR R5 AuditEvents (IHE BALP)
    exported = auditor.get(f"/api/v1/audit/access-log/csv?person={jon.person_id}")
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["id"] for r in rows} == {i["id"] for i in only_jon}
    assert {r["agency"] for r in rows} == {SCHOOL}
    fhir = auditor.get(f"/api/v1/audit/access-log/fhir?person={jon.person_id}")
    assert fhir.headers["Content-Type"].startswith("application/fhir+json")
    from fhir.resources.bundle import Bundle

    bundle = Bundle.model_validate(fhir.json())
    events = [entry.resource for entry in bundle.entry]
    assert {e.id for e in events} == {i["id"] for i in only_jon}
    denied_read = next(e for e in events if e.outcome.code.code == "4" and e.action == "R")
    assert denied_read.get_resource_type() == "AuditEvent"
    assert denied_read.meta.profile == [
        "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Read"]
    assert (denied_read.category[0].coding[0].system, denied_read.category[0].coding[0].code) == (
        "http://terminology.hl7.org/CodeSystem/audit-event-type", "rest")
    assert (denied_read.code.coding[0].system, denied_read.code.coding[0].code) == (
        "http://hl7.org/fhir/restful-interaction", "read")
    assert denied_read.severity == "warning"
    user = next(a for a in denied_read.agent if a.requestor)
    assert (user.type.coding[0].system, user.type.coding[0].code) == (
        "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP")
    assert user.who.identifier.value == jon.ref
    assert {x.valueCode for x in denied_read.extension} >= {"denied"}
    assert denied_read.authorization[0].coding[0].code in PURPOSES
