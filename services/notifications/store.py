"""The service's reads and writes: the projection, preferences, and planning deliveries.

Everything here runs in the caller's session and transaction; the caller commits.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from services.notifications import domain
from services.notifications.channels import InboxChannel, Outgoing
from services.notifications.models import (ChildFact, Delivery, LogFact, MeasureFact,
                                           MeetingFact, Notification, ParticipantFact,
                                           PreferenceRow, ReminderSent, Webhook)
from stafett.audit import record_access
from stafett.changes import compare_and_set
from stafett.errors import PreconditionFailed
from stafett.events import Envelope, as_utc, utcnow
from stafett.ids import new_id


def _date(value) -> date | None:
    if not value:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _moment(value) -> datetime | None:
    if not value:
        return None
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


# -- preferences -----------------------------------------------------------------------------

def preferences(session, person_id: str) -> domain.Preferences:
    row = session.get(PreferenceRow, person_id)
    return to_preferences(row) if row else domain.Preferences()


def to_preferences(row: PreferenceRow) -> domain.Preferences:
    return domain.Preferences(
        email=row.email, inbox_enabled=row.inbox_enabled, email_enabled=row.email_enabled,
        digest_daily=row.digest_daily, digest_hour=row.digest_hour,
        quiet_start=row.quiet_start, quiet_end=row.quiet_end, time_zone=row.time_zone)


# -- the projection ---------------------------------------------------------------------------

def facts_for(session, event: Envelope) -> domain.Facts:
    """What the recipient rules need, as known before ``event`` is applied."""
    participants = {}
    if event.log_id:
        participants = {p.person_id: p.agency for p in session.scalars(select(ParticipantFact)
                        .where(ParticipantFact.log_id == event.log_id,
                               ParticipantFact.active.is_(True)))}
    stafettholders = ()
    if event.type.startswith("consent.") and event.child_id:
        stafettholders = tuple(
            (log.stafettholder_person_id, log.stafettholder_agency, log.log_id)
            for log in session.scalars(select(LogFact).where(
                LogFact.child_id == event.child_id, LogFact.closed.is_(False)))
            if log.stafettholder_person_id)
    previous = None
    measure_id = (event.data or {}).get("measure_id")
    if event.type == "log.measure_updated" and measure_id:
        known = session.get(MeasureFact, measure_id)
        previous = known.responsible_person_id if known else None
    return domain.Facts(participants=participants, child_stafettholders=stafettholders,
                        previous_responsible=previous,
                        child_protected=event.child_id in protected_children(
                            session, [event.child_id]))


def protected_children(session, child_ids) -> set[str]:
    """Which of these children's cases have a protective address code."""
    ids = {c for c in child_ids if c}
    if not ids:
        return set()
    return set(session.scalars(select(ChildFact.child_id).where(
        ChildFact.child_id.in_(ids), ChildFact.protected.is_(True))))


def _newer(row, moment: datetime | None) -> bool:
    """Apply an event to a projection row only if it is not older than what the row has
    seen (events arrive through several queues, so not always in order)."""
    return row is None or moment is None or as_utc(row.updated_at) <= moment


