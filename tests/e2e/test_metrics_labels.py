"""After the end-to-end thread, every component's /metrics answers the operators' questions
and names nobody: no label value holds a person's, child's or guardian's name, a national
identity number, a token subject, an id (persons, children, logs and everything else are
uuids) or an organisation number (allowed only as ``agency`` on a per-agency gateway, which
this platform's shared gateway is not)."""
from __future__ import annotations

import re

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from stafett.dev.demo import AGENCIES, CHILDREN, EMMA, PERSONAS
from tests.support.platform import COMPONENTS, Platform, wait_for

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def scrape(platform, component: str) -> list:
    response = requests.get(platform.url(component) + "/metrics", timeout=30)
    assert response.status_code == 200, response.text
    return list(text_string_to_metric_families(response.text))


def samples(families, name: str) -> list:
    return [s for f in families for s in f.samples if s.name == name]


def forbidden_values() -> dict[str, str]:
    """What no label may hold, and why."""
    forbidden = {}
    for child in CHILDREN:
        for person in [child, *child["guardians"]]:
            forbidden[person["national_id"]] = "a national identity number"
            forbidden[person["name"]] = "a person's name"
            for part in person["name"].split():
                if len(part) > 3:
                    forbidden[part] = "part of a person's name"
    for persona in PERSONAS.values():
        if persona.get("name"):
            forbidden[persona["name"]] = "a person's name"
        forbidden[persona["sub"]] = "a token subject"
        if persona.get("pid"):
            forbidden[persona["pid"]] = "a national identity number"
    for agency in AGENCIES.values():
        forbidden[agency["org_number"]] = "an organisation number"
        forbidden[agency["name"]] = "an agency's name"
    return forbidden


def series(families) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in families for s in family.samples}


@pytest.fixture
def platform(container_factory, amqp_uri, database_urls, tmp_path):
    # business gauges computed at every scrape here (30 s apart at most by default); the
    # school's webhook receiver is on loopback
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        METRICS_REFRESH_SECONDS=0, WEBHOOK_ALLOW_HTTP="true",
                        WEBHOOK_ALLOW_LOOPBACK="true", DELIVERY_POLL_SECONDS=0.2)
    platform.start()
    yield platform
    platform.close()


