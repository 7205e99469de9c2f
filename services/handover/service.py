"""Handover service entrypoints and wiring only: the rules and transitions are the
aggregate's (``domain.Handover``, the mapped row); ``workflow.py`` holds the steps the
entrypoints share, ``store.py`` reads and writes the table (every transition a
compare-and-set), ``views.py`` dumps. See docs/handover.md.

request → (consent for the receiver) → accept / decline → the logs service applies the
change → completed. The sender keeps the baton until the logs service has confirmed the
application: acceptance only records ``accepted`` and the ``handover.accepted`` event; the
application step (``Workflow.apply``) runs from that event (retried with backoff, then the DLQ)
and from the ``housekeeping`` timer, and is idempotent on both sides (a compare-and-set on
our row, and ``apply_handover`` keyed by the handover id in the logs service).
"""
from __future__ import annotations

import logging
from datetime import date

from nameko.rpc import rpc

from services.handover import domain, events, store
from services.handover.gauges import refresh_gauges
from services.handover.models import Handover
from services.handover.schemas import AcceptIn, CancelIn, DeclineIn, HandoverIn, ListIn
from services.handover.timer import configured_timer
from services.handover.workflow import Workflow, required
from stafett.actor import SYSTEM_ACTOR, ActorContext
from stafett.audit import audited_work
from stafett.contracts import load
from stafett.coverage import Coverage
from stafett.errors import EXPECTED
from stafett.events import Envelope, Outbox, first_delivery, reliable_event_handler, utcnow
from stafett.gauges import ScrapeGauges
from stafett.ids import new_id
from stafett.paging import newest_first, visible_page
from stafett.request_keys import once
from stafett.rpc import TimeoutRpcProxy
from stafett.service import DomainService

log = logging.getLogger(__name__)