def apply(session, event: Envelope) -> None:
    data, at = event.data or {}, _moment(event.occurred_at)
    if event.type in domain.PROTECTION_EVENTS and event.child_id and "protected" in data:
        child = session.get(ChildFact, event.child_id)
        if child is None:
            session.add(ChildFact(child_id=event.child_id, protected=bool(data["protected"]),
                                  updated_at=at or utcnow()))
        elif _newer(child, at):
            child.protected, child.updated_at = bool(data["protected"]), at or child.updated_at
        return
    if event.type == "log.stafettholder_lapsed" and event.log_id:
        log = session.get(LogFact, event.log_id)
        if log is not None and log.stafettholder_person_id == data.get("from_person_id"):
            # no holder: nobody is reminded as one until someone takes the baton
            log.stafettholder_person_id = log.stafettholder_agency = None
            log.updated_at = at or log.updated_at
        return
    if event.type in ("log.opened", "log.closed", "log.stafettholder_changed") and event.log_id:
        log = session.get(LogFact, event.log_id)
        if log is None:
            log = LogFact(log_id=event.log_id, child_id=event.child_id, closed=False,
                          updated_at=at)
            session.add(log)
        log.child_id = log.child_id or event.child_id
        if event.type == "log.closed":
            log.closed = True              # final, whatever the order
        elif _newer(log, at) or log.stafettholder_person_id is None:
            if event.type == "log.opened":
                log.stafettholder_person_id = data.get("stafettholder_person_id")
                log.stafettholder_agency = data.get("stafettholder_agency")
            else:
                log.stafettholder_person_id = data.get("to_person_id")
                log.stafettholder_agency = data.get("to_agency")
            log.updated_at = at or log.updated_at
        if event.type == "log.opened" and data.get("stafettholder_person_id"):
            _participant(session, event.log_id, data["stafettholder_person_id"],
                         data.get("stafettholder_agency"), "staff", True)
    elif event.type in ("log.participant_added", "log.participant_removed") and event.log_id:
        if data.get("person_id"):
            _participant(session, event.log_id, data["person_id"], data.get("agency"),
                         data.get("kind"), event.type == "log.participant_added")
    elif event.type in ("log.measure_added", "log.measure_updated", "log.measure_evaluated"):
        _measure(session, event, data, at)
    elif event.type == "log.meeting_scheduled" and data.get("meeting_id") and data.get("starts_at"):
        meeting = session.get(MeetingFact, data["meeting_id"])
        if meeting is None:
            meeting = MeetingFact(meeting_id=data["meeting_id"], updated_at=at)
            session.add(meeting)
        elif not _newer(meeting, at):
            return
        meeting.log_id, meeting.child_id = event.log_id, event.child_id
        meeting.starts_at = _moment(data["starts_at"])
        meeting.ends_at = _moment(data.get("ends_at"))
        meeting.invited = list(data.get("invited_person_ids") or [])
        meeting.updated_at = at or meeting.updated_at


def _participant(session, log_id, person_id, agency, kind, active) -> None:
    row = session.get(ParticipantFact, (log_id, person_id))
    if row is None:
        row = ParticipantFact(log_id=log_id, person_id=person_id)
        session.add(row)
    row.agency, row.kind, row.active = agency or row.agency, kind or row.kind, active


def _measure(session, event, data, at) -> None:
    measure_id = data.get("measure_id")
    if not measure_id:
        return
    row = session.get(MeasureFact, measure_id)
    answered = row.evaluate_by if row is not None else _date(data.get("evaluate_by"))
    if row is None:
        row = MeasureFact(measure_id=measure_id, updated_at=at)
        session.add(row)
    if event.type == "log.measure_evaluated":
        # the evaluation answers the deadline the measure had until now
        row.evaluated_for = answered or _date(data.get("evaluate_by"))
    if not _newer(row, at) and row.evaluate_by is not None:
        return
    row.log_id, row.child_id = event.log_id, event.child_id
    row.evaluate_by = _date(data.get("evaluate_by")) or row.evaluate_by
    row.status = data.get("status") or row.status
    row.responsible_person_id = data.get("responsible_person_id") or row.responsible_person_id
    row.responsible_agency = data.get("responsible_agency") or row.responsible_agency
    if row.responsible_agency is None and row.responsible_person_id and event.log_id:
        known = session.get(ParticipantFact, (event.log_id, row.responsible_person_id))
        row.responsible_agency = known.agency if known else None
    row.stafettholder_person_id = (data.get("stafettholder_person_id")
                                   or row.stafettholder_person_id)
    row.updated_at = at or row.updated_at


# -- planning deliveries ---------------------------------------------------------------------

