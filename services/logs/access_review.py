"""The logs service's part of the access log review (stafett/access_review.py): who may see
a child's access log across the services (the rule of a log's access log: the child's
guardians, the child when it sees its own case, the stafettholder), which records are the
child's here (its logs), and the anomalies only this service can see for the auditor (a
staff member's access outside their participation, or after consent for their agency
ended)."""
from __future__ import annotations

from datetime import date

from nameko.rpc import rpc
from sqlalchemy import select

from services.logs import domain
from services.logs.models import ConsentProjection, Log, Participant
from stafett.audit import RECORDED_ID, audited_work
from stafett.clock import as_utc
from stafett.coverage import Coverage
from stafett.errors import EXPECTED, Forbidden, NotFound

#: the roles that see a log's access log, and so the child's
SEES_ACCESS_LOG = (domain.GUARDIAN, domain.CHILD, domain.STAFETTHOLDER)
#: the actions on a log by a participant (what "outside participation" is asked of)
_LOG_WORK = ("open",)


class LogsAccessReview:
    """Mixed into ``LogsService`` before ``AccessLogEndpoints``."""

    @rpc(expected_exceptions=EXPECTED)
    def access_log_scope(self, child_id: str) -> dict:
        """For the other services: whether the actor may see the child's access log, and
        the child's logs (NotFound/Forbidden otherwise). Not recorded here: the logs
        service's own part of the same request records the read."""
        scope = self._scope(child_id)
        self.db.rollback()
        return scope

    @rpc(expected_exceptions=EXPECTED)
    def access_log_child(self, log_id: str) -> str:
        """The child of a log whose access log the actor may see (the web client shows the
        child's access log from the log's page). A refusal answers like a missing log."""
        log = self.db.get(Log, log_id) if isinstance(log_id, str) and RECORDED_ID.fullmatch(
            log_id) else None
        try:
            if log is None:
                raise NotFound("no such log", code="log.not_found")
            self._scope(log.child_id)
        except (NotFound, Forbidden):
            self.db.rollback()
            raise NotFound("no such log", code="log.not_found") from None
        self.db.rollback()
        return log.child_id

    def _access_scope(self, child_id: str) -> dict:
        with audited_work(self.db, self.actor, "read", "access_log",
                          subject_id=child_id) as work:
            scope = self._scope(child_id)
            work.role = scope["role"]
        return scope

    def _scope(self, child_id: str) -> dict:
        if not isinstance(child_id, str) or not RECORDED_ID.fullmatch(child_id):
            raise NotFound("no such log", code="log.not_found")
        log_ids, role, today, part = [], None, date.today(), False
        for log in self.db.scalars(select(Log).where(Log.child_id == child_id)
                                   .order_by(Log.id)).all():
            try:
                viewer = domain.authorize(self.actor, self.store.participants(log.id),
                                          self.store.coverage(child_id), today,
                                          self.store.child_sees(child_id))
            except NotFound:
                continue
            part = True
            if viewer.role in SEES_ACCESS_LOG:
                log_ids.append(log.id)
                role = role or viewer.role
        if not part:  # as a log's access log: no part in the child's case, nothing there
            raise NotFound("no such log", code="log.not_found")
        if not log_ids:
            raise Forbidden("the access log is for the child, the guardians and the "
                            "stafettholder", code="access_log.not_allowed")
        return {"child_id": child_id, "log_ids": log_ids, "role": role}

    def _access_subjects(self, scope: dict) -> list[str]:
        return [*scope["log_ids"], scope["child_id"]]

    def _child_subjects(self, child_id: str) -> list[str]:
        return [*self.db.scalars(select(Log.id).where(Log.child_id == child_id)), child_id]

    def _access_names(self, scope: dict, items: list) -> dict:
        """The participants of the child's logs among the page's actors, named as the log
        names them (``display_name``)."""
        refs = {i["actor_ref"].removeprefix("person:") for i in items
                if i["actor_ref"].startswith("person:")}
        people = self.db.scalars(select(Participant).where(
            Participant.log_id.in_(scope["log_ids"]), Participant.person_id.in_(refs)))
        return {f"person:{p.person_id}": {"name": p.display_name, "title": p.title,
                                          "agency_type": p.agency_type} for p in people}

    def _audit_flags(self, rows) -> dict[str, set]:
        """``outside_participation``: a staff member's access to a log (allowed or not) on
        a day they were no active participant of it; ``after_consent_ended``: one after
        consent's coverage of their agency ended, with none covering it that day."""
        flags: dict[str, set] = {}
        consents_of: dict[str, list] = {}
        staff = [r for r in rows if r["actor_kind"] == "staff" and r["subject_id"]
                 and r["actor_ref"].startswith("person:")]
        logs = {log.id: log for log in self.db.scalars(select(Log).where(
            Log.id.in_({r["subject_id"] for r in staff})))}
        for row in staff:
            log = logs.get(row["subject_id"])
            if log is None:
                continue
            day, person = as_utc(row["at"]).date(), row["actor_ref"].removeprefix("person:")
            mine = self.db.scalars(select(Participant).where(
                Participant.log_id == log.id, Participant.person_id == person)).all()
            if not any(active_on(p, day, as_utc(row["at"])) for p in mine) \
                    and not (row["action"] in _LOG_WORK and row["object_type"] == "log"):
                flags.setdefault(row["id"], set()).add("outside_participation")
            if log.child_id not in consents_of:
                consents_of[log.child_id] = self.db.scalars(select(ConsentProjection).where(
                    ConsentProjection.child_id == log.child_id)).all()
            consents = consents_of[log.child_id]
            agency_type = next((p.agency_type for p in mine), None)
            if after_consent_ended(consents, row["agency"], agency_type, day):
                flags.setdefault(row["id"], set()).add("after_consent_ended")
        return flags


def active_on(participant, day: date, at) -> bool:
    """A participation in force at ``at`` (its read-only days after a handover included)."""
    removed = participant.removed_at
    if removed is not None and as_utc(removed) <= at:
        return False
    until = participant.read_only_until or participant.active_until
    return participant.active_from <= day and (until is None or day <= until)


def after_consent_ended(projections, agency, agency_type, day: date) -> bool:
    """Consent's decision (its coverage windows, as the projection keeps them) covered the
    agency on an earlier day, with a window that ended before ``day``, and covers it on
    none that holds ``day``."""
    coverage = Coverage.union(p.coverage for p in projections)
    before = any(w.end < day and (agency in w.agencies or agency_type in w.agency_types)
                 for w in coverage.windows)
    return before and not coverage.covers(agency, agency_type, day)
