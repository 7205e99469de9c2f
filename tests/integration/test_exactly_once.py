"""Exactly once over the real broker (issue 14): the request key travels with every RPC,
and each state-changing entrypoint records it in the transaction of its effect."""
from datetime import date, timedelta

import requests
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import create_engine, func, select, text

from stafett.actor import Actor
from stafett.dev.demo import AGENCIES, identity_of, resolve_identity
from stafett.dev.issuer import dev_issuer_url
from stafett.request_keys import REQUEST_KEY
from tests.support.platform import wait_for


def day(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


def emma_log(platform) -> dict:
    """Emma's log (consent for the school), opened by the teacher through the gateway."""
    return platform.open_emma_log({"agencies": [AGENCIES["school"]["org_number"]]})


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


# -- the gateway keeps a key after a 503, and a lease ends an attempt in progress ----------

class Gate:
    """Holds the first ``add_measure`` of the logs service before it touches the database
    (as a paused service would), until the test opens the gate."""

    def __init__(self, monkeypatch):
        import eventlet
        from services.logs.service import LogsService

        self.opened, self.held = eventlet.event.Event(), 0
        original = LogsService._in_log

        def gated(service, log_id, action, *args, **kwargs):
            if action == "add_measure" and self.held == 0:
                self.held += 1
                with eventlet.Timeout(15, False):  # never past the test's own deadline
                    self.opened.wait()
            return original(service, log_id, action, *args, **kwargs)

        monkeypatch.setattr(LogsService, "_in_log", gated)

    def open(self):
        self.opened.send(True)


class SlowGatewayPlatform:
    """The platform whose gateway gives up on an RPC after ``timeout`` seconds."""

    @staticmethod
    def make(container_factory, amqp_uri, database_urls, tmp_path, timeout: float, **extra):
        from tests.support.platform import Platform

        class Slow(Platform):
            def config(self, component):
                config = super().config(component)
                if component == "gateway":
                    config["RPC_TIMEOUT"] = timeout
                    config.update(extra)
                return config

        platform = Slow(container_factory, amqp_uri, database_urls, tmp_path)
        platform.start()
        return platform


def test_a_retry_after_a_503_is_answered_from_the_service_record(
        container_factory, amqp_uri, database_urls, tmp_path, monkeypatch):
    platform = SlowGatewayPlatform.make(container_factory, amqp_uri, database_urls, tmp_path,
                                        timeout=3)
    try:
        log = emma_log(platform)
        teacher, gate = platform.client("teacher"), Gate(monkeypatch)
        path, key = f"/api/v1/logs/{log['id']}/measures", {"Idempotency-Key": "paused-1"}
        timed_out = teacher.post(path, json=measure(holder(log)), headers=key)
        assert timed_out.status_code == 503 and timed_out.headers["Retry-After"]
        assert gate.held == 1 and rows(platform, "measures") == 0  # paused in the service
        gate.open()  # the paused service carries on, and commits after the 503
        wait_for(lambda: rows(platform, "measures") == 1, timeout=10,
                 message="the first attempt to commit")
        retried = teacher.post(path, json=measure(holder(log)), headers=key)
        assert retried.status_code == 201, retried.text
        assert rows(platform, "measures") == 1
        stored = teacher.get(path).json()["items"]
        assert [m["id"] for m in stored] == [retried.json()["id"]]
        # and from now on the gateway answers it from its own record
        again = teacher.post(path, json=measure(holder(log)), headers=key)
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == retried.json()
    finally:
        platform.close()


def test_a_key_in_progress_is_taken_over_when_its_lease_runs_out(
        container_factory, amqp_uri, database_urls, tmp_path, monkeypatch):
    import eventlet

    platform = SlowGatewayPlatform.make(container_factory, amqp_uri, database_urls, tmp_path,
                                        timeout=10, IDEMPOTENCY_LEASE_SECONDS=1)
    try:
        log = emma_log(platform)
        teacher, gate = platform.client("teacher"), Gate(monkeypatch)
        path, key = f"/api/v1/logs/{log['id']}/measures", {"Idempotency-Key": "crashed-1"}
        body = measure(holder(log))
        first = eventlet.spawn(teacher.post, path, json=body, headers=key)
        wait_for(lambda: gate.held == 1, timeout=10, message="the first attempt to arrive")
        # while the first attempt holds its lease, a retry is told it is running
        running = teacher.post(path, json=body, headers=key)
        assert running.status_code == 409, running.text
        # after the lease, a retry is carried out (as if the first gateway had died)
        taken = wait_for(lambda: (lambda r: r if r.status_code != 409 else None)(
            teacher.post(path, json=body, headers=key)), timeout=8, interval=0.2,
            message="the lease to run out")
        assert taken.status_code == 201, taken.text
        gate.open()  # the first attempt, still alive, loses to the retry and answers alike
        late = first.wait()
        assert late.status_code == 201 and late.json()["id"] == taken.json()["id"]
        assert rows(platform, "measures") == 1
    finally:
        platform.close()