class HandoverService(DomainService):
    name = "handover"

    gauges = ScrapeGauges(refresh_gauges)
    events = Outbox()
    logs = TimeoutRpcProxy("logs")
    consent = TimeoutRpcProxy("consent")
    # timers and event handlers call the logs service as the service itself
    actor_context = ActorContext()

    # -- the access log: handover records name the log (stafett/access_review.py) ----------

    def _access_scope(self, child_id: str) -> dict:
        return self.logs.access_log_scope(child_id)  # the logs service's rule

    def _access_subjects(self, scope: dict) -> list[str]:
        return list(scope["log_ids"])

    def _child_subjects(self, child_id: str) -> list[str]:
        return store.logs_of_child(self.db, child_id)

    # -- reads ------------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_handovers(self, direction: str | None = None, limit: int = 50,
                       cursor: str | None = None) -> dict:
        """One page, newest first, of the outgoing (requested by the actor) and incoming
        (offered to the actor's agency, or to the actor by name) handovers; for a guardian
        or youth, those of their child."""
        params = load(ListIn(), {"direction": direction, "limit": limit})
        actor, today, flow = self.actor, date.today(), self.flow
        candidates = store.candidates(actor, params["direction"])
        asked = {}  # the consent service's answer, once per child on this page

        def fetch(after, n):
            if candidates is None:
                return []
            return self.db.scalars(newest_first(candidates, Handover.created_at, Handover.id,
                                                after).limit(n)).all()

        def show(handover):
            coverage = asked.setdefault(handover.child_id, flow.consents(handover.child_id))
            role = domain.viewer_role(actor, handover, coverage, today)
            return None if role is None else flow.view(handover, role, with_summary=False)

        with audited_work(self.db, actor, "list", "handovers"):
            return visible_page(fetch, show, params["limit"], cursor,
                                lambda h: (h.created_at, h.id))

    @rpc(expected_exceptions=EXPECTED)
    def get_handover(self, handover_id: str) -> dict:
        """One handover as the actor may see it: the receiver gets the summary, never the
        log; those who consent for the child see where it goes, without the summary."""
        flow = self.flow
        actor, (handover, coverage) = self.actor, flow.refreshed(handover_id, self.actor)
        with audited_work(self.db, actor, "read", "handover", handover_id,
                          subject_id=handover.log_id if handover else None) as work:
            role = work.role = domain.require_viewer(actor, required(handover),
                                                     coverage, date.today())
        return flow.view(handover, role, with_child=True)

    # -- the workflow -----------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    @once
    def request_handover(self, payload: dict) -> dict:
        """The stafettholder asks to hand the log over to another agency."""
        actor, now, today, flow = self.actor, utcnow(), date.today(), self.flow
        log_id = (payload or {}).get("log_id") if isinstance(payload, dict) else None
        with audited_work(self.db, actor, "request", "handover",
                          subject_id=log_id if isinstance(log_id, str) else None,
                          role=domain.REQUESTER) as work:
            domain.require_staff(actor)  # before validation: only staff learn the rules
            data = load(HandoverIn(), payload)
            # the logs service decides: visible, stafettholder, open (NotFound/Forbidden/Conflict)
            context = self.logs.handover_context(data["log_id"])
            domain.require_stafettholder(actor, context)
            receiver = domain.receiving_agency(data["to_agency"], self.consent.list_agencies(),
                                               context, data["transition"])
            if data["to_person_id"]:
                domain.check_named_person(flow.staff(data["to_person_id"]),
                                          receiver["org_number"], "to_person_id")
            domain.check_no_open_handover(store.open_for(self.db, context["log_id"]))
            flow.release()
            handover = Handover.request(
                id=new_id(), context=context, receiver=receiver, data=data, actor=actor,
                covered=flow.coverage(context["child_id"]).covers(
                    receiver["org_number"], receiver["type"], today),
                consent_person_ids=domain.consenting_person_ids(
                    self.consent.child_parties(context["child_id"])),
                summary=self.logs.handover_summary(context["log_id"]), now=now,
                expiry_days=flow.expiry_days)
            work.object_id = handover.id
            store.add(self.db, handover)
            flow.emit(handover, events.REQUESTED, events.requested(handover))
        return flow.view(handover, domain.REQUESTER)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def accept_handover(self, handover_id: str, payload: dict,
                        expected_version: int | None = None) -> dict:
        """The receiver takes the baton, naming the new stafettholder. The logs service
        applies the change afterwards; until it confirms, the sender keeps the role."""
        flow = self.flow
        with flow.step("accept", handover_id, domain.RECEIVER, expected_version) as (
                handover, coverage):
            data = load(AcceptIn(), payload)  # after authorization: strangers learn nothing
            handover.accept(self.actor, data["new_stafettholder_person_id"],
                            data["participant_person_ids"], coverage=coverage,
                            staff=flow.staff, now=utcnow(), today=date.today())
        return flow.view(handover, domain.RECEIVER)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def decline_handover(self, handover_id: str, payload: dict,
                         expected_version: int | None = None) -> dict:
        return self._ended_with_reason("decline", domain.RECEIVER, handover_id, expected_version,
                                       DeclineIn(), payload, Handover.decline)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def cancel_handover(self, handover_id: str, payload: dict | None = None,
                        expected_version: int | None = None) -> dict:
        return self._ended_with_reason("cancel", domain.REQUESTER, handover_id,
                                       expected_version, CancelIn(), payload, Handover.withdraw)

    def _ended_with_reason(self, action: str, side: str, handover_id: str,
                           expected_version: int | None, schema, payload, end) -> dict:
        """Decline (the receiver) or cancel (the requester): ``end(handover, reason, now)``,
        the payload read after authorization (strangers learn nothing from its errors)."""
        flow = self.flow
        with flow.step(action, handover_id, side, expected_version) as (handover, _):
            end(handover, load(schema, payload)["reason"], utcnow())
        return flow.view(handover, side)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def refuse_consent(self, handover_id: str, expected_version: int | None = None) -> dict:
        """Those asked to consent say no (giving it is a new consent: the consent service)."""
        with self.flow.step("refuse_consent", handover_id, domain.CONSENTING_PARTY,
                            expected_version) as (handover, _):
            handover.refuse_consent(utcnow())
        return self.flow.view(handover, domain.CONSENTING_PARTY)

    # -- application: the logs service moves the baton ----------------------------------------

    @reliable_event_handler("handover", "handover.accepted")
    def on_accepted(self, payload: dict) -> None:
        """Apply an accepted handover. Idempotent by state (only ``accepted`` is applied, and
        the logs service applies a handover id once); a failure is retried, then parked."""
        self.actor_context.set(SYSTEM_ACTOR)
        self.flow.apply(Envelope.from_dict(payload).data["handover_id"])

    # -- timers and events ------------------------------------------------------------------

    @configured_timer("HANDOVER_TIMER_SECONDS", 60)
    def housekeeping(self) -> dict:
        """Expire requests past their day, follow consent (offer those it now covers, take
        back offers it no longer covers: a safety net for the consent events), and apply
        accepted handovers the event did not finish (the logs service refuses those consent
        no longer covers, which cancels them)."""
        self.actor_context.set(SYSTEM_ACTOR)
        flow = self.flow
        counts, now = {"expired": 0, "offered": 0, "taken_back": 0, "applied": 0}, utcnow()
        for handover in store.in_states(self.db, domain.EXPIRABLE_STATES):
            counts["expired"] += bool(flow.expire(handover, now))
        followed = flow.follow_consent(store.in_states(self.db, domain.EXPIRABLE_STATES))
        counts["offered"] = followed[domain.OFFER]
        counts["taken_back"] = followed[domain.BACK_TO_CONSENT]
        accepted = store.ids_in_states(self.db, (domain.ACCEPTED,))
        flow.release()
        for handover_id in accepted:
            try:
                counts["applied"] += flow.apply(handover_id) == domain.COMPLETED
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
        flow = self.flow
        for handover in store.in_states(self.db, (domain.CONSENT_PENDING,),
                                        child_id=event.child_id):
            if handover.follow_consent(Coverage.from_data(event.data.get("coverage")),
                                       date.today(), utcnow()):
                flow.save(handover)
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
        consent service's answer now (the event says only that something ended). Offers it
        no longer covers go back to ``consent_pending``; accepted ones go to the logs
        service, which refuses to apply them without consent (they are then cancelled)."""
        self.actor_context.set(SYSTEM_ACTOR)
        flow = self.flow
        affected = store.ids_in_states(self.db, (domain.AWAITING_ACCEPTANCE, domain.ACCEPTED),
                                       child_id=event.child_id)
        flow.release()
        # ask before recording the event as handled: if consent cannot answer, the event
        # is retried (then parked), not lost
        coverage = flow.coverage(event.child_id) if affected else Coverage()
        if not first_delivery(self.db, f"handover.{consumer}", event.event_id):
            self.db.rollback()
            return
        followed = flow.follow_consent(store.by_ids(self.db, affected),
                                        {event.child_id: coverage})
        self.db.commit()
        for handover_id in followed[domain.CHECK_APPLICATION]:
            try:
                flow.apply(handover_id)
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
        flow = self.flow
        for handover in store.in_states(self.db, domain.CANCELLABLE_STATES,
                                        log_id=event.log_id):
            if handover.cancel(domain.LOG_CLOSED, utcnow()):
                flow.save(handover)
        self.db.commit()

    # -- wiring -------------------------------------------------------------------------------

    @property
    def flow(self) -> Workflow:
        return Workflow(self)
