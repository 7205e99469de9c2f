"""The gateway keeps the actor a token resolved to (gateway/actor_cache.py): a second
request with the same token makes no ``resolve_actor`` RPC, and a cached actor loses its
access at once when consent is withdrawn or the population register takes a guardian's
parental responsibility away. Every replica hears the consent events through its own
broadcast queue, under the gateway's own broker user (config/broker-access.yaml)."""
from __future__ import annotations

import time

from gateway.actor_cache import ActorCache
from stafett.dev.demo import AGENCIES, EMMA
from stafett.run import service_class
from tests.support.platform import ApiClient, entrypoint_calls, free_port, wait_for

SCHOOL = AGENCIES["school"]["org_number"]
#: "at once": the owning service decides on the very next request; the deadline only
#: bounds a broken test
DEADLINE = 5




def actor_cache(platform, container=None) -> ActorCache:
    container = container or platform.containers["gateway"]
    return next(d for d in container.dependencies if isinstance(d, ActorCache))


def child_id(client, name):
    return next(c["id"] for c in client.get("/api/v1/children").json()["items"]
                if c["name"] == name)


def emma_log_with_school_consent(platform):
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    emma = child_id(guardian, EMMA["name"])
    consent = guardian.post(f"/api/v1/children/{emma}/consents", json={
        "scope": {"agencies": [SCHOOL]}, "purpose": "Samarbeid"})
    assert consent.status_code == 201, consent.text
    log = teacher.post("/api/v1/logs", json={"child_id": emma})
    assert log.status_code == 201, log.text
    return guardian, consent.json(), f"/api/v1/logs/{log.json()['id']}"


def test_a_cache_hit_makes_no_resolve_actor_call(platform):
    platform.seed()
    cache = actor_cache(platform)
    teacher = platform.client("teacher")
    before = entrypoint_calls("consent", "resolve_actor")
    assert teacher.get("/api/v1/logs").status_code == 200
    wait_for(lambda: entrypoint_calls("consent", "resolve_actor") == before + 1, timeout=DEADLINE,
             message="the first request to resolve the actor")
    hits = cache.hits
    for _ in range(10):
        assert teacher.get("/api/v1/logs").status_code == 200
    assert cache.hits == hits + 10
    # a barrier: another token resolves (the calls before it were answered before it)
    assert platform.client("nurse").get("/api/v1/logs").status_code == 200
    wait_for(lambda: entrypoint_calls("consent", "resolve_actor") >= before + 2, timeout=DEADLINE,
             message="the other token's resolution")
    assert entrypoint_calls("consent", "resolve_actor") == before + 2  # ten requests, no RPC


def test_a_cached_actor_loses_access_at_once_when_consent_is_withdrawn(
        platform, container_factory):
    platform.seed()
    # a second gateway replica: each keeps its own cache, and each must hear the event
    port = free_port()
    replica = container_factory(service_class("gateway"), {
        **platform.config("gateway"), "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"})
    replica.start()
    caches = [actor_cache(platform), actor_cache(platform, replica)]
    guardian, consent, log = emma_log_with_school_consent(platform)
    teacher = platform.client("teacher")
    token = teacher.session.headers["Authorization"].removeprefix("Bearer ")
    teacher_on_replica = ApiClient(f"http://127.0.0.1:{port}", token)
    for client, cache in zip((teacher, teacher_on_replica), caches):
        assert client.get(log).status_code == 200
        hits = cache.hits
        assert client.get(log).status_code == 200
        assert cache.hits == hits + 1  # the teacher's actor is cached in this replica

    withdrawn = guardian.post(f"/api/v1/consents/{consent['id']}/withdraw")
    assert withdrawn.status_code == 200, withdrawn.text
    for client in (teacher, teacher_on_replica):
        started = time.monotonic()
        wait_for(lambda c=client: c.get(log).status_code == 404, timeout=DEADLINE,
                 message="the cached teacher to lose the log")
        assert time.monotonic() - started < 1  # the next request, not a cache lifetime later
    # and the withdrawal reached both replicas' caches, each through its own queue
    for number, cache in enumerate(caches):
        wait_for(lambda c=cache: c.invalidations >= 1, timeout=DEADLINE,
                 message=f"consent.withdrawn to empty replica {number}'s actor cache")


def test_a_cached_guardian_loses_access_when_the_register_removes_them(
        registered_platform, register_file):
    platform = registered_platform
    platform.seed()
    cache = actor_cache(platform)
    _, _, log = emma_log_with_school_consent(platform)
    tor, teacher = platform.client("guardian2"), platform.client("teacher")
    assert tor.get(log).status_code == 200
    hits = cache.hits
    assert tor.get(log).status_code == 200
    assert cache.hits == hits + 1  # Tor's actor is cached
    invalidations = cache.invalidations

    # Folkeregisteret: Tor no longer has parental responsibility for Emma
    register_file.set_parents("emma", ["ingrid"])
    refreshed = teacher.post("/api/v1/children", json={"national_id": EMMA["national_id"]})
    assert refreshed.status_code == 201, refreshed.text
    assert [g["name"] for g in refreshed.json()["guardians"]] == ["Ingrid Solberg"]
    wait_for(lambda: cache.invalidations > invalidations, timeout=DEADLINE,
             message="consent.guardianship_changed to empty the actor cache")
    wait_for(lambda: tor.get(log).status_code == 404, timeout=DEADLINE,
             message="the removed guardian to lose the log")
