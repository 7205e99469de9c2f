"""The delivery worker: sends due e-mail and webhook deliveries, retries, dead-letters.

A managed greenthread of the service container (``Courier``), woken after every event that
queued something and polling every ``DELIVERY_POLL_SECONDS`` as a safety net. Each round:

- claims a due delivery with a compare-and-set (``queued``/``failed-temporary`` whose
  ``next_attempt_at`` has come, or ``sent`` whose lease ran out after a crash), so two
  replicas never send the same row at once; the claim moves it to ``sent``;
- sends it in a green pool: one pool for e-mail, and **one pool per agency for webhooks**
  (the bulkhead): a round only takes as many of an agency's deliveries as its pool has free
  slots and never waits for a pool, so a slow or failing agency endpoint holds up its own
  deliveries and nobody else's. Every request has its own timeout;
- records the outcome: ``delivered``, or ``failed-temporary`` with exponential backoff
  (``DELIVERY_RETRY_BASE_SECONDS`` × 2^(attempt−1), at most ``DELIVERY_RETRY_MAX_SECONDS``),
  or after ``DELIVERY_MAX_ATTEMPTS`` (or a permanent answer) ``failed-permanent``: a dead
  delivery, counted in ``stafett_notifications_dead_total`` and listed by the
  ``list_deliveries`` RPC (``stafett deliveries list --status failed-permanent``).

E-mail respects quiet hours (postponed to their end, no attempt counted) and the daily
digest (one e-mail per person at the chosen hour for everything that waited).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import eventlet
from eventlet.queue import Empty, LightQueue
from prometheus_client import Counter, Histogram
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from services.notifications import domain, store
from services.notifications.channels import (INTERNAL_ERROR, EmailChannel, Outcome, Outgoing,
                                             SmtpSettings, WebhookChannel)
from services.notifications.models import Delivery, PreferenceRow, Webhook
from services.notifications.protection import SecretBox
from services.notifications.targets import TargetPolicy
from stafett.background import Background
from stafett.config import flag
from stafett.db import sole_database
from stafett.events import Backoff, utcnow
from stafett.ids import new_id
from stafett.metrics import agency_type_label, heartbeat

log = logging.getLogger(__name__)

DELIVERIES = Counter("stafett_notifications_deliveries_total",
                     "Delivery attempts by channel, outcome and the receiving agency's type "
                     "(webhooks; none for e-mail)",
                     ["service", "channel", "outcome", "agency_type"])
DEAD = Counter("stafett_notifications_dead_total",
               "Deliveries that failed permanently (dead letters)", ["service", "channel"])
DURATION = Histogram("stafett_notifications_delivery_seconds", "Time to send one delivery",
                     ["service", "channel"],
                     buckets=(.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
DROPPED = Counter("stafett_notifications_dropped_total",
                  "Deliveries dropped before they were sent, and inbox items withdrawn "
                  "(consent for the recipient's agency ended)", ["service", "channel", "reason"])
SATURATED = Counter("stafett_notifications_bulkhead_saturated_total",
                    "Dispatch rounds that found an agency's webhook pool full, by its type",
                    ["service", "agency_type"])




@dataclass(frozen=True)
class Settings:
    public_url: str = "http://127.0.0.1:8000"
    smtp: SmtpSettings = SmtpSettings()
    poll_seconds: float = 1.0
    #: base × 2^(attempt−1), at most cap; after max_attempts: failed-permanent
    retry: Backoff = Backoff(base=30.0, cap=3600.0, budget=math.inf, max_attempts=8)
    lease_seconds: float = 120.0
    webhook_timeout: float = 10.0
    webhook_concurrency: int = 4
    webhook_targets: TargetPolicy = TargetPolicy()
    webhook_ca_bundle: str | None = None
    email_concurrency: int = 4

    @classmethod
    def from_config(cls, config: dict) -> "Settings":
        get = config.get
        return cls(
            public_url=str(get("PUBLIC_URL", cls.public_url)),
            smtp=SmtpSettings(host=str(get("SMTP_HOST", "127.0.0.1")),
                              port=int(get("SMTP_PORT", 1025)),
                              sender=str(get("SMTP_FROM", SmtpSettings.sender)),
                              protected_sender=str(get("SMTP_FROM_PROTECTED",
                                                       SmtpSettings.protected_sender)),
                              starttls=flag(get("SMTP_STARTTLS"), False, "SMTP_STARTTLS"),
                              username=get("SMTP_USERNAME") or None,
                              password=get("SMTP_PASSWORD") or None,
                              timeout=float(get("SMTP_TIMEOUT_SECONDS", 10))),
            poll_seconds=float(get("DELIVERY_POLL_SECONDS", 1)),
            retry=Backoff(base=float(get("DELIVERY_RETRY_BASE_SECONDS", 30)),
                          cap=float(get("DELIVERY_RETRY_MAX_SECONDS", 3600)), budget=math.inf,
                          max_attempts=int(get("DELIVERY_MAX_ATTEMPTS", 8))),
            lease_seconds=float(get("DELIVERY_LEASE_SECONDS", 120)),
            webhook_timeout=float(get("WEBHOOK_TIMEOUT_SECONDS", 10)),
            webhook_concurrency=int(get("WEBHOOK_CONCURRENCY_PER_AGENCY", 4)),
            webhook_targets=TargetPolicy.from_config(config),
            webhook_ca_bundle=get("WEBHOOK_CA_BUNDLE") or None,
            email_concurrency=int(get("EMAIL_CONCURRENCY", 4)))


@dataclass(frozen=True)
class Due:
    """A claimed delivery, detached from any session."""

    id: str
    claim: str
    event_id: str
    event_type: str
    kind: str
    channel: str
    context: dict
    occurred_at: str
    person_id: str | None
    webhook_id: str | None
    agency: str | None
    agency_type: str = "none"   # a metrics label: the webhook agency's type


#: why an e-mail delivery is cancelled when its person has e-mail off (or no address)
NO_EMAIL = "e-mail turned off or no address"


def _wanting_email(person):
    """The person's preferences if they want e-mail, else None."""
    return person if person is not None and person.wants_email else None


