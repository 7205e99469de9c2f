"""Tables of the notifications service.

- ``notifications``: the in-app inbox (the only place with a title and a body).
- ``deliveries``: one row per (event, recipient, channel), its status and retries.
- Both know, by id, the child a notification is about and the recipient's agency (a staff
  member's, a webhook's), so that when consent for that agency ends what is queued for it
  about the child is dropped and its staff's inbox items about the child are withdrawn.
- ``preferences``: a person's contact point and choices; ``webhooks``: agency endpoints.
- The rows of the inbox, deliveries, preferences and webhooks are the domain's objects:
  their behaviour is in ``domain.py`` (``InboxItem``, ``Delivery``, ``PersonPreferences``,
  ``AgencyWebhook``), which the mapped classes here inherit.
- ``reminders_sent``: a reminder's (kind, object, due date), inserted before it is sent.
- ``log_facts``, ``participant_facts``, ``measure_facts``, ``meeting_facts``: the small
  projection of the logs service's events that the recipient rules and reminders need.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, Date, Index, Integer, String, Text,
                        UniqueConstraint, false, text, true)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.notifications import domain
from stafett.db import Keyed, UtcDateTime


class Base(DeclarativeBase):
    pass


class Notification(domain.InboxItem, Keyed, Base):
    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("event_id", "person_id", "channel"),)
    event_id: Mapped[str] = mapped_column(String(36))
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # inbox
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(300))
    log_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: the child it is about, and the recipient's agency when they are staff (ids only)
    child_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    agency: Mapped[str | None] = mapped_column(String(9), nullable=True)
    #: withdrawn from the inbox (consent for the recipient's agency ended): not shown
    dropped_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    drop_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Delivery(domain.Delivery, Keyed, Base):
    """queued → sent → delivered | failed-temporary (→ sent again) | failed-permanent;
    cancelled when it no longer applies (e-mail turned off, webhook deleted); dropped when
    consent for the recipient's agency ended before it was sent (``drop_reason``)."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("event_id", "recipient", "channel",
                                       name="uq_deliveries_event_recipient_channel"),
                      Index("ix_deliveries_due", "status", "channel", "next_attempt_at"))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(36))    # a person id or a webhook id
    person_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    webhook_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    #: the webhook's agency, or the staff recipient's (None for a citizen)
    agency: Mapped[str | None] = mapped_column(String(9), nullable=True)
    #: the child it is about (ids only; None for what is about no child)
    child_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    context: Mapped[dict] = mapped_column(JSON, default=dict)   # ids only
    occurred_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime,
                                                            nullable=True)
    claim: Mapped[str | None] = mapped_column(String(36), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime,
                                                          nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: why it is (or, if a send was under way, will be) dropped: ``consent_ended``
    drop_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime,
                                                         nullable=True)


class PreferenceRow(domain.PersonPreferences, Base):
    __tablename__ = "preferences"
    person_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    inbox_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    digest_daily: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    digest_hour: Mapped[int] = mapped_column(Integer, default=7, server_default=text("7"))
    quiet_start: Mapped[str | None] = mapped_column(String(5), nullable=True)
    quiet_end: Mapped[str | None] = mapped_column(String(5), nullable=True)
    time_zone: Mapped[str] = mapped_column(String(60), default="Europe/Oslo",
                                           server_default="Europe/Oslo")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Webhook(domain.AgencyWebhook, Keyed, Base):
    __tablename__ = "webhooks"
    agency: Mapped[str] = mapped_column(String(9), index=True)
    #: the agency's type when the webhook was registered (metrics only: a bounded label)
    agency_type: Mapped[str | None] = mapped_column(String(30), nullable=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200), nullable=True)
    secret_ciphertext: Mapped[str] = mapped_column(Text)   # AES-GCM, bound to the id
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ReminderSent(Base):
    __tablename__ = "reminders_sent"
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    due: Mapped[date] = mapped_column(Date, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)


# -- projection of the logs service's events ------------------------------------------------------

class LogFact(Base):
    __tablename__ = "log_facts"
    log_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    child_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    stafettholder_person_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    stafettholder_agency: Mapped[str | None] = mapped_column(String(9), nullable=True)
    closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ParticipantFact(Base):
    __tablename__ = "participant_facts"
    log_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agency: Mapped[str | None] = mapped_column(String(9), nullable=True)
    kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class MeasureFact(Base):
    __tablename__ = "measure_facts"
    measure_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    log_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    child_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    evaluate_by: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    status: Mapped[str | None] = mapped_column(String(30), nullable=True)
    responsible_person_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    responsible_agency: Mapped[str | None] = mapped_column(String(9), nullable=True)
    stafettholder_person_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    evaluated_for: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MeetingFact(Base):
    __tablename__ = "meeting_facts"
    meeting_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    log_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    child_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    invited: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChildFact(Base):
    """Whether a child's case has a protective address code (consent's events): then
    e-mails about it carry no link, no kind and no sender that could locate it."""
    __tablename__ = "child_facts"
    child_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
