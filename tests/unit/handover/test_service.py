"""The handover service's methods under nameko's ``worker_factory``: a real SQLite session,
the logs and consent services as mocks answering as their contracts say, the outbox a
mock whose calls are the events."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from unittest.mock import Mock

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.consent.events import consent_data
from services.handover import domain
from services.handover.models import Base, Handover
from services.handover.service import HandoverService
from stafett.actor import CITIZEN, STAFF, SYSTEM_ACTOR, Actor
from stafett.audit import access_table, verify_chain
from stafett.errors import Conflict, Forbidden, NotFound, ServiceUnavailable
from stafett.events import Envelope, kernel_metadata
from tests.support.databases import created_engine

SCHOOL, UPPER, NAV = "974760673", "971526920", "910000011"
AGENCIES = [
    {"org_number": SCHOOL, "name": "Skole", "type": "school", "municipality": "Havvik"},
    {"org_number": UPPER, "name": "Vgs", "type": "school", "municipality": "Havvik"},
    {"org_number": NAV, "name": "NAV", "type": "nav", "municipality": "Havvik"},
]
STAFF_DIRECTORY = {
    "s-teacher": {"id": "s-teacher", "agency": SCHOOL, "agency_type": "school"},
    "s-upper": {"id": "s-upper", "agency": UPPER, "agency_type": "school"},
    "s-upper2": {"id": "s-upper2", "agency": UPPER, "agency_type": "school"},
    "s-nav": {"id": "s-nav", "agency": NAV, "agency_type": "nav"},
}
TEACHER = Actor(kind=STAFF, person_id="s-teacher", agency=SCHOOL, agency_type="school")
MEMBER = Actor(kind=STAFF, person_id="s-member", agency=SCHOOL, agency_type="school")
RECEIVER = Actor(kind=STAFF, person_id="s-upper", agency=UPPER, agency_type="school")
RECEIVER2 = Actor(kind=STAFF, person_id="s-upper2", agency=UPPER, agency_type="school")
OUTSIDER = Actor(kind=STAFF, person_id="s-nav", agency=NAV, agency_type="nav")
GUARDIAN = Actor(kind=CITIZEN, person_id="g-1", acr="idporten-loa-high", assured=True)
SUMMARY = {"compiled_at": "2026-03-10T12:00:00+00:00", "level": 2,
           "active_measures": [{"title": "Fast plass nær døra", "goal": "Lettere inn i timen",
                                "arena": "school", "responsible_role": "member",
                                "responsible_agency_type": "ppt", "start_date": "2026-01-05",
                                "evaluate_by": "2026-02-02", "latest_outcome": "green",
                                "internal": "not part of the contract"}],
           "what_worked": [{"title": "Fast plass nær døra", "outcome": "green",
                            "evaluated_on": "2026-02-02", "text": "Det fungerer."}],
           "what_did_not": [], "child_voice": [{"text": "Jeg liker å sitte ved døra.",
                                                "created_at": "2026-01-20T10:00:00+00:00"}],
           "open_questions": []}
CONFIG = {"HANDOVER_EXPIRY_DAYS": 14, "HANDOVER_GRACE_DAYS": 30}


def consent_covering(*agencies, types=()):
    """An active consent as the consent service sends it, with its decision."""
    today = date.today()
    return consent_data(SimpleNamespace(
        id="k-1", status="active", method="digital", scope_agencies=list(agencies),
        scope_agency_types=list(types), valid_from=today - timedelta(days=1),
        valid_until=today + timedelta(days=300)))


class World:
    """What the other services answer; tests change it."""

    def __init__(self):
        self.context = {"log_id": "log-1", "child_id": "c-1", "from_agency": SCHOOL,
                        "from_agency_type": "school", "stafettholder_person_id": "s-teacher"}
        self.coverage = [consent_covering(SCHOOL, UPPER)]
        self.birth_date = date(2012, 1, 1)
        self.consenting = ("guardians", ["g-2", "g-1"])  # the consent service's decision
        self.logs_error = None
        self.apply_error = None

    def logs(self):
        logs = Mock()

        def context(log_id):
            if self.logs_error:
                raise self.logs_error
            return dict(self.context, log_id=log_id)
        logs.handover_context.side_effect = context
        logs.handover_summary.return_value = SUMMARY

        def apply(*args):
            if self.apply_error:
                raise self.apply_error
            return {"applied": True, "already_applied": False}
        logs.apply_handover.side_effect = apply
        return logs

    def consent(self):
        consent = Mock()
        consent.list_agencies.return_value = AGENCIES
        consent.coverage.side_effect = lambda child_id: self.coverage

        def staff_member(person_id):
            if person_id not in STAFF_DIRECTORY:
                raise NotFound("no such staff member")
            return STAFF_DIRECTORY[person_id]
        consent.staff_member.side_effect = staff_member
        consent.child_parties.side_effect = lambda child_id: {
            "child": {"id": child_id, "name": "Emma", "birth_date": self.birth_date.isoformat()},
            "guardians": [{"id": "g-2", "name": "B"}, {"id": "g-1", "name": "A"}],
            "consenting_party": self.consenting[0], "consenting_person_ids": self.consenting[1]}
        return consent


@pytest.fixture
def engine(tmp_path):
    with created_engine(tmp_path, "handover", Base.metadata, kernel_metadata) as engine:
        yield engine


@pytest.fixture
def world():
    return World()


class Worker:
    """A service instance whose entrypoint calls close the session afterwards, as
    ``Database.worker_teardown`` does in a container."""

    DEPENDENCIES = ("db", "logs", "consent", "events", "actor_context", "config", "actor")

    def __init__(self, instance, session):
        self._instance, self._session = instance, session

    def __getattr__(self, name):
        attribute = getattr(self._instance, name)
        if name in self.DEPENDENCIES or not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            try:
                return attribute(*args, **kwargs)
            finally:
                self._session.close()
        return call


@pytest.fixture
def service(engine, world):
    def make(actor=None, **config):
        session = Session(engine, expire_on_commit=False)
        return Worker(worker_factory(HandoverService, db=session, actor=actor,
                                     logs=world.logs(), consent=world.consent(),
                                     events=Mock(), actor_context=Mock(),
                                     config={**CONFIG, **config}), session)
    return make


def rows(engine) -> list[Handover]:
    with Session(engine) as session:
        return list(session.scalars(select(Handover)))


def one(engine) -> Handover:
    found = rows(engine)
    assert len(found) == 1
    return found[0]


def emitted(worker) -> list[tuple[str, dict]]:
    return [(call.args[1], call.kwargs["data"]) for call in worker.events.emit.call_args_list]


def access(engine) -> list[tuple]:
    with engine.connect() as connection:
        return [(r.action, r.outcome, r.role) for r in connection.execute(
            select(access_table).order_by(access_table.c.seq))]


def request(service, actor=TEACHER, **payload):
    worker = service(actor)
    body = {"log_id": "log-1", "to_agency": UPPER,
            "transition": domain.LOWER_TO_UPPER_SECONDARY, **payload}
    return worker, worker.request_handover(body)


# -- requesting -------------------------------------------------------------------------------

def test_a_request_consent_covers_awaits_acceptance(service, engine):
    worker, view = request(service, note="Emma trenger en rolig start")
    assert view["status"] == "awaiting_acceptance" and view["viewer_role"] == "requester"
    assert view["summary"]["child_voice"][0]["text"] == "Jeg liker å sitte ved døra."
    assert "internal" not in view["summary"]["active_measures"][0]  # only the contract's fields
    row = one(engine)
    assert (row.child_id, row.from_agency, row.to_agency, row.open_for_log) == (
        "c-1", SCHOOL, UPPER, "log-1")
    assert row.offered_at is not None and row.summary == SUMMARY
    assert domain.is_due(row.expires_at, datetime.now(timezone.utc) + timedelta(days=14, seconds=1))
    assert not domain.is_due(row.expires_at, datetime.now(timezone.utc) + timedelta(days=13))
    [(event_type, data)] = emitted(worker)
    assert event_type == "handover.requested"
    assert data == {"handover_id": row.id, "status": "awaiting_acceptance",
                    "transition": "lower_secondary_to_upper_secondary", "from_agency": SCHOOL,
                    "to_agency": UPPER, "to_person_id": None,
                    "requested_by_person_id": "s-teacher", "consent_person_ids": []}
    assert worker.events.emit.call_args.kwargs["log_id"] == "log-1"
    assert "Emma" not in str(data)
    assert access(engine) == [("request", "allowed", "requester")]
    worker.logs.handover_summary.assert_called_once_with("log-1")


def test_a_request_consent_does_not_cover_asks_the_guardians(service, engine, world):
    world.coverage = [consent_covering(SCHOOL, types=["ppt"])]
    worker, view = request(service)
    assert view["status"] == "consent_pending"
    assert one(engine).offered_at is None
    [(_, data)] = emitted(worker)
    assert data["status"] == "consent_pending" and data["consent_person_ids"] == ["g-1", "g-2"]


def test_the_youth_the_consent_service_names_is_asked(service, world):
    world.coverage, world.consenting = [], ("youth", ["c-1"])
    worker, _ = request(service)
    assert emitted(worker)[0][1]["consent_person_ids"] == ["c-1"]


def test_who_consents_is_the_consent_service_s_decision_not_the_birth_date(service, world):
    """A youth of 16 by birth date, but the consent service names the guardians (say, a
    deployment's consent age of 18): the guardians are asked. No age setting here."""
    world.coverage, world.birth_date = [], date.today().replace(year=date.today().year - 16)
    worker, _ = request(service)
    assert emitted(worker)[0][1]["consent_person_ids"] == ["g-1", "g-2"]


def test_a_named_receiver_must_be_staff_there(service, engine):
    _, view = request(service, to_person_id="s-upper")
    assert view["to_person_id"] == "s-upper"
    one(engine)


def refused(service, engine, error, status, actor=TEACHER, **payload):
    with pytest.raises(error) as caught:
        request(service, actor, **payload)
    assert caught.value.status == status
    assert rows(engine) == []
    assert access(engine)[-1][1] in ("denied", "rejected")
    return caught.value


def test_bad_requests_change_nothing(service, engine, world):
    from stafett.errors import ValidationFailed

    assert "to_agency" in refused(service, engine, ValidationFailed, 422,
                                  to_agency=SCHOOL).errors
    assert "to_agency" in refused(service, engine, ValidationFailed, 422,
                                  to_agency="999999999").errors
    assert "to_agency" in refused(service, engine, ValidationFailed, 422,
                                  to_agency="12345").errors
    assert "transition" in refused(service, engine, ValidationFailed, 422,
                                   transition="sideways").errors
    assert "to_person_id" in refused(service, engine, ValidationFailed, 422,
                                     to_person_id="s-nav").errors
    assert "to_person_id" in refused(service, engine, ValidationFailed, 422,
                                     to_person_id="nobody").errors
    assert "to_agency" in refused(service, engine, ValidationFailed, 422,
                                  transition=domain.TO_NAV).errors
    refused(service, engine, NotFound, 404, actor=GUARDIAN)
    refused(service, engine, NotFound, 404, actor=None)
    # the logs service decides: not the stafettholder, a closed log, a log one cannot see
    for error, status in ((Forbidden("only the stafettholder may do this"), 403),
                          (Conflict("the log is closed and read-only"), 409),
                          (NotFound("no such log"), 404)):
        world.logs_error = error
        refused(service, engine, type(error), status, actor=MEMBER)
    world.logs_error = None
    world.context["stafettholder_person_id"] = "s-someone-else"
    refused(service, engine, Forbidden, 403)


def test_a_second_open_handover_is_a_conflict(service, engine):
    request(service)
    with pytest.raises(Conflict) as caught:
        request(service, to_agency=NAV, transition=domain.TO_NAV)
    assert "open handover" in caught.value.detail
    assert len(rows(engine)) == 1


def test_the_database_allows_one_open_handover_per_log(engine):
    now = datetime.now(timezone.utc)
    with Session(engine) as session:
        for handover_id in ("h-1", "h-2"):
            session.add(Handover(id=handover_id, log_id="log-1", open_for_log="log-1",
                                 from_agency=SCHOOL, to_agency=UPPER, transition="other",
                                 status="awaiting_acceptance", requested_by="person:s",
                                 created_at=now, updated_at=now))
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_new_request_after_the_last_one_ended(service, engine):
    worker, view = request(service)
    service(TEACHER).cancel_handover(view["id"], {})
    request(service, to_agency=NAV, transition=domain.TO_NAV)
    assert sorted(h.status for h in rows(engine)) == ["cancelled", "consent_pending"]


# -- accepting and declining ------------------------------------------------------------------

def requested(service, **payload) -> str:
    return request(service, **payload)[1]["id"]


def test_the_receiver_accepts_naming_the_new_stafettholder(service, engine):
    handover_id = requested(service)
    worker = service(RECEIVER)
    view = worker.accept_handover(handover_id, {"new_stafettholder_person_id": "s-upper2",
                                                "participant_person_ids": ["s-upper", "s-upper2"]})
    assert view["status"] == "accepted" and view["summary"] is not None
    row = one(engine)
    assert (row.new_stafettholder_person_id, row.accepted_by_person_id,
            row.receiving_person_ids, row.open_for_log) == ("s-upper2", "s-upper", ["s-upper"],
                                                            "log-1")
    [(event_type, data)] = emitted(worker)
    assert event_type == "handover.accepted"
    assert data["new_stafettholder_person_id"] == "s-upper2"
    assert data["accepted_by_person_id"] == "s-upper"
    worker.logs.apply_handover.assert_not_called()  # the application step does that


@pytest.mark.parametrize("actor, error", [(OUTSIDER, NotFound), (TEACHER, Forbidden),
                                          (GUARDIAN, Forbidden), (MEMBER, NotFound),
                                          (None, NotFound)])
def test_acceptance_outside_the_receiving_agency_is_refused(service, engine, actor, error):
    handover_id = requested(service)
    with pytest.raises(error):
        service(actor).accept_handover(handover_id, {"new_stafettholder_person_id": "s-upper"})
    assert one(engine).status == "awaiting_acceptance"
    assert access(engine)[-1][:2] == ("accept", "denied")


def test_only_the_named_receiver_may_accept(service, engine):
    handover_id = requested(service, to_person_id="s-upper2")
    with pytest.raises(NotFound):
        service(RECEIVER).accept_handover(handover_id, {"new_stafettholder_person_id": "s-upper"})
    service(RECEIVER2).accept_handover(handover_id, {"new_stafettholder_person_id": "s-upper2"})
    assert one(engine).status == "accepted"


@pytest.mark.parametrize("payload, field", [
    ({"new_stafettholder_person_id": "s-nav"}, "new_stafettholder_person_id"),
    ({"new_stafettholder_person_id": "nobody"}, "new_stafettholder_person_id"),
    ({}, "new_stafettholder_person_id"),
    ({"new_stafettholder_person_id": "s-upper", "participant_person_ids": ["s-teacher"]},
     "participant_person_ids.0"),
])
def test_the_new_stafettholder_is_staff_of_the_receiver(service, engine, payload, field):
    from stafett.errors import ValidationFailed

    handover_id = requested(service)
    with pytest.raises(ValidationFailed) as caught:
        service(RECEIVER).accept_handover(handover_id, payload)
    assert field in caught.value.errors
    assert one(engine).status == "awaiting_acceptance"


def test_acceptance_needs_consent_that_still_covers_the_receiver(service, engine, world):
    handover_id = requested(service)
    world.coverage = [consent_covering(SCHOOL)]  # narrowed: the receiver is out
    with pytest.raises(NotFound) as caught:
        service(RECEIVER).accept_handover(handover_id, {"new_stafettholder_person_id": "s-upper"})
    assert caught.value.detail == "no such handover"  # as for a handover that never was
    row = one(engine)
    assert (row.status, row.offered_at, row.accepted_by_person_id) == (
        "consent_pending", None, None)


def test_a_consent_pending_handover_does_not_exist_for_the_receiver(service, engine, world):
    world.coverage = []
    handover_id = requested(service)
    with pytest.raises(NotFound):
        service(RECEIVER).get_handover(handover_id)
    with pytest.raises(NotFound):
        service(RECEIVER).accept_handover(handover_id, {"new_stafettholder_person_id": "s-upper"})
    assert service(RECEIVER).list_handovers("incoming")["items"] == []
    # consent arrives, the event not yet: the re-check on read offers it
    world.coverage = [consent_covering(UPPER)]
    worker = service(RECEIVER)
    view = worker.get_handover(handover_id)
    assert view["status"] == "awaiting_acceptance" and view["summary"]["level"] == 2
    assert [t for t, _ in emitted(worker)] == ["handover.consent_granted"]


def test_the_receiver_declines_with_a_reason(service, engine):
    from stafett.errors import ValidationFailed

    handover_id = requested(service)
    with pytest.raises(ValidationFailed) as caught:
        service(RECEIVER).decline_handover(handover_id, {})
    assert "reason" in caught.value.errors
    worker = service(RECEIVER)
    view = worker.decline_handover(handover_id, {"reason": "Eleven har fått plass et annet sted"})
    assert view["status"] == "declined" and view["summary"] is None
    row = one(engine)
    assert (row.reason, row.reason_code, row.open_for_log) == (
        "Eleven har fått plass et annet sted", "declined", None)
    [(event_type, data)] = emitted(worker)
    assert event_type == "handover.declined" and "reason" not in data
    with pytest.raises(Conflict):
        service(RECEIVER).accept_handover(handover_id, {"new_stafettholder_person_id": "s-upper"})


# -- cancelling -------------------------------------------------------------------------------

def test_the_requester_cancels(service, engine):
    handover_id = requested(service)
    with pytest.raises(Forbidden):
        service(RECEIVER).cancel_handover(handover_id, {})
    worker = service(TEACHER)
    view = worker.cancel_handover(handover_id, {"reason": "Flytter likevel ikke"})
    assert view["status"] == "cancelled"
    row = one(engine)
    assert (row.reason, row.reason_code, row.open_for_log) == ("Flytter likevel ikke",
                                                               "requester_cancelled", None)
    [(event_type, data)] = emitted(worker)
    assert event_type == "handover.cancelled"
    assert (data["reason"], data["previous_status"]) == ("requester_cancelled",
                                                        "awaiting_acceptance")
    with pytest.raises(Conflict):
        service(TEACHER).cancel_handover(handover_id, {})


def test_an_accepted_handover_can_no_longer_be_cancelled(service, engine):
    handover_id = requested(service)
    service(RECEIVER).accept_handover(handover_id, {"new_stafettholder_person_id": "s-upper"})
    with pytest.raises(Conflict) as caught:
        service(TEACHER).cancel_handover(handover_id, {})
    assert "taken" in caught.value.detail
    assert one(engine).status == "accepted"


# -- the application step ---------------------------------------------------------------------

def accepted(service) -> str:
    handover_id = requested(service)
    service(RECEIVER).accept_handover(handover_id, {"new_stafettholder_person_id": "s-upper2",
                                                    "participant_person_ids": ["s-upper"]})
    return handover_id


def accepted_event(handover_id) -> dict:
    return Envelope(type="handover.accepted", source="handover", log_id="log-1",
                    data={"handover_id": handover_id}).to_dict()


def test_the_application_completes_the_handover_as_the_service(service, engine):
    handover_id = accepted(service)
    worker = service(None, HANDOVER_GRACE_DAYS=0)
    worker.on_accepted(accepted_event(handover_id))
    worker.actor_context.set.assert_called_with(SYSTEM_ACTOR)
    worker.logs.apply_handover.assert_called_once_with("log-1", handover_id, "s-upper2",
                                                       ["s-upper2", "s-upper"], 0)
    row = one(engine)
    assert (row.status, row.open_for_log, row.apply_attempts) == ("completed", None, 1)
    assert row.summary == SUMMARY  # the record stays
    [(event_type, data)] = emitted(worker)
    assert event_type == "handover.completed" and data["new_stafettholder_person_id"] == "s-upper2"
    # a redelivery does nothing
    again = service(None)
    again.on_accepted(accepted_event(handover_id))
    again.logs.apply_handover.assert_not_called()
    assert emitted(again) == []


def test_logs_unavailable_keeps_it_accepted_and_retries(service, engine, world):
    handover_id = accepted(service)
    world.apply_error = ServiceUnavailable("the logs service did not answer within 5 s")
    with pytest.raises(ServiceUnavailable):
        service(None).on_accepted(accepted_event(handover_id))
    row = one(engine)
    assert (row.status, row.apply_attempts) == ("accepted", 1)
    assert "ServiceUnavailable" in row.last_apply_error
    world.apply_error = None
    worker = service(None)
    assert worker.housekeeping() == {"expired": 0, "offered": 0, "taken_back": 0, "applied": 1}
    row = one(engine)
    assert (row.status, row.apply_attempts, row.last_apply_error) == ("completed", 2, None)


def test_a_log_closed_before_application_cancels_the_handover(service, engine, world):
    handover_id = accepted(service)
    world.apply_error = Conflict("the log is closed and read-only", code="log.closed")
    worker = service(None)
    worker.on_accepted(accepted_event(handover_id))
    row = one(engine)
    assert (row.status, row.reason_code, row.reason, row.open_for_log) == (
        "cancelled", "log_closed", "Loggen ble lukket", None)
    [(event_type, data)] = emitted(worker)
    assert (event_type, data["reason"], data["previous_status"]) == (
        "handover.cancelled", "log_closed", "accepted")


def test_an_application_refused_for_good_frees_the_log(service, engine, world):
    handover_id = accepted(service)
    world.apply_error = NotFound("no such log")
    service(None).on_accepted(accepted_event(handover_id))
    row = one(engine)
    assert (row.status, row.reason_code, row.open_for_log) == ("cancelled",
                                                               "application_refused", None)


# -- consent, log closed, expiry --------------------------------------------------------------

def consent_granted(child_id="c-1", *agencies, types=()) -> dict:
    return Envelope(type="consent.granted", source="consent", child_id=child_id,
                    data=consent_covering(*agencies, types=types)).to_dict()


def test_a_new_consent_covering_the_receiver_offers_the_handover(service, engine, world):
    world.coverage = []
    handover_id = requested(service)
    ignored = service(None)
    ignored.on_consent_granted(consent_granted("c-1", SCHOOL, types=["ppt"]))
    ignored.on_consent_granted(consent_granted("c-other", UPPER))
    assert one(engine).status == "consent_pending" and emitted(ignored) == []
    event = consent_granted("c-1", types=["school"])
    worker = service(None)
    worker.on_consent_granted(event)
    row = one(engine)
    assert row.status == "awaiting_acceptance" and row.offered_at is not None
    assert emitted(worker) == [("handover.consent_granted", {
        "handover_id": handover_id, "transition": "lower_secondary_to_upper_secondary",
        "from_agency": SCHOOL, "to_agency": UPPER, "to_person_id": None,
        "requested_by_person_id": "s-teacher"})]
    duplicate = service(None)
    duplicate.on_consent_granted(event)
    assert emitted(duplicate) == []


def test_the_timer_offers_what_consent_now_covers(service, engine, world):
    world.coverage = []
    request(service)
    assert service(None).housekeeping()["offered"] == 0
    world.coverage = [consent_covering(UPPER)]
    assert service(None).housekeeping()["offered"] == 1
    assert one(engine).status == "awaiting_acceptance"


def log_closed() -> dict:
    return Envelope(type="log.closed", source="logs", log_id="log-1").to_dict()


def test_a_closed_log_cancels_the_open_request_but_leaves_an_accepted_one_to_its_application(
        service, engine):
    requested(service)
    worker = service(None)
    worker.on_log_closed(log_closed())
    row = one(engine)
    assert (row.status, row.reason_code, row.reason) == ("cancelled", "log_closed",
                                                         "Loggen ble lukket")
    assert [(t, d["reason"]) for t, d in emitted(worker)] == [("handover.cancelled",
                                                                "log_closed")]
    handover_id = accepted(service)
    service(None).on_log_closed(log_closed())
    assert {h.id: h.status for h in rows(engine)}[handover_id] == "accepted"


def make_due(engine, handover_id):
    with Session(engine) as session:
        session.get(Handover, handover_id).expires_at = (datetime.now(timezone.utc)
                                                         - timedelta(minutes=1))
        session.commit()


def test_the_timer_expires_a_request_once(service, engine):
    handover_id = requested(service)
    assert service(None).housekeeping()["expired"] == 0
    make_due(engine, handover_id)
    worker = service(None)
    assert worker.housekeeping()["expired"] == 1
    row = one(engine)
    assert (row.status, row.reason_code, row.open_for_log) == ("expired", "expired", None)
    assert [(t, d["reason"]) for t, d in emitted(worker)] == [("handover.cancelled", "expired")]
    assert service(None).housekeeping()["expired"] == 0


def test_a_request_past_its_day_cannot_be_accepted(service, engine):
    handover_id = requested(service)
    make_due(engine, handover_id)
    with pytest.raises(Conflict) as caught:
        service(RECEIVER).accept_handover(handover_id, {"new_stafettholder_person_id": "s-upper"})
    assert "expired" in caught.value.detail
    assert one(engine).status == "expired"


def test_an_accepted_handover_does_not_expire(service, engine, world):
    handover_id = accepted(service)
    make_due(engine, handover_id)
    world.apply_error = ServiceUnavailable("the logs service is not running")
    assert service(None).housekeeping() == {"expired": 0, "offered": 0, "taken_back": 0,
                                            "applied": 0}
    row = one(engine)
    assert (row.id, row.status, row.apply_attempts) == (handover_id, "accepted", 1)


# -- reading ----------------------------------------------------------------------------------

def test_what_each_party_sees(service, engine):
    handover_id = requested(service)
    as_receiver = service(RECEIVER).get_handover(handover_id)
    assert as_receiver["viewer_role"] == "receiver"
    assert as_receiver["summary"]["what_worked"][0]["outcome"] == "green"
    assert as_receiver["child"] == {"id": "c-1", "name": "Emma", "birth_date": "2012-01-01"}
    as_guardian = service(GUARDIAN).get_handover(handover_id)
    assert as_guardian["viewer_role"] == "consenting_party"
    assert "summary" not in as_guardian and "requested_by_person_id" not in as_guardian
    for stranger in (OUTSIDER, MEMBER, None):
        with pytest.raises(NotFound):
            service(stranger).get_handover(handover_id)
    with pytest.raises(NotFound):
        service(RECEIVER).get_handover("no-such-handover")
    assert [a for a in access(engine) if a[0] == "read"] == [
        ("read", "allowed", "receiver"), ("read", "allowed", "consenting_party"),
        ("read", "denied", None), ("read", "denied", None), ("read", "denied", None),
        ("read", "denied", None)]
    with Session(engine) as session:
        assert verify_chain(session) == (True, None)


def test_incoming_and_outgoing(service, engine):
    handover_id = requested(service)

    def ids(actor, direction=None):
        return [h["id"] for h in service(actor).list_handovers(direction)["items"]]

    assert ids(TEACHER, "outgoing") == [handover_id]
    assert ids(TEACHER, "incoming") == []
    incoming = service(RECEIVER).list_handovers("incoming")["items"]
    assert [h["id"] for h in incoming] == [handover_id] and incoming[0]["summary"] is None
    assert ids(RECEIVER, "outgoing") == []
    assert ids(RECEIVER) == [handover_id]
    assert ids(OUTSIDER) == []
    assert ids(GUARDIAN) == [handover_id]
    from stafett.errors import ValidationFailed
    with pytest.raises(ValidationFailed):
        service(TEACHER).list_handovers("sideways")
    with pytest.raises(ValidationFailed):
        service(TEACHER).list_handovers(None, 0)



def test_another_conflict_from_the_logs_service_is_a_refusal_not_a_closed_log(
        service, engine, world):
    handover_id = accepted(service)
    world.apply_error = Conflict("the new stafettholder must be active staff",
                                 code="participant.not_active_staff")
    service(None).on_accepted(accepted_event(handover_id))
    row = one(engine)
    assert (row.status, row.reason_code) == ("cancelled", "application_refused")
    # a person reads bokmål; the logs service's English detail is for the operators
    assert row.reason == "Loggen kunne ikke overføres"
    assert "participant.not_active_staff: the new stafettholder must be active staff" in \
        row.last_apply_error


@pytest.mark.parametrize("detail, code, reason_code", [
    # the text changes, the code does not: still a closed log, still consent ended
    ("Loggen er lukket", "log.closed", "log_closed"),
    ("the log was archived", "log.closed", "log_closed"),
    ("receiver lost its coverage", "log.receiver_not_covered", "consent_withdrawn"),
    # the old words, another code: neither (the handover decides by code, not by text)
    ("the log is closed and read-only", "state.conflict", "application_refused"),
    ("consent no longer covers the receiving agency", "participant.not_active_staff",
     "application_refused"),
])
def test_the_logs_refusal_is_classified_by_its_code_not_its_text(
        service, engine, world, detail, code, reason_code):
    handover_id = accepted(service)
    world.apply_error = Conflict(detail, code=code)
    service(None).on_accepted(accepted_event(handover_id))
    row = one(engine)
    assert (row.status, row.reason_code) == ("cancelled", reason_code)


def test_authorization_comes_before_validation(service, engine):
    handover_id = requested(service)
    for actor, error in ((OUTSIDER, NotFound), (None, NotFound), (GUARDIAN, Forbidden)):
        with pytest.raises(error):
            service(actor).accept_handover(handover_id, {"unexpected": "field"})
        with pytest.raises(error):
            service(actor).decline_handover(handover_id, {})
    with pytest.raises(NotFound):
        service(GUARDIAN).request_handover({"log_id": 17})
    from stafett.errors import ValidationFailed
    with pytest.raises(ValidationFailed):
        service(RECEIVER).accept_handover(handover_id, {"unexpected": "field"})
    assert one(engine).status == "awaiting_acceptance"


# -- consent binds: it ends, and the receiver sees nothing -----------------------------------------

def ended_event(child_id="c-1", event_type="consent.withdrawn") -> dict:
    return Envelope(type=event_type, source="consent", child_id=child_id,
                    data={"consent_id": "k-1", "status": event_type.split(".")[1],
                          "scope_agencies": [SCHOOL, UPPER], "scope_agency_types": [],
                          "valid_from": "2026-01-01", "valid_until": "2026-12-31",
                          "coverage": []}).to_dict()


@pytest.mark.parametrize("coverage", [[], [consent_covering(SCHOOL)]],
                         ids=["withdrawn", "narrowed"])
def test_the_first_read_after_consent_ended_answers_like_a_missing_handover(
        service, engine, world, coverage):
    handover_id = requested(service)
    assert service(RECEIVER).get_handover(handover_id)["summary"]["level"] == 2
    world.coverage = coverage  # no event has arrived: the read asks the owner
    for who in (RECEIVER, RECEIVER2):
        with pytest.raises(NotFound) as caught:
            service(who).get_handover(handover_id)
        with pytest.raises(NotFound) as missing:
            service(who).get_handover("00000000-0000-0000-0000-000000000000")
        assert caught.value.args == missing.value.args
        assert service(who).list_handovers()["items"] == []
    with pytest.raises(NotFound):
        service(RECEIVER).decline_handover(handover_id, {"reason": "x"})
    assert ("read", "denied", None) in access(engine)


def test_consent_ended_before_acceptance_the_handover_waits_for_consent_again(
        service, engine, world):
    handover_id = requested(service)
    world.coverage = [consent_covering(SCHOOL)]  # the sender still covered, the receiver not
    worker = service(None)
    worker.on_consent_withdrawn(ended_event())
    row = one(engine)
    assert (row.status, row.offered_at, row.open_for_log) == ("consent_pending", None, "log-1")
    [(event_type, data)] = emitted(worker)
    assert event_type == "handover.consent_ended"
    assert data == {"handover_id": handover_id, "transition": domain.LOWER_TO_UPPER_SECONDARY,
                    "from_agency": SCHOOL, "to_agency": UPPER, "to_person_id": None,
                    "requested_by_person_id": "s-teacher",
                    "previous_status": "awaiting_acceptance",
                    "consent_person_ids": ["g-1", "g-2"], "requester_covered": True}
    # the requester and the guardians still see it, waiting; the receiver does not
    assert service(TEACHER).get_handover(handover_id)["status"] == "consent_pending"
    assert service(GUARDIAN).get_handover(handover_id)["status"] == "consent_pending"
    with pytest.raises(NotFound):
        service(RECEIVER).get_handover(handover_id)
    # a redelivery (or the same event again) changes nothing and says nothing
    again = service(None)
    again.on_consent_withdrawn(ended_event())
    assert emitted(again) == []
    # consent again: offered again, by the same rule as before
    world.coverage = [consent_covering(SCHOOL, UPPER)]
    assert service(RECEIVER).get_handover(handover_id)["status"] == "awaiting_acceptance"


def test_the_requester_is_not_told_when_consent_left_the_sender_too(service, engine, world):
    requested(service)
    world.coverage = []
    worker = service(None)
    worker.on_consent_expired(ended_event(event_type="consent.expired"))
    [(_, data)] = emitted(worker)
    assert data["requester_covered"] is False
    assert one(engine).status == "consent_pending"


def test_a_consent_still_covering_the_receiver_changes_nothing(service, engine, world):
    requested(service)
    world.coverage = [consent_covering(UPPER)]  # e.g. superseded by one that still covers
    worker = service(None)
    worker.on_consent_superseded(ended_event(event_type="consent.superseded"))
    assert one(engine).status == "awaiting_acceptance" and emitted(worker) == []


def test_consent_ended_after_acceptance_the_logs_service_refuses_and_it_is_cancelled(
        service, engine, world):
    handover_id = accepted(service)
    world.coverage = []
    world.apply_error = Conflict("consent no longer covers the receiving agency",
                                 code="log.receiver_not_covered")
    worker = service(None)
    worker.on_consent_withdrawn(ended_event())
    worker.logs.apply_handover.assert_called_once()  # the logs service decides
    row = one(engine)
    assert (row.status, row.reason_code, row.open_for_log) == (
        "cancelled", "consent_withdrawn", None)
    [(event_type, data)] = emitted(worker)
    assert event_type == "handover.cancelled"
    assert (data["reason"], data["previous_status"], data["consent_person_ids"],
            data["requester_covered"]) == ("consent_withdrawn", "accepted", ["g-1", "g-2"],
                                           False)
    with pytest.raises(NotFound):
        service(RECEIVER2).get_handover(handover_id)


def test_an_accepted_handover_the_logs_service_had_applied_completes(service, engine, world):
    """Applied before consent ended (the logs service answers for the handover id):
    completed, and the logs service decides what the receiver sees from then on."""
    handover_id = accepted(service)
    world.coverage = []
    worker = service(None)
    worker.on_consent_withdrawn(ended_event())
    assert one(engine).status == "completed"
    with pytest.raises(NotFound):
        service(RECEIVER2).get_handover(handover_id)  # the record, too, needs consent


def test_consent_unreachable_the_event_is_retried_not_lost(service, engine, world):
    requested(service)
    event = ended_event()
    worker = service(None)
    worker.consent.coverage.side_effect = ServiceUnavailable("consent did not answer")
    with pytest.raises(ServiceUnavailable):
        worker.on_consent_withdrawn(event)
    assert one(engine).status == "awaiting_acceptance"
    world.coverage = []
    retried = service(None)
    retried.on_consent_withdrawn(event)  # the same event, redelivered
    assert one(engine).status == "consent_pending"


def test_the_timer_takes_back_offers_consent_no_longer_covers(service, engine, world):
    requested(service)
    world.coverage = [consent_covering(SCHOOL)]
    assert service(None).housekeeping() == {"expired": 0, "offered": 0, "taken_back": 1,
                                            "applied": 0}
    assert service(None).housekeeping()["taken_back"] == 0
    assert one(engine).status == "consent_pending"
