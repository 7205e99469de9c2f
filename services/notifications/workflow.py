"""The steps behind the notifications service's event handlers and reminder runs (its
service layer): facts → rules (``domain``) → deliveries (``store``), one transaction per
event or reminder. No rules here."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time

from sqlalchemy.exc import IntegrityError

from services.notifications import domain, store
from services.notifications.delivery import DROPPED
from services.notifications.events import CONSUMED
from services.notifications.models import ReminderSent
from stafett.events import Envelope, first_delivery, utcnow


def deliver(session, service: str, event: Envelope, consumer: str) -> bool:
    """Once per event: facts → rules → deliveries (the inbox written now), committed.
    True if something waits for the courier (e-mail, webhooks)."""
    if event.type not in CONSUMED or not first_delivery(
            session, f"notifications.{consumer}", event.event_id):
        session.rollback()  # not ours, or a redelivery: let go of the connection
        return False
    facts = store.facts_for(session, event)
    store.apply(session, event)
    dropping = domain.drop_for(event)
    dropped = store.drop(session, dropping, utcnow()) if dropping else {}
    notices = domain.notices_for(event, facts)
    counts = store.plan(session, event_id=event.event_id, event_type=event.type,
                        occurred_at=event.occurred_at, notices=notices, now=utcnow())
    session.commit()
    for channel, count in dropped.items():
        DROPPED.labels(service=service, channel=channel, reason=dropping.reason).inc(count)
    return bool(counts[domain.EMAIL] or counts[domain.WEBHOOK])


def run_reminders(session, config, today: str | None) -> dict:
    """Plan the reminders due ``today`` (YYYY-MM-DD; default: today where the service
    runs), each once whatever the replicas or restarts. Returns the counts per kind."""
    tz = domain.zone(config.get("TIME_ZONE"))
    now = utcnow()
    today = date.fromisoformat(today) if today else now.astimezone(tz).date()
    days_ahead = int(config.get("REMINDER_DAYS_AHEAD", 3))
    measures, meetings = store.reminder_candidates(
        session, today, days_ahead, datetime.combine(today, time(0), tzinfo=tz))
    reminders = domain.due_reminders(today, days_ahead, measures, meetings, tz)
    protected = store.protected_children(
        session, {r.notice.context.get("child_id") for r in reminders})
    reminders = [replace(r, notice=domain.protect(r.notice))
                 if r.notice.context.get("child_id") in protected else r for r in reminders]
    sent = store.already_sent(session, reminders)
    session.rollback()
    counts = {}
    for reminder in reminders:
        if (reminder.kind, reminder.object_id, reminder.due) in sent:
            continue
        try:
            # insert first: of two replicas (or a restart) only one gets past here
            session.add(ReminderSent(kind=reminder.kind, object_id=reminder.object_id,
                                     due=reminder.due, event_id=reminder.event_id,
                                     sent_at=now))
            session.flush()
            store.plan(session, event_id=reminder.event_id,
                       event_type=f"reminder.{reminder.kind}",
                       occurred_at=now.isoformat(), notices=[reminder.notice], now=now)
            session.commit()
        except IntegrityError:
            session.rollback()
            continue
        counts[reminder.kind] = counts.get(reminder.kind, 0) + 1
    return counts
