"""Issue 19, point 3: ``get_log`` reads the log once, one query per kind of row, however
many meetings, measures, evaluations, invites, entries and proposals the log holds, and
what it returns encoded for the gateway is the same view, as JSON text made once.

A real SQLite session under nameko's ``worker_factory``; every SQL statement the service
sends is counted (SQLAlchemy's ``before_cursor_execute``)."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from unittest.mock import Mock

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import event
from sqlalchemy.orm import Session

from services.logs import domain
from services.logs.models import (ConsentProjection, ConsentProjectionState, Entry,
                                  Evaluation, Measure, Meeting, MeetingInvite,
                                  Participant, Proposal)
from services.logs.service import LogsService
from stafett.actor import STAFF, Actor
from stafett.web import JSON_BODY, preencoded
from tests.support.logs_db import logs_engine

SCHOOL = "974760673"
NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)
TEACHER = Actor(kind=STAFF, person_id="s-teacher", agency=SCHOOL, agency_type="school")
PEOPLE = [("p-teacher", "s-teacher", "staff", domain.STAFETTHOLDER, SCHOOL),
          ("p-nurse", "s-nurse", "staff", domain.MEMBER, SCHOOL),
          ("p-guardian", "g-1", "guardian", domain.GUARDIAN, None),
          ("p-child", "c-1", "child", domain.CHILD, None)]


@pytest.fixture
def engine(tmp_path):
    engine = logs_engine(tmp_path, NOW)
    with Session(engine) as session:
        for pid, person, kind, role, agency in PEOPLE:
            session.add(Participant(id=pid, log_id="log-1", person_id=person, kind=kind,
                                    role=role, display_name=pid, agency=agency,
                                    agency_type="school" if agency else None,
                                    active_from=date(2026, 1, 1), added_at=NOW))
        session.add(ConsentProjection(  # the consent service's decision, as it sends it
            child_id="c-1", consent_id="k-1", status="active", updated_at=NOW,
            coverage=[{"from": "2026-01-01", "until": "2026-12-31", "agencies": [SCHOOL],
                       "agency_types": []}]))
        session.add(ConsentProjectionState(child_id="c-1",
                                           verified_at=datetime.now(timezone.utc)))
        session.commit()
    yield engine
    engine.dispose()


def grow(engine, start: int, count: int) -> None:
    """``count`` more of every kind: meetings with every participant invited, measures with
    four evaluations each, entries (some staff-only) and proposals."""
    with Session(engine) as session:
        for n in range(start, start + count):
            at = NOW + timedelta(hours=n)
            session.add(Meeting(id=f"mt-{n}", log_id="log-1", starts_at=at, mode="video",
                                agenda="", created_by="p-teacher", created_at=at))
            session.add(Measure(id=f"ms-{n}", log_id="log-1", title=f"Tiltak {n}", goal="Mål",
                                responsible_id="p-nurse", proposer_id="p-teacher",
                                arena="school", start_date=date(2026, 1, 1),
                                evaluate_by=date(2026, 2, 1), status="active", created_at=at))
            session.add(Entry(id=f"en-{n}", log_id="log-1", kind="note", text=f"Notat {n}",
                              visibility="staff" if n % 2 else "all", author_id="p-teacher",
                              created_at=at))
            session.add(Proposal(id=f"pr-{n}", log_id="log-1", proposer_id="p-guardian",
                                 title=f"Forslag {n}", arena="home", status="proposed",
                                 created_at=at))
            session.flush()
            for pid, *_ in PEOPLE:
                session.add(MeetingInvite(meeting_id=f"mt-{n}", participant_id=pid,
                                          attended=True))
            for e in range(4):
                session.add(Evaluation(id=f"ev-{n}-{e}", measure_id=f"ms-{n}", outcome="green",
                                       evaluator_id="p-nurse", evaluated_on=date(2026, 1, 2 + e),
                                       created_at=at + timedelta(minutes=e)))
        session.commit()


@pytest.fixture
def get_log(engine):
    sessions = []

    def call(**kwargs):
        session = Session(engine, expire_on_commit=False)
        sessions.append(session)
        statements = []

        def count(_connection, _cursor, statement, *_):
            statements.append(statement)
        event.listen(engine, "before_cursor_execute", count)
        try:
            service = worker_factory(LogsService, db=session, actor=TEACHER, consent=Mock(),
                                     events=Mock(), started_at=NOW, config={})
            result = service.get_log("log-1", **kwargs)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return result, statements
    yield call
    for session in sessions:
        session.close()


def reads(statements) -> list[str]:
    """The statements that read the log (not the access record's insert)."""
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_get_log_sends_as_many_queries_for_a_long_log_as_for_a_short_one(engine, get_log):
    grow(engine, 0, 2)
    small_view, small = get_log()
    grow(engine, 2, 38)   # 40 meetings (20 shown), 40 measures, 160 evaluations, ...
    large_view, large = get_log()
    assert len(small_view["meetings"]) == 2 and len(large_view["meetings"]) == 20
    assert all(m["invited"] for m in large_view["meetings"])
    assert len(large_view["measures"]) == 20
    assert all(len(m["evaluations"]) == 3 for m in large_view["measures"])
    assert len(large) == len(small), "\n".join(large)


def test_get_log_reads_participants_and_the_consent_projection_once(engine, get_log):
    grow(engine, 0, 3)
    _, statements = get_log()
    selected = reads(statements)
    for table in ("participants", "consent_projection", "logs"):
        from_table = [s for s in selected
                      if f"FROM {table} " in s.replace("\n", " ") + " "
                      and "count(" not in s]
        assert len(from_table) == 1, (table, from_table)
    invites = [s for s in selected if "FROM meeting_invites" in s]
    assert len(invites) == 1, invites


def test_the_encoded_view_is_the_view_as_json_text_with_its_version_beside_it(engine, get_log):
    grow(engine, 0, 3)
    view, _ = get_log()
    sent, _ = get_log(encoded=True)
    assert set(sent) == {JSON_BODY, "version"} and sent["version"] == view["version"]
    assert isinstance(sent[JSON_BODY], str)
    assert json.loads(sent[JSON_BODY]) == json.loads(json.dumps(view))
    assert preencoded(view, "version") == sent
