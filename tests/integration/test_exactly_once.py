"""Exactly once over the real broker (issue 14): the request key travels with every RPC,
and each state-changing entrypoint records it in the transaction of its effect."""
from datetime import date, timedelta

import requests
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import create_engine, func, select, text

from stafett.actor import Actor
from stafett.demo import AGENCIES, EMMA, identity_of, resolve_identity
from stafett.devissuer import dev_issuer_url
from stafett.request_keys import REQUEST_KEY
from tests.support.platform import wait_for


def day(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


def emma_log(platform) -> dict:
    """Emma's log (consent for the school), opened by the teacher through the gateway."""
    platform.seed()
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    emma = next(c["id"] for c in guardian.get("/api/v1/children").json()["items"]
                if c["name"] == EMMA["name"])
    assert guardian.post(f"/api/v1/children/{emma}/consents", json={
        "scope": {"agencies": [AGENCIES["school"]["org_number"]]},
        "purpose": "Samarbeid"}).status_code == 201
    log = teacher.post("/api/v1/logs", json={"child_id": emma, "level": 1})
    assert log.status_code == 201, log.text
    return log.json()


def holder(log: dict) -> str:
    return next(p["id"] for p in log["participants"] if p["role"] == "stafettholder")


def measure(responsible: str, title: str = "Fast plass nær døra") -> dict:
    return {"title": title, "goal": "Lettere å komme inn i timen",
            "responsible_id": responsible, "arena": "school", "start_date": day(0),
            "evaluate_by": day(21)}


def teacher_actor(platform) -> Actor:
    with platform.rpc() as rpc:
        return Actor.from_context(resolve_identity(rpc, identity_of("teacher", dev_issuer_url)))


def rows(platform, table: str, where: str = "") -> int:
    engine = create_engine(platform.database_urls["logs"])
    try:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT count(*) FROM {table} {where}")).scalar()
    finally:
        engine.dispose()


def keyed_rpc(platform, actor: Actor, key: str):
    return ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, timeout=15, context_data={
        "actor": actor.to_context(), REQUEST_KEY: key})


def test_the_same_rpc_delivered_twice_creates_one_measure(platform):
    log = emma_log(platform)
    actor = teacher_actor(platform)
    body = measure(holder(log))
    with keyed_rpc(platform, actor, "redelivered-1") as rpc:
        first = rpc.logs.add_measure(log["id"], body)
        again = rpc.logs.add_measure(log["id"], body)
    assert again == first
    assert rows(platform, "measures") == 1
    # one outbox event, one access record for the change: the second delivery did nothing
    assert rows(platform, "outbox", "WHERE type = 'log.measure_added'") == 1
    assert rows(platform, "access_log", "WHERE action = 'add_measure'") == 1
    # another request (another key) is another measure
    with keyed_rpc(platform, actor, "redelivered-2") as rpc:
        other = rpc.logs.add_measure(log["id"], body)
    assert other["id"] != first["id"] and rows(platform, "measures") == 2


def test_two_deliveries_at_once_create_one_entry(platform):
    log = emma_log(platform)
    actor = teacher_actor(platform)
    body = {"kind": "note", "visibility": "all", "text": "Samtale med Emma"}
    before = rows(platform, "entries")
    with keyed_rpc(platform, actor, "twins-1") as rpc:
        replies = [rpc.logs.add_entry.call_async(log["id"], body) for _ in range(4)]
        answers = [reply.result() for reply in replies]
    assert all(answer == answers[0] for answer in answers)
    assert rows(platform, "entries") == before + 1
