"""Service methods under nameko's ``worker_factory``: a real SQLite session, no broker.

Each test builds the service's tables (plus the kernel's outbox/inbox/access_log) in a
fresh SQLite file, passes ``db=Session(engine)`` and the actor, and mocks the RPC proxies
and the outbox.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from unittest.mock import Mock

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import stafett.audit  # noqa: F401  (registers access_log in kernel_metadata)
from services.handover import domain as handover_domain
from services.handover import events as handover_events
from services.handover.models import Base as HandoverBase
from services.handover.models import Handover
from services.handover.service import HandoverService
from services.logs import domain as logs_domain
from services.logs import events as logs_events
from services.logs.models import Base as LogsBase
from services.logs.models import (ConsentProjection, ConsentProjectionState, Log, Measure,
                                 Participant)
from services.logs.service import LogsService
from services.notifications.models import Base as NotificationsBase
from services.notifications.models import Notification
from services.notifications.service import NotificationsService
from stafett.actor import CITIZEN, STAFF, Actor
from stafett.db import make_engine
from stafett.errors import ValidationFailed
from stafett.events import Envelope, inbox_table, kernel_metadata

SCHOOL = "974760673"
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)


def engine_for(tmp_path, base, name):
    # several sessions at once: the worker's (never torn down here) and the assertions'
    engine = make_engine(f"sqlite:///{tmp_path}/{name}.db", pool_size=5)
    base.metadata.create_all(engine)
    kernel_metadata.create_all(engine)
    return engine


def count(engine, table_or_entity, *where) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(table_or_entity)
        for clause in where:
            query = query.where(clause)
        return session.scalar(query)


# --- notifications ---------------------------------------------------------------------------

@pytest.fixture
def notifications_engine(tmp_path):
    engine = engine_for(tmp_path, NotificationsBase, "notifications")
    yield engine
    engine.dispose()


def notifications(engine, actor=None):
    # the logs service tells nothing more for the inbox texts here (they name nothing)
    return worker_factory(NotificationsService, db=Session(engine), actor=actor,
                          logs=Mock(**{"notice_details.return_value": {}}))


def measure_added(responsible="person-r", log_id="log-1") -> Envelope:
    return Envelope(type="log.measure_added", source="logs", log_id=log_id, child_id="c-1",
                    data={"measure_id": "m-1", "responsible_person_id": responsible})


def test_deliver_creates_one_inbox_row_per_recipient(notifications_engine):
    event = measure_added()
    notifications(notifications_engine)._deliver(event, "on_measure_added")
    with Session(notifications_engine) as session:
        rows = session.scalars(select(Notification)).all()
        assert len(rows) == 1
        row = rows[0]
        assert (row.person_id, row.event_id, row.channel, row.kind, row.link, row.log_id) == (
            "person-r", event.event_id, "inbox", "measure_assigned", "/logger/log-1#tiltak-m-1", "log-1")
        assert row.read_at is None
    assert count(notifications_engine, inbox_table,
                 inbox_table.c.consumer == "notifications.on_measure_added",
                 inbox_table.c.event_id == event.event_id) == 1


def test_deliver_is_idempotent_for_the_same_event(notifications_engine):
    event = measure_added()
    notifications(notifications_engine)._deliver(event, "on_measure_added")
    # a redelivery of the same message, in a new worker
    notifications(notifications_engine)._deliver(Envelope.from_dict(event.to_dict()),
                                                 "on_measure_added")
    assert count(notifications_engine, Notification) == 1
    assert count(notifications_engine, inbox_table) == 1


def test_deliver_of_a_different_event_writes_again(notifications_engine):
    notifications(notifications_engine)._deliver(measure_added(), "on_measure_added")
    notifications(notifications_engine)._deliver(measure_added(), "on_measure_added")
    assert count(notifications_engine, Notification) == 2


def test_deliver_without_recipients_only_records_the_event(notifications_engine):
    event = Envelope(type="log.opened", source="logs", log_id="log-1")
    notifications(notifications_engine)._deliver(event, "on_log_opened")
    assert count(notifications_engine, Notification) == 0
    assert count(notifications_engine, inbox_table) == 1


def test_on_measure_added_entrypoint_delivers(notifications_engine):
    notifications(notifications_engine).on_measure_added(measure_added("person-x").to_dict())
    assert count(notifications_engine, Notification,
                 Notification.person_id == "person-x") == 1


def test_inbox_returns_only_the_actors_rows(notifications_engine):
    for responsible, log_id in (("person-a", "log-1"), ("person-b", "log-2"),
                                ("person-a", "log-3")):
        notifications(notifications_engine)._deliver(measure_added(responsible, log_id),
                                                     "on_measure_added")
    with Session(notifications_engine) as session:
        ids_for_a = {row.id for row in session.scalars(
            select(Notification).where(Notification.person_id == "person-a"))}
    actor = Actor(kind=CITIZEN, person_id="person-a", acr="idporten-loa-high")
    inbox = notifications(notifications_engine, actor).inbox()
    assert {item["id"] for item in inbox} == ids_for_a
    assert sorted(item["log_id"] for item in inbox) == ["log-1", "log-3"]
    assert all(item["read"] is False and item["kind"] == "measure_assigned" for item in inbox)
    assert "person_id" not in inbox[0]


def test_inbox_respects_the_limit(notifications_engine):
    for log_id in ("log-1", "log-2", "log-3"):
        notifications(notifications_engine)._deliver(measure_added("person-a", log_id),
                                                     "on_measure_added")
    actor = Actor(kind=CITIZEN, person_id="person-a")
    assert len(notifications(notifications_engine, actor).inbox(limit=2)) == 2


@pytest.mark.parametrize("actor", [None, Actor(kind=STAFF, agency=SCHOOL)])
def test_inbox_without_a_person_is_empty(notifications_engine, actor):
    notifications(notifications_engine)._deliver(measure_added(), "on_measure_added")
    assert notifications(notifications_engine, actor).inbox() == []


# --- handover --------------------------------------------------------------------------------

@pytest.fixture
def handover_engine(tmp_path):
    engine = engine_for(tmp_path, HandoverBase, "handover")
    yield engine
    engine.dispose()


def add_handover(engine, handover_id, status, log_id="log-1"):
    with Session(engine) as session:
        session.add(Handover(id=handover_id, log_id=log_id, from_agency=SCHOOL,
                             to_agency="971526920", transition="school_to_upper_secondary",
                             status=status, requested_by="person:s-1", created_at=NOW,
                             updated_at=NOW))
        session.commit()


def statuses(engine):
    with Session(engine) as session:
        return {h.id: (h.status, h.reason) for h in session.scalars(select(Handover))}


def log_closed(log_id="log-1") -> dict:
    return Envelope(type="log.closed", source="logs", log_id=log_id).to_dict()


def test_on_log_closed_cancels_open_handover_and_leaves_completed(handover_engine):
    add_handover(handover_engine, "h-waiting", handover_domain.AWAITING_ACCEPTANCE)
    add_handover(handover_engine, "h-done", handover_domain.COMPLETED)
    add_handover(handover_engine, "h-other-log", handover_domain.AWAITING_ACCEPTANCE,
                 log_id="log-2")
    service = worker_factory(HandoverService, db=Session(handover_engine),
                             actor=None, events=Mock())
    service.on_log_closed(log_closed())

    assert statuses(handover_engine) == {
        "h-waiting": ("cancelled", "Loggen ble lukket"),
        "h-done": ("completed", None),
        "h-other-log": ("awaiting_acceptance", None),
    }
    service.events.emit.assert_called_once()
    (_session, event_type), kwargs = service.events.emit.call_args
    assert event_type == handover_events.CANCELLED == "handover.cancelled"
    assert kwargs["log_id"] == "log-1"
    assert kwargs["data"] == {"handover_id": "h-waiting", "reason": "log_closed",
                              "previous_status": "awaiting_acceptance",
                              "transition": "school_to_upper_secondary",
                              "from_agency": SCHOOL, "to_agency": "971526920",
                              "to_person_id": None, "requested_by_person_id": None}


def test_on_log_closed_cancels_consent_pending_too(handover_engine):
    add_handover(handover_engine, "h-pending", handover_domain.CONSENT_PENDING)
    service = worker_factory(HandoverService, db=Session(handover_engine), events=Mock())
    service.on_log_closed(log_closed())
    assert statuses(handover_engine)["h-pending"] == ("cancelled", "Loggen ble lukket")


def test_on_log_closed_twice_cancels_once(handover_engine):
    add_handover(handover_engine, "h-waiting", handover_domain.AWAITING_ACCEPTANCE)
    payload = log_closed()
    first = worker_factory(HandoverService, db=Session(handover_engine), events=Mock())
    first.on_log_closed(payload)
    second = worker_factory(HandoverService, db=Session(handover_engine), events=Mock())
    second.on_log_closed(payload)
    assert first.events.emit.call_count == 1
    assert second.events.emit.call_count == 0


# --- logs ------------------------------------------------------------------------------------

TEACHER = Actor(kind=STAFF, person_id="s-teacher", agency=SCHOOL, agency_type="school")


@pytest.fixture
def logs_engine(tmp_path):
    engine = engine_for(tmp_path, LogsBase, "logs")
    today = date.today()
    with Session(engine) as session:
        session.add(Log(id="log-1", child_id="c-1", status=logs_domain.OPEN, level=1,
                        opened_at=NOW, version=3))
        session.flush()
        session.add_all([
            Participant(id="p-teacher", log_id="log-1", person_id="s-teacher", kind="staff",
                        role=logs_domain.STAFETTHOLDER, display_name="Lærer",
                        agency=SCHOOL, agency_type="school",
                        active_from=today - timedelta(days=30)),
            Participant(id="p-guardian", log_id="log-1", person_id="c-guardian",
                        kind="guardian", role=logs_domain.GUARDIAN, display_name="Foresatt",
                        active_from=today - timedelta(days=30)),
            ConsentProjection(consent_id="k-1", child_id="c-1", status="active",
                              coverage=[{"from": (today - timedelta(days=30)).isoformat(),
                                         "until": (today + timedelta(days=300)).isoformat(),
                                         "agencies": [SCHOOL], "agency_types": []}],
                              updated_at=NOW),
            # checked against the consent service just now, so no synchronous check is due
            ConsentProjectionState(child_id="c-1", verified_at=datetime.now(timezone.utc)),
        ])
        session.commit()
    yield engine
    engine.dispose()


def measure_payload(responsible_id):
    today = date.today()
    return {"title": "Lesetrening", "goal": "Leser 20 minutter hver dag",
            "responsible_id": responsible_id, "arena": "school",
            "start_date": today.isoformat(),
            "evaluate_by": (today + timedelta(days=42)).isoformat()}


def logs_service(engine, actor=TEACHER):
    return worker_factory(LogsService, db=Session(engine), actor=actor, events=Mock(),
                          consent=Mock(), config={"CONSENT_PROJECTION_MAX_AGE": 300},
                          started_at=datetime.now(timezone.utc) - timedelta(hours=1))


def log_version(engine) -> int:
    with Session(engine) as session:
        return session.get(Log, "log-1").version


def test_add_measure_with_a_participant_responsible_is_written(logs_engine):
    service = logs_service(logs_engine)
    view = service.add_measure("log-1", measure_payload("p-guardian"))
    assert view["responsible_id"] == "p-guardian"
    assert view["proposer_id"] == "p-teacher"
    assert view["status"] == "planned"
    assert count(logs_engine, Measure) == 1
    assert log_version(logs_engine) == 4
    service.events.emit.assert_called_once()
    assert service.events.emit.call_args.args[1] == logs_events.MEASURE_ADDED
    assert service.events.emit.call_args.kwargs["data"]["responsible_person_id"] == (
        "c-guardian")
    service.consent.coverage.assert_not_called()  # the projection answered


def test_add_measure_refuses_a_responsible_who_is_not_a_participant(logs_engine):
    service = logs_service(logs_engine)
    with pytest.raises(ValidationFailed) as caught:
        service.add_measure("log-1", measure_payload("p-stranger"))
    assert caught.value.errors == {
        "responsible_id": ["must be an active participant of the log"]}
    service.db.close()  # what the Database provider does in worker_teardown
    assert count(logs_engine, Measure) == 0
    assert log_version(logs_engine) == 3
    service.events.emit.assert_not_called()


def test_add_measure_refuses_a_person_id_as_responsible(logs_engine):
    service = logs_service(logs_engine)
    with pytest.raises(ValidationFailed):
        service.add_measure("log-1", measure_payload("s-teacher"))
    service.db.close()
    assert count(logs_engine, Measure) == 0
    assert log_version(logs_engine) == 3
