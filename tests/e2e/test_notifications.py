"""Notifications end to end: through the gateway's HTTP API over real RabbitMQ, with a real
SMTP server and an agency's webhook receiver.

A measure added through the gateway reaches the responsible person's inbox, the SMTP
server and the responsible agency's webhook; every outgoing e-mail and webhook is scanned
for any seeded name or number and for the log's free text.
"""
from __future__ import annotations

import json
import re

import pytest

from stafett.dev.demo import AGENCIES, CHILDREN, EMMA, PERSONAS
from tests.support.platform import Platform, wait_for

PPT, SCHOOL = AGENCIES["ppt"]["org_number"], AGENCIES["school"]["org_number"]
MEASURE = {"title": "Fast plass nær døra", "goal": "Emma kommer seg lettere inn i timen"}
PURPOSE = "Samarbeid om Emmas skolehverdag"


@pytest.fixture
def stafett(container_factory, amqp_uri, database_urls, tmp_path, sink):
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        SMTP_PORT=sink.port, WEBHOOK_ALLOW_HTTP="true",
                        WEBHOOK_ALLOW_LOOPBACK="true",     # the receiver is on 127.0.0.1
                        PUBLIC_URL="https://stafett.test", DELIVERY_POLL_SECONDS=0.2)
    platform.start()
    yield platform
    platform.close()


def agency_system(platform, org_number: str):
    """An agency's own system with a machine token allowed to manage webhooks."""
    return platform.client("school-system", scope="stafett:webhooks", consumer={
        "authority": "iso6523-actorid-upis", "ID": f"0192:{org_number}"})


def seeded_secrets() -> tuple[list[str], list[str]]:
    """Every seeded name (whole and word by word) and every seeded number."""
    names = {c["name"] for c in CHILDREN} | {g["name"] for c in CHILDREN
                                             for g in c["guardians"]}
    names |= {p["name"] for p in PERSONAS.values() if "name" in p}
    names |= {a["name"] for a in AGENCIES.values()}
    words = {w for n in names for w in n.split() if len(w) > 2 and w[0].isupper()}
    words -= {"PPT", "NAV"}   # agency-type acronyms, not names (full agency names stay)
    numbers = {c["national_id"] for c in CHILDREN} | {
        g["national_id"] for c in CHILDREN for g in c["guardians"]}
    numbers |= {a["org_number"] for a in AGENCIES.values()}
    return sorted(names | words), sorted(numbers)


def leaks(text: str) -> list[str]:
    names, numbers = seeded_secrets()
    found = [n for n in names if re.search(rf"(?<![\wæøåÆØÅ]){re.escape(n)}(?![\wæøåÆØÅ])",
                                           text)]
    found += [n for n in numbers if n in text]
    found += [t for t in (*MEASURE.values(), PURPOSE) if t in text]
    return found


def decoded(message) -> str:
    """All headers and every part's decoded content of an e-mail."""
    parts = [f"{k}: {v}" for k, v in message.items()]
    for part in message.walk():
        if part.is_multipart():
            continue
        content = part.get_content()
        parts.append(content.decode("utf-8", "replace") if isinstance(content, bytes)
                     else content)
    return "\n".join(parts)


