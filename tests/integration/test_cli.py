"""The operator's command ``stafett`` against the real broker (and, for deliveries, a real
notifications service): JSON out, shows without consuming, replays with a dry run and
filters, and answers a missing queue or a wrong password with a clear error, never a
traceback (those two in a process of its own, as an operator runs it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from kombu import Connection, Queue

from stafett import cli
from stafett.events import ATTEMPT_HEADER, ERROR_HEADER, Envelope

ROOT = Path(__file__).resolve().parents[2]
WORK = "evt-logs-log.*--notifications.on_log_event"
DLQ = WORK + ".dlq"


def stafett(capsys, *argv) -> tuple[int, object, object]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, json.loads(err) if err.strip() else None


def run_process(*argv, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stafett.cli", *argv], capture_output=True,
                          text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def park(amqp_uri: str, events: list[tuple[str, int]]) -> list[str]:
    """Declare the work queue and its dead-letter queue; park one event per (type, age in
    seconds) as the consumer would have after its last attempt."""
    ids = []
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        for name in (WORK, DLQ):
            Queue(name, durable=True)(channel).declare()
        producer = connection.Producer(channel)
        for type_, seconds in events:
            occurred = (datetime.now(timezone.utc) - timedelta(seconds=seconds)).isoformat()
            envelope = Envelope(type=type_, source="logs", occurred_at=occurred,
                                log_id=str(uuid.uuid4()))
            producer.publish(envelope.to_dict(), exchange="", routing_key=DLQ,
                             serializer="json", delivery_mode=2,
                             headers={ATTEMPT_HEADER: 5, ERROR_HEADER: "KeyError: 'x'"})
            ids.append(envelope.event_id)
    return ids


def depth(amqp_uri: str, queue: str) -> int:
    with Connection(amqp_uri) as connection:
        return connection.channel().queue_declare(queue, passive=True)[1]


def test_the_command_is_installed_as_a_console_script():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["stafett"] == "stafett.cli:main"


def test_dead_letters_listed_shown_in_place_and_replayed_with_filters(amqp_uri, capsys):
    old_log, new_log, old_consent = park(amqp_uri, [("log.opened", 7200),
                                                    ("log.entry_added", 60),
                                                    ("consent.granted", 7200)])

    code, listed, _ = stafett(capsys, "--amqp-uri", amqp_uri, "dlq", "list")
    assert code == 0
    assert listed == [{"queue": DLQ, "vhost": urlsplit(amqp_uri).path[1:], "messages": 3,
                       "work_queue": WORK}]

    code, shown, _ = stafett(capsys, "--amqp-uri", amqp_uri, "dlq", "show", DLQ)
    assert code == 0
    assert [e["event_id"] for e in shown] == [old_log, new_log, old_consent]
    assert shown[0]["type"] == "log.opened" and shown[0]["attempts"] == 5
    assert shown[0]["error"] == "KeyError: 'x'" and shown[0]["age_seconds"] >= 7200
    assert depth(amqp_uri, DLQ) == 3  # shown, not taken
    code, shown, _ = stafett(capsys, "--amqp-uri", amqp_uri, "dlq", "show", DLQ,
                             "--type", "log.*", "--older-than", "1h")
    assert [e["event_id"] for e in shown] == [old_log]

    # a dry run says what would move and moves nothing
    code, planned, _ = stafett(capsys, "--amqp-uri", amqp_uri, "dlq", "replay", DLQ,
                               "--type", "log.*", "--dry-run")
    assert code == 0 and planned["dry_run"] is True
    assert [e["event_id"] for e in planned["events"]] == [old_log, new_log]
    assert planned["replayed"] == 0 and depth(amqp_uri, DLQ) == 3
    assert depth(amqp_uri, WORK) == 0

    # replay the old log event only: it is in the work queue with fresh attempts
    code, replayed, _ = stafett(capsys, "--amqp-uri", amqp_uri, "dlq", "replay", DLQ,
                                "--type", "log.*", "--older-than", "1h")
    assert code == 0
    assert replayed["replayed"] == 1 and [e["event_id"] for e in replayed["events"]] == [old_log]
    assert replayed["left_in_queue"] == 2 and replayed["skipped_by_filter"] == 2
    assert depth(amqp_uri, DLQ) == 2 and depth(amqp_uri, WORK) == 1
    with Connection(amqp_uri) as connection:
        message = Queue(WORK, no_declare=True)(connection.channel()).get(no_ack=True)
        assert message.payload["event_id"] == old_log
        assert ATTEMPT_HEADER not in message.headers and ERROR_HEADER not in message.headers

    # the rest, then nothing is left
    code, replayed, _ = stafett(capsys, "--amqp-uri", amqp_uri, "dlq", "replay", DLQ)
    assert code == 0 and replayed["replayed"] == 2
    assert depth(amqp_uri, DLQ) == 0 and depth(amqp_uri, WORK) == 2


def test_a_missing_queue_is_a_clear_error_without_a_traceback(amqp_uri):
    park(amqp_uri, [])
    for action in ("show", "replay"):
        result = run_process("--amqp-uri", amqp_uri, "dlq", action, "evt-nothing.dlq")
        assert result.returncode == 1, result
        assert "Traceback" not in result.stderr and result.stdout == ""
        error = json.loads(result.stderr)
        assert error["error"] == "no_such_queue"
        assert "evt-nothing.dlq" in error["detail"]
    result = run_process("--amqp-uri", amqp_uri, "dlq", "replay", WORK)
    assert json.loads(result.stderr)["error"] == "not_a_dead_letter_queue"


@pytest.mark.parametrize("action", [("dlq", "list"), ("dlq", "show", DLQ),
                                    ("dlq", "replay", DLQ, "--dry-run")])
def test_a_wrong_password_is_a_clear_error_without_a_traceback(amqp_uri, action):
    parts = urlsplit(amqp_uri)
    wrong = urlunsplit((parts.scheme, f"{parts.username}:not-the-password@{parts.hostname}:"
                        f"{parts.port}", parts.path, "", ""))
    result = run_process("--amqp-uri", wrong, *action)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr and result.stdout == ""
    error = json.loads(result.stderr)
    assert error["error"] == "access_refused"
    assert "wrong user or password" in error["detail"]
    assert "not-the-password" not in result.stderr


def test_deliveries_listed_and_a_dead_one_retried(container_factory, amqp_uri, database_urls,
                                                  tmp_path, capsys):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from services.notifications.models import Delivery
    from tests.support.platform import Platform

    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start(["notifications"])
    try:
        now = datetime.now(timezone.utc)
        dead, delivered = str(uuid.uuid4()), str(uuid.uuid4())
        engine = create_engine(database_urls["notifications"])
        with Session(engine) as session:
            for row_id, status in ((dead, "failed-permanent"), (delivered, "delivered")):
                session.add(Delivery(id=row_id, event_id=str(uuid.uuid4()),
                                     event_type="log.opened", kind="log_opened",
                                     channel="webhook", recipient=str(uuid.uuid4()),
                                     webhook_id=str(uuid.uuid4()), agency="974760673",
                                     context={}, status=status, attempts=8,
                                     last_error="timeout" if status != "delivered" else None,
                                     created_at=now, updated_at=now))
            session.commit()
        engine.dispose()

        code, listed, _ = stafett(capsys, "--amqp-uri", amqp_uri, "deliveries", "list",
                                  "--status", "failed-permanent")
        assert code == 0 and [d["id"] for d in listed] == [dead]
        assert listed[0]["last_error"] == "timeout"

        code, planned, _ = stafett(capsys, "--amqp-uri", amqp_uri, "deliveries", "retry",
                                   dead, "--dry-run")
        assert code == 0 and planned["would_retry"]["id"] == dead
        code, listed, _ = stafett(capsys, "--amqp-uri", amqp_uri, "deliveries", "list",
                                  "--status", "failed-permanent")
        assert [d["id"] for d in listed] == [dead]  # the dry run changed nothing

        code, retried, _ = stafett(capsys, "--amqp-uri", amqp_uri, "deliveries", "retry", dead)
        assert code == 0 and retried["id"] == dead and retried["status"] == "queued"

        for dry_run in ((), ("--dry-run",)):
            code, _, error = stafett(capsys, "--amqp-uri", amqp_uri, "deliveries", "retry",
                                     delivered, *dry_run)
            assert code == 1
            assert error == {"error": "conflict", "detail": "the delivery is delivered"}
        code, _, error = stafett(capsys, "--amqp-uri", amqp_uri, "deliveries", "retry",
                                 str(uuid.uuid4()))
        assert code == 1 and error == {"error": "not_found", "detail": "no such delivery"}
    finally:
        platform.close()


def test_keys_rotated_while_the_consent_service_runs(container_factory, amqp_uri,
                                                     database_urls, tmp_path, capsys,
                                                     monkeypatch):
    """`stafett keys rotate --batch-size 2` against a running consent service: between
    every two batches each citizen still logs in (resolve_citizen, the blind index of
    every active key); at the end every row is under the new key and the old one is
    retired (tests/unit/consent/test_key_rotation.py covers the steps on both databases)."""
    from random import Random
    from types import SimpleNamespace

    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from services.consent.identity_numbers import generate_synthetic
    from services.consent.models import Person
    from services.consent.protection import NumberProtector
    from tests.support.platform import Platform

    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start(["consent"])
    engine = create_engine(database_urls["consent"])
    try:
        numbers = NumberProtector.from_config(platform.config("consent"))
        rng = Random(17)
        citizens = {}
        with Session(engine) as session:
            for n in range(5):
                number = generate_synthetic(datetime(2012, 1 + n, 3).date(), rng)
                person = Person(id=str(uuid.uuid4()), kind="child", name=f"Barn {n}",
                                created_at=datetime.now(timezone.utc),
                                registered_at=datetime.now(timezone.utc))
                person.nin_key_id, person.nin_ciphertext, person.nin_index = \
                    numbers.protect(number, person.id)
                session.add(person)
                citizens[number] = person.id
            session.commit()

        def logged_in():
            with platform.rpc() as rpc:
                return {number: rpc.consent.resolve_citizen(
                    "login", {"national_id": number})["person_id"] for number in citizens}

        between = []
        monkeypatch.setattr(cli, "eventlet", SimpleNamespace(
            sleep=lambda seconds: between.append(logged_in())))
        assert logged_in() == citizens
        code, status, _ = stafett(capsys, "--amqp-uri", amqp_uri, "keys", "status")
        assert code == 0 and status == {"current": "1", "active": ["1"], "retired": [],
                                        "remaining": 0}
        code, done, error = stafett(capsys, "--amqp-uri", amqp_uri, "keys", "rotate",
                                    "--batch-size", "2", "--pause", "0.01")
        assert code == 0, error
        assert (done["started"], done["previous"], done["current"]) == (True, ["1"], "2")
        assert (done["batches"], done["resealed"], done["remaining"]) == (3, 5, 0)
        assert (done["active"], done["retired"], done["retired_now"]) == (["2"], ["1"], ["1"])
        assert between == [citizens, citizens]  # after the 1st and 2nd of three batches
        assert logged_in() == citizens
        with Session(engine) as session:
            assert set(session.scalars(select(Person.nin_key_id))) == {"2"}
    finally:
        engine.dispose()
        platform.close()


def test_keys_rotate_is_for_the_platform_only(container_factory, amqp_uri, database_urls,
                                              tmp_path):
    from stafett.actor import Actor
    from stafett.errors import Forbidden
    from tests.support.platform import Platform

    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start(["consent"])
    try:
        staff = Actor(kind="staff", person_id="s-1", agency="974760673")
        with platform.rpc(actor=staff) as rpc, \
                pytest.raises(Forbidden, match="key rotation is for operations"):
            rpc.consent.rotate_number_keys("begin")
        keyring = json.loads((tmp_path / "var" / "secrets" / "nin-keys.json").read_text())
        assert list(keyring["keys"]) == ["1"]  # no key was added
    finally:
        platform.close()
