"""The logs service's storage, its projection of consent and its unit of work, behind one
object per worker (``Store``). No rule is decided here (domain.py, model.py): this loads
rows, hands them to the log (model.Log), and afterwards stores what the log created,
emits what it raised and applies its version (versions.py).

Every call on a log runs as one audited unit of work (``Store.in_log``): the actor's place
in the log is decided inside the logs service whatever the caller, and exactly one access
record is written for it, in the same transaction as the work.

Reads decide on a local projection of consent, fed by consent events (handlers.py). It is
checked synchronously against the consent service when it is missing, older than this
process, or older than CONSENT_PROJECTION_MAX_AGE; and the consent service calls
refresh_consent right after a consent stops covering someone, so the first request after
a withdrawal is already judged on the new state.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from nameko.extensions import DependencyProvider
from sqlalchemy import func, select, update

from services.logs import domain, lists, model, views
from services.logs.models import (ConsentProjection, ConsentProjectionState, Log as LogRow,
                                  Measure, Meeting, MeetingInvite, Participant, Proposal)
from services.logs.versions import save_versions
from stafett.audit import AuditedWork, audited_work, purposes
from stafett.coverage import Covered
from stafett.db import upsert
from stafett.errors import NotFound, ServiceUnavailable
from stafett.events import as_utc, utcnow
from stafett.web import preencoded

logger = logging.getLogger(__name__)
#: rows others may refer to in the same flush: stored (flushed) one by one, in order
PARENTS = (LogRow, Participant, Measure, Meeting)


class StartedAt(DependencyProvider):
    """When this container started: projections verified before that are re-checked."""

    def setup(self):
        self.started_at = utcnow()

    def get_dependency(self, worker_ctx):
        return self.started_at


def _one(session, row_type, log_id: str, object_id: str, what: str, code: str):
    row = session.get(row_type, object_id)
    if row is None or row.log_id != log_id:
        raise NotFound(f"no such {what} in this log", code=code)
    return row


@dataclass
class LogWork:
    """One audited unit of work on one log, as an entrypoint sees it: the log, the actor's
    place in it, the access record under way."""
    log: model.Log
    viewer: domain.Viewer
    audit: AuditedWork
    store: "Store"

    @property
    def me(self) -> Participant:
        return self.viewer.participant

    def measure(self, measure_id: str) -> Measure:
        return _one(self.store.db, Measure, self.log.id, measure_id, "measure",
                    code="measure.not_found")

    def meeting(self, meeting_id: str) -> Meeting:
        return _one(self.store.db, Meeting, self.log.id, meeting_id, "meeting",
                    code="meeting.not_found")

    def proposal(self, proposal_id: str) -> Proposal:
        return _one(self.store.db, Proposal, self.log.id, proposal_id, "proposal",
                    code="proposal.not_found")

    def visible_proposal(self, proposal_id: str) -> Proposal:
        """The child sees its own proposals only: another's is like a missing one."""
        proposal = self.proposal(proposal_id)
        if not domain.proposal_visible(proposal, self.viewer):
            raise NotFound("no such proposal in this log", code="proposal.not_found")
        return proposal

    def proposal_to_answer(self, proposal_id: str, expected_version=None) -> Proposal:
        """The proposal (a missing one: 404 first), and the log's If-Match if one was
        sent (answering changes the log; the gateway demands it of API clients)."""
        proposal = self.proposal(proposal_id)
        self.log.expect_version(expected_version, required=False)
        return proposal

    def invites(self, meeting_id: str) -> list[MeetingInvite]:
        return list(self.store.db.scalars(select(MeetingInvite).where(
            MeetingInvite.meeting_id == meeting_id)))

    # -- answers ----------------------------------------------------------------------------

    def view(self, recent: dict | None = None, encoded: bool = False) -> dict:
        """The log as the viewer sees it: after a read, from what the read loaded (and
        ``recent``, lists.recent in the read's transaction: nothing is read twice); after
        a write, read afresh. ``encoded``: as JSON text (stafett.web.preencoded)."""
        view = self.store.view(self.log.id, None if recent is None else self, recent)
        return preencoded(view, "version") if encoded else view

    def dump_measure(self, measure: Measure, extras: dict | None = None) -> dict:
        """A measure as the viewer sees it, with its latest evaluations (``extras``: those
        already read for a page of measures)."""
        extras = extras or lists.measure_extras(self.store.db, [measure.id])
        return views.dump_measure(self.viewer, measure, self.log.participants,
                                  self.store.today, extras)

    def dump_meeting(self, meeting: Meeting, invites=None) -> dict:
        return views.dump_meeting(self.viewer, meeting,
                                  self.invites(meeting.id) if invites is None else invites)

    def dump_proposal(self, proposal: Proposal) -> dict:
        return views.dump_proposal(proposal, self.log.participants)

    def handover_context(self) -> dict:
        """What the handover service records of the sending stafettholder."""
        holder = self.viewer.participant
        return {"log_id": self.log.id, "child_id": self.log.child_id,
                "from_agency": holder.agency, "from_agency_type": holder.agency_type,
                "stafettholder_person_id": holder.person_id}


