"""Logs service entrypoints: thin; rules live in domain.py."""
from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from marshmallow import ValidationError
from nameko.rpc import rpc
from sqlalchemy import select

from services.logs import domain, events
from services.logs.models import ConsentProjection, Log, Measure, Participant
from services.logs.schemas import (LogCitizenView, LogStaffView, LogSummary, MeasureIn,
                                   MeasureView, OpenLogIn, ParticipantIn,
                                   ParticipantStaffView)
from stafett.audit import record_access
from stafett.db import Database
from stafett.errors import EXPECTED, NotFound, ValidationFailed
from stafett.events import Envelope, Outbox, first_delivery, reliable_event_handler, utcnow
from stafett.rpc import TimeoutRpcProxy
from stafett.service import ServiceBase

MIGRATIONS = Path(__file__).parent / "migrations"


def load(schema, payload):
    try:
        return schema.load(payload or {})
    except ValidationError as exc:
        raise ValidationFailed("the request has invalid fields", exc.messages)


def new_id() -> str:
    return str(uuid.uuid4())


class LogsService(ServiceBase):
    name = "logs"

    db = Database(MIGRATIONS)
    events = Outbox()
    consent = TimeoutRpcProxy("consent")

    # -- reads ------------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def get_log(self, log_id: str) -> dict:
        log, participants, viewer = self._authorized(log_id, "read")
        measures = self.db.scalars(select(Measure).where(Measure.log_id == log.id)
                                   .order_by(Measure.start_date, Measure.created_at)).all()
        view = {"id": log.id, "child_id": log.child_id, "status": log.status,
                "level": log.level, "opened_at": log.opened_at, "version": log.version,
                "viewer_role": viewer.role, "participants": participants,
                "measures": measures}
        self.db.commit()  # the access record
        schema = LogStaffView() if viewer.is_staff else LogCitizenView()
        return schema.dump(view)

    @rpc(expected_exceptions=EXPECTED)
    def my_logs(self) -> list[dict]:
        actor = self.actor
        if actor is None or not actor.person_id:
            return []
        rows = self.db.execute(
            select(Log, Participant).join(Participant, Participant.log_id == Log.id)
            .where(Participant.person_id == actor.person_id)).all()
        today = date.today()
        visible = []
        for log, _ in rows:
            try:
                viewer = domain.authorize(actor, self._participants(log.id),
                                          self._coverage(log.child_id), today)
            except NotFound:
                continue
            visible.append({"id": log.id, "child_id": log.child_id, "status": log.status,
                            "level": log.level, "viewer_role": viewer.role})
        return LogSummary(many=True).dump(visible)

    # -- writes -----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def open_log(self, payload: dict) -> dict:
        data = load(OpenLogIn(), payload)
        actor = self.actor
        has_open = self.db.scalar(select(Log.id).where(Log.child_id == data["child_id"],
                                                       Log.status == domain.OPEN)) is not None
        try:
            domain.check_can_open(actor, self._coverage(data["child_id"]), has_open)
        except NotFound:
            self._deny("open", "log", None, data["child_id"], "not covered by consent")
            raise
        parties = self.consent.child_parties(data["child_id"])
        me = self.consent.staff_member(actor.person_id)
        today = date.today()
        log = Log(id=new_id(), child_id=data["child_id"], status=domain.OPEN,
                  level=data["level"], opened_at=utcnow(), version=1)
        self.db.add(log)
        self.db.flush()
        self.db.add(Participant(id=new_id(), log_id=log.id, person_id=me["id"], kind="staff",
                                role=domain.STAFETTHOLDER, display_name=me["name"],
                                title=me["title"], agency=me["agency"],
                                agency_type=me["agency_type"], active_from=today))
        self.db.add(Participant(id=new_id(), log_id=log.id, person_id=parties["child"]["id"],
                                kind="child", role=domain.CHILD,
                                display_name=parties["child"]["name"], active_from=today))
        for guardian in parties["guardians"]:
            self.db.add(Participant(id=new_id(), log_id=log.id, person_id=guardian["id"],
                                    kind="guardian", role=domain.GUARDIAN,
                                    display_name=guardian["name"], active_from=today))
        record_access(self.db, actor, action="open", object_type="log", object_id=log.id,
                      subject_id=log.id, outcome="allowed", role=domain.STAFETTHOLDER)
        self.events.emit(self.db, events.OPENED, child_id=log.child_id, log_id=log.id,
                         data={"level": log.level})
        self.db.commit()
        return self.get_log(log.id)

    @rpc(expected_exceptions=EXPECTED)
    def add_participant(self, log_id: str, payload: dict) -> dict:
        data = load(ParticipantIn(), payload)
        log, participants, viewer = self._authorized(log_id, "add_participant")
        domain.require_stafettholder(viewer)
        domain.require_open(log)
        staff = self.consent.staff_member(data["person_id"])
        domain.check_new_participant(staff, self._coverage(log.child_id), participants,
                                     date.today())
        participant = Participant(id=new_id(), log_id=log.id, person_id=staff["id"],
                                  kind="staff", role=domain.MEMBER, display_name=staff["name"],
                                  title=staff["title"], agency=staff["agency"],
                                  agency_type=staff["agency_type"], active_from=date.today())
        self.db.add(participant)
        log.version += 1
        self.events.emit(self.db, events.PARTICIPANT_ADDED, child_id=log.child_id,
                         log_id=log.id, data=events.participant_added(participant))
        self.db.commit()
        return ParticipantStaffView().dump(participant)

    @rpc(expected_exceptions=EXPECTED)
    def add_measure(self, log_id: str, payload: dict) -> dict:
        data = load(MeasureIn(), payload)
        log, participants, viewer = self._authorized(log_id, "add_measure")
        if not viewer.is_staff:
            raise NotFound("no such log")  # guardians and the child propose instead (later)
        domain.require_open(log)
        responsible = domain.check_measure(data, participants, date.today())
        measure = Measure(id=new_id(), log_id=log.id, proposer_id=viewer.participant.id,
                          created_at=utcnow(), version=1, **data)
        self.db.add(measure)
        log.version += 1
        self.events.emit(self.db, events.MEASURE_ADDED, child_id=log.child_id, log_id=log.id,
                         data=events.measure_added(measure, responsible))
        self.db.commit()
        return MeasureView().dump(measure)

    # -- consent projection -----------------------------------------------------------------

    @reliable_event_handler("consent", "consent.granted")
    def on_consent_granted(self, payload: dict) -> None:
        self._project_consent(Envelope.from_dict(payload), "on_consent_granted")

    @reliable_event_handler("consent", "consent.withdrawn")
    def on_consent_withdrawn(self, payload: dict) -> None:
        self._project_consent(Envelope.from_dict(payload), "on_consent_withdrawn")

    @reliable_event_handler("consent", "consent.expired")
    def on_consent_expired(self, payload: dict) -> None:
        self._project_consent(Envelope.from_dict(payload), "on_consent_expired")

    def _project_consent(self, event: Envelope, consumer: str) -> None:
        if not first_delivery(self.db, f"logs.{consumer}", event.event_id):
            return
        self._upsert_projection(event.child_id, event.data)
        self.db.commit()

    def _upsert_projection(self, child_id: str, data: dict) -> None:
        row = self.db.get(ConsentProjection, data["consent_id"]) or ConsentProjection(
            consent_id=data["consent_id"], child_id=child_id)
        row.status = data["status"]
        row.scope_agencies = data["scope_agencies"]
        row.scope_agency_types = data["scope_agency_types"]
        row.valid_from = date.fromisoformat(data["valid_from"])
        row.valid_until = date.fromisoformat(data["valid_until"])
        row.updated_at = utcnow()
        self.db.add(row)

    def _coverage(self, child_id: str) -> domain.Coverage:
        rows = self.db.scalars(select(ConsentProjection).where(
            ConsentProjection.child_id == child_id)).all()
        if not rows:
            # projection missing (event not arrived yet): ask the owner synchronously
            for data in self.consent.coverage(child_id):
                self._upsert_projection(child_id, data)
            self.db.flush()
            rows = self.db.scalars(select(ConsentProjection).where(
                ConsentProjection.child_id == child_id)).all()
        return domain.coverage_from(rows, date.today())

    # -- helpers ----------------------------------------------------------------------------

    def _participants(self, log_id: str) -> list[Participant]:
        return list(self.db.scalars(select(Participant).where(Participant.log_id == log_id)))

    def _authorized(self, log_id: str, action: str):
        """Load the log and the actor's place in it, writing the access record."""
        log = self.db.get(Log, log_id)
        if log is None:
            self._deny(action, "log", log_id, None, "no such log")
            raise NotFound("no such log")
        participants = self._participants(log.id)
        try:
            viewer = domain.authorize(self.actor, participants, self._coverage(log.child_id),
                                      date.today())
        except NotFound:
            self._deny(action, "log", log.id, log.id, "not a participant or not covered")
            raise
        record_access(self.db, self.actor, action=action, object_type="log",
                      object_id=log.id, subject_id=log.id, outcome="allowed", role=viewer.role)
        return log, participants, viewer

    def _deny(self, action, object_type, object_id, subject_id, reason) -> None:
        # the denial is recorded even though the caller's request fails
        self.db.rollback()
        record_access(self.db, self.actor, action=action, object_type=object_type,
                      object_id=object_id, subject_id=subject_id, outcome="denied",
                      reason=reason)
        self.db.commit()
