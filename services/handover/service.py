"""Handover service entrypoints: thin; rules live in domain.py (see docs/handover.md).

request → (consent for the receiver) → accept / decline → the logs service applies the
change → completed. The sender keeps the baton until the logs service has confirmed the
application: acceptance only records ``accepted`` and the ``handover.accepted`` event; the
application step (``_apply``) runs from that event (retried with backoff, then the DLQ)
and from the ``housekeeping`` timer, and is idempotent on both sides (a compare-and-set on
our row, and ``apply_handover`` keyed by the handover id in the logs service).
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path

from nameko.rpc import rpc
from nameko.timer import Timer
from sqlalchemy import String, cast, select, update
from sqlalchemy.exc import IntegrityError

from services.handover import domain, events
from services.handover.models import Handover
from services.handover.schemas import (AcceptIn, CancelIn, DeclineIn, HandoverCitizenView,
                                       HandoverIn, HandoverView, ListIn)
from stafett.actor import CITIZEN, STAFF, SYSTEM_ACTOR, ActorContext
from stafett.audit import audited_work
from stafett.contracts import load
from stafett.db import Database
from stafett.request_keys import once
from stafett.errors import (EXPECTED, Conflict, Forbidden, NotFound, ServiceUnavailable,
                            StafettError)
from stafett.events import (Envelope, Outbox, as_utc, first_delivery, reliable_event_handler,
                            utcnow)
from stafett.ids import new_id
from stafett.paging import newest_first, visible_page
from stafett.rpc import TimeoutRpcProxy
from services.handover.gauges import refresh_gauges
from stafett.gauges import ScrapeGauges
from stafett.service import ServiceBase
from stafett.transparency import AuditEndpoints

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


class ConfiguredTimer(Timer):
    """A timer whose interval is read from configuration when the container sets up."""

    def __init__(self, config_key: str, default: float, **kwargs):
        self.config_key = config_key
        super().__init__(interval=default, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key, self.interval))


configured_timer = ConfiguredTimer.decorator


class HandoverService(AuditEndpoints, ServiceBase):
    name = "handover"

    db = Database(MIGRATIONS)
    gauges = ScrapeGauges(refresh_gauges)
    events = Outbox()
    logs = TimeoutRpcProxy("logs")
    consent = TimeoutRpcProxy("consent")
    # timers and event handlers call the logs service as the service itself
    actor_context = ActorContext()

    # -- reads ------------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_handovers(self, direction: str | None = None, limit: int = 50,
                       cursor: str | None = None) -> dict:
        """One page, newest first, of the outgoing (requested by the actor) and incoming
        (offered to the actor's agency, or to the actor by name) handovers; for a guardian
        or youth, those of their child."""
        params = load(ListIn(), {"direction": direction, "limit": limit})
        actor, today = self.actor, date.today()
        candidates = self._candidates(params["direction"])
        asked = {}  # the consent service's answer, once per child on this page

        def fetch(after, n):
            if candidates is None:
                return []
            return self.db.scalars(newest_first(candidates, Handover.created_at, Handover.id,
                                                after).limit(n)).all()

        def show(handover):
            coverage = asked.setdefault(handover.child_id, self._consents(handover.child_id))
            role = domain.viewer_role(actor, handover, coverage, today)
            return None if role is None else self._view(handover, role, with_summary=False)

        with audited_work(self.db, actor, "list", "handovers"):
            return visible_page(fetch, show, params["limit"], cursor,
                                lambda h: (h.created_at, h.id))

    @rpc(expected_exceptions=EXPECTED)
    def get_handover(self, handover_id: str) -> dict:
        """One handover as the actor may see it: the receiver gets the summary, never the
        log; those who consent for the child see where it goes, without the summary."""
        actor, (handover, coverage) = self.actor, self._refreshed(handover_id)
        with audited_work(self.db, actor, "read", "handover", handover_id,
                          subject_id=handover.log_id if handover else None) as work:
            role = work.role = domain.require_viewer(actor, self._required(handover),
                                                     coverage, date.today())
        return self._view(handover, role, with_child=True)

    # -- the workflow -----------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    @once
    def request_handover(self, payload: dict) -> dict:
        """The stafettholder asks to hand the log over to another agency."""
        actor, now, today = self.actor, utcnow(), date.today()
        log_id = (payload or {}).get("log_id") if isinstance(payload, dict) else None
        with audited_work(self.db, actor, "request", "handover",
                          subject_id=log_id if isinstance(log_id, str) else None,
                          role=domain.REQUESTER) as work:
            domain.require_staff(actor)  # before validation: only staff learn the rules
            data = load(HandoverIn(), payload)
            # the logs service decides: visible, stafettholder, open (NotFound/Forbidden/Conflict)
            context = self.logs.handover_context(data["log_id"])
            if context.get("stafettholder_person_id") != actor.person_id:
                raise Forbidden("only the stafettholder may hand the log over",
                                code="handover.stafettholder_only")
            receiver = domain.receiving_agency(data["to_agency"], self.consent.list_agencies(),
                                               context, data["transition"])
            if data["to_person_id"]:
                domain.check_named_person(self._staff(data["to_person_id"]),
                                          receiver["org_number"], "to_person_id")
            domain.check_no_open_handover(self._open_handover(context["log_id"]))
            self._release()
            covered = domain.covers(self.consent.coverage(context["child_id"]),
                                    receiver["org_number"], receiver["type"], today)
            asked = domain.consenting_person_ids(self.consent.child_parties(context["child_id"]),
                                                 today, self._youth_age())
            summary = self.logs.handover_summary(context["log_id"])
            handover = Handover(
                id=new_id(), log_id=context["log_id"], open_for_log=context["log_id"],
                child_id=context["child_id"], from_agency=context["from_agency"],
                from_agency_type=context.get("from_agency_type"),
                to_agency=receiver["org_number"], to_agency_type=receiver["type"],
                to_person_id=data["to_person_id"], transition=data["transition"],
                status=domain.AWAITING_ACCEPTANCE if covered else domain.CONSENT_PENDING,
                requested_by=actor.ref, requested_by_person_id=actor.person_id,
                note=data["note"], consent_person_ids=asked, summary=summary,
                created_at=now, updated_at=now,
                expires_at=domain.expires_at(now, self._expiry_days()),
                offered_at=now if covered else None, apply_attempts=0, version=1)
            work.object_id = handover.id
            self.db.add(handover)
            try:
                self.db.flush()
            except IntegrityError:  # a concurrent request for the same log won the race
                raise Conflict("the log already has an open handover",
                               code="handover.already_open")
            self._emit(handover, events.REQUESTED, events.requested(handover))
        return self._view(handover, domain.REQUESTER)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def accept_handover(self, handover_id: str, payload: dict,
                        expected_version: int | None = None) -> dict:
        """The receiver takes the baton, naming the new stafettholder. The logs service
        applies the change afterwards; until it confirms, the sender keeps the role."""
        actor, (handover, coverage) = self.actor, self._refreshed(handover_id)
        with audited_work(self.db, actor, "accept", "handover", handover_id,
                          subject_id=handover.log_id if handover else None) as work:
            work.role = domain.require_receiver(actor, self._required(handover), coverage,
                                                date.today())
            domain.check_version(expected_version, handover)
            data = load(AcceptIn(), payload)  # after authorization: strangers learn nothing
            domain.transition(handover.status, domain.ACCEPTED)
            if not domain.covers(coverage(), handover.to_agency, handover.to_agency_type,
                                 date.today()):
                raise Conflict("consent no longer covers the receiving agency; the guardians "
                               "(or the youth) must consent before it can be accepted",
                               code="handover.consent_ended")
            holder = data["new_stafettholder_person_id"]
            domain.check_named_person(self._staff(holder), handover.to_agency,
                                      "new_stafettholder_person_id")
            for index, person_id in enumerate(data["participant_person_ids"]):
                domain.check_named_person(self._staff(person_id), handover.to_agency,
                                          f"participant_person_ids.{index}")
            receiving = [p for p in dict.fromkeys(data["participant_person_ids"]) if p != holder]
            self._require_move(handover, domain.ACCEPTED, accepted_at=utcnow(),
                               accepted_by_person_id=actor.person_id,
                               new_stafettholder_person_id=holder,
                               receiving_person_ids=receiving)
            self._emit(handover, events.ACCEPTED, events.accepted(handover))
        return self._view(handover, domain.RECEIVER)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def decline_handover(self, handover_id: str, payload: dict,
                         expected_version: int | None = None) -> dict:
        actor, (handover, coverage) = self.actor, self._refreshed(handover_id)
        with audited_work(self.db, actor, "decline", "handover", handover_id,
                          subject_id=handover.log_id if handover else None) as work:
            work.role = domain.require_receiver(actor, self._required(handover), coverage,
                                                date.today())
            domain.check_version(expected_version, handover)
            data = load(DeclineIn(), payload)
            domain.transition(handover.status, domain.DECLINED)
            self._require_move(handover, domain.DECLINED, reason=data["reason"],
                               reason_code=domain.DECLINED_REASON, ended_at=utcnow())
            self._emit(handover, events.DECLINED, events.declined(handover))
        return self._view(handover, domain.RECEIVER)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def cancel_handover(self, handover_id: str, payload: dict | None = None,
                        expected_version: int | None = None) -> dict:
        actor, (handover, coverage) = self.actor, self._refreshed(handover_id)
        with audited_work(self.db, actor, "cancel", "handover", handover_id,
                          subject_id=handover.log_id if handover else None) as work:
            work.role = domain.require_requester(actor, self._required(handover), coverage,
                                                 date.today())
            domain.check_version(expected_version, handover)
            data = load(CancelIn(), payload)
            if handover.status not in domain.CANCELLABLE_STATES:
                raise Conflict(f"a handover that is {handover.status} cannot be cancelled"
                               + ("; the receiver has taken it" if handover.status ==
                                  domain.ACCEPTED else ""), code="handover.not_cancellable")
            if not self._cancel(handover, domain.REQUESTER_CANCELLED, data["reason"]
                                or domain.REASON_TEXTS[domain.REQUESTER_CANCELLED]):
                raise Conflict(f"the handover changed meanwhile; it is now {handover.status}",
                               code="handover.changed_meanwhile")
        return self._view(handover, domain.REQUESTER)

    # -- application: the logs service moves the baton ----------------------------------------

    @reliable_event_handler("handover", "handover.accepted")
    def on_accepted(self, payload: dict) -> None:
        """Apply an accepted handover. Idempotent by state (only ``accepted`` is applied, and
        the logs service applies a handover id once); a failure is retried, then parked."""
        self._apply(Envelope.from_dict(payload).data["handover_id"])

    def _apply(self, handover_id: str) -> str | None:
        """Ask the logs service to apply the handover; returns the status it ended in, or
        None if there was nothing to apply. Raises when the logs service could not answer."""
        handover = self.db.get(Handover, handover_id)
        if handover is None or handover.status != domain.ACCEPTED:
            return None
        self._release()
        self.actor_context.set(SYSTEM_ACTOR)
        application = domain.application(handover, self._grace_days())
        try:
            self.logs.apply_handover(application.log_id, application.handover_id,
                                     application.new_stafettholder_person_id,
                                     application.receiving_person_ids,
                                     application.grace_days)
        except StafettError as exc:
            if isinstance(exc, ServiceUnavailable):
                self._record_failure(handover_id, exc)
                raise
            self.db.rollback()
            if exc.code == "log.closed":
                # the log was closed after acceptance: nothing moved, the handover ends
                self._cancel(handover, domain.LOG_CLOSED,
                             domain.REASON_TEXTS[domain.LOG_CLOSED],
                             apply_attempts=Handover.apply_attempts + 1)
                self.db.commit()
                return handover.status
            if exc.code == "log.receiver_not_covered":
                # consent stopped covering the receiver after acceptance: nothing moved,
                # the sender keeps the baton
                self._cancel(handover, domain.CONSENT_WITHDRAWN,
                             domain.REASON_TEXTS[domain.CONSENT_WITHDRAWN],
                             requester_covered=self._requester_covered(handover),
                             apply_attempts=Handover.apply_attempts + 1)
                self.db.commit()
                return handover.status
            # refused for good (e.g. no such log): the sender keeps the baton, the log is
            # free for a new request
            self._cancel(handover, domain.APPLICATION_REFUSED,
                         domain.REASON_TEXTS[domain.APPLICATION_REFUSED],
                         apply_attempts=Handover.apply_attempts + 1,
                         last_apply_error=f"{type(exc).__name__} {exc.code}: {exc}"[:500])
            self.db.commit()
            return handover.status
        except Exception as exc:  # e.g. a RemoteError: retried, then in the DLQ
            self._record_failure(handover_id, exc)
            raise
        if self._move(handover, domain.COMPLETED, completed_at=utcnow(), ended_at=utcnow(),
                      apply_attempts=Handover.apply_attempts + 1, last_apply_error=None):
            self._emit(handover, events.COMPLETED, events.completed(handover))
        self.db.commit()
        return handover.status

    def _record_failure(self, handover_id: str, exc: Exception) -> None:
        self.db.rollback()
        self.db.execute(update(Handover).where(Handover.id == handover_id).values(
            apply_attempts=Handover.apply_attempts + 1,
            last_apply_error=f"{type(exc).__name__}: {exc}"[:500]))
        self.db.commit()
        log.warning("handover application failed; it will be retried",
                    extra={"handover_id": handover_id, "error": type(exc).__name__})

    # -- timers and events ------------------------------------------------------------------

    @configured_timer("HANDOVER_TIMER_SECONDS", 60)
    def housekeeping(self) -> dict:
        """Expire requests past their day, follow consent (offer those it now covers, take
        back offers it no longer covers: a safety net for the consent events), and apply
        accepted handovers the event did not finish (the logs service refuses those consent
        no longer covers, which cancels them)."""
        self.actor_context.set(SYSTEM_ACTOR)
        counts = {"expired": 0, "offered": 0, "taken_back": 0, "applied": 0}
        now = utcnow()
        for handover in self.db.scalars(select(Handover).where(
                Handover.status.in_(domain.EXPIRABLE_STATES))).all():
            if domain.is_due(handover.expires_at, now) and self._expire(handover):
                counts["expired"] += 1
        followed = self._follow_consent(self.db.scalars(select(Handover).where(
            Handover.status.in_(domain.EXPIRABLE_STATES))).all())
        counts["offered"] = followed[domain.OFFER]
        counts["taken_back"] = followed[domain.BACK_TO_CONSENT]
        accepted = self.db.scalars(select(Handover.id).where(
            Handover.status == domain.ACCEPTED)).all()
        self._release()
        for handover_id in accepted:
            try:
                if self._apply(handover_id) == domain.COMPLETED:
                    counts["applied"] += 1
            except Exception:
                log.warning("handover still not applied", extra={"handover_id": handover_id})
        return counts

    @reliable_event_handler("consent", "consent.granted")
    def on_consent_granted(self, payload: dict) -> None:
        """A new consent (also one that supersedes, or the last guardian's approval) may
        cover a receiver that waits for it: offer the handover to them."""
        event = Envelope.from_dict(payload)
        if not first_delivery(self.db, "handover.on_consent_granted", event.event_id):
            return
        today = date.today()
        for handover in self.db.scalars(select(Handover).where(
                Handover.child_id == event.child_id,
                Handover.status == domain.CONSENT_PENDING)).all():
            if domain.covers([event.data], handover.to_agency, handover.to_agency_type, today):
                self._offer(handover)
        self.db.commit()

    @reliable_event_handler("consent", "consent.withdrawn")
    def on_consent_withdrawn(self, payload: dict) -> None:
        self._consent_ended(Envelope.from_dict(payload), "on_consent_withdrawn")

    @reliable_event_handler("consent", "consent.expired")
    def on_consent_expired(self, payload: dict) -> None:
        self._consent_ended(Envelope.from_dict(payload), "on_consent_expired")

    @reliable_event_handler("consent", "consent.superseded")
    def on_consent_superseded(self, payload: dict) -> None:
        """A superseding consent may cover less (narrowed): the same as an ending."""
        self._consent_ended(Envelope.from_dict(payload), "on_consent_superseded")

    def _consent_ended(self, event: Envelope, consumer: str) -> None:
        """A consent of the child ended: whether it still covers each receiver is the
        consent service's answer now (the event says only that something ended; another
        consent may still cover, or a newer one may already). Offers it no longer covers go
        back to ``consent_pending``; accepted ones go to the logs service, which refuses to
        apply them without consent (they are then cancelled)."""
        self.actor_context.set(SYSTEM_ACTOR)
        affected = self.db.scalars(select(Handover.id).where(
            Handover.child_id == event.child_id,
            Handover.status.in_((domain.AWAITING_ACCEPTANCE, domain.ACCEPTED)))).all()
        self._release()
        # ask before recording the event as handled: if consent cannot answer, the event
        # is retried (then parked), not lost
        consents = self.consent.coverage(event.child_id) if affected else []
        if not first_delivery(self.db, f"handover.{consumer}", event.event_id):
            self.db.rollback()
            return
        handovers = self.db.scalars(select(Handover).where(Handover.id.in_(affected))).all()
        followed = self._follow_consent(handovers, {event.child_id: consents})
        self.db.commit()
        for handover_id in followed[domain.CHECK_APPLICATION]:
            try:
                self._apply(handover_id)
            except Exception:  # the housekeeping timer tries again; the logs service decides
                log.warning("an accepted handover awaits its application after consent ended",
                            extra={"handover_id": handover_id})

    @reliable_event_handler("logs", "log.closed")
    def on_log_closed(self, payload: dict) -> None:
        """A closed log cannot be handed over: cancel what is open, with the reason. An
        accepted handover is left to its application, which the logs service refuses for
        a closed log, and which then cancels it the same way."""
        event = Envelope.from_dict(payload)
        if not first_delivery(self.db, "handover.on_log_closed", event.event_id):
            return
        for handover in self.db.scalars(select(Handover).where(
                Handover.log_id == event.log_id,
                Handover.status.in_(domain.CANCELLABLE_STATES))).all():
            self._cancel(handover, domain.LOG_CLOSED, domain.REASON_TEXTS[domain.LOG_CLOSED])
        self.db.commit()

    # -- state changes (compare-and-set, so replicas and retries change a row once) ----------

    def _move(self, handover: Handover, target: str, **values) -> bool:
        """Move the row from the status we read to ``target``; False if someone else
        changed it first, or it is in a state that cannot become ``target`` (callers that
        answer a person check ``domain.transition`` first, for the error)."""
        current = handover.status
        if target not in domain.TRANSITIONS.get(current, set()):
            return False
        values.update(status=target, updated_at=utcnow(), version=Handover.version + 1)
        if target in domain.TERMINAL_STATES:
            values["open_for_log"] = None
        claimed = self.db.execute(update(Handover).where(
            Handover.id == handover.id, Handover.status == current).values(**values)
            .execution_options(synchronize_session=False)).rowcount
        self.db.refresh(handover)
        return bool(claimed)

    def _require_move(self, handover: Handover, target: str, **values) -> None:
        if not self._move(handover, target, **values):
            raise Conflict(f"the handover changed meanwhile; it is now {handover.status}",
                           code="handover.changed_meanwhile")

    def _cancel(self, handover: Handover, code: str, text: str,
                requester_covered: bool | None = None, **values) -> bool:
        previous = handover.status
        if self._move(handover, domain.CANCELLED, reason=text, reason_code=code,
                      ended_at=utcnow(), **values):
            self._emit(handover, events.CANCELLED,
                       events.cancelled(handover, code, previous, requester_covered))
            return True
        return False

    def _expire(self, handover: Handover) -> bool:
        previous = handover.status
        if self._move(handover, domain.EXPIRED, reason_code=domain.EXPIRED_REASON,
                      reason=domain.REASON_TEXTS[domain.EXPIRED_REASON], ended_at=utcnow()):
            self._emit(handover, events.CANCELLED,
                       events.cancelled(handover, domain.EXPIRED_REASON, previous))
            self.db.commit()
            return True
        self.db.commit()
        return False

    def _offer(self, handover: Handover) -> bool:
        if self._move(handover, domain.AWAITING_ACCEPTANCE, offered_at=utcnow()):
            self._emit(handover, events.CONSENT_GRANTED, events.consent_granted(handover))
            return True
        return False

    def _take_back(self, handover: Handover, consents: list[dict]) -> bool:
        """Consent no longer covers the receiver before acceptance: back to waiting for
        consent. The receiver no longer sees it (``offered_at`` cleared); the requester and
        those who consent are told (``handover.consent_ended``)."""
        previous = handover.status
        if self._move(handover, domain.CONSENT_PENDING, offered_at=None):
            self._emit(handover, events.CONSENT_ENDED, events.consent_ended(
                handover, previous, self._covers_sender(handover, consents)))
            return True
        return False

    @staticmethod
    def _covers_sender(handover: Handover, consents: list[dict]) -> bool:
        return domain.covers(consents, handover.from_agency, handover.from_agency_type,
                             date.today())

    def _requester_covered(self, handover: Handover) -> bool:
        """Whether consent still covers the requesting agency (to tell its staff); when the
        consent service cannot say, they are not told."""
        try:
            return self._covers_sender(handover, self.consent.coverage(handover.child_id))
        except ServiceUnavailable:
            return False

    def _follow_consent(self, handovers: list[Handover],
                        answers: dict[str, list[dict]] | None = None) -> dict:
        """Bring open handovers in line with the consent service's answer (asked once per
        child unless ``answers`` has it): offer, take back, or mark for the application
        step (``domain.consent_action``). Returns the counts, and the ids to apply."""
        done = {domain.OFFER: 0, domain.BACK_TO_CONSENT: 0, domain.CHECK_APPLICATION: []}
        answers, today = dict(answers or {}), date.today()
        self._release()
        for child_id in {h.child_id for h in handovers if h.child_id}:
            if child_id not in answers:
                try:
                    answers[child_id] = self.consent.coverage(child_id)
                except ServiceUnavailable:
                    log.warning("consent unreachable; open handovers are checked later")
                    return done
            consents = answers[child_id]
            for handover in (h for h in handovers if h.child_id == child_id):
                action = domain.consent_action(handover.status, domain.covers(
                    consents, handover.to_agency, handover.to_agency_type, today))
                if action == domain.OFFER:
                    done[action] += self._offer(handover)
                elif action == domain.BACK_TO_CONSENT:
                    done[action] += self._take_back(handover, consents)
                elif action == domain.CHECK_APPLICATION:
                    done[action].append(handover.id)
            self.db.commit()
        return done

    def _refreshed(self, handover_id: str):
        """Load a handover for an action, first bringing it up to date: expired if its day
        has passed; for the staff on either side, offered if consent now covers the
        receiver, or back to ``consent_pending`` if it no longer does (re-checked with the
        consent service on every read and action, whatever the consent events' progress).
        Committed on its own. Returns the handover (or None) and the consent service's
        answer for its child, asked at most once per call."""
        handover = self.db.get(Handover, handover_id)
        if handover is None:
            return None, lambda: []
        actor, coverage = self.actor, self._consents(handover.child_id)
        if handover.status in domain.EXPIRABLE_STATES and domain.is_due(handover.expires_at,
                                                                       utcnow()):
            self._expire(handover)
        elif handover.status in domain.EXPIRABLE_STATES and (
                domain.is_requester(actor, handover)
                or domain.is_receiving_staff(actor, handover)):
            try:
                self._follow_consent([handover], {handover.child_id: coverage()})
            except ServiceUnavailable:
                log.warning("consent unreachable; the handover is checked later")
        self._release()
        return handover, coverage

    def _consents(self, child_id: str | None):
        """The consent service's answer about the child's consents (``coverage``), asked
        when first needed and then kept for this call: the owner decides, every time."""
        answer = []

        def coverage() -> list[dict]:
            if not answer:
                if not child_id:
                    answer.append([])
                else:
                    self._release()
                    answer.append(self.consent.coverage(child_id))
            return answer[0]
        return coverage

    # -- helpers ----------------------------------------------------------------------------

    def _release(self) -> None:
        """End the read transaction before calling another service: its connection goes
        back to the pool instead of waiting (up to RPC_TIMEOUT) for the answer. Loaded rows
        stay loaded (``expire_on_commit=False``); every later change is a compare-and-set."""
        self.db.commit()

    def _emit(self, handover: Handover, event_type: str, data: dict) -> None:
        self.events.emit(self.db, event_type, data=data, log_id=handover.log_id,
                         child_id=handover.child_id)

    @staticmethod
    def _required(handover: Handover | None) -> Handover:
        if handover is None:
            raise NotFound("no such handover", code="handover.not_found")
        return handover

    def _open_handover(self, log_id: str) -> Handover | None:
        return self.db.scalar(select(Handover).where(Handover.log_id == log_id,
                                                     Handover.status.in_(domain.OPEN_STATES)))

    def _staff(self, person_id: str) -> dict | None:
        try:
            return self.consent.staff_member(person_id)
        except NotFound:
            return None

    def _candidates(self, direction: str | None):
        """The query for handovers that may be the actor's (each is still checked), or
        None when the actor can have none."""
        actor = self.actor
        if actor is None or not actor.person_id:
            return None
        query = select(Handover)
        if actor.kind == STAFF:
            outgoing = Handover.requested_by_person_id == actor.person_id
            incoming = (Handover.to_agency == actor.agency) & Handover.offered_at.is_not(None)
            return query.where({"outgoing": outgoing, "incoming": incoming}.get(
                direction, outgoing | incoming))
        if actor.kind == CITIZEN:
            # ids are uuids: a match inside the JSON list's text is exact enough, and the
            # role check afterwards is exact
            return query.where(cast(Handover.consent_person_ids, String)
                               .like(f'%"{actor.person_id}"%'))
        return None

    def _view(self, handover: Handover, role: str, with_summary: bool = True,
              with_child: bool = False) -> dict:
        if role == domain.CONSENTING_PARTY:
            schema = HandoverCitizenView()
        else:
            schema = HandoverView()
        view = {name: getattr(handover, name) for name in schema.fields
                if hasattr(Handover, name)}
        view = {k: as_utc(v) if isinstance(v, datetime) else v for k, v in view.items()}
        view["viewer_role"] = role
        if role != domain.CONSENTING_PARTY:
            shown = with_summary and domain.shows_summary(role, handover, utcnow(),
                                                          self._grace_days())
            view["summary"] = handover.summary if shown else None
            view["child"] = (self._child(handover.child_id, role, handover)
                             if shown and with_child else None)
        return schema.dump(view)

    def _child(self, child_id: str | None, role: str | None = None,
               handover: Handover | None = None) -> dict | None:
        """The child's name and birth date for staff who see the summary (from the owner);
        in a protected case no name before the receiver has a part in the log."""
        if not child_id:
            return None
        try:
            parties = self.consent.child_parties(child_id)
        except (ServiceUnavailable, NotFound):
            return None
        child = parties["child"]
        if not domain.shows_child_name(role, handover, bool(parties.get("protected"))):
            child = {**child, "name": None}
        return child

    def _grace_days(self) -> int:
        return max(0, int(self.config.get("HANDOVER_GRACE_DAYS", 30)))

    def _expiry_days(self) -> int:
        return max(1, int(self.config.get("HANDOVER_EXPIRY_DAYS", 14)))

    def _youth_age(self) -> int:
        return int(self.config.get("CONSENT_YOUTH_AGE", 15))
