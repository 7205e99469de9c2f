"""Logs service entrypoints: thin; rules live in domain.py."""
from __future__ import annotations

import logging
import uuid
from datetime import date, timedelta
from pathlib import Path

from marshmallow import ValidationError
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from sqlalchemy import select

from services.logs import domain, events
from services.logs.models import (ConsentProjection, ConsentProjectionState, Log, Measure,
                                 Participant)
from services.logs.schemas import (LogCitizenView, LogStaffView, LogSummary, MeasureIn,
                                   MeasureView, OpenLogIn, ParticipantIn,
                                   ParticipantStaffView)
from stafett.audit import record_access
from stafett.db import Database
from stafett.errors import EXPECTED, NotFound, ServiceUnavailable, ValidationFailed
from stafett.events import (Envelope, Outbox, as_utc, first_delivery, reliable_event_handler,
                            utcnow)
from stafett.rpc import TimeoutRpcProxy
from stafett.service import ServiceBase

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


class StartedAt(DependencyProvider):
    """When this container started: projections verified before that are re-checked."""

    def setup(self):
        self.started_at = utcnow()

    def get_dependency(self, worker_ctx):
        return self.started_at


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
    started_at = StartedAt()

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
    #
    # Reads decide on a local projection of consent, fed by consent events. It is checked
    # synchronously against the consent service when it is missing, older than this
    # process, or older than CONSENT_PROJECTION_MAX_AGE; and the consent service calls
    # refresh_consent right after a consent stops covering someone, so the first request
    # after a withdrawal is already judged on the new state.

    @rpc(expected_exceptions=EXPECTED)
    def refresh_consent(self, child_id: str) -> None:
        self._sync_projection(child_id)
        self.db.commit()

    @reliable_event_handler("consent", "consent.granted")
    def on_consent_granted(self, payload: dict) -> None:
        self._project_consent(Envelope.from_dict(payload), "on_consent_granted")

    @reliable_event_handler("consent", "consent.withdrawn")
    def on_consent_withdrawn(self, payload: dict) -> None:
        self._project_consent(Envelope.from_dict(payload), "on_consent_withdrawn")

    @reliable_event_handler("consent", "consent.superseded")
    def on_consent_superseded(self, payload: dict) -> None:
        self._project_consent(Envelope.from_dict(payload), "on_consent_superseded")

    @reliable_event_handler("consent", "consent.expired")
    def on_consent_expired(self, payload: dict) -> None:
        self._project_consent(Envelope.from_dict(payload), "on_consent_expired")

    def _project_consent(self, event: Envelope, consumer: str) -> None:
        if not first_delivery(self.db, f"logs.{consumer}", event.event_id):
            return
        row = self.db.get(ConsentProjection, event.data["consent_id"])
        ended = ("withdrawn", "superseded", "expired")
        if row is not None and row.status in ended and event.data["status"] not in ended:
            self.db.commit()  # an old event after the consent ended changes nothing
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

    def _sync_projection(self, child_id: str) -> None:
        """Replace the child's projection with the owner's answer."""
        current = {c["consent_id"]: c for c in self.consent.coverage(child_id)}
        for row in self.db.scalars(select(ConsentProjection).where(
                ConsentProjection.child_id == child_id)):
            if row.consent_id not in current and row.status in ("active", "pending"):
                row.status, row.updated_at = "ended", utcnow()
        for data in current.values():
            self._upsert_projection(child_id, data)
        state = self.db.get(ConsentProjectionState, child_id) or ConsentProjectionState(
            child_id=child_id)
        state.verified_at = utcnow()
        self.db.add(state)
        self.db.flush()

    def _coverage(self, child_id: str) -> domain.Coverage:
        state = self.db.get(ConsentProjectionState, child_id)
        max_age = timedelta(seconds=float(self.config.get("CONSENT_PROJECTION_MAX_AGE", 300)))
        verified = as_utc(state.verified_at) if state else None
        if verified is None or verified < self.started_at or verified < utcnow() - max_age:
            try:
                self._sync_projection(child_id)
            except ServiceUnavailable:
                if state is None:
                    raise  # nothing to go on: better 503 than a guess
                logger.warning("consent unreachable; using the projection as it is")
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
