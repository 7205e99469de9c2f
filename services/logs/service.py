"""Logs service entrypoints: each loads the log, lets domain.py decide, records access.

Every call runs as one audited unit of work (``_in_log``): the actor's place in the log is
decided inside the logs service whatever the caller, and exactly one access record is
written for it, in the same transaction as the work.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import func, select, update

from services.logs import domain, events, lists, views
from services.logs.fhir import log_bundle
from services.logs.models import (AppliedHandover, ConsentProjection, ConsentProjectionState,
                                  Entry, Evaluation, LevelChange, Log, Measure, Meeting,
                                  MeetingInvite, Participant, Proposal)
from services.logs.schemas import (AccessRecordView, CloseLogIn, EntryIn, EvaluationIn,
                                   LogSummary, LogUpdateIn, MeasureIn,
                                   MeasureUpdateIn, MeetingIn, MinutesIn, OpenLogIn,
                                   ParticipantIn, ParticipantStaffView, ProposalAcceptIn,
                                   ProposalDeclineIn, ProposalIn, StafettholderIn, TimelineItem)
from services.logs.stats import statistics_from_counts
from services.logs.summary import handover_summary
from services.logs.versions import LogVersions
from stafett.actor import SERVICE, STAFF, SYSTEM
from stafett.audit import access_table, audited_work
from stafett.contracts import load
from stafett.coverage import Covered
from stafett.db import Database
from stafett.request_keys import once
from stafett.errors import (EXPECTED, Conflict, Forbidden, NotFound,
                            ServiceUnavailable, ValidationFailed, coded)
from stafett.paging import bounded, decode_key, keyset_page, newest_first, visible_page
from stafett.events import (Envelope, Outbox, as_utc, first_delivery, reliable_event_handler,
                            utcnow)
from stafett.ids import new_id
from stafett.rpc import TimeoutRpcProxy
from services.logs.gauges import refresh_gauges
from stafett.gauges import ScrapeGauges
from stafett.service import ServiceBase
from stafett.transparency import AuditEndpoints
from stafett.web import preencoded

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
#: how often the timer looks for stafettholders whose participation has ended
STAFETTHOLDER_CHECK_SECONDS = 600


class StartedAt(DependencyProvider):
    """When this container started: projections verified before that are re-checked."""

    def setup(self):
        self.started_at = utcnow()

    def get_dependency(self, worker_ctx):
        return self.started_at


@dataclass
class InLog:
    log: Log
    participants: list
    viewer: domain.Viewer
    work: object
    versions: LogVersions  # the log's version goes up just before commit (versions.py)
    coverage: Covered | None = None  # what consent covered when the log was read

    def participant(self, participant_id: str) -> Participant:
        found = next((p for p in self.participants if p.id == participant_id), None)
        if found is None:
            raise NotFound("no such participant in this log", code="participant.not_found")
        return found

    @property
    def stafettholder(self) -> Participant | None:
        return domain.stafettholder_row(self.participants)


class LogsService(AuditEndpoints, ServiceBase):
    name = "logs"

    db = Database(MIGRATIONS)
    gauges = ScrapeGauges(refresh_gauges)
    events = Outbox()
    consent = TimeoutRpcProxy("consent")
    started_at = StartedAt()

    # -- the log ----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    @once
    def open_log(self, payload: dict) -> dict:
        domain.require_staff(self.actor)  # before validation
        data = load(OpenLogIn(), payload)
        actor, today = self.actor, date.today()
        with audited_work(self.db, actor, "open", "log", subject_id=data["child_id"]) as work:
            has_open = self.db.scalar(select(Log.id).where(
                Log.child_id == data["child_id"], Log.status == domain.OPEN)) is not None
            domain.check_can_open(actor, self._coverage(data["child_id"]), has_open)
            parties = self.consent.child_parties(data["child_id"])
            me = self.consent.staff_member(actor.person_id)
            now = utcnow()
            log = Log(id=new_id(), child_id=data["child_id"], status=domain.OPEN,
                      child_birth_date=date.fromisoformat(parties["child"]["birth_date"]),
                      child_protected=bool(parties.get("protected")),
                      level=data["level"], opened_at=now, version=1)
            work.protected = log.child_protected
            self.db.add(log)
            self.db.flush()
            holder = self._staff_participant(log.id, me, domain.STAFETTHOLDER, today)
            self.db.add(Participant(id=new_id(), log_id=log.id, person_id=parties["child"]["id"],
                                    kind="child", role=domain.CHILD, added_at=now,
                                    display_name=parties["child"]["name"], active_from=today))
            for guardian in parties["guardians"]:
                self.db.add(Participant(id=new_id(), log_id=log.id, person_id=guardian["id"],
                                        kind="guardian", role=domain.GUARDIAN, added_at=now,
                                        display_name=guardian["name"], active_from=today))
            self.db.add(LevelChange(id=new_id(), log_id=log.id, level=log.level,
                                    changed_at=now, changed_by=holder.id))
            work.object_id = work.subject_id = log.id
            work.role = domain.STAFETTHOLDER
            self.events.emit(self.db, events.OPENED, child_id=log.child_id, log_id=log.id,
                             data={"level": log.level, "stafettholder_person_id": me["id"],
                                   "stafettholder_agency": me["agency"]})
        return self._view(log.id)

    @rpc(expected_exceptions=EXPECTED)
    def get_log(self, log_id: str, encoded: bool = False) -> dict:
        """``encoded``: the view as JSON text (stafett.web.preencoded), for the gateway."""
        with self._in_log(log_id, "read") as ctx:
            recent = lists.recent(self.db, log_id, ctx.viewer)  # in the access's transaction
        view = self._view(log_id, ctx, recent)
        return preencoded(view, "version") if encoded else view

    @rpc(expected_exceptions=EXPECTED)
    def my_logs(self, limit: int = 50, cursor: str | None = None) -> dict:
        """One page of the logs the actor has a role in, newest first, with the badges
        staff work from; for an agency system, the logs its agency takes part in."""
        actor, today = self.actor, date.today()
        candidates = self._candidate_log_ids(actor)

        def fetch(after, n):
            if candidates is None:
                return []
            return self.db.scalars(newest_first(select(Log).where(Log.id.in_(candidates)),
                                                Log.opened_at, Log.id, after).limit(n)).all()

        with audited_work(self.db, actor, "list", "logs"):  # a bad cursor is recorded too
            result = visible_page(fetch, lambda log: self._log_summary(actor, log, today),
                                  limit, cursor, lambda log: (log.opened_at, log.id))
        return {**result, "items": LogSummary(many=True).dump(result["items"])}

    @staticmethod
    def _candidate_log_ids(actor):
        """The logs that may be the actor's (each is still authorized): those naming the
        person, or for an agency system those naming a staff member of its agency."""
        if actor is None:
            return None
        if actor.kind == SYSTEM:
            if not actor.agency:
                return None
            return select(Participant.log_id).where(Participant.kind == "staff",
                                                    Participant.agency == actor.agency)
        if not actor.person_id:
            return None
        return select(Participant.log_id).where(Participant.person_id == actor.person_id)

    def _log_summary(self, actor, log: Log, today: date) -> dict | None:
        """The log's line in a list, or None if the actor may not see it."""
        try:
            viewer = domain.authorize(actor, self._participants(log.id),
                                      self._coverage(log.child_id), today,
                                      self._child_sees(log.child_id))
        except NotFound:
            return None
        return {"id": log.id, "child_id": log.child_id, "status": log.status,
                "level": log.level, "viewer_role": viewer.role,
                **lists.measure_badges(self.db, log.id, today)}

    @rpc(expected_exceptions=EXPECTED)
    @once
    def update_log(self, log_id: str, payload: dict, expected_version=None) -> dict:
        """Change the BTI level (kept in its history)."""
        with self._in_log(log_id, "change_level", write=True) as ctx:
            domain.require_stafettholder(ctx.viewer)
            self._check_log_version(ctx, expected_version)
            data = load(LogUpdateIn(), payload)
            previous = ctx.log.level
            if data["level"] != previous:
                ctx.log.level = data["level"]
                self.db.add(LevelChange(id=new_id(), log_id=log_id, level=data["level"],
                                        changed_at=utcnow(), changed_by=ctx.viewer.participant.id))
                self.events.emit(self.db, events.LEVEL_CHANGED, child_id=ctx.log.child_id,
                                 log_id=log_id, data={"from_level": previous,
                                                      "to_level": data["level"]})
            ctx.versions.bump(ctx.log)
        return self._view(log_id)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def close_log(self, log_id: str, payload: dict, expected_version=None) -> dict:
        with self._in_log(log_id, "close", write=True) as ctx:
            domain.require_stafettholder(ctx.viewer)
            self._check_log_version(ctx, expected_version)
            data = load(CloseLogIn(), payload)
            ctx.log.status, ctx.log.closed_at = domain.CLOSED, utcnow()
            ctx.log.close_reason = data["reason"]
            ctx.versions.bump(ctx.log)
            today = date.today()
            self.events.emit(self.db, events.CLOSED, child_id=ctx.log.child_id, log_id=log_id,
                             data={"participant_person_ids": sorted(
                                 {p.person_id for p in ctx.participants if domain.is_active(p, today)}),
                                 "stafettholder_person_id": events.person_id(ctx.stafettholder)})
        return self._view(log_id)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def set_stafettholder(self, log_id: str, payload: dict, expected_version=None) -> dict:
        """Pass the role within the log; there is exactly one stafettholder at any time."""
        with self._in_log(log_id, "change_stafettholder", write=True) as ctx:
            today, coverage = date.today(), self._coverage(ctx.log.child_id)
            holder = domain.current_stafettholder(ctx.participants, today, coverage)
            domain.require_may_pass_baton(ctx.viewer, holder)   # none: anyone who can act
            self._check_log_version(ctx, expected_version)
            data = load(StafettholderIn(), payload)
            target = ctx.participant(data["participant_id"])
            if target.kind != "staff":
                raise ValidationFailed("the stafettholder must be active staff in the log",
                                       {"participant_id": ["not active staff in this log"]},
                                       code="participant.not_active_staff")
            domain.check_new_stafettholder(target, today, coverage)
            if holder is None:
                self._record_lapse(ctx.log, ctx.participants, today, coverage, ctx.versions)
            self._move_baton(ctx, holder, target, domain.MEMBER)
        return self._view(log_id)

    # -- participants -----------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    @once
    def add_participant(self, log_id: str, payload: dict) -> dict:
        with self._in_log(log_id, "add_participant", "participant", write=True) as ctx:
            domain.require_stafettholder(ctx.viewer)
            data = load(ParticipantIn(), payload)
            staff = self.consent.staff_member(data["person_id"])
            today = date.today()
            domain.check_new_participant(staff, self._coverage(ctx.log.child_id),
                                         ctx.participants, today)
            domain.check_room(len(ctx.participants), self._limits().participants,
                              "participants")
            participant = self._staff_participant(log_id, staff, domain.MEMBER, today,
                                                  data["active_until"])
            ctx.work.object_id = participant.id
            ctx.versions.bump(ctx.log)
            self.events.emit(self.db, events.PARTICIPANT_ADDED, child_id=ctx.log.child_id,
                             log_id=log_id, data=events.participant_data(participant))
        return ParticipantStaffView().dump(participant)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def remove_participant(self, log_id: str, participant_id: str,
                           expected_version=None) -> dict:
        with self._in_log(log_id, "remove_participant", "participant", participant_id,
                          write=True) as ctx:
            domain.require_stafettholder(ctx.viewer)
            participant = ctx.participant(participant_id)  # a missing one: 404 first
            self._check_log_version(ctx, expected_version)
            domain.check_removal(participant, ctx.viewer)
            participant.removed_at = utcnow()
            ctx.versions.bump(ctx.log)
            self.events.emit(self.db, events.PARTICIPANT_REMOVED, child_id=ctx.log.child_id,
                             log_id=log_id, data=events.participant_data(participant))
        return ParticipantStaffView().dump(participant)

    # -- measures and evaluations -----------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_measures(self, log_id: str, limit: int | None = None,
                      cursor: str | None = None) -> dict:
        """One page of the log's measures, newest first, each with its latest evaluations."""
        with self._in_log(log_id, "read", "measures") as ctx:
            result = lists.measures_page(self.db, log_id, limit, cursor)
        return {"items": [self._dump_measure(ctx, m, result) for m in result["items"]],
                "next_cursor": result["next_cursor"]}

    @rpc(expected_exceptions=EXPECTED)
    def get_measure(self, log_id: str, measure_id: str) -> dict:
        with self._in_log(log_id, "read", "measure", measure_id) as ctx:
            measure = self._measure(log_id, measure_id)
        return self._dump_measure(ctx, measure)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def add_measure(self, log_id: str, payload: dict) -> dict:
        with self._in_log(log_id, "add_measure", "measure", write=True) as ctx:
            domain.require_staff_writer(ctx.viewer)
            data = load(MeasureIn(), payload)
            measure = self._new_measure(ctx, data, proposer=ctx.viewer.participant)
        return self._dump_measure(ctx, measure)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def update_measure(self, log_id: str, measure_id: str, payload: dict,
                       expected_version=None) -> dict:
        with self._in_log(log_id, "update_measure", "measure", measure_id, write=True) as ctx:
            domain.require_staff_writer(ctx.viewer)
            measure = self._measure(log_id, measure_id)  # a missing one: 404 before the body
            data = load(MeasureUpdateIn(), payload)
            domain.check_version(expected_version, measure.version)
            today = date.today()
            domain.check_measure_fields({"start_date": measure.start_date, **data},
                                        ctx.participants, today)
            for field, value in data.items():
                setattr(measure, field, value)
            if "evaluate_by" in data:
                measure.evaluate_by_set_on = today
            measure.version += 1
            measure.updated_at = utcnow()
            ctx.versions.bump(ctx.log)
            self.events.emit(self.db, events.MEASURE_UPDATED, child_id=ctx.log.child_id,
                             log_id=log_id, data=self._measure_event(ctx, measure))
        return self._dump_measure(ctx, measure)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def add_evaluation(self, log_id: str, measure_id: str, payload: dict) -> dict:
        with self._in_log(log_id, "evaluate", "measure", measure_id, write=True) as ctx:
            domain.require_staff_writer(ctx.viewer)
            measure = self._measure(log_id, measure_id)  # a missing one: 404 before the body
            data = load(EvaluationIn(), payload)
            domain.check_evaluable(measure)
            evaluation = Evaluation(id=new_id(), measure_id=measure.id,
                                    outcome=data["outcome"], text=data["text"],
                                    child_view=data["child_view"],
                                    evaluator_id=ctx.viewer.participant.id,
                                    evaluated_on=data["evaluated_on"] or date.today(),
                                    created_at=utcnow())
            self.db.add(evaluation)
            measure.version += 1
            ctx.versions.bump(ctx.log)
            self.events.emit(self.db, events.MEASURE_EVALUATED, child_id=ctx.log.child_id,
                             log_id=log_id, data={**self._measure_event(ctx, measure),
                                                  "evaluation_id": evaluation.id,
                                                  "outcome": evaluation.outcome})
        return views.dump_evaluation(ctx.viewer, evaluation)

    @rpc(expected_exceptions=EXPECTED)
    def list_evaluations(self, log_id: str, measure_id: str, limit: int | None = None,
                         cursor: str | None = None) -> dict:
        """One page of a measure's evaluations, the latest first (by the day evaluated)."""
        with self._in_log(log_id, "read", "measure", measure_id) as ctx:
            measure = self._measure(log_id, measure_id)  # a foreign one: like a missing one
            result = lists.evaluations_page(self.db, measure.id, limit, cursor)
        return {"items": [views.dump_evaluation(ctx.viewer, e) for e in result["items"]],
                "next_cursor": result["next_cursor"]}

    # -- meetings ---------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_meetings(self, log_id: str, limit: int | None = None,
                      cursor: str | None = None) -> dict:
        """One page of the log's meetings, the latest planned first."""
        with self._in_log(log_id, "read", "meetings") as ctx:
            result = lists.meetings_page(self.db, log_id, limit, cursor)
        return {"items": [views.dump_meeting(ctx.viewer, m, result["invites"].get(m.id, []))
                          for m in result["items"]],
                "next_cursor": result["next_cursor"]}

    @rpc(expected_exceptions=EXPECTED)
    def get_meeting(self, log_id: str, meeting_id: str) -> dict:
        """One meeting (the web client's minutes form; the API lists them)."""
        with self._in_log(log_id, "read", "meeting", meeting_id) as ctx:
            meeting = self._meeting(log_id, meeting_id)
        return views.dump_meeting(ctx.viewer, meeting, self._invites(meeting.id))

    @rpc(expected_exceptions=EXPECTED)
    @once
    def schedule_meeting(self, log_id: str, payload: dict) -> dict:
        with self._in_log(log_id, "schedule_meeting", "meeting", write=True) as ctx:
            domain.require_staff_writer(ctx.viewer)
            data = load(MeetingIn(), payload)
            errors = {}
            if data["ends_at"] and data["ends_at"] <= data["starts_at"]:
                errors["ends_at"] = [coded("meeting.ends_before_start", "must be after starts_at")]
            today = date.today()
            invited = [p for p in ctx.participants if p.id in set(data["invited"])
                       and domain.is_active(p, today)]
            if len(invited) != len(set(data["invited"])):
                errors["invited"] = [coded("meeting.invitee_not_participant",
                                             "every invited person must be an active participant")]
            if errors:
                raise ValidationFailed("the meeting is not valid", errors, code="meeting.invalid")
            meeting = Meeting(id=new_id(), log_id=log_id, starts_at=data["starts_at"],
                              ends_at=data["ends_at"], mode=data["mode"], place=data["place"],
                              agenda=data["agenda"], created_by=ctx.viewer.participant.id,
                              created_at=utcnow(), version=1)
            self.db.add(meeting)
            self.db.flush()
            for participant in invited:
                self.db.add(MeetingInvite(meeting_id=meeting.id, participant_id=participant.id))
            ctx.work.object_id = meeting.id
            ctx.versions.bump(ctx.log)
            self.events.emit(self.db, events.MEETING_SCHEDULED, child_id=ctx.log.child_id,
                             log_id=log_id, data=events.meeting_data(
                                 meeting, [p.person_id for p in invited], ctx.stafettholder))
        return views.dump_meeting(ctx.viewer, meeting, self._invites(meeting.id))

    @rpc(expected_exceptions=EXPECTED)
    @once
    def record_minutes(self, log_id: str, meeting_id: str, payload: dict,
                       expected_version=None) -> dict:
        """Minutes, attendance, and decisions that become measures in the same step."""
        with self._in_log(log_id, "record_minutes", "meeting", meeting_id, write=True) as ctx:
            domain.require_staff_writer(ctx.viewer)
            meeting = self._meeting(log_id, meeting_id)  # a missing one: 404 before the body
            data = load(MinutesIn(), payload)
            domain.check_version(expected_version, meeting.version)
            invites = self._invites(meeting.id)
            unknown = set(data["attended"]) - {i.participant_id for i in invites}
            if unknown:
                raise ValidationFailed("attendance names someone not invited",
                                       {"attended": ["only invited participants can attend"]},
                                       code="meeting.attendee_not_invited")
            for invite in invites:
                invite.attended = invite.participant_id in set(data["attended"])
            meeting.minutes, meeting.minuted_at = data["minutes"], utcnow()
            meeting.version += 1
            for index, decision in enumerate(data["decisions"]):
                try:
                    measure = self._new_measure(ctx, decision, proposer=ctx.viewer.participant)
                except ValidationFailed as exc:
                    raise ValidationFailed(exc.detail, {f"decisions.{index}": exc.errors},
                                           code=exc.code, error_codes={
                                               f"decisions.{index}.{field}": codes
                                               for field, codes in exc.error_codes.items()})
                measure.meeting_id = meeting.id
            self.events.emit(self.db, events.MEETING_MINUTED, child_id=ctx.log.child_id,
                             log_id=log_id, data={"meeting_id": meeting.id, "attendee_person_ids": sorted(
                                 ctx.participant(i).person_id for i in data["attended"])})
        return views.dump_meeting(ctx.viewer, meeting, self._invites(meeting.id))

    @rpc(expected_exceptions=EXPECTED)
    def meeting_preparation(self, log_id: str, meeting_id: str) -> dict:
        with self._in_log(log_id, "prepare_meeting", "meeting", meeting_id) as ctx:
            domain.require_staff_writer(ctx.viewer)
            meeting = self._meeting(log_id, meeting_id)
        today = date.today()
        measures = [m for m in lists.all_measures(self.db, log_id)  # the cap bounds them
                    if m.status in domain.OPEN_MEASURE_STATES]
        extras = lists.measure_extras(self.db, [m.id for m in measures])
        since = lists.previous_meeting_start(self.db, log_id, meeting)
        changes = lists.changes_since(self.db, ctx.log, ctx.viewer, since)
        prepared = views.preparation(measures, extras, meeting, since, ctx.participants, today)
        dump = lambda ms: [views.MEASURE_VIEWS["staff"]().dump(m) for m in ms]  # noqa: E731
        return {"meeting_id": meeting.id,
                "previous_meeting_at": since.isoformat() if since else None,
                "open_measures": dump(prepared["open_measures"]),
                "evaluations_due": dump(prepared["evaluations_due"]),
                "changes_since_last_meeting": TimelineItem(many=True).dump(changes["items"]),
                "more_changes_cursor": changes["next_cursor"]}

    # -- entries and proposals --------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_entries(self, log_id: str, limit: int | None = None,
                     cursor: str | None = None) -> dict:
        """One page of the entries the actor may see, newest first: staff-only entries are
        left out in the query for the family, so a page is never short before the end."""
        with self._in_log(log_id, "read", "entries") as ctx:
            result = lists.entries_page(self.db, log_id, ctx.viewer, limit, cursor)
        return {"items": [views.dump_entry(ctx.viewer, e) for e in result["items"]],
                "next_cursor": result["next_cursor"]}

    @rpc(expected_exceptions=EXPECTED)
    @once
    def add_entry(self, log_id: str, payload: dict) -> dict:
        with self._in_log(log_id, "add_entry", "entry", write=True) as ctx:
            data = load(EntryIn(), payload)
            domain.check_entry(ctx.viewer, data["kind"], data["visibility"])
            entry = Entry(id=new_id(), log_id=log_id, kind=data["kind"],
                          visibility=data["visibility"], text=data["text"],
                          author_id=ctx.viewer.participant.id, created_at=utcnow())
            self.db.add(entry)
            ctx.work.object_id = entry.id
            ctx.versions.bump(ctx.log)
            self.events.emit(self.db, events.ENTRY_ADDED, child_id=ctx.log.child_id,
                             log_id=log_id, data={"entry_id": entry.id, "kind": entry.kind,
                                                  "visibility": entry.visibility})
        return views.dump_entry(ctx.viewer, entry)

    @rpc(expected_exceptions=EXPECTED)
    def list_proposals(self, log_id: str, limit: int | None = None,
                       cursor: str | None = None) -> dict:
        """One page of the proposals the actor may see (the child: its own), newest first."""
        with self._in_log(log_id, "read", "proposals") as ctx:
            result = lists.proposals_page(self.db, log_id, ctx.viewer, limit, cursor)
        return {"items": [views.dump_proposal(p, ctx.participants) for p in result["items"]],
                "next_cursor": result["next_cursor"]}

    @rpc(expected_exceptions=EXPECTED)
    def get_proposal(self, log_id: str, proposal_id: str) -> dict:
        """One proposal the actor may see (the web client's answer page)."""
        with self._in_log(log_id, "read", "proposal", proposal_id) as ctx:
            proposal = self._proposal(log_id, proposal_id)
            if not domain.proposal_visible(proposal, ctx.viewer):
                raise NotFound("no such proposal in this log", code="proposal.not_found")
        return views.dump_proposal(proposal, ctx.participants)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def propose_measure(self, log_id: str, payload: dict) -> dict:
        with self._in_log(log_id, "propose", "proposal", write=True) as ctx:
            data = load(ProposalIn(), payload)
            domain.check_proposer(ctx.viewer)
            proposal = Proposal(id=new_id(), log_id=log_id, proposer_id=ctx.viewer.participant.id,
                                status="proposed", created_at=utcnow(), **data)
            self.db.add(proposal)
            ctx.work.object_id = proposal.id
            ctx.versions.bump(ctx.log)
            self.events.emit(self.db, events.PROPOSAL_MADE, child_id=ctx.log.child_id,
                             log_id=log_id, data={
                                 "proposal_id": proposal.id,
                                 "proposer_person_id": ctx.viewer.participant.person_id,
                                 "stafettholder_person_id": events.person_id(ctx.stafettholder)})
        return views.dump_proposal(proposal, ctx.participants)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def accept_proposal(self, log_id: str, proposal_id: str, payload: dict,
                        expected_version: int | None = None) -> dict:
        """It becomes a measure; the proposer stays its proposer. ``expected_version`` is
        the log's (answering changes the log); the gateway demands it of API clients."""
        with self._in_log(log_id, "accept_proposal", "proposal", proposal_id,
                          write=True) as ctx:
            domain.require_stafettholder(ctx.viewer)
            proposal = self._proposal(log_id, proposal_id)  # a missing one: 404 first
            if expected_version is not None:
                self._check_log_version(ctx, expected_version)
            data = load(ProposalAcceptIn(), payload)
            domain.check_answerable(proposal)
            measure = self._new_measure(ctx, {
                "title": proposal.title, "description": proposal.description,
                "goal": data.get("goal") or proposal.goal or proposal.title,
                "arena": proposal.arena, "responsible_id": data["responsible_id"],
                "start_date": data["start_date"], "evaluate_by": data["evaluate_by"],
                "status": "planned"}, proposer=ctx.participant(proposal.proposer_id))
            measure.proposal_id = proposal.id
            self._answer(ctx, proposal, "accepted", measure_id=measure.id)
        return views.dump_proposal(proposal, ctx.participants)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def decline_proposal(self, log_id: str, proposal_id: str, payload: dict,
                         expected_version: int | None = None) -> dict:
        with self._in_log(log_id, "decline_proposal", "proposal", proposal_id,
                          write=True) as ctx:
            domain.require_stafettholder(ctx.viewer)
            proposal = self._proposal(log_id, proposal_id)  # a missing one: 404 first
            if expected_version is not None:
                self._check_log_version(ctx, expected_version)
            data = load(ProposalDeclineIn(), payload)
            domain.check_answerable(proposal)
            proposal.decline_reason = data["reason"]
            self._answer(ctx, proposal, "declined")
        return views.dump_proposal(proposal, ctx.participants)

    # -- timeline, access log, statistics, export -------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def timeline(self, log_id: str, limit: int = 50, cursor: str | None = None,
                 newest_first: bool = False) -> dict:
        """The log's story, oldest first (or newest first), one page at a time."""
        with self._in_log(log_id, "read", "timeline") as ctx:
            # a cursor we did not give out: refused, and recorded
            lists.check_timeline_cursor(log_id, cursor, bool(newest_first))
            result = lists.timeline_page(self.db, ctx.log, ctx.viewer, limit, cursor,
                                         bool(newest_first))
        return {**result, "items": TimelineItem(many=True).dump(result["items"])}

    @rpc(expected_exceptions=EXPECTED)
    def access_log(self, log_id: str, limit: int = 50, cursor: str | None = None) -> dict:
        """Who looked at or changed the log, when and in which role: for the family and the
        stafettholder. Newest first."""
        with self._in_log(log_id, "read", "access_log") as ctx:
            domain.require_may_read_access_log(ctx.viewer)
            decode_key(cursor)  # a cursor we did not give out: refused, and recorded
        # keyset on the chain's sequence: every read adds a record at the top
        result = keyset_page(self._access_rows(access_table.c.subject_id == log_id, limit,
                                               cursor), bounded(limit), lambda r: r["seq"])
        people = {f"person:{p.person_id}": p for p in ctx.participants}
        result["items"] = AccessRecordView(many=True).dump([
            {"at": as_utc(r["at"]), "who": self._who(r, people), "role": r["role"],
             "agency_type": people[r["actor_ref"]].agency_type
             if r["actor_ref"] in people else None,
             "action": r["action"], "outcome": r["outcome"],
             "protected": bool(r["protected"])} for r in result["items"]])
        return result

    def _access_rows(self, condition, limit, cursor) -> list:
        """Access records matching ``condition``, newest first, below the cursor's key."""
        query = select(access_table).where(condition)
        after = decode_key(cursor)
        if after is not None:
            query = query.where(access_table.c.seq < after)
        return self.db.execute(query.order_by(access_table.c.seq.desc())
                               .limit(bounded(limit) + 1)).mappings().all()

    @rpc(expected_exceptions=EXPECTED)
    def agency_audit(self, limit: int = 50, cursor: str | None = None) -> dict:
        """An agency's auditor reads the access records of its own agency's staff."""
        actor = self.actor
        with audited_work(self.db, actor, "audit", "access_log"):  # refusals recorded too
            if actor is None or actor.kind != STAFF or "auditor" not in actor.roles:
                raise Forbidden("only an agency auditor may read the agency's access records",
                                code="access_log.auditor_only")
            result = keyset_page(self._access_rows(access_table.c.agency == actor.agency,
                                                   limit, cursor), bounded(limit),
                                 lambda r: r["seq"])
        result["items"] = [{**{k: r[k] for k in ("actor_ref", "role", "action", "object_type",
                                                 "object_id", "subject_id", "outcome",
                                                 "reason")},
                            "protected": bool(r["protected"]),
                            "at": as_utc(r["at"]).isoformat()} for r in result["items"]]
        return result

    @rpc(expected_exceptions=EXPECTED)
    def statistics(self) -> dict:
        """De-identified counts for planning: no log, child or person can be picked out."""
        actor = self.actor
        if actor is None or actor.kind != STAFF:
            raise Forbidden("statistics are for staff", code="statistics.staff_only")
        with audited_work(self.db, actor, "read", "statistics"):
            counts = lists.statistics_counts(self.db)  # counted in the database
        return statistics_from_counts(counts, int(self.config.get("STATS_MIN_COUNT", 5)))

    @rpc(expected_exceptions=EXPECTED)
    def log_fhir(self, log_id: str) -> dict:
        with self._in_log(log_id, "export_fhir") as ctx:
            if not ctx.viewer.is_staff:
                raise Forbidden("the FHIR export is for agency systems and staff",
                                code="fhir.not_allowed")
        # a whole-log document: every measure (at most LOG_MAX_MEASURES) with its latest
        # evaluation, the participants (at most LOG_MAX_PARTICIPANTS + a handover's)
        return log_bundle(ctx.log, ctx.participants, lists.all_measures(self.db, log_id),
                          lists.latest_evaluation_of_each(self.db, log_id), date.today())

    # -- for the consent service --------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def takes_part(self, child_id: str) -> bool:
        """Whether the actor has a part in one of the child's logs, open or closed (a
        former stafettholder during the read-only days after a handover too): the consent
        service shows staff a child's consents only then (need to know, not merely the
        right agency). The consent service has checked that a consent covers the actor's
        agency, so this asks nothing back (no RPC cycle) and looks at participation only."""
        actor, today = self.actor, date.today()
        if actor is None or actor.kind != STAFF:
            return False
        covered = Covered(frozenset({actor.agency}))
        mine = select(Participant.log_id).where(Participant.person_id == actor.person_id)
        for log in self.db.scalars(select(Log).where(Log.child_id == child_id,
                                                     Log.id.in_(mine))).all():
            try:
                domain.authorize(actor, self._participants(log.id), covered,
                                 today, False)  # staff only
            except NotFound:
                continue
            return True
        return False

    # -- handover (called by the handover service; docs/contracts-logs-handover.md) -----------

    @rpc(expected_exceptions=EXPECTED)
    def handover_context(self, log_id: str) -> dict:
        with self._in_log(log_id, "prepare_handover") as ctx:
            domain.require_stafettholder(ctx.viewer)
            domain.require_open(ctx.log)
            # room for those the handover adds, so applying it is never refused
            domain.check_room(len(ctx.participants), self._limits().participants,
                              "participants", needed=domain.HANDOVER_PARTICIPANTS)
        holder = ctx.viewer.participant
        return {"log_id": log_id, "child_id": ctx.log.child_id, "from_agency": holder.agency,
                "from_agency_type": holder.agency_type, "stafettholder_person_id": holder.person_id}

    @rpc(expected_exceptions=EXPECTED)
    def handover_summary(self, log_id: str) -> dict:
        with self._in_log(log_id, "compile_handover_summary") as ctx:
            domain.require_stafettholder(ctx.viewer)
        # a whole-log document bounded like the FHIR export, with the newest 20 of the
        # child's own words and of the proposals waiting for an answer
        return handover_summary(ctx.log, ctx.participants, lists.all_measures(self.db, log_id),
                                lists.latest_evaluation_of_each(self.db, log_id),
                                lists.newest_child_voices(self.db, log_id),
                                lists.newest_open_proposals(self.db, log_id), date.today())

    @rpc(expected_exceptions=EXPECTED)
    @once
    def apply_handover(self, log_id: str, handover_id: str, new_stafettholder_person_id: str,
                       receiving_person_ids: list[str], grace_days: int) -> dict:
        """Move the baton to the receiver; idempotent by handover id."""
        if self.actor is None or self.actor.kind != SERVICE:
            raise Forbidden("only the handover service applies handovers",
                            code="log.handover_service_only")
        if self.db.get(AppliedHandover, handover_id) is not None:
            return {"applied": True, "already_applied": True}
        with audited_work(self.db, self.actor, "apply_handover", "log", log_id,
                          subject_id=log_id, role="system") as work:
            log = self.db.get(Log, log_id)
            if log is None:
                raise NotFound("no such log", code="log.not_found")
            work.protected = bool(log.child_protected)
            domain.require_open(log)
            today = date.today()
            # the owner's answer now, not the projection's: consent may have ended between
            # acceptance and this application
            self._sync_projection(log.child_id)
            coverage = self._coverage(log.child_id)
            participants = self._participants(log_id)
            holder = domain.stafettholder_row(participants)  # None: the role had lapsed
            receiving = {}
            for person_id in dict.fromkeys([new_stafettholder_person_id, *receiving_person_ids]):
                existing = next((p for p in participants if p.person_id == person_id
                                 and domain.is_active(p, today)), None)
                staff = ({"agency": existing.agency, "agency_type": existing.agency_type}
                         if existing else self.consent.staff_member(person_id))
                domain.check_receiving_covered(staff, coverage)
                receiving[person_id] = existing or self._staff_participant(
                    log_id, staff, domain.MEMBER, today)
            ctx = InLog(log, participants, domain.Viewer(holder, domain.STAFETTHOLDER), work,
                        LogVersions())
            work.before_commit.append(lambda: ctx.versions.apply(self.db))
            self._move_baton(ctx, holder, receiving[new_stafettholder_person_id], domain.FORMER)
            if holder is not None:
                # the sender's role ends today; reading goes on through the grace period only
                holder.active_until = today - timedelta(days=1)
                holder.read_only_until = (today + timedelta(days=int(grace_days))
                                          if int(grace_days) > 0 else None)
            self.db.add(AppliedHandover(handover_id=handover_id, log_id=log_id,
                                        from_person_id=events.person_id(holder) or "",  # "": none held it
                                        to_person_id=new_stafettholder_person_id,
                                        applied_at=utcnow()))
        return {"applied": True, "already_applied": False}

    # -- the stafettholder's lapse ------------------------------------------------------------

    @timer(interval=STAFETTHOLDER_CHECK_SECONDS)
    def check_stafettholders(self) -> dict:
        """A holder whose participation has ended (the day after its last day) lapses: the
        role is cleared and the remaining staff and the guardians are told. Consent ending
        is caught at once by the consent handlers and refresh_consent; this also catches
        it if they could not run. Each lapse once, also with several replicas."""
        today, lapsed = date.today(), 0
        holders = select(Participant.log_id).where(Participant.role == domain.STAFETTHOLDER)
        for log in self.db.scalars(select(Log).where(Log.status == domain.OPEN,
                                                     Log.id.in_(holders))).all():
            try:
                coverage = self._coverage(log.child_id)
            except ServiceUnavailable:
                logger.warning("consent unreachable; the holder is checked next round",
                               extra={"log_id": log.id})
                continue
            versions = LogVersions()
            lapsed += self._record_lapse(log, self._participants(log.id), today, coverage,
                                         versions)
            versions.apply(self.db)
            self.db.commit()
        self.db.commit()
        return {"lapsed": lapsed}

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
        self._lapses_of_child(child_id, verified=True)
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

    # -- guardianship from the population register (docs/population-register.md) ----------
    #
    # Parental responsibility is the basis of a guardian's place in a log. When the
    # register changes it, a removed guardian stops being a participant of every log of
    # the child at once (removed_at: history kept, access gone, the open logs' and the
    # closed ones'), and a new guardian becomes a guardian participant of the child's open
    # logs (a closed log is not reopened to anyone). The case's protection follows too.

    @reliable_event_handler("consent", "consent.guardianship_changed")
    def on_guardianship_changed(self, payload: dict) -> None:
        event = Envelope.from_dict(payload)
        if not first_delivery(self.db, "logs.on_guardianship_changed", event.event_id):
            return
        data, now, today = event.data or {}, utcnow(), date.today()
        logs = list(self.db.scalars(select(Log).where(Log.child_id == event.child_id)))
        versions = LogVersions()
        added = set(data.get("added_guardian_ids") or [])
        names = {}
        if added and any(log.status == domain.OPEN for log in logs):
            parties = self.consent.child_parties(event.child_id)  # names: only by RPC
            names = {g["id"]: g["name"] for g in parties["guardians"]}
        for log in logs:
            log.child_protected = bool(data.get("protected"))
            participants = self._participants(log.id)
            for participant in participants:
                if (participant.kind == "guardian" and participant.removed_at is None
                        and participant.person_id in set(data.get("removed_guardian_ids")
                                                         or [])):
                    participant.removed_at = now
                    versions.bump(log)
                    self.events.emit(self.db, events.PARTICIPANT_REMOVED,
                                     child_id=log.child_id, log_id=log.id,
                                     data=events.participant_data(participant))
            if log.status != domain.OPEN:
                continue
            present = {p.person_id for p in participants
                       if p.kind == "guardian" and p.removed_at is None}
            for person_id in sorted(added - present):
                if person_id not in names:
                    continue  # no longer a guardian by the time we asked: nothing to add
                participant = Participant(
                    id=new_id(), log_id=log.id, person_id=person_id, kind="guardian",
                    role=domain.GUARDIAN, added_at=now, display_name=names[person_id],
                    active_from=today)
                self.db.add(participant)
                versions.bump(log)
                self.events.emit(self.db, events.PARTICIPANT_ADDED, child_id=log.child_id,
                                 log_id=log.id, data=events.participant_data(participant))
        versions.apply(self.db)
        self.db.commit()

    @reliable_event_handler("consent", "consent.protection_changed")
    def on_protection_changed(self, payload: dict) -> None:
        event = Envelope.from_dict(payload)
        if not first_delivery(self.db, "logs.on_protection_changed", event.event_id):
            return
        for log in self.db.scalars(select(Log).where(Log.child_id == event.child_id)):
            log.child_protected = bool((event.data or {}).get("protected"))
        self.db.commit()

    def _project_consent(self, event: Envelope, consumer: str) -> None:
        if not first_delivery(self.db, f"logs.{consumer}", event.event_id):
            return
        row = self.db.get(ConsentProjection, event.data["consent_id"])
        ended = ("withdrawn", "superseded", "expired", "ended")
        if row is not None and row.status in ended and event.data["status"] not in ended:
            self.db.commit()  # an old event after the consent ended changes nothing
            return
        self._upsert_projection(event.child_id, event.data)
        self.db.flush()
        self._lapses_of_child(event.child_id)
        self.db.commit()

    def _upsert_projection(self, child_id: str, data: dict) -> None:
        row = self.db.get(ConsentProjection, data["consent_id"]) or ConsentProjection(
            consent_id=data["consent_id"], child_id=child_id)
        row.status, row.updated_at = data["status"], utcnow()
        row.coverage = data.get("coverage") or []  # the owner's decision, as it came
        self.db.add(row)

    def _sync_projection(self, child_id: str) -> None:
        """Replace the child's projection with the owner's answer."""
        current = {c["consent_id"]: c for c in self.consent.coverage(child_id)}
        for row in self.db.scalars(select(ConsentProjection).where(
                ConsentProjection.child_id == child_id)):
            if row.consent_id not in current and row.status in ("active", "pending"):
                # no longer open by the owner's answer: it covers nobody
                row.status, row.coverage, row.updated_at = "ended", [], utcnow()
        for data in current.values():
            self._upsert_projection(child_id, data)
        state = self.db.get(ConsentProjectionState, child_id) or ConsentProjectionState(
            child_id=child_id)
        state.verified_at = utcnow()
        self.db.add(state)
        self.db.flush()

    def _coverage(self, child_id: str) -> Covered:
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
        return self._projected_coverage(child_id, date.today())

    # -- helpers ----------------------------------------------------------------------------

    def _child_sees(self, child_id: str):
        """Whether the child sees its own case: the consent service decides (its age rule),
        asked only when the child itself is the actor."""
        def ask() -> bool:
            try:
                return bool(self.consent.child_parties(child_id).get("sees_own_case"))
            except NotFound:
                return False
        return ask

    def _limits(self) -> domain.Limits:
        return domain.Limits.from_config(self.config)

    @contextmanager
    def _in_log(self, log_id: str, action: str, object_type: str = "log",
                object_id: str | None = None, write: bool = False):
        """One audited unit of work on a log the actor may see (else NotFound)."""
        with audited_work(self.db, self.actor, action, object_type, object_id or (
                log_id if object_type == "log" else None), subject_id=log_id) as work:
            log = self.db.get(Log, log_id)
            if log is None:
                raise NotFound("no such log", code="log.not_found")
            work.protected = bool(log.child_protected)
            participants = self._participants(log_id)
            coverage = self._coverage(log.child_id)
            viewer = domain.authorize(self.actor, participants, coverage, date.today(),
                                      self._child_sees(log.child_id))
            work.role = viewer.role
            if write:
                domain.require_writer(viewer)
                domain.require_open(log)
            versions = LogVersions()
            work.before_commit.append(lambda: versions.apply(self.db))
            yield InLog(log, participants, viewer, work, versions, coverage)

    @staticmethod
    def _check_log_version(ctx: InLog, expected_version) -> None:
        """If-Match on the log: checked now, and again under the row lock at the end."""
        domain.check_version(expected_version, ctx.log.version)
        ctx.versions.expect(ctx.log, expected_version)

    def _view(self, log_id: str, read: InLog | None = None, recent: dict | None = None) -> dict:
        """The log as the actor sees it (access already recorded by the caller); ``read``
        and ``recent``: what a read already loaded in its unit of work (nothing is read
        twice). After a write everything is read afresh."""
        if read is None:
            log = self.db.get(Log, log_id)
            participants = self._participants(log_id)
            today, coverage = date.today(), self._coverage(log.child_id)
            viewer = domain.authorize(self.actor, participants, coverage, today,
                                      self._child_sees(log.child_id))
            recent = lists.recent(self.db, log_id, viewer)
            self.db.commit()
        else:
            log, participants, viewer = read.log, read.participants, read.viewer
            today, coverage = date.today(), read.coverage
        return views.log_view(viewer, log, participants, recent, today,
                              domain.current_stafettholder(participants, today, coverage))

    def _dump_measure(self, ctx: InLog, measure: Measure, extras: dict | None = None) -> dict:
        """A measure as the viewer sees it, with its latest evaluations (``extras``: those
        already read for a page of measures)."""
        extras = extras or lists.measure_extras(self.db, [measure.id])
        return views.dump_measure(ctx.viewer, measure, ctx.participants, date.today(), extras)

    def _staff_participant(self, log_id, staff: dict, role: str, today: date,
                           active_until: date | None = None) -> Participant:
        participant = Participant(
            id=new_id(), log_id=log_id, person_id=staff["id"], kind="staff", role=role,
            display_name=staff["name"], title=staff.get("title"), agency=staff["agency"],
            agency_type=staff["agency_type"], municipality=staff.get("municipality"),
            active_from=today, active_until=active_until, added_at=utcnow())
        self.db.add(participant)
        self.db.flush()
        return participant

    def _move_baton(self, ctx: InLog, holder: Participant | None, target: Participant,
                    holder_becomes: str) -> None:
        """``holder`` None: the log had no stafettholder, and ``target`` takes the baton."""
        if holder is not None and holder.id == target.id:
            raise Conflict("that person already holds the stafettholder role",
                           code="participant.already_stafettholder")
        if holder is not None:
            holder.role = holder_becomes
        target.role = domain.STAFETTHOLDER
        ctx.versions.bump(ctx.log)
        self.events.emit(self.db, events.STAFETTHOLDER_CHANGED, child_id=ctx.log.child_id,
                         log_id=ctx.log.id, data={
                             "from_person_id": holder.person_id if holder else None,
                             "to_person_id": target.person_id, "to_agency": target.agency})

    def _record_lapse(self, log: Log, participants, today: date, coverage: Covered,
                      versions: LogVersions) -> bool:
        """If the log's stafettholder can no longer act: clear the role, and tell the
        remaining staff and the guardians (log.stafettholder_lapsed). Once per lapse."""
        holder = domain.lapsed_stafettholder(participants, today, coverage)
        if holder is None or log.status != domain.OPEN:
            return False
        reason = domain.lapse_reason(holder, today, coverage)
        claimed = self.db.execute(update(Participant).where(
            Participant.id == holder.id, Participant.role == domain.STAFETTHOLDER).values(
            role=domain.MEMBER)).rowcount  # a concurrent check recorded it: once only
        if not claimed:
            return False
        domain.clear_stafettholder(holder)
        versions.bump(log)
        self.events.emit(self.db, events.STAFETTHOLDER_LAPSED, child_id=log.child_id,
                         log_id=log.id, data={
                             "from_person_id": holder.person_id, "from_agency": holder.agency,
                             "reason": reason,
                             **domain.told_of_lapse(participants, holder, today, coverage)})
        return True

    def _lapses_of_child(self, child_id: str, verified: bool = False) -> None:
        """Right after the child's consent projection changed: a holder whose agency it
        no longer covers lapses at once. Before recording a lapse the projection is
        checked with the consent service (unless ``verified``: just synced), so a
        replacing consent whose event is still on its way is counted: who is told
        depends on it."""
        today = date.today()
        logs = self.db.scalars(select(Log).where(Log.child_id == child_id,
                                                 Log.status == domain.OPEN)).all()
        coverage = self._projected_coverage(child_id, today)
        if not verified and any(domain.lapsed_stafettholder(self._participants(log.id), today,
                                                            coverage) for log in logs):
            try:
                self._sync_projection(child_id)
                coverage = self._projected_coverage(child_id, today)
            except ServiceUnavailable:
                logger.warning("consent unreachable; the lapse is judged on the projection")
        versions = LogVersions()
        for log in logs:
            self._record_lapse(log, self._participants(log.id), today, coverage, versions)
        versions.apply(self.db)

    def _projected_coverage(self, child_id: str, today: date) -> Covered:
        return domain.covered_on(self.db.scalars(select(ConsentProjection).where(
            ConsentProjection.child_id == child_id)).all(), today)

    def _new_measure(self, ctx: InLog, data: dict, proposer: Participant) -> Measure:
        today = date.today()
        responsible = domain.check_measure(data, ctx.participants, today)
        domain.check_room(self.db.scalar(select(func.count()).select_from(Measure).where(
            Measure.log_id == ctx.log.id)), self._limits().measures, "measures")
        measure = Measure(id=new_id(), log_id=ctx.log.id, proposer_id=proposer.id,
                          created_at=utcnow(), version=1, **data)
        self.db.add(measure)
        self.db.flush()
        ctx.work.object_id = ctx.work.object_id or measure.id
        ctx.versions.bump(ctx.log)
        self.events.emit(self.db, events.MEASURE_ADDED, child_id=ctx.log.child_id,
                         log_id=ctx.log.id, data=events.measure_data(
                             measure, responsible, proposer, ctx.stafettholder))
        return measure

    def _measure_event(self, ctx: InLog, measure: Measure) -> dict:
        return events.measure_data(measure, ctx.participant(measure.responsible_id),
                                   ctx.participant(measure.proposer_id), ctx.stafettholder)

    def _answer(self, ctx: InLog, proposal: Proposal, decision: str, measure_id=None) -> None:
        proposal.status, proposal.answered_at = decision, utcnow()
        proposal.answered_by, proposal.measure_id = ctx.viewer.participant.id, measure_id
        ctx.versions.bump(ctx.log)
        self.events.emit(self.db, events.PROPOSAL_ANSWERED, child_id=ctx.log.child_id,
                         log_id=ctx.log.id, data={
                             "proposal_id": proposal.id, "decision": decision,
                             "proposer_person_id": ctx.participant(proposal.proposer_id).person_id,
                             "measure_id": measure_id})

    @staticmethod
    def _who(record, people) -> str:
        person = people.get(record["actor_ref"])
        if person is not None:
            return person.display_name
        if record["actor_ref"].startswith("system:"):
            return "Fagsystem"
        return "Stafett"

    def _participants(self, log_id: str) -> list[Participant]:
        return list(self.db.scalars(select(Participant).where(Participant.log_id == log_id)
                                    .order_by(Participant.active_from, Participant.id)))

    def _invites(self, meeting_id: str) -> list[MeetingInvite]:
        return list(self.db.scalars(select(MeetingInvite).where(
            MeetingInvite.meeting_id == meeting_id)))

    def _one(self, model, log_id: str, object_id: str, what: str, code: str):
        row = self.db.get(model, object_id)
        if row is None or row.log_id != log_id:
            raise NotFound(f"no such {what} in this log", code=code)
        return row

    def _measure(self, log_id: str, measure_id: str) -> Measure:
        return self._one(Measure, log_id, measure_id, "measure", code="measure.not_found")

    def _meeting(self, log_id: str, meeting_id: str) -> Meeting:
        return self._one(Meeting, log_id, meeting_id, "meeting", code="meeting.not_found")

    def _proposal(self, log_id: str, proposal_id: str) -> Proposal:
        return self._one(Proposal, log_id, proposal_id, "proposal",
                         code="proposal.not_found")