def test_a_measure_added_through_the_gateway_reaches_inbox_smtp_and_webhook(
        stafett, sink, receiver):
    stafett.seed()
    guardian, teacher, ppt = (stafett.client(p) for p in ("guardian", "teacher", "ppt"))

    # the PPT office's own system and the school's administrator register webhooks
    ppt_system = agency_system(stafett, PPT)
    created = ppt_system.post("/api/v1/webhooks", json={"url": receiver.url("/ppt")})
    assert created.status_code == 201, created.text
    assert created.json()["secret"].startswith("whsec_")
    assert created.json()["agency"] == PPT
    receiver.endpoint("/ppt", secret=created.json()["secret"])
    school = stafett.client("school-admin").post("/api/v1/webhooks",
                                                json={"url": receiver.url("/school")})
    assert school.status_code == 201, school.text
    receiver.endpoint("/school", secret=school.json()["secret"])

    # the thread: consent → log → the PPT advisor joins → a measure with PPT responsible
    emma = next(c for c in guardian.get("/api/v1/children").json()["items"]
                if c["name"] == EMMA["name"])
    granted = guardian.post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": {"agencies": [SCHOOL], "agency_types": ["ppt", "health_station"]},
        "purpose": PURPOSE})
    assert granted.status_code == 201, granted.text
    log = teacher.post("/api/v1/logs", json={"child_id": emma["id"], "level": 2}).json()
    omar = teacher.get(f"/api/v1/agencies/{PPT}/staff").json()["items"][0]
    added = teacher.post(f"/api/v1/logs/{log['id']}/participants",
                         json={"person_id": omar["id"]})
    assert added.status_code == 201, added.text
    measure = teacher.post(f"/api/v1/logs/{log['id']}/measures", json={
        **MEASURE, "responsible_id": added.json()["id"], "arena": "school",
        "start_date": "2026-11-23", "evaluate_by": "2026-12-14"})
    assert measure.status_code == 201, measure.text

    # 1. the inbox
    inbox = wait_for(lambda: ppt.get("/api/v1/notifications").json()["items"], timeout=15,
                     message="the PPT advisor's notification")
    assert [(n["kind"], n["link"], n["read"]) for n in inbox] == [
        ("measure_assigned", f"/logger/{log['id']}#tiltak-{measure.json()['id']}", False)]
    # 2. the SMTP server
    [mail] = wait_for(lambda: sink.to("ppt@havvik.example"), timeout=15,
                      message="the e-mail to the PPT advisor")
    assert mail["Subject"] == "Du har en ny oppgave i Stafett"
    plain = mail.get_body(("plain",)).get_content()  # content-free: to the inbox item
    assert "https://stafett.test/innboks/" in plain and "logger" not in plain
    # 3. the responsible agency's webhook, signed
    [hook] = wait_for(lambda: receiver.at("/ppt"), timeout=15, message="the PPT webhook")
    assert hook.verified
    body = json.loads(hook.body)
    assert (body["type"], body["kind"]) == ("log.measure_added", "measure_assigned")
    assert body["data"]["log_id"] == log["id"]
    assert body["data"]["measure_id"] == measure.json()["id"]

    # nothing sensitive left the inbox: every e-mail and every webhook, decoded
    outgoing = [decoded(m) for m in sink.messages()] + [
        "\n".join([*(f"{k}: {v}" for k, v in r.headers.items()), r.body.decode()])
        for r in receiver.received]
    assert outgoing and all(leaks(text) == [] for text in outgoing), \
        [leaks(text) for text in outgoing]
    # ... while the inbox is where the content is, behind the login: the child's first name
    # and the measure's title (as the logs service lets the recipient know), no more
    told = json.dumps(inbox, ensure_ascii=False)
    assert leaks(told) == ["Emma", MEASURE["title"]]  # no surname, no number, no goal

    # read and unread
    first = inbox[0]["id"]
    assert ppt.post(f"/api/v1/notifications/{first}/read").json()["read"] is True
    assert ppt.get("/api/v1/notifications?unread=true").json() == {
        "items": [], "next_cursor": None, "unread": 0}
    assert ppt.post(f"/api/v1/notifications/{first}/unread").json()["read"] is False
    assert ppt.get("/api/v1/notifications").json()["unread"] == 1
    assert teacher.post(f"/api/v1/notifications/{first}/read").status_code == 404


def test_preferences_use_etag_and_if_match(stafett):
    stafett.seed()
    ppt = stafett.client("ppt")
    current = ppt.get("/api/v1/me/preferences")
    assert current.status_code == 200, current.text
    assert current.json()["email"] == "ppt@havvik.example"      # the demo seed
    etag = current.headers["ETag"]
    assert etag == f'"{current.json()["version"]}"'
    wanted = {"email": "omar.ny@havvik.example", "channels": {"inbox": True, "email": True},
              "digest": {"daily": True, "hour": 8},
              "quiet_hours": {"start": "21:00", "end": "07:00"}, "time_zone": "Europe/Oslo"}

    missing = ppt.session.put(ppt.base_url + "/api/v1/me/preferences", json=wanted, timeout=30)
    assert missing.status_code == 428
    assert missing.headers["Content-Type"] == "application/problem+json"
    stale = ppt.session.put(ppt.base_url + "/api/v1/me/preferences", json=wanted,
                            headers={"If-Match": '"999"'}, timeout=30)
    assert stale.status_code == 412
    invalid = ppt.session.put(ppt.base_url + "/api/v1/me/preferences",
                              json={**wanted, "time_zone": "Mars/Olympus",
                                    "quiet_hours": {"start": "25:00", "end": "07:00"}},
                              headers={"If-Match": etag}, timeout=30)
    assert invalid.status_code == 422
    assert set(invalid.json()["errors"]) == {"time_zone", "quiet_hours"}
    saved = ppt.session.put(ppt.base_url + "/api/v1/me/preferences", json=wanted,
                            headers={"If-Match": etag}, timeout=30)
    assert saved.status_code == 200, saved.text
    assert saved.headers["ETag"] != etag
    assert {k: v for k, v in saved.json().items() if k != "version"} == wanted
    # the old ETag is now stale
    again = ppt.session.put(ppt.base_url + "/api/v1/me/preferences", json=wanted,
                            headers={"If-Match": etag}, timeout=30)
    assert again.status_code == 412
    # an agency system has no preferences: the route is closed to machine tokens
    system = agency_system(stafett, PPT).get("/api/v1/me/preferences")
    assert system.status_code == 403