def plan(session, *, event_id: str, event_type: str, occurred_at: str | None,
         notices: list[domain.Notice], now: datetime) -> dict:
    """Turn notices into deliveries: the inbox at once (same transaction), e-mail and
    webhooks queued for the delivery worker. One delivery per (event, recipient, channel),
    whatever the redeliveries or overlaps between notices."""
    existing = {(d.recipient, d.channel) for d in session.scalars(
        select(Delivery).where(Delivery.event_id == event_id))}
    counts = {domain.INBOX: 0, domain.EMAIL: 0, domain.WEBHOOK: 0}
    inbox = InboxChannel(session)

    def add(notice, channel, recipient, status, *, person_id=None, webhook_id=None,
            agency=None, digest=False, next_attempt_at=None) -> Delivery | None:
        if (recipient, channel) in existing:
            return None
        existing.add((recipient, channel))
        delivery = Delivery(
            id=new_id(), event_id=event_id, event_type=event_type, kind=notice.kind,
            channel=channel, recipient=recipient, person_id=person_id, webhook_id=webhook_id,
            agency=agency, child_id=notice.context.get("child_id"),
            context=dict(notice.context), occurred_at=occurred_at,
            digest=digest, status=status, attempts=0, next_attempt_at=next_attempt_at,
            created_at=now, updated_at=now)
        session.add(delivery)
        counts[channel] += 1
        return delivery

    for notice in notices:
        for person in notice.person_ids:
            prefs = preferences(session, person)
            agency = agency_of(session, person, notice)
            if prefs.inbox_enabled:
                delivery = add(notice, domain.INBOX, person, domain.QUEUED, person_id=person,
                               agency=agency)
                if delivery is not None:
                    outcome = inbox.send(Outgoing(
                        delivery_id=delivery.id, event_id=event_id, event_type=event_type,
                        kind=notice.kind, context=delivery.context, person_id=person,
                        agency=agency))
                    delivery.status, delivery.attempts = outcome.status, 1
                    delivery.delivered_at = now
            if prefs.wants_email:
                when = (domain.next_digest_time(now, prefs) if prefs.digest_daily
                        else domain.email_send_time(now, prefs))
                add(notice, domain.EMAIL, person, domain.QUEUED, person_id=person,
                    agency=agency, digest=prefs.digest_daily, next_attempt_at=when)
        if notice.agencies:
            for hook in session.scalars(select(Webhook).where(
                    Webhook.agency.in_(notice.agencies), Webhook.active.is_(True))):
                add(notice, domain.WEBHOOK, hook.id, domain.QUEUED, webhook_id=hook.id,
                    agency=hook.agency, next_attempt_at=now)
    return counts


def agency_of(session, person_id: str, notice: domain.Notice) -> str | None:
    """The agency a recipient is told as: the one the rule names for them, else the one
    they take part in the log with (None for citizens and for whom nothing is known)."""
    if person_id in notice.person_agencies:
        return notice.person_agencies[person_id]
    log_id = notice.context.get("log_id")
    if not log_id:
        return None
    fact = session.get(ParticipantFact, (log_id, person_id))
    return fact.agency if fact is not None else None


# -- consent ended: drop what is queued, withdraw what is in the inbox ---------------------------

