"""The logs service records a stafettholder's lapse (issue 13, point 7): its timer on the
boundary dates of the holder's participation, and its consent handler when consent stops
covering the holder's agency. A real SQLite session under nameko's ``worker_factory``; the
consent service and the outbox are mocks."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from unittest.mock import Mock

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy.orm import Session

from services.consent.events import consent_data
from services.logs import domain, events
from services.logs import store as logs_store
from services.logs.models import ConsentProjection, ConsentProjectionState, Log, Participant
from services.logs.service import LogsService
from stafett.actor import STAFF, Actor
from stafett.errors import Forbidden, ValidationFailed
from stafett.events import Envelope
from tests.support.logs_db import logs_engine

LAST_DAY = date(2026, 3, 10)            # the holder's participation ends on this day
SCHOOL, PPT = "974760673", "971526920"
NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)


def covering(*agencies, consent_id="k-1", status="active"):
    """A consent as the consent service sends it, with its decision (``coverage``)."""
    return consent_data(SimpleNamespace(
        id=consent_id, status=status, method="digital", scope_agencies=list(agencies),
        scope_agency_types=[], valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31)))


@pytest.fixture
def engine(tmp_path):
    engine = logs_engine(tmp_path, NOW)
    with Session(engine) as session:
        people = [("p-holder", "s-holder", "staff", domain.STAFETTHOLDER, SCHOOL, LAST_DAY),
                  ("p-advisor", "s-advisor", "staff", domain.MEMBER, PPT, None),
                  ("p-ended", "s-ended", "staff", domain.MEMBER, PPT, date(2026, 2, 1)),
                  ("p-guardian", "g-1", "guardian", domain.GUARDIAN, None, None),
                  ("p-child", "c-1", "child", domain.CHILD, None, None)]
        for pid, person, kind, role, agency, until in people:
            session.add(Participant(id=pid, log_id="log-1", person_id=person, kind=kind,
                                    role=role, display_name=pid, agency=agency,
                                    agency_type="school" if agency == SCHOOL else "ppt",
                                    active_from=date(2026, 1, 1), active_until=until))
        decision = covering(SCHOOL, PPT)
        session.add(ConsentProjection(child_id="c-1", updated_at=NOW, status="active",
                                      consent_id=decision["consent_id"],
                                      coverage=decision["coverage"]))
        session.add(ConsentProjectionState(child_id="c-1", verified_at=datetime.now(timezone.utc)))
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def on_day(monkeypatch):
    def set_today(day: date):
        class Today(date):
            @classmethod
            def today(cls):
                return day
        monkeypatch.setattr(logs_store, "date", Today)
    return set_today


@pytest.fixture
def consent():
    consent = Mock()
    consent.coverage.return_value = [covering(SCHOOL, PPT)]
    return consent


@pytest.fixture
def worker(engine, consent):
    sessions = []

    def make(actor=None):
        session = Session(engine, expire_on_commit=False)
        sessions.append(session)
        return worker_factory(LogsService, db=session, actor=actor, consent=consent,
                              events=Mock(), started_at=NOW, config={})
    yield make
    for session in sessions:
        session.close()


def lapses(worker) -> list[dict]:
    return [call.kwargs["data"] for call in worker.events.emit.call_args_list
            if call.args[1] == events.STAFETTHOLDER_LAPSED]


def roles(engine) -> dict:
    with Session(engine) as session:
        return {p.id: p.role for p in session.query(Participant)}


@pytest.mark.parametrize("today", [LAST_DAY - timedelta(days=1), LAST_DAY])
def test_the_holder_does_not_lapse_until_the_day_after_the_last_day(worker, engine, on_day,
                                                                    today):
    on_day(today)
    timer = worker()
    assert timer.check_stafettholders() == {"lapsed": 0}
    assert lapses(timer) == [] and roles(engine)["p-holder"] == domain.STAFETTHOLDER


def test_the_day_after_the_last_day_the_holder_lapses_once_and_those_left_are_told(
        worker, engine, on_day):
    on_day(LAST_DAY + timedelta(days=1))
    timer = worker()
    assert timer.check_stafettholders() == {"lapsed": 1}
    assert lapses(timer) == [{"from_person_id": "s-holder", "from_agency": SCHOOL,
                              "reason": "participation_ended",
                              "staff_person_ids": ["s-advisor"],   # not the ended one
                              "guardian_person_ids": ["g-1"]}]
    assert roles(engine)["p-holder"] == domain.MEMBER
    with Session(engine) as session:
        assert session.get(Log, "log-1").version == 2
    again = worker()
    assert again.check_stafettholders() == {"lapsed": 0} and lapses(again) == []


def test_consent_that_stops_covering_the_holders_agency_lapses_the_holder_at_once(
        worker, engine, consent, on_day):
    on_day(LAST_DAY - timedelta(days=5))
    consent.coverage.return_value = [covering(PPT, consent_id="k-2")]   # the owner's answer
    handler = worker()
    handler.on_consent_superseded(Envelope(
        type="consent.superseded", source="consent", child_id="c-1",
        data=covering(SCHOOL, PPT, status="superseded")).to_dict())
    assert lapses(handler) == [{"from_person_id": "s-holder", "from_agency": SCHOOL,
                                "reason": "consent_ended", "staff_person_ids": ["s-advisor"],
                                "guardian_person_ids": ["g-1"]}]
    assert roles(engine)["p-holder"] == domain.MEMBER


def test_a_consent_the_owner_no_longer_lists_covers_nobody_without_its_event(
        worker, engine, consent, on_day):
    """refresh_consent after a withdrawal whose event has not come: the projection kept the
    consent's old decision, and the owner's answer (no open consent) empties it."""
    on_day(LAST_DAY - timedelta(days=5))
    consent.coverage.return_value = []
    handler = worker()
    handler.refresh_consent("c-1")
    assert [data["reason"] for data in lapses(handler)] == ["consent_ended"]
    with Session(engine) as session:
        row = session.get(ConsentProjection, "k-1")
        assert (row.status, row.coverage) == ("ended", [])


def test_set_stafettholder_refuses_one_who_cannot_act_and_lets_staff_take_a_lapsed_baton(
        worker, engine, on_day):
    on_day(LAST_DAY)
    holder = Actor(kind=STAFF, person_id="s-holder", agency=SCHOOL, agency_type="school")
    advisor = Actor(kind=STAFF, person_id="s-advisor", agency=PPT, agency_type="ppt")
    with pytest.raises(ValidationFailed) as refused:
        worker(holder).set_stafettholder("log-1", {"participant_id": "p-ended"}, 1)
    assert refused.value.code == "stafettholder.cannot_act"
    with pytest.raises(Forbidden):   # the holder can act today: only they pass the baton
        worker(advisor).set_stafettholder("log-1", {"participant_id": "p-advisor"}, 1)

    on_day(LAST_DAY + timedelta(days=1))   # lapsed, the timer not yet run: the view says so
    view = worker(advisor).get_log("log-1")
    assert view["stafettholder_id"] is None and view["can_take_baton"] is True
    taker = worker(advisor)
    taken = taker.set_stafettholder("log-1", {"participant_id": "p-advisor"}, 1)
    assert taken["stafettholder_id"] == "p-advisor"
    emitted = [call.args[1] for call in taker.events.emit.call_args_list]
    assert emitted == [events.STAFETTHOLDER_LAPSED, events.STAFETTHOLDER_CHANGED]
    assert roles(engine)["p-holder"] == domain.MEMBER
