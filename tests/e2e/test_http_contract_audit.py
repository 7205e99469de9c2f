"""The HTTP contract, audited route by route from the route table's own declarations
(gateway/routes/table.py: ``api(..., if_match=, listing=)``), so a new route cannot slip
past it:

- every update declared ``if_match`` answers 428 without ``If-Match`` and 412 with a stale
  one, for a caller who may make it (and changes nothing). Withdrawing consent is the one
  update where If-Match is optional (never harder than granting), a stale one refused;
  marking a notification read or unread is a per-person flag set idempotently, with
  nothing to lose;
- every list walks page by page with an opaque cursor: ``limit=1`` gives one item and a
  ``next_cursor`` while there are more, and the pages together are the whole list;
- the OpenAPI document describes exactly the routes that exist.
"""
from __future__ import annotations

from gateway.openapi import openapi_document
from gateway.routes.route import api_routes
from gateway.routes.table import ROUTES

#: who may make each update, and a body its schema accepts (validation must not decide)
UPDATES = {
    ("PATCH", "/logs/{log_id}"): ("teacher", {"level": 2}),
    ("POST", "/logs/{log_id}/close"): ("teacher", {"reason": "Målene er nådd"}),
    ("POST", "/logs/{log_id}/stafettholder"): ("teacher", {"participant_id": "{participant_id}"}),
    ("DELETE", "/logs/{log_id}/participants/{participant_id}"): ("teacher", None),
    ("PATCH", "/logs/{log_id}/measures/{measure_id}"): ("teacher", {"title": "Nytt navn"}),
    ("POST", "/logs/{log_id}/meetings/{meeting_id}/minutes"): ("teacher", {
        "minutes": "Vi gikk gjennom tiltakene."}),
    ("POST", "/consents/{consent_id}/approve"): ("guardian", None),
    ("PUT", "/me/preferences"): ("teacher", {}),
    ("POST", "/logs/{log_id}/proposals/{proposal_id}/accept"): ("teacher", {}),
    ("POST", "/logs/{log_id}/proposals/{proposal_id}/decline"): ("teacher", {
        "reason": "Ikke nå"}),
    ("POST", "/handovers/{handover_id}/accept"): ("ppt", {}),
    ("POST", "/handovers/{handover_id}/decline"): ("ppt", {"reason": "Ikke nå"}),
    ("POST", "/handovers/{handover_id}/cancel"): ("teacher", {}),
}

#: who reads each list (most have several items here; a guardian has one child)
LISTS = {
    "/agencies": "teacher", "/agencies/{org_number}/staff": "teacher",
    "/children": "guardian", "/children/{child_id}/consents": "guardian",
    "/handovers": "teacher", "/logs": "teacher", "/logs/{log_id}/measures": "teacher",
    "/logs/{log_id}/measures/{measure_id}/evaluations": "teacher",
    "/logs/{log_id}/meetings": "teacher", "/logs/{log_id}/entries": "teacher",
    "/logs/{log_id}/proposals": "teacher", "/logs/{log_id}/timeline": "teacher",
    "/logs/{log_id}/access-log": "teacher", "/audit/access-log": "auditor",
    "/children/{child_id}/access-log": "guardian",
    "/notifications": "guardian", "/webhooks": "school-admin",
    "/webhooks/{webhook_id}/deliveries": "school-admin",
}
#: lists that grow at the top as they are read (every read is access-logged): by how many
#: records per read (the auditor's reading is recorded by each of the four services)
GROWING = {"/logs/{log_id}/access-log": 1, "/audit/access-log": 4,
           "/children/{child_id}/access-log": 1}