class Store:
    """A worker's storage, made per use from the worker (its db, events, actor, config,
    started_at, and the consent service's proxy: called as ``self.worker.consent.<rpc>``,
    which tests/unit/test_broker_access.py checks against the grants); ``today`` is the
    day of the call."""

    def __init__(self, worker):
        self.worker, self.db, self.events = worker, worker.db, worker.events
        self.actor, self.config, self.started_at = worker.actor, worker.config, worker.started_at
        self.today = date.today()

    @property
    def limits(self) -> domain.Limits:
        return domain.Limits.from_config(self.config)

    # -- loading ----------------------------------------------------------------------------

    def log_row(self, log_id: str) -> LogRow:
        if (row := self.db.get(LogRow, log_id)) is None:
            raise NotFound("no such log", code="log.not_found")
        return row

    def participants(self, log_id: str) -> list[Participant]:
        return list(self.db.scalars(select(Participant).where(Participant.log_id == log_id)
                                    .order_by(Participant.active_from, Participant.id)))

    def logs_of(self, child_id: str, open_only: bool = False) -> list[LogRow]:
        query = select(LogRow).where(LogRow.child_id == child_id)
        if open_only:
            query = query.where(LogRow.status == domain.OPEN)
        return list(self.db.scalars(query))

    def has_open_log(self, child_id: str) -> bool:
        return self.db.scalar(select(LogRow.id).where(
            LogRow.child_id == child_id, LogRow.status == domain.OPEN)) is not None

    def logs_with_a_holder(self) -> list[LogRow]:
        """The open logs someone holds the stafettholder role in (able to act or not)."""
        holders = select(Participant.log_id).where(Participant.role == domain.STAFETTHOLDER)
        return list(self.db.scalars(select(LogRow).where(LogRow.status == domain.OPEN,
                                                         LogRow.id.in_(holders))))

    def count_measures(self, log_id: str) -> int:
        return self.db.scalar(select(func.count()).select_from(Measure).where(
            Measure.log_id == log_id))

    def aggregate(self, row: LogRow, participants=None, coverage=None) -> model.Log:
        """The log as one object (model.Log); ``coverage``: the projection's, unless given."""
        if participants is None:
            participants = self.participants(row.id)
        if coverage is None:
            coverage = self.projected_coverage(row.child_id)
        return model.Log(row, participants, coverage, self.today, self.limits,
                         lambda: self.count_measures(row.id), self.claim_lapse)

    # -- the unit of work -------------------------------------------------------------------

    @contextmanager
    def in_log(self, log_id: str, action: str, object_type: str = "log",
               object_id: str | None = None, write=False, may=None):
        """One audited unit of work on a log the actor may see (else NotFound): what the
        log created is stored, what it raised emitted, before the access record; its
        version is applied just before commit. ``write``: True, or who may write (a rule
        of domain.py, given the viewer: ``require_stafettholder``); ``may``: who may read."""
        with audited_work(self.db, self.actor, action, object_type, object_id or (
                log_id if object_type == "log" else None), subject_id=log_id) as audit:
            row = self.log_row(log_id)
            audit.protected = bool(row.child_protected)
            participants = self.participants(log_id)
            coverage = self.coverage(row.child_id)
            viewer = domain.authorize(self.actor, participants, coverage, self.today,
                                      self.child_sees(row.child_id))
            audit.role = viewer.role
            audit.purpose = purposes.for_viewer(viewer.role, action, object_type, write)
            if write:
                domain.require_writer(viewer)
                domain.require_open(row)
            for rule in (write, may):
                if callable(rule):
                    rule(viewer)
            log = self.aggregate(row, participants, coverage)
            self.versions_before_commit(audit, [log])
            yield LogWork(log, viewer, audit, self)
            self.save(log, audit)

    def versions_before_commit(self, audit: AuditedWork, logs) -> None:
        audit.before_commit.append(lambda: save_versions(self.db, logs))

    def save(self, log: model.Log, audit: AuditedWork | None = None) -> None:
        """Store the rows the log created (the access record names the first, when the
        call named no object) and emit the events it raised."""
        rows = log.collect_rows()
        for row in rows:
            self.db.add(row)
            if isinstance(row, PARENTS):
                self.db.flush()
        if audit is not None and audit.object_id is None and rows:
            audit.object_id = rows[0].id
        for event_type, data in log.collect_events():
            self.events.emit(self.db, event_type, child_id=log.child_id, log_id=log.id,
                             data=data)

    def claim_lapse(self, holder: Participant) -> bool:
        """Whether this unit of work records the holder's lapse: a concurrent check (another
        replica) that cleared the role first recorded it. Once only."""
        return bool(self.db.execute(update(Participant).where(
            Participant.id == holder.id, Participant.role == domain.STAFETTHOLDER).values(
            role=domain.MEMBER)).rowcount)

    def view(self, log_id: str, read: LogWork | None = None, recent: dict | None = None) -> dict:
        """The log as the actor sees it (access already recorded by the caller); ``read``
        and ``recent``: what a read already loaded in its unit of work (nothing is read
        twice). After a write everything is read afresh."""
        today = self.today
        if read is None:
            log = self.db.get(LogRow, log_id)
            participants = self.participants(log_id)
            coverage = self.coverage(log.child_id)
            viewer = domain.authorize(self.actor, participants, coverage, today,
                                      self.child_sees(log.child_id))
            recent = lists.recent(self.db, log_id, viewer)
            self.db.commit()
        else:
            log, participants, viewer = read.log.row, read.log.participants, read.viewer
            coverage = read.log.coverage
        return views.log_view(viewer, log, participants, recent, today,
                              domain.current_stafettholder(participants, today, coverage))

    def child_sees(self, child_id: str):
        """Whether the child sees its own case: the consent service decides (its age rule),
        asked only when the child itself is the actor."""
        def ask() -> bool:
            try:
                return bool(self.child_parties(child_id).get("sees_own_case"))
            except NotFound:
                return False
        return ask

    # -- the consent service ------------------------------------------------------------------

    def child_parties(self, child_id: str) -> dict:
        return self.worker.consent.child_parties(child_id)

    def staff_member(self, person_id: str) -> dict:
        return self.worker.consent.staff_member(person_id)

    # -- the consent projection -------------------------------------------------------------

    def coverage(self, child_id: str) -> Covered:
        state = self.db.get(ConsentProjectionState, child_id)
        max_age = timedelta(seconds=float(self.config.get("CONSENT_PROJECTION_MAX_AGE", 300)))
        verified = as_utc(state.verified_at) if state else None
        if verified is None or verified < self.started_at or verified < utcnow() - max_age:
            try:
                self.sync_projection(child_id)
            except ServiceUnavailable:
                if state is None:
                    raise  # nothing to go on: better 503 than a guess
                logger.warning("consent unreachable; using the projection as it is")
        return self.projected_coverage(child_id)

    def projected_coverage(self, child_id: str) -> Covered:
        return domain.covered_on(self.db.scalars(select(ConsentProjection).where(
            ConsentProjection.child_id == child_id)).all(), self.today)

    def upsert_projection(self, child_id: str, data: dict) -> None:
        # an upsert: a log being opened syncs the projection while the consent event
        # handler may add the same row (a get-or-add let one fail on the duplicate key)
        upsert(self.db, ConsentProjection, {
            "consent_id": data["consent_id"], "child_id": child_id, "status": data["status"],
            "coverage": data.get("coverage") or [],  # the owner's decision, as it came
            "updated_at": utcnow()})

    def sync_projection(self, child_id: str) -> None:
        """Replace the child's projection with the owner's answer."""
        current = {c["consent_id"]: c for c in self.worker.consent.coverage(child_id)}
        for row in self.db.scalars(select(ConsentProjection).where(
                ConsentProjection.child_id == child_id)):
            if row.consent_id not in current and row.status in ("active", "pending"):
                # no longer open by the owner's answer: it covers nobody
                row.status, row.coverage, row.updated_at = "ended", [], utcnow()
        for data in current.values():
            self.upsert_projection(child_id, data)
        upsert(self.db, ConsentProjectionState, {"child_id": child_id, "verified_at": utcnow()})
        self.db.flush()
