"""Who hears of what, when, and through which channel: the rules, as plain functions.

No nameko, no sessions. The service gives each rule the event and the few facts it keeps
in its projection (``Facts``); a rule answers with ``Notice``s: a kind (one template per
kind and channel), the persons to tell, the agencies whose webhooks hear of it, and the
ids needed for a link. Nothing here ever carries a name, a national identity number or
free text: events do not have them, and a notice's context is filtered to known id keys.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stafett import etags
from stafett.actor import SERVICE
from stafett.clock import as_utc
from stafett.errors import (Conflict, Forbidden, NotFound, PreconditionFailed,
                            ValidationFailed)

DEFAULT_TIME_ZONE = "Europe/Oslo"

# -- kinds ---------------------------------------------------------------------------------

MEASURE_ASSIGNED = "measure_assigned"
MEETING_INVITED = "meeting_invited"
MEETING_TOMORROW = "meeting_tomorrow"
EVALUATION_DUE = "evaluation_due"
EVALUATION_OVERDUE = "evaluation_overdue"
CONSENT_EXPIRING = "consent_expiring"
CONSENT_EXPIRED = "consent_expired"
CONSENT_EXPIRING_STAFETTHOLDER = "consent_expiring_stafettholder"
CONSENT_EXPIRED_STAFETTHOLDER = "consent_expired_stafettholder"
CONSENT_RECORDED = "consent_recorded"
HANDOVER_CONSENT_NEEDED = "handover_consent_needed"
HANDOVER_REQUESTED = "handover_requested"
HANDOVER_ACCEPTED = "handover_accepted"
HANDOVER_DECLINED = "handover_declined"
HANDOVER_CONSENT_ENDED = "handover_consent_ended"
HANDOVER_CANCELLED = "handover_cancelled"
HANDOVER_CONSENT_REFUSED = "handover_consent_refused"  # to the requester
LOG_CLOSED = "log_closed"
PROPOSAL_ANSWERED = "proposal_answered"
GUARDIANSHIP_CHANGED = "guardianship_changed"
STAFETTHOLDER_LAPSED = "stafettholder_lapsed"                # to the staff: take the baton
STAFETTHOLDER_LAPSED_FAMILY = "stafettholder_lapsed_family"  # to the guardians

KINDS = (MEASURE_ASSIGNED, MEETING_INVITED, MEETING_TOMORROW, EVALUATION_DUE,
         EVALUATION_OVERDUE, CONSENT_EXPIRING, CONSENT_EXPIRED, CONSENT_EXPIRING_STAFETTHOLDER,
         CONSENT_EXPIRED_STAFETTHOLDER, HANDOVER_CONSENT_NEEDED, HANDOVER_REQUESTED,
         HANDOVER_ACCEPTED, HANDOVER_DECLINED, LOG_CLOSED, PROPOSAL_ANSWERED, CONSENT_RECORDED,
         HANDOVER_CONSENT_ENDED, HANDOVER_CANCELLED, HANDOVER_CONSENT_REFUSED,
         GUARDIANSHIP_CHANGED,
         STAFETTHOLDER_LAPSED, STAFETTHOLDER_LAPSED_FAMILY)
#: kinds whose e-mail carries the meeting as an iCalendar attachment
CALENDAR_KINDS = (MEETING_INVITED, MEETING_TOMORROW)

INBOX, EMAIL, WEBHOOK = "inbox", "email", "webhook"
CHANNELS = (INBOX, EMAIL, WEBHOOK)

#: the only keys a notice's context (and so a template, a link, a webhook) may carry;
#: ``protected``: the child's case has a protective address code (no link, no kind, no
#: sender that locates it in e-mail)
CONTEXT_KEYS = ("log_id", "child_id", "measure_id", "meeting_id", "starts_at", "ends_at",
                "handover_id", "consent_id", "proposal_id", "evaluate_by", "decision",
                "protected")
#: consent's events that say whether a child's case is protected (``data.protected``)
PROTECTION_EVENTS = ("consent.child_registered", "consent.guardianship_changed",
                     "consent.protection_changed")

#: measure statuses after which nobody is reminded of an evaluation
CLOSED_MEASURE_STATUSES = frozenset({"completed", "cancelled", "stopped", "ended", "closed",
                                     "discontinued"})


@dataclass(frozen=True)
class Notice:
    kind: str
    person_ids: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    context: dict = field(default_factory=dict)
    #: person id → agency org number, for the staff among ``person_ids`` whose agency the
    #: rule knows (the others are looked up in the projection's participants)
    person_agencies: dict = field(default_factory=dict)


_NATIONAL_ID_SHAPE = re.compile(r"(?<![0-9A-Za-z])\d{6}[- ]?\d{5}(?![0-9A-Za-z])")  # never in a uuid
_ID_SHAPE = re.compile(r"[A-Za-z0-9:+._-]{1,64}")


def safe_value(value) -> bool:
    """An id, a code, a date or a timestamp: one short token, never shaped like a national
    identity number. (Events carry nothing else; this is the second lock on the door.)"""
    return (isinstance(value, str) and _ID_SHAPE.fullmatch(value) is not None
            and _NATIONAL_ID_SHAPE.search(value) is None
            or isinstance(value, bool))


def notice(kind: str, persons, agencies, context: dict, exclude: str | None = None,
           person_agencies: dict | None = None) -> Notice:
    """A notice with duplicates, empties and the acting person removed, context filtered
    to known keys with id-shaped values."""
    people = tuple(dict.fromkeys(p for p in persons if p and p != exclude))
    orgs = tuple(dict.fromkeys(a for a in agencies if a))
    ctx = {k: v for k, v in context.items() if k in CONTEXT_KEYS and safe_value(v)}
    known = {p: a for p, a in (person_agencies or {}).items() if p in people and a}
    return Notice(kind, people, orgs, ctx, known)


@dataclass(frozen=True)
class Facts:
    """What the projection knows when an event arrives (before applying it)."""

    #: person id → agency org number of the log's active participants (citizens: None)
    participants: dict = field(default_factory=dict)
    #: stafettholders of the child's open logs: (person_id, agency, log_id)
    child_stafettholders: tuple = ()
    #: the measure as the projection knew it before this event, if at all
    previous_responsible: str | None = None
    #: the child's case has a protective address code
    child_protected: bool = False


def actor_person(actor_ref: str | None) -> str | None:
    """``person:<id>`` → id: the person who caused an event is not told of it."""
    if actor_ref and actor_ref.startswith("person:"):
        return actor_ref.split(":", 1)[1]
    return None


# -- recipient rules, one event type at a time -------------------------------------------------

def notices_for(event, facts: Facts | None = None) -> list[Notice]:
    """The recipient rules. ``event`` is an ``Envelope``; ``facts`` from the projection."""
    facts = facts or Facts()
    rule = RULES.get(event.type)
    if rule is None:
        return []
    notices = [n for n in rule(event, event.data or {}, facts, actor_person(event.actor_ref))
               if n.person_ids or n.agencies]
    protected = facts.child_protected or (event.type in PROTECTION_EVENTS
                                          and bool((event.data or {}).get("protected")))
    return [protect(n) for n in notices] if protected else notices


def protect(n: Notice) -> Notice:
    """A notice about a child in a protected case: marked, so e-mail says nothing more
    than that there is something new (rendering.py)."""
    return replace(n, context={**n.context, "protected": True})


def _ids(event, data: dict, *keys) -> dict:
    ctx = {"log_id": event.log_id, "child_id": event.child_id}
    ctx.update({k: data.get(k) for k in keys})
    return ctx


def _measure_added(event, data, facts, actor):
    person = data.get("responsible_person_id")
    agency = data.get("responsible_agency") or facts.participants.get(person)
    return [notice(MEASURE_ASSIGNED, [person], [agency],
                   _ids(event, data, "measure_id", "evaluate_by"), exclude=actor,
                   person_agencies={person: agency})]


def _measure_updated(event, data, facts, actor):
    """A measure handed to someone else: the new responsible person hears of it."""
    person = data.get("responsible_person_id")
    if not person or person == facts.previous_responsible or facts.previous_responsible is None:
        return []
    return _measure_added(event, data, facts, actor)


def _meeting_scheduled(event, data, facts, actor):
    invited = data.get("invited_person_ids") or []
    agencies = [facts.participants.get(p) for p in invited]
    return [notice(MEETING_INVITED, invited, agencies,
                   _ids(event, data, "meeting_id", "starts_at", "ends_at"), exclude=actor,
                   person_agencies=facts.participants)]


def _consent_ending(kind: str, stafettholder_kind: str):
    def rule(event, data, facts, actor):
        ctx = _ids(event, data, "consent_id")
        notices = [notice(kind, data.get("notify_person_ids") or [],
                          data.get("scope_agencies") or [], ctx)]
        for person, agency, log_id in facts.child_stafettholders:
            notices.append(notice(stafettholder_kind, [person], [agency],
                                  {**ctx, "log_id": log_id}, person_agencies={person: agency}))
        return notices
    return rule


def _consent_granted(event, data, facts, actor):
    """A paper form recorded by staff: those who consent hear of it (a digital consent
    they gave themselves needs no notice)."""
    if data.get("method") != "paper":
        return []
    return [notice(CONSENT_RECORDED, data.get("notify_person_ids") or [], [],
                   _ids(event, data, "consent_id"), exclude=actor)]


def _handover_requested(event, data, facts, actor):
    ctx = _ids(event, data, "handover_id")
    if data.get("status") == "consent_pending":
        # the guardians first; the receiver hears of it once consent is in place
        return [notice(HANDOVER_CONSENT_NEEDED, data.get("consent_person_ids") or [], [], ctx,
                       exclude=actor)]
    return [notice(HANDOVER_REQUESTED, [data.get("to_person_id")], [data.get("to_agency")],
                   ctx, exclude=actor,
                   person_agencies={data.get("to_person_id"): data.get("to_agency")})]


def _handover_consent_granted(event, data, facts, actor):
    return [notice(HANDOVER_REQUESTED, [data.get("to_person_id")], [data.get("to_agency")],
                   _ids(event, data, "handover_id"), exclude=actor,
                   person_agencies={data.get("to_person_id"): data.get("to_agency")})]


def _handover_answered(kind: str):
    def rule(event, data, facts, actor):
        requester = data.get("requested_by_person_id")
        return [notice(kind, [requester], [data.get("from_agency")],
                       _ids(event, data, "handover_id"), exclude=actor,
                       person_agencies={requester: data.get("from_agency")})]
    return rule


def _handover_lost_consent(kind: str, citizens_kind: str):
    """Consent stopped covering the receiver: the requester (only while consent still
    covers the requesting agency: nothing about the child goes to an agency it no longer
    covers) and those who consent hear of it. The receiver is not told: the handover is
    simply gone for them, as if it never was."""
    def rule(event, data, facts, actor):
        ctx = _ids(event, data, "handover_id")
        notices = [notice(citizens_kind, data.get("consent_person_ids") or [], [], ctx,
                          exclude=actor)]
        if data.get("requester_covered"):
            requester = data.get("requested_by_person_id")
            notices.append(notice(kind, [requester], [data.get("from_agency")], ctx,
                                  exclude=actor,
                                  person_agencies={requester: data.get("from_agency")}))
        return notices
    return rule


def _handover_cancelled(event, data, facts, actor):
    """Only a cancellation because consent ended or was refused is told here (the others
    are the requester's own doing, or the log's closing, which has its own notice). A
    refusal goes to the requester: consent still covers the requesting agency."""
    if data.get("reason") == "consent_refused":
        return _handover_answered(HANDOVER_CONSENT_REFUSED)(event, data, facts, actor)
    if data.get("reason") != "consent_withdrawn":
        return []
    return _handover_lost_consent(HANDOVER_CANCELLED, HANDOVER_CANCELLED)(
        event, data, facts, actor)


def _log_closed(event, data, facts, actor):
    people = data.get("participant_person_ids") or list(facts.participants)
    agencies = [facts.participants.get(p) for p in people] + list(facts.participants.values())
    return [notice(LOG_CLOSED, people, agencies, _ids(event, data), exclude=actor,
                   person_agencies=facts.participants)]


def _stafettholder_lapsed(event, data, facts, actor):
    """The log has no stafettholder who can act: the staff who still can (one of them
    takes the baton; their agencies' systems hear of it) and the guardians are told at
    once. The lapsed holder is not: they no longer have a part to play."""
    staff = data.get("staff_person_ids") or []
    agencies = {p: facts.participants.get(p) for p in staff}
    return [notice(STAFETTHOLDER_LAPSED, staff, agencies.values(), _ids(event, data),
                   person_agencies=agencies),
            notice(STAFETTHOLDER_LAPSED_FAMILY, data.get("guardian_person_ids") or [], [],
                   _ids(event, data))]


def _guardianship_changed(event, data, facts, actor):
    """Parental responsibility changed in the population register: the guardians who had
    it and keep it, and the youth from the consent age (``notify_person_ids``), hear of it,
    so no one is made a guardian unnoticed. No webhooks: it is the family's business."""
    return [notice(GUARDIANSHIP_CHANGED, data.get("notify_person_ids") or [], [],
                   _ids(event, data), exclude=actor)]


def _proposal_answered(event, data, facts, actor):
    return [notice(PROPOSAL_ANSWERED, [data.get("proposer_person_id")], [],
                   _ids(event, data, "proposal_id", "measure_id", "decision"), exclude=actor)]


RULES = {
    "log.measure_added": _measure_added,
    "log.measure_updated": _measure_updated,
    "log.meeting_scheduled": _meeting_scheduled,
    "log.closed": _log_closed,
    "log.stafettholder_lapsed": _stafettholder_lapsed,
    "log.proposal_answered": _proposal_answered,
    "consent.granted": _consent_granted,
    "consent.guardianship_changed": _guardianship_changed,
    "consent.expiring": _consent_ending(CONSENT_EXPIRING, CONSENT_EXPIRING_STAFETTHOLDER),
    "consent.expired": _consent_ending(CONSENT_EXPIRED, CONSENT_EXPIRED_STAFETTHOLDER),
    "handover.requested": _handover_requested,
    "handover.consent_granted": _handover_consent_granted,
    "handover.accepted": _handover_answered(HANDOVER_ACCEPTED),
    "handover.declined": _handover_answered(HANDOVER_DECLINED),
    "handover.consent_ended": _handover_lost_consent(HANDOVER_CONSENT_ENDED,
                                                     HANDOVER_CONSENT_NEEDED),
    "handover.cancelled": _handover_cancelled,
}


# -- consent ended: what was queued for an agency it no longer covers is dropped ---------------

CONSENT_ENDED = "consent_ended"   # the drop reason
CONSENT_ENDINGS = ("consent.withdrawn", "consent.expired", "consent.superseded")


@dataclass(frozen=True)
class Drop:
    """Deliveries (not yet sent) and inbox items about ``child_id`` for ``agencies``."""
    child_id: str
    agencies: tuple[str, ...]
    reason: str = CONSENT_ENDED


def drop_for(event) -> Drop | None:
    """A consent that ended names the agencies no consent in force covers any longer
    (``no_longer_covers``: the consent service's answer, by its own rule). What is queued
    for them about the child is dropped; a narrowing that still covers everyone drops
    nothing."""
    if event.type not in CONSENT_ENDINGS or not event.child_id:
        return None
    agencies = tuple(sorted({a for a in (event.data or {}).get("no_longer_covers") or []
                             if safe_value(a)}))
    return Drop(event.child_id, agencies) if agencies else None


# -- links ---------------------------------------------------------------------------------

def log_link(log_id: str) -> str:
    return f"/logger/{log_id}"


def link_path(kind: str, context: dict) -> str:
    """Where the web client shows it (relative; e-mails prefix the public URL)."""
    if kind in (CONSENT_EXPIRING, CONSENT_EXPIRED, CONSENT_RECORDED, GUARDIANSHIP_CHANGED):
        return "/samtykker"
    if kind in (HANDOVER_CONSENT_NEEDED, HANDOVER_REQUESTED, HANDOVER_ACCEPTED,
                HANDOVER_DECLINED, HANDOVER_CONSENT_ENDED,
                HANDOVER_CANCELLED, HANDOVER_CONSENT_REFUSED) and context.get("handover_id"):
        return f"/overganger/{context['handover_id']}"
    if context.get("log_id"):
        return log_link(context["log_id"]) + _anchor(kind, context)
    return "/varsler"


#: the anchors of the log page's items (gateway/web/templates/log_items.html), and the
#: list each belongs to in the logs service
ANCHORS = {"tiltak": "measures", "mote": "meetings", "forslag": "proposals"}
MEASURE_KINDS = (MEASURE_ASSIGNED, EVALUATION_DUE, EVALUATION_OVERDUE)
MEETING_KINDS = (MEETING_INVITED, MEETING_TOMORROW)
_SUBJECT = re.compile(r"/logger/(?P<log>[A-Za-z0-9-]{1,36})"
                      r"(?:#(?P<anchor>tiltak|mote|forslag)-(?P<id>[A-Za-z0-9-]{1,36}))?")


def _anchor(kind: str, context: dict) -> str:
    """The item itself on the log's page: the measure, the meeting, the proposal."""
    if kind in MEASURE_KINDS + (PROPOSAL_ANSWERED,) and context.get("measure_id"):
        return f"#tiltak-{context['measure_id']}"
    if kind in MEETING_KINDS and context.get("meeting_id"):
        return f"#mote-{context['meeting_id']}"
    if kind == PROPOSAL_ANSWERED and context.get("proposal_id"):
        return f"#forslag-{context['proposal_id']}"
    return ""


def subject_of(link: str | None) -> dict | None:
    """What an inbox item's link names (the inverse of ``link_path``): the log, and the
    measure, meeting or proposal on it; None for a link to no log."""
    match = _SUBJECT.fullmatch(link or "")
    if match is None:
        return None
    anchor = match.group("anchor")
    return {"log_id": match.group("log"), "kind": ANCHORS.get(anchor), "id": match.group("id")}


def about(subject: dict | None, details: dict) -> dict | None:
    """What the inbox may say of the subject, from the logs service's answer for the
    recipient (``details`` by log id); None when it gave none (they may not read the log)."""
    known = details.get(subject["log_id"]) if subject else None
    if not known:
        return None
    item = (known.get(subject["kind"]) or {}).get(subject["id"]) if subject["kind"] else None
    item = item or {}
    return {"child": known.get("child"), "title": item.get("title"),
            "evaluate_by": item.get("evaluate_by"), "starts_at": item.get("starts_at")}


def api_path(kind: str, context: dict) -> str:
    """The resource an agency system fetches (with its own token) to learn more."""
    if context.get("handover_id"):
        return "/api/v1/handovers"
    if context.get("log_id"):
        return f"/api/v1/logs/{context['log_id']}"
    if context.get("consent_id"):
        return f"/api/v1/consents/{context['consent_id']}"
    return "/api/v1/notifications"


# -- preferences: quiet hours and the daily digest ------------------------------------------------

@dataclass(frozen=True)
class Preferences:
    email: str | None = None
    inbox_enabled: bool = True
    email_enabled: bool = True
    digest_daily: bool = False
    digest_hour: int = 7
    quiet_start: str | None = None      # "HH:MM", local time, for e-mail
    quiet_end: str | None = None
    time_zone: str = DEFAULT_TIME_ZONE

    @property
    def wants_email(self) -> bool:
        return bool(self.email_enabled and self.email)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def valid_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(now: datetime, prefs: Preferences) -> bool:
    if not (prefs.quiet_start and prefs.quiet_end):
        return False
    local = now.astimezone(zone(prefs.time_zone)).time().replace(second=0, microsecond=0)
    start, end = parse_hhmm(prefs.quiet_start), parse_hhmm(prefs.quiet_end)
    if start == end:
        return False
    if start < end:                      # e.g. 12:00–13:00
        return start <= local < end
    return local >= start or local < end  # across midnight, e.g. 21:00–07:00


def _next_local(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(timezone.utc)


def email_send_time(now: datetime, prefs: Preferences) -> datetime:
    """Now, or when the quiet hours end."""
    if in_quiet_hours(now, prefs):
        return _next_local(now, parse_hhmm(prefs.quiet_end), zone(prefs.time_zone))
    return now


def next_digest_time(now: datetime, prefs: Preferences) -> datetime:
    """The next ``digest_hour`` o'clock in the person's time zone (digests ignore quiet
    hours: the person chose the hour)."""
    return _next_local(now, time(prefs.digest_hour % 24), zone(prefs.time_zone))


# -- delivery: retries and outcomes ------------------------------------------------------------

QUEUED, SENT, DELIVERED = "queued", "sent", "delivered"
FAILED_TEMPORARY, FAILED_PERMANENT, CANCELLED = "failed-temporary", "failed-permanent", "cancelled"
#: consent for the recipient's agency ended before it was sent (``drop_reason``): final
DROPPED = "dropped"
STATUSES = (QUEUED, SENT, DELIVERED, FAILED_TEMPORARY, FAILED_PERMANENT, CANCELLED, DROPPED)
DUE_STATUSES = (QUEUED, FAILED_TEMPORARY)


def after_failure(permanent: bool, now: datetime,
                  delay: float | None) -> tuple[str, datetime | None]:
    """The status (and next attempt) after a failed attempt: ``delay`` is the courier's
    backoff (``stafett.events.Backoff``) for it, None when the attempts are used up."""
    if permanent or delay is None:
        return FAILED_PERMANENT, None
    return FAILED_TEMPORARY, now + timedelta(seconds=delay)


def http_outcome(status: int) -> str:
    """A webhook answer: 2xx delivered; 408, 429 and 5xx worth retrying; other 4xx not."""
    if 200 <= status < 300:
        return DELIVERED
    if status in (408, 425, 429) or status >= 500:
        return FAILED_TEMPORARY
    return FAILED_PERMANENT


def smtp_outcome(code: int | None) -> str:
    """An SMTP reply code: 5xx is permanent, anything else (4xx, no answer) temporary."""
    if code is not None and 500 <= code < 600:
        return FAILED_PERMANENT
    return FAILED_TEMPORARY


# -- reminders ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class MeasureFacts:
    measure_id: str
    log_id: str | None
    child_id: str | None
    evaluate_by: date | None
    status: str | None
    responsible_person_id: str | None
    responsible_agency: str | None
    stafettholder_person_id: str | None
    evaluated_for: date | None          # the evaluate-by date the last evaluation answered


@dataclass(frozen=True)
class MeetingFacts:
    meeting_id: str
    log_id: str | None
    child_id: str | None
    starts_at: datetime
    ends_at: datetime | None
    invited: tuple[str, ...]
    agencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reminder:
    kind: str
    object_id: str
    due: date
    notice: Notice

    @property
    def event_id(self) -> str:
        """Stable per (kind, object, due date): the delivery key and the inbox's event."""
        return str(uuid.uuid5(REMINDER_NAMESPACE, f"{self.kind}:{self.object_id}:{self.due}"))


REMINDER_NAMESPACE = uuid.UUID("6f1b2a4c-7d1e-5b8a-9c3f-2e4d6a8b0c1d")


def due_reminders(today: date, days_ahead: int, measures, meetings,
                  tz: ZoneInfo | None = None) -> list[Reminder]:
    """Evaluations due within ``days_ahead`` days (responsible person), evaluations past
    their date (responsible person and stafettholder), meetings tomorrow (the invited).
    One reminder per (kind, object, date): the caller records it before sending."""
    tz = tz or zone(None)
    reminders = []
    for m in measures:
        if (m.evaluate_by is None or (m.status or "").lower() in CLOSED_MEASURE_STATUSES
                or m.evaluated_for == m.evaluate_by):
            continue
        ctx = {"log_id": m.log_id, "child_id": m.child_id, "measure_id": m.measure_id,
               "evaluate_by": m.evaluate_by.isoformat()}
        if m.evaluate_by < today:
            reminders.append(Reminder(EVALUATION_OVERDUE, m.measure_id, m.evaluate_by, notice(
                EVALUATION_OVERDUE, [m.responsible_person_id, m.stafettholder_person_id],
                [m.responsible_agency], ctx)))
        elif (m.evaluate_by - today).days <= days_ahead:
            reminders.append(Reminder(EVALUATION_DUE, m.measure_id, m.evaluate_by, notice(
                EVALUATION_DUE, [m.responsible_person_id], [m.responsible_agency], ctx)))
    tomorrow = today + timedelta(days=1)
    for meeting in meetings:
        starts = as_utc(meeting.starts_at)
        if starts.astimezone(tz).date() != tomorrow:
            continue
        ctx = {"log_id": meeting.log_id, "child_id": meeting.child_id,
               "meeting_id": meeting.meeting_id, "starts_at": starts.isoformat(),
               "ends_at": meeting.ends_at.isoformat() if meeting.ends_at else None}
        reminders.append(Reminder(MEETING_TOMORROW, meeting.meeting_id, tomorrow, notice(
            MEETING_TOMORROW, meeting.invited, meeting.agencies, ctx)))
    return [r for r in reminders if r.notice.person_ids or r.notice.agencies]


# -- webhooks: who may manage them ---------------------------------------------------------------

WEBHOOK_SCOPE = "stafett:webhooks"
AGENCY_ADMIN = "agency_admin"


def webhook_agency(actor) -> str | None:
    """The agency whose webhooks ``actor`` manages: a system token with the webhook scope,
    or a staff agency administrator. None: nobody's."""
    if actor is None or not actor.agency:
        return None
    if actor.kind == "system" and WEBHOOK_SCOPE in actor.scopes:
        return actor.agency
    if actor.kind == "staff" and AGENCY_ADMIN in actor.roles and actor.person_id:
        return actor.agency
    return None


# -- the objects with behaviour (the mapped rows in models.py inherit them) ----------------------

class InboxItem:
    """A notification in a person's inbox (``models.Notification``)."""

    def shown_to(self, actor) -> bool:
        """Only its recipient sees it, and nobody once it was withdrawn (as if it never
        was)."""
        return (actor is not None and self.person_id == actor.person_id
                and self.dropped_at is None)

    def mark(self, read: bool, now: datetime) -> None:
        """Read keeps the first time it was read; unread forgets it."""
        self.read_at = (self.read_at or now) if read else None


def require_shown(item: InboxItem | None, actor) -> InboxItem:
    if item is None or not item.shown_to(actor):
        raise NotFound("no such notification", code="notification.not_found")
    return item


class Delivery:
    """One (event, recipient, channel) delivery (``models.Delivery``); sending and retries
    are the courier's (``delivery.py``)."""

    def requeue(self, now: datetime) -> None:
        """Operations send a dead (or cancelled) delivery again, with fresh attempts."""
        if self.status not in (FAILED_PERMANENT, CANCELLED):
            raise Conflict(f"the delivery is {self.status}", code="delivery.not_requeueable")
        self.status, self.attempts, self.next_attempt_at = QUEUED, 0, now
        self.last_error, self.updated_at = None, now


class PersonPreferences:
    """A person's stored choices (``models.PreferenceRow``); ``version`` is the ETag. A
    person without a row has the defaults (``Preferences()``) at version 0."""

    @classmethod
    def first(cls, person_id: str, values: dict, now: datetime):
        return cls(person_id=person_id, version=1, updated_at=now, **values)

    def replace(self, values: dict, now: datetime) -> None:
        """A PUT: every choice replaced; the version moves on."""
        for name, value in values.items():
            setattr(self, name, value)
        self.updated_at, self.version = now, self.version + 1

    def set_email(self, email: str | None, now: datetime) -> None:
        """The platform's contact address (seed, registry); a change moves the version."""
        if self.email != email:
            self.email, self.version, self.updated_at = email, self.version + 1, now


def preference_values(data: dict) -> dict:
    """The stored choices from a loaded ``PreferencesIn`` (a PUT replaces all of them)."""
    quiet = data["quiet_hours"] or {}
    return {"email": data["email"], "inbox_enabled": data["channels"]["inbox"],
            "email_enabled": data["channels"]["email"],
            "digest_daily": data["digest"]["daily"], "digest_hour": data["digest"]["hour"],
            "quiet_start": quiet.get("start"), "quiet_end": quiet.get("end"),
            "time_zone": data["time_zone"]}


def check_preferences_tag(tag, row: PersonPreferences | None) -> None:
    """If-Match: the preferences as last read (``etags.matches``), or 412."""
    if not etags.matches(tag, row.version if row is not None else None):
        raise PreconditionFailed("the preferences changed since you read them; "
                                 "GET them again")


class AgencyWebhook:
    """An agency's webhook (``models.Webhook``)."""

    @classmethod
    def register(cls, *, id: str, actor, agency: str, data: dict, sealed_secret: str,
                 allow_http: bool, refusal, active: int, limit: int, now: datetime):
        """A new webhook: https (unless configured otherwise), a URL the target policy
        does not refuse (``refusal(url)``: why not, or None), at most ``limit`` active
        ones per agency (``active`` now)."""
        if data["url"].lower().startswith("http:") and not allow_http:
            raise ValidationFailed("the request has invalid fields",
                                   {"url": ["use https"]}, code="webhook.url_not_https")
        refused = refusal(data["url"])
        if refused is not None:     # checked again, after resolution, at every delivery
            raise ValidationFailed("the request has invalid fields", {"url": [refused]},
                                   code="webhook.url_refused")
        if active >= limit:
            raise Conflict(f"an agency may have at most {limit} webhooks",
                           code="webhook.limit_reached")
        return cls(id=id, agency=agency, agency_type=actor.agency_type, url=data["url"],
                   description=data["description"], secret_ciphertext=sealed_secret,
                   active=True, created_by=actor.ref, created_at=now)

    def owned_by(self, agency: str) -> bool:
        return self.agency == agency and bool(self.active)

    def delete(self, now: datetime) -> None:
        self.active, self.deleted_at = False, now


def require_webhook_agency(actor) -> str:
    agency = webhook_agency(actor)
    if agency is None:
        raise Forbidden("webhooks are managed by an agency administrator or an agency "
                        f"system with the scope {WEBHOOK_SCOPE}", code="webhook.not_allowed")
    return agency


def require_own_webhook(hook: AgencyWebhook | None, agency: str) -> AgencyWebhook:
    if hook is None or not hook.owned_by(agency):
        raise NotFound("no such webhook", code="webhook.not_found")
    return hook


def require_person(actor) -> str:
    if actor is None or not actor.person_id:
        raise NotFound("only a person has notification preferences",
                       code="preferences.person_only")
    return actor.person_id


def require_platform(actor) -> None:
    if actor is None or actor.kind != SERVICE:
        raise Forbidden("only the platform may do this", code="operations.platform_only")