def test_webhooks_belong_to_one_agency(stafett, receiver):
    stafett.seed()
    teacher, admin = stafett.client("teacher"), stafett.client("school-admin")
    no_scope = stafett.client("school-system")   # a machine token without the webhook scope
    for client in (teacher, no_scope):
        refused = client.post("/api/v1/webhooks", json={"url": receiver.url("/x")})
        assert refused.status_code == 403, refused.text
        assert client.get("/api/v1/webhooks").status_code == 403

    created = admin.post("/api/v1/webhooks", json={"url": receiver.url("/school"),
                                                   "description": "Skolens fagsystem"})
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["agency"] == SCHOOL and created.headers["Cache-Control"] == "no-store"
    listed = admin.get("/api/v1/webhooks").json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0]
    bad = admin.post("/api/v1/webhooks", json={"url": "ftp://example.org/x"})
    assert bad.status_code == 422 and "url" in bad.json()["errors"]

    # another agency neither sees nor deletes it
    ppt_system = agency_system(stafett, PPT)
    assert ppt_system.get("/api/v1/webhooks").json()["items"] == []
    assert ppt_system.session.delete(
        f"{ppt_system.base_url}/api/v1/webhooks/{hook['id']}", timeout=30).status_code == 404
    assert ppt_system.get(f"/api/v1/webhooks/{hook['id']}/deliveries").status_code == 404
    # its own agency does
    deleted = admin.session.delete(f"{admin.base_url}/api/v1/webhooks/{hook['id']}",
                                   timeout=30)
    assert deleted.status_code == 204
    assert admin.get("/api/v1/webhooks").json()["items"] == []


INWARD = [
    ("https://127.0.0.1:{port}/hooks", "127.0.0.1 is refused (loopback address)"),
    ("https://10.0.0.5/", "10.0.0.5 is refused (private address)"),
    ("https://[::1]/", "::1 is refused (loopback address)"),
    ("https://169.254.169.254/", "169.254.169.254 is refused (cloud metadata address)"),
    ("https://[fd12:3456::1]/hooks", "fd12:3456::1 is refused (unique-local address)"),
    ("https://metadata.google.internal/computeMetadata/v1/",
     "metadata.google.internal is refused (cloud metadata)"),
    ("https://localhost:{port}/hooks", None)]   # resolved by the system: 127.0.0.1 / ::1


def test_webhooks_to_inward_addresses_are_refused_over_http(platform, receiver):
    """With the webhook settings of production (the plain platform): https, no loopback."""
    """Issue 12's attack: an agency administrator registers internal targets. Each is a 422
    problem+json naming ``url``, and nothing is registered or contacted."""
    platform.seed()
    admin = platform.client("school-admin")
    for url, detail in INWARD:
        answer = admin.post("/api/v1/webhooks", json={"url": url.format(port=receiver.port)})
        assert answer.status_code == 422, (url, answer.text)
        assert answer.headers["Content-Type"] == "application/problem+json"
        problem = answer.json()
        assert set(problem["errors"]) == {"url"}, url
        [said] = problem["errors"]["url"]
        if detail is not None:
            assert said == f"{detail}; webhooks go to public internet addresses only"
        else:   # a name: the same words whether it resolves inward or not at all
            assert said.startswith("the host must resolve to public internet addresses only")
    assert admin.get("/api/v1/webhooks").json()["items"] == []
    assert receiver.received == []