def drop(session, drop: domain.Drop, now: datetime) -> dict:
    """Deliveries about ``drop.child_id`` for one of ``drop.agencies`` that were not sent
    yet become ``dropped``; one being sent right now keeps its attempt but is marked, so it
    is dropped instead of tried again (``drop_reason``). Inbox items about the child for
    the agencies' staff are withdrawn from the inbox. Returns the counts per channel."""
    mine = (Delivery.child_id == drop.child_id) & Delivery.agency.in_(drop.agencies)
    counts = {}
    for row in session.execute(select(Delivery.id, Delivery.channel).where(
            mine, Delivery.status.in_(domain.DUE_STATUSES))).all():
        counts[row.channel] = counts.get(row.channel, 0) + 1
    session.execute(update(Delivery).where(mine, Delivery.status.in_(domain.DUE_STATUSES))
                    .values(status=domain.DROPPED, drop_reason=drop.reason, claim=None,
                            claimed_until=None, next_attempt_at=None, updated_at=now)
                    .execution_options(synchronize_session=False))
    session.execute(update(Delivery).where(mine, Delivery.status == domain.SENT)
                    .values(drop_reason=drop.reason)
                    .execution_options(synchronize_session=False))
    withdrawn = session.execute(update(Notification).where(
        Notification.child_id == drop.child_id, Notification.agency.in_(drop.agencies),
        Notification.dropped_at.is_(None)).values(dropped_at=now, drop_reason=drop.reason)
        .execution_options(synchronize_session=False)).rowcount
    if withdrawn:
        counts[domain.INBOX] = withdrawn
    return counts


# -- reminders ---------------------------------------------------------------------------------

def reminder_candidates(session, today: date, days_ahead: int, now: datetime):
    closed = set(session.scalars(select(LogFact.log_id).where(LogFact.closed.is_(True))))
    measures = [
        domain.MeasureFacts(
            m.measure_id, m.log_id, m.child_id, m.evaluate_by, m.status,
            m.responsible_person_id, m.responsible_agency, m.stafettholder_person_id,
            m.evaluated_for)
        for m in session.scalars(select(MeasureFact).where(
            MeasureFact.evaluate_by.is_not(None),
            MeasureFact.evaluate_by <= today + timedelta(days=days_ahead)))
        if m.log_id not in closed]
    meetings = []
    for m in session.scalars(select(MeetingFact).where(
            MeetingFact.starts_at >= now, MeetingFact.starts_at <= now + timedelta(days=3))):
        if m.log_id in closed:
            continue
        agencies = tuple(p.agency for p in session.scalars(select(ParticipantFact).where(
            ParticipantFact.log_id == m.log_id, ParticipantFact.person_id.in_(m.invited or []))))
        meetings.append(domain.MeetingFacts(m.meeting_id, m.log_id, m.child_id,
                                            as_utc(m.starts_at),
                                            as_utc(m.ends_at) if m.ends_at else None,
                                            tuple(m.invited or ()), agencies))
    return measures, meetings


def already_sent(session, reminders) -> set:
    if not reminders:
        return set()
    rows = session.execute(select(ReminderSent.kind, ReminderSent.object_id, ReminderSent.due)
                           .where(ReminderSent.object_id.in_({r.object_id for r in reminders})))
    return {(kind, object_id, _date(due)) for kind, object_id, due in rows}


# -- preferences: one version at a time --------------------------------------------------------

def save_preferences(session, row: PreferenceRow, new: bool) -> None:
    """Write a person's replaced preferences: a first row, or the row changed from the
    version that was read (a compare-and-set); 412 if someone else wrote first."""
    try:
        if new:
            session.add(row)
            session.flush()
            return
    except IntegrityError:   # a concurrent first write won
        raise PreconditionFailed("the preferences changed since you read them")
    if not compare_and_set(session, row, PreferenceRow.version == row.version - 1):
        raise PreconditionFailed("the preferences changed since you read them")


def record_reads(session, actor, items) -> None:
    """One access record per child a page of the inbox told the reader about (purpose
    "notification_read"): the child's access log shows who read notices about it. Marked
    protected for a child with a protective address code."""
    children = sorted({item.child_id for item in items if item.child_id})
    if not children:
        return
    shielded = protected_children(session, children)
    for child_id in children:
        record_access(session, actor, action="read", object_type="notifications",
                      object_id=None, subject_id=child_id, outcome="allowed",
                      role="recipient", purpose="notification_read",
                      protected=child_id in shielded)
    session.commit()
