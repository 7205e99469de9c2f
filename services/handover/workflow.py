"""The steps the handover's entrypoints share (cosmicpython's service layer): load and
bring up to date, ask the consent and logs services, record a transition the aggregate
made (compare-and-set) together with its event, and dump. No rules: those are the
aggregate's (``domain.Handover``) and ``domain``'s."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import date, datetime

from services.handover import domain, events, store
from services.handover.models import Handover
from services.handover.views import child_view, handover_view
from stafett.actor import Actor
from stafett.audit import audited_work
from stafett.coverage import Coverage
from stafett.errors import NotFound, ServiceUnavailable, StafettError
from stafett.events import utcnow

log = logging.getLogger("services.handover.service")


class Workflow:
    """One worker's steps, over its session (``db``), its outbox (``events``), its proxies
    to the consent and logs services (used as ``worker.<proxy>.<method>``, which
    tests/unit/test_broker_access.py reads) and its configuration."""

    def __init__(self, worker):
        self.worker, self.db, self.outbox = worker, worker.db, worker.events
        config = worker.config
        self.grace_days = max(0, int(config.get("HANDOVER_GRACE_DAYS", 30)))
        self.expiry_days = max(1, int(config.get("HANDOVER_EXPIRY_DAYS", 14)))

    # -- record → emit ----------------------------------------------------------------------

    def save(self, handover: Handover, required: bool = False,
             requester_covered: bool | None = None) -> bool:
        """Record the transition the aggregate made (compare-and-set) and its event."""
        previous = handover.moved_from
        if not store.save(self.db, handover, required):
            return False
        self.emit(handover, *events.transitioned(handover, previous, requester_covered))
        return True

    def emit(self, handover: Handover, event_type: str, data: dict) -> None:
        self.outbox.emit(self.db, event_type, data=data, log_id=handover.log_id,
                         child_id=handover.child_id)

    def release(self) -> None:
        """End the read transaction before calling another service: its connection goes
        back to the pool instead of waiting (up to RPC_TIMEOUT) for the answer. Loaded rows
        stay loaded (``expire_on_commit=False``); every later change is a compare-and-set."""
        self.db.commit()

    # -- one side's step ----------------------------------------------------------------------

    @contextmanager
    def step(self, action: str, handover_id: str, side: str, expected_version: int | None):
        """Accept, decline or cancel: the handover brought up to date, the step audited, for
        ``side`` only (``domain.require_side``), at the version the caller last read. The
        body makes the aggregate's transition on the handover it is given (with the
        consent service's answer); it is recorded after."""
        actor = self.worker.actor
        handover, coverage = self.refreshed(handover_id, actor)
        with audited_work(self.db, actor, action, "handover", handover_id,
                          subject_id=handover.log_id if handover else None) as work:
            work.role = domain.require_side(side, actor, required(handover), coverage,
                                            date.today())
            domain.check_version(expected_version, handover)
            yield handover, coverage
            self.save(handover, required=True)

    # -- loading, up to date ------------------------------------------------------------------

    def refreshed(self, handover_id: str, actor: Actor | None):
        """Load a handover for an action, first bringing it up to date: expired if its day
        has passed; for the staff on either side, offered if consent now covers the
        receiver, or back to ``consent_pending`` if it no longer does (re-checked with the
        consent service on every read and action, whatever the consent events' progress).
        Committed on its own. Returns the handover (or None) and the consent service's
        answer for its child, asked at most once per call."""
        handover = self.db.get(Handover, handover_id)
        if handover is None:
            return None, lambda: Coverage()
        coverage = self.consents(handover.child_id)
        if self.expire(handover, utcnow()) is None and (
                handover.status in domain.EXPIRABLE_STATES) and (
                domain.is_requester(actor, handover)
                or domain.is_receiving_staff(actor, handover)):
            try:
                self.follow_consent([handover], {handover.child_id: coverage()})
            except ServiceUnavailable:
                log.warning("consent unreachable; the handover is checked later")
        self.release()
        return handover, coverage

    def expire(self, handover: Handover, now: datetime) -> bool | None:
        """Expire it if its day has passed (None if not due; else whether it was we who
        expired it). Committed."""
        if not handover.expire_if_due(now):
            return None
        saved = self.save(handover)
        self.db.commit()
        return saved

    def follow_consent(self, handovers: list[Handover],
                       answers: dict[str, Coverage] | None = None) -> dict:
        """Bring open handovers in line with the consent service's answer (asked once per
        child unless ``answers`` has it): offer, take back, or mark for the application
        step. Returns the counts, and the ids to apply."""
        done = {domain.OFFER: 0, domain.BACK_TO_CONSENT: 0, domain.CHECK_APPLICATION: []}
        answers, today = dict(answers or {}), date.today()
        self.release()
        for child_id in {h.child_id for h in handovers if h.child_id}:
            if child_id not in answers:
                try:
                    answers[child_id] = self.coverage(child_id)
                except ServiceUnavailable:
                    log.warning("consent unreachable; open handovers are checked later")
                    return done
            coverage = answers[child_id]
            for handover in (h for h in handovers if h.child_id == child_id):
                action = handover.follow_consent(coverage, today, utcnow())
                if action == domain.CHECK_APPLICATION:
                    done[action].append(handover.id)
                elif action:
                    done[action] += self.save(handover, requester_covered=(
                        handover.sender_covered(coverage, today)))
            self.db.commit()
        return done

    # -- the other services' answers -----------------------------------------------------------

    def coverage(self, child_id: str) -> Coverage:
        """The consent service's decision of what the child's consents cover, day by day
        (its ``coverage`` answer): only looked up here (stafett/coverage.py)."""
        return Coverage.of_answer(self.worker.consent.coverage(child_id))

    def consents(self, child_id: str | None):
        """The consent service's decision for the child, asked when first needed and then
        kept for this call: the owner decides, every time."""
        answer = []

        def coverage() -> Coverage:
            if not answer:
                if not child_id:
                    answer.append(Coverage())
                else:
                    self.release()
                    answer.append(self.coverage(child_id))
            return answer[0]
        return coverage

    def staff(self, person_id: str) -> dict | None:
        try:
            return self.worker.consent.staff_member(person_id)
        except NotFound:
            return None

    def requester_covered(self, handover: Handover) -> bool:
        """Whether consent still covers the requesting agency (to tell its staff); when the
        consent service cannot say, they are not told."""
        try:
            return handover.sender_covered(self.coverage(handover.child_id), date.today())
        except ServiceUnavailable:
            return False

    # -- application: the logs service moves the baton -------------------------------------------

    def apply(self, handover_id: str) -> str | None:
        """Ask the logs service to apply the handover; returns the status it ended in, or
        None if there was nothing to apply. Raises when the logs service could not answer."""
        handover = self.db.get(Handover, handover_id)
        if handover is None or handover.status != domain.ACCEPTED:
            return None
        self.release()
        application = domain.application(handover, self.grace_days)
        try:
            self.worker.logs.apply_handover(application.log_id, application.handover_id,
                                     application.new_stafettholder_person_id,
                                     application.receiving_person_ids,
                                     application.grace_days)
        except ServiceUnavailable as exc:
            self.record_failure(handover_id, exc)
            raise
        except StafettError as exc:  # refused (by its code): nothing moved, it ends
            self.db.rollback()
            covered = (self.requester_covered(handover) if domain.refusal_reason(exc.code)
                       == domain.CONSENT_WITHDRAWN else None)
            handover.refused(exc.code, f"{type(exc).__name__} {exc.code}: {exc}", utcnow())
            self.save(handover, requester_covered=covered)
            self.db.commit()
            return handover.status
        except Exception as exc:  # e.g. a RemoteError: retried, then in the DLQ
            self.record_failure(handover_id, exc)
            raise
        handover.complete(utcnow())
        self.save(handover)
        self.db.commit()
        return handover.status

    def record_failure(self, handover_id: str, exc: Exception) -> None:
        self.db.rollback()
        store.record_failure(self.db, handover_id, f"{type(exc).__name__}: {exc}")
        self.db.commit()
        log.warning("handover application failed; it will be retried",
                    extra={"handover_id": handover_id, "error": type(exc).__name__})

    # -- dumping -----------------------------------------------------------------------------

    def view(self, handover: Handover, role: str, with_summary: bool = True,
             with_child: bool = False) -> dict:
        return handover_view(handover, role, now=utcnow(), grace_days=self.grace_days,
                             child=lambda: self.child(handover, role),
                             with_summary=with_summary, with_child=with_child)

    def child(self, handover: Handover, role: str | None) -> dict | None:
        """The child's name and birth date for staff who see the summary (from the owner)."""
        if not handover.child_id:
            return None
        try:
            parties = self.worker.consent.child_parties(handover.child_id)
        except (ServiceUnavailable, NotFound):
            return None
        return child_view(parties, role, handover)


def required(handover: Handover | None) -> Handover:
    if handover is None:
        raise NotFound("no such handover", code="handover.not_found")
    return handover