def test_metrics_after_the_thread_answer_questions_and_name_nobody(platform, receiver):
    # one registry per test process: what other tests left there is not this platform's
    before = series(scrape(platform, "gateway"))
    platform.seed()
    # the PPT office's own system registers a webhook (it hears of the measure it is given)
    ppt_system = platform.client("school-system", scope="stafett:webhooks", consumer={
        "authority": "iso6523-actorid-upis", "ID": f"0192:{AGENCIES['ppt']['org_number']}"})
    hook = ppt_system.post("/api/v1/webhooks", json={"url": receiver.url("/ppt")})
    assert hook.status_code == 201, hook.text
    receiver.endpoint("/ppt", secret=hook.json()["secret"])
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    ppt = platform.client("ppt")
    emma = next(c for c in guardian.get("/api/v1/children").json()["items"]
                if c["name"] == EMMA["name"])
    granted = guardian.post(f"/api/v1/children/{emma['id']}/consents", json={
        "scope": {"agencies": [AGENCIES["school"]["org_number"]],
                  "agency_types": ["ppt"]}, "purpose": "Samarbeid om skolehverdagen"})
    assert granted.status_code == 201, granted.text
    opened = teacher.post("/api/v1/logs", json={"child_id": emma["id"], "level": 2})
    assert opened.status_code == 201, opened.text
    log = opened.json()
    omar = teacher.get(f"/api/v1/agencies/{AGENCIES['ppt']['org_number']}/staff").json()
    added = teacher.post(f"/api/v1/logs/{log['id']}/participants",
                         json={"person_id": omar["items"][0]["id"]})
    assert added.status_code == 201, added.text
    measure = teacher.post(f"/api/v1/logs/{log['id']}/measures", json={
        "title": "Fast plass nær døra", "goal": "Emma kommer lettere inn i timen",
        "responsible_id": added.json()["id"], "arena": "school",
        "start_date": "2026-01-05", "evaluate_by": "2026-01-19"})
    assert measure.status_code == 201, measure.text
    wait_for(lambda: ppt.get("/api/v1/notifications").json()["items"], timeout=15,
             message="the PPT advisor's notification")
    wait_for(lambda: receiver.at("/ppt"), timeout=15, message="the PPT office's webhook")
    assert ppt.get(f"/api/v1/logs/{log['id']}").status_code == 200
    # a missing log, a refused token, and the log under a foreign path: 404s and a 401
    assert teacher.get(f"/api/v1/logs/{UUID.sub('0', log['id'])}").status_code in (400, 404)
    assert platform.client().get("/api/v1/me").status_code == 401
    forged = requests.get(platform.url() + "/api/v1/me", timeout=30,
                          headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401

    scraped = {component: scrape(platform, component) for component in COMPONENTS}
    forbidden = forbidden_values()
    changed = 0
    for component, families in scraped.items():
        for family in families:
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if before.get(key) == sample.value:
                    continue  # not written during this test
                changed += 1
                for label, value in sample.labels.items():
                    assert not UUID.search(value), (component, sample.name, label, value)
                    for word, why in forbidden.items():
                        assert word not in value, (component, sample.name, label, why)
                    if label == "agency":
                        assert value == "", (sample.name, "org number on a shared gateway")
    assert changed > 100  # the thread wrote a good many series

    gateway = scraped["gateway"]
    answered = {(s.labels["route"], s.labels["method"], s.labels["code"],
                 s.labels["agency_type"]) for s in samples(gateway, "stafett_http_requests_total")}
    # the caller's kind is there, never who: the school, PPT, a citizen, and no one (401)
    assert ("/api/v1/logs", "POST", "201", "school") in answered
    assert ("/api/v1/logs/<log_id>", "GET", "200", "ppt") in answered
    assert ("/api/v1/children/<child_id>/consents", "POST", "201", "citizen") in answered
    assert ("/api/v1/me", "GET", "401", "none") in answered
    assert not [a for a in answered if a[0] in ("/healthz", "/readyz", "/metrics")]
    refused = {s.labels["reason"]: s.value for s in samples(gateway,
                                                             "stafett_auth_rejections_total")}
    assert refused.get("malformed_token", 0) >= 1

    # the business gauges, computed by the owning services when scraped
    logs = scraped["logs"]
    open_logs = {s.labels["level"]: s.value for s in samples(logs, "stafett_logs_open")}
    assert open_logs["2"] >= 1
    assert {s.labels["colour"] for s in samples(logs, "stafett_evaluations_recent")} == {
        "green", "yellow", "red"}
    assert samples(logs, "stafett_measures_past_evaluate_by")
    assert samples(scraped["consent"], "stafett_consents_expiring_soon")
    assert {s.labels["state"] for s in samples(scraped["handover"],
                                                "stafett_handovers_waiting")} >= {
        "consent_pending", "awaiting_acceptance", "accepted"}
    assert samples(scraped["notifications"], "stafett_notifications_deliveries_in_state")
    # webhook deliveries by the receiving agency's type, never its number
    wait_for(lambda: ("webhook", "delivered", "ppt") in {
        (s.labels["channel"], s.labels["outcome"], s.labels["agency_type"])
        for s in samples(scrape(platform, "notifications"),
                         "stafett_notifications_deliveries_total")},
        timeout=10, message="the delivery counted with its agency type")

    # heartbeats of the timers and loops, event lag per consumer, database latency
    beats = {(s.labels["service"], s.labels["timer"])
             for s in samples(logs, "stafett_timer_last_success_timestamp_seconds")}
    assert {("consent", "check_expiry"), ("notifications", "reminder_tick"),
            ("handover", "housekeeping"), ("logs", "outbox_relay"),
            ("notifications", "delivery_worker")} <= beats
    lagged = {(s.labels["service"], s.labels["handler"]): s.value
              for s in samples(logs, "stafett_event_lag_seconds_count")}
    assert lagged.get(("notifications", "on_log_event"), 0) >= 1
    queried = {s.labels["service"] for s in samples(logs, "stafett_db_query_duration_seconds_count")
               if s.value > 0}
    assert queried >= {"consent", "logs", "handover", "notifications"}