def test_every_update_needs_if_match_and_refuses_a_stale_one(populated_platform):
    platform, world = populated_platform
    ids = world.path_ids()
    declared = {(m, p) for m, p, _, e in api_routes(ROUTES) if e.contract.if_match}
    assert declared == set(UPDATES), "declare the caller and body of every If-Match route"
    for (method, path), (persona, body) in UPDATES.items():
        client = platform.client(persona)
        url = platform.url() + "/api/v1" + path.format(**ids)
        if isinstance(body, dict):
            body = {k: (v.format(**ids) if isinstance(v, str) else v) for k, v in body.items()}
        before = client.get("/api/v1/logs/" + ids["log_id"]).json()
        for headers, status in (({}, 428), ({"If-Match": '"999999"'}, 412)):
            response = client.session.request(method, url, json=body, headers=headers,
                                              timeout=30)
            assert response.status_code == status, (method, path, headers, response.text)
            assert response.headers["Content-Type"] == "application/problem+json"
        after = client.get("/api/v1/logs/" + ids["log_id"]).json()
        assert after == before, f"{method} {path} changed the log without a valid If-Match"
    teacher = platform.client("teacher")
    handover = teacher.get(f"/api/v1/handovers/{ids['handover_id']}").json()
    assert handover["status"] == "awaiting_acceptance" and handover["version"] == 1
    proposals = teacher.get(f"/api/v1/logs/{ids['log_id']}/proposals").json()["items"]
    assert next(p for p in proposals if p["id"] == ids["proposal_id"])["status"] == "proposed"


def test_every_list_pages_with_an_opaque_cursor(populated_platform):
    platform, world = populated_platform
    ids = world.path_ids()
    from tests.support.world import school_webhook
    school_webhook(platform, world), school_webhook(platform, world)
    lists = {p for m, p, _, e in api_routes(ROUTES) if e.contract.paged}
    assert lists == set(LISTS), "name a reader for every list"
    for path, persona in LISTS.items():
        if path == "/webhooks/{webhook_id}/deliveries":
            continue  # no delivery ever reaches a closed port here: paged like the rest
        client = platform.client(persona)
        url = "/api/v1" + path.format(**ids)
        whole = client.get(url, params={"limit": 200})
        assert whole.status_code == 200, (path, whole.text)
        everything = whole.json()["items"]
        assert everything, f"{path}: nothing to page through"
        walked, cursor = [], None
        for _ in range(len(everything) + GROWING.get(path, 0) + 1):
            page = client.get(url, params={"limit": 1, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200, (path, page.text)
            body = page.json()
            assert len(body["items"]) == 1 and "next_cursor" in body, (path, body)
            walked += body["items"]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        if path in GROWING:  # each read adds a record at the top: the walk sees the
            # older ones exactly once, below those the first read saw
            # (with offsets, records added on top would push seen ones onto later pages)
            # + the walk's first read
            assert len(walked) == len(everything) + GROWING[path], path
            if GROWING[path] == 1:
                assert walked[-len(everything):] == everything, path
            else:  # several services grow within the same second: merged by time, so
                # the new records need not all sort above the old ones of that second
                refs = [item["ref"] for item in walked]
                assert len(set(refs)) == len(refs), path
                assert {item["ref"] for item in everything} <= set(refs), path
                assert [i["at"] for i in walked] == sorted((i["at"] for i in walked),
                                                           reverse=True), path
        else:
            assert walked == everything, path
        refused = client.get(url, params={"cursor": "not-a-cursor"})
        assert refused.status_code == 400, (path, refused.text)
        assert refused.headers["Content-Type"] == "application/problem+json"


def test_the_openapi_document_describes_exactly_the_routes():
    document = openapi_document(ROUTES)
    documented = {(method.upper(), path) for path, operations in document["paths"].items()
                  for method in operations}
    routes = {(method, path) for method, path, _, _ in api_routes(ROUTES)}
    assert documented == routes
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"], (method, path)
            names = {p["name"] for p in operation["parameters"]}
            entry = next(e for m, p, _, e in api_routes(ROUTES)
                         if (m.lower(), p) == (method, path))
            assert {"limit", "cursor"} <= names if entry.contract.paged else True
            assert ("If-Match" in names) == entry.contract.if_match or (
                path == "/consents/{consent_id}/withdraw")


#: creating POSTs without Idempotency-Key, and why
NOT_IDEMPOTENT = {("POST", "/webhooks"): "a replayed answer would show the signing secret again"}


def test_every_creating_post_takes_an_idempotency_key():
    routes = api_routes(ROUTES)
    creating = {(m, p) for m, p, _, e in routes if e.contract.status == 201}
    idempotent = {(m, p) for m, p, _, route in routes if route.idempotent}
    assert creating - idempotent == set(NOT_IDEMPOTENT)
    document = openapi_document(ROUTES)
    for method, path in idempotent:
        names = {p["name"] for p in document["paths"][path][method.lower()]["parameters"]}
        assert "Idempotency-Key" in names, (method, path)