def _outgoing(due: Due, **to) -> Outgoing:
    """What the channel sends for one claimed delivery, ``to`` its address or webhook."""
    return Outgoing(delivery_id=due.id, event_id=due.event_id, event_type=due.event_type,
                    kind=due.kind, context=due.context, occurred_at=due.occurred_at, **to)


def _due_clause(now: datetime):
    return or_(and_(Delivery.status.in_(domain.DUE_STATUSES), Delivery.next_attempt_at <= now),
               and_(Delivery.status == domain.SENT, Delivery.claimed_until < now))


class Courier(Background):
    """``courier = Courier()``: the delivery worker of the notifications service."""

    def setup(self):
        self.database = sole_database(self.container, "Courier")
        config = self.container.config
        self.settings = Settings.from_config(config)
        self.secrets = SecretBox.from_config(config)
        self.email = EmailChannel(self.settings.smtp, self.settings.public_url)
        self.webhook = WebhookChannel(self.settings.public_url, self.settings.webhook_timeout,
                                      policy=self.settings.webhook_targets,
                                      ca_bundle=self.settings.webhook_ca_bundle)
        self.email_pool = eventlet.GreenPool(self.settings.email_concurrency)
        self.agency_pools: dict[str, eventlet.GreenPool] = {}
        self._wakeups = LightQueue()

    def start(self):
        self.start_background(self._run, "courier")

    def stop(self):
        super().stop()
        for pool in [self.email_pool, *self.agency_pools.values()]:
            for thread in list(pool.coroutines_running):
                thread.kill()

    def get_dependency(self, worker_ctx):
        return self

    def wake(self) -> None:
        if self._wakeups.qsize() == 0:
            self._wakeups.put(None)

    @property
    def service(self) -> str:
        return self.container.service_name

    # -- the loop ------------------------------------------------------------------------------

    def _run(self):
        heartbeat(self.service, "delivery_worker", self.settings.poll_seconds)
        while True:
            try:
                self._wakeups.get(timeout=self.settings.poll_seconds)
            except Empty:
                pass
            try:
                self.dispatch_once()
                heartbeat(self.service, "delivery_worker")
            except Exception:  # database down: the rows wait for the next round
                log.warning("delivery round failed; will retry", exc_info=True)
                eventlet.sleep(self.settings.poll_seconds)

    def dispatch_once(self, now: datetime | None = None) -> int:
        """One round over every channel; returns how many sends it started."""
        now, started = now or utcnow(), 0
        with Session(self.database.engine, expire_on_commit=False) as session:
            for dispatch in (self._dispatch_email, self._dispatch_digests):
                free = self.email_pool.free()   # what the one before took is taken
                if free > 0:
                    started += dispatch(session, now, free)
            return started + self._dispatch_webhooks(session, now)

    # -- claiming -------------------------------------------------------------------------------

    def _claim(self, session: Session, delivery: Delivery, claim: str, now: datetime,
               agency_type: str = "none") -> Due | None:
        claimed = session.execute(update(Delivery).where(
            Delivery.id == delivery.id, _due_clause(now)).values(
            status=domain.SENT, claim=claim, attempts=Delivery.attempts + 1,
            claimed_until=now + timedelta(seconds=self.settings.lease_seconds),
            updated_at=now).execution_options(synchronize_session=False)).rowcount
        session.commit()
        if not claimed:
            return None
        return Due(delivery.id, claim, delivery.event_id, delivery.event_type, delivery.kind,
                   delivery.channel, dict(delivery.context or {}), delivery.occurred_at or "",
                   delivery.person_id, delivery.webhook_id, delivery.agency,
                   agency_type_label(agency_type))

    def _dropped(self, session: Session, row: Delivery, now: datetime) -> bool:
        """A delivery consent ended for while it was being sent (its lease ran out since):
        dropped, never tried again."""
        if not row.drop_reason:
            return False
        self._set(session, row.id, now, status=domain.DROPPED, claim=None, claimed_until=None)
        DROPPED.labels(service=self.service, channel=row.channel, reason=row.drop_reason).inc()
        return True

    def _sendable(self, session: Session, row: Delivery, now: datetime, target,
                  none_because: str) -> bool:
        """Not dropped (consent ended), and ``target`` (the person who wants e-mail, the
        active webhook) is there; else the row is settled here: dropped, or cancelled
        ``none_because``."""
        if self._dropped(session, row, now):
            return False
        if target is None:
            self._set(session, row.id, now, status=domain.CANCELLED, last_error=none_because)
            return False
        return True

    def _set(self, session: Session, delivery_id: str, now: datetime, **values) -> None:
        session.execute(update(Delivery).where(Delivery.id == delivery_id,
                                               _due_clause(now))
                        .values(updated_at=now, **values)
                        .execution_options(synchronize_session=False))
        session.commit()

    # -- e-mail ----------------------------------------------------------------------------------

    def _preferences(self, session: Session, person_ids) -> dict:
        return {row.person_id: store.to_preferences(row) for row in session.scalars(
            select(PreferenceRow).where(PreferenceRow.person_id.in_(set(person_ids))))}

    def _dispatch_email(self, session: Session, now: datetime, free: int) -> int:
        started = 0
        rows = session.scalars(select(Delivery).where(
            Delivery.channel == domain.EMAIL, Delivery.digest.is_(False), _due_clause(now))
            .order_by(Delivery.next_attempt_at).limit(free)).all()
        prefs = self._preferences(session, [r.person_id for r in rows])
        for row in rows:
            person = _wanting_email(prefs.get(row.person_id))
            if not self._sendable(session, row, now, person, NO_EMAIL):
                continue
            send_at = domain.email_send_time(now, person)
            if send_at > now:   # quiet hours: later, and no attempt counted
                self._set(session, row.id, now, status=domain.QUEUED,
                          next_attempt_at=send_at, claim=None, claimed_until=None)
                continue
            due = self._claim(session, row, new_id(), now)
            if due is not None:
                self.email_pool.spawn_n(self._send, self.email, [due], _outgoing(
                    due, person_id=due.person_id, address=person.email))
                started += 1
        return started

    def _dispatch_digests(self, session: Session, now: datetime, free: int) -> int:
        started = 0
        people = session.scalars(select(Delivery.person_id).where(
            Delivery.channel == domain.EMAIL, Delivery.digest.is_(True), _due_clause(now))
            .distinct().limit(free)).all()
        prefs = self._preferences(session, people)
        for person_id in people:
            rows = session.scalars(select(Delivery).where(
                Delivery.channel == domain.EMAIL, Delivery.digest.is_(True),
                Delivery.person_id == person_id, _due_clause(now))).all()
            person = _wanting_email(prefs.get(person_id))
            rows = [row for row in rows
                    if self._sendable(session, row, now, person, NO_EMAIL)]
            claim = new_id()
            claimed = [d for d in (self._claim(session, row, claim, now) for row in rows) if d]
            if claimed:
                first = claimed[0]
                self.email_pool.spawn_n(self._send, self.email, claimed, Outgoing(
                    delivery_id=first.id, event_id=first.event_id,
                    event_type=first.event_type, kind=first.kind, context={},
                    person_id=person_id, address=person.email,
                    digest_count=len(claimed)))
                started += 1
        return started

    # -- webhooks: the bulkhead ------------------------------------------------------------------------

    def pool_for(self, agency: str) -> eventlet.GreenPool:
        pool = self.agency_pools.get(agency)
        if pool is None:
            pool = self.agency_pools[agency] = eventlet.GreenPool(
                self.settings.webhook_concurrency)
        return pool

    def _dispatch_webhooks(self, session: Session, now: datetime) -> int:
        started = 0
        agencies = session.scalars(select(Delivery.agency).where(
            Delivery.channel == domain.WEBHOOK, _due_clause(now)).distinct()).all()
        for agency in agencies:
            pool = self.pool_for(agency or "")
            free = pool.free()
            if free <= 0:   # this agency is slow: its deliveries wait, nobody else's do
                agency_type = session.scalar(select(Webhook.agency_type).where(
                    Webhook.agency == agency).limit(1))
                SATURATED.labels(service=self.service,
                                 agency_type=agency_type_label(agency_type or
                                                               "unknown")).inc()
                continue
            rows = session.scalars(select(Delivery).where(
                Delivery.channel == domain.WEBHOOK, Delivery.agency == agency,
                _due_clause(now)).order_by(Delivery.next_attempt_at).limit(free)).all()
            hooks = {h.id: h for h in session.scalars(select(Webhook).where(
                Webhook.id.in_({r.webhook_id for r in rows})))}
            for row in rows:
                hook = hooks.get(row.webhook_id)
                if not self._sendable(session, row, now, hook if hook and hook.active
                                      else None, "webhook deleted"):
                    continue
                due = self._claim(session, row, new_id(), now,
                                  hook.agency_type or "unknown")
                if due is None:
                    continue
                pool.spawn_n(self._send, self.webhook, [due], _outgoing(
                    due, url=hook.url, agency=hook.agency,
                    secret=self.secrets.open(hook.secret_ciphertext, hook.id)))
                started += 1
        return started

    # -- sending and recording -----------------------------------------------------------------------

    def _send(self, channel, claimed: list[Due], outgoing: Outgoing) -> None:
        started = time.perf_counter()
        try:
            outcome = channel.send(outgoing)
        except Exception as exc:  # a bug in rendering or a channel: retried, never lost
            log.exception("delivery raised", extra={"delivery_id": outgoing.delivery_id})
            outcome = Outcome(domain.FAILED_TEMPORARY, INTERNAL_ERROR)  # details: the log
        DURATION.labels(service=self.service, channel=channel.name).observe(
            time.perf_counter() - started)
        try:
            self.record(claimed, outcome)
        except Exception:  # the lease runs out and the delivery is tried again
            log.exception("could not record a delivery outcome",
                          extra={"delivery_id": outgoing.delivery_id})

    def record(self, claimed: list[Due], outcome: Outcome, now: datetime | None = None) -> None:
        now = now or utcnow()
        settings = self.settings
        with Session(self.database.engine) as session:
            for due in claimed:
                agency_type = getattr(due, "agency_type", "none")
                row = session.get(Delivery, due.id)
                if row is None or row.claim != due.claim:
                    continue    # the lease ran out and someone else took it over
                if outcome.delivered:
                    row.status, row.delivered_at, row.last_error = domain.DELIVERED, now, None
                elif row.drop_reason:
                    # consent for its agency ended while it was being sent: not tried again
                    row.status, row.next_attempt_at = domain.DROPPED, None
                    row.last_error = (outcome.error or outcome.status)[:500]
                    DROPPED.labels(service=self.service, channel=row.channel,
                                   reason=row.drop_reason).inc()
                else:
                    row.status, row.next_attempt_at = domain.after_failure(
                        outcome.status == domain.FAILED_PERMANENT, now,
                        settings.retry.delay_after(row.attempts))
                    row.last_error = (outcome.error or outcome.status)[:500]
                    if row.status == domain.FAILED_PERMANENT:
                        DEAD.labels(service=self.service, channel=row.channel).inc()
                        log.error("delivery failed permanently", extra={
                            "delivery_id": row.id, "channel": row.channel,
                            "attempts": row.attempts, "error": row.last_error})
                row.claim, row.claimed_until, row.updated_at = None, None, now
                DELIVERIES.labels(service=self.service, channel=row.channel,
                                  outcome=row.status, agency_type=agency_type).inc()
            session.commit()
