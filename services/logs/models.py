"""Tables of the logs service: the stafettlogg and its local projection of consent."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from stafett.db import Keyed, UtcDateTime


class Base(DeclarativeBase):
    pass


class OfLog(Keyed):
    """A mixin: a row of one log (``log_id``, the column after ``id``)."""

    log_id: Mapped[str] = mapped_column(ForeignKey("logs.id"), index=True, sort_order=-1)


class Log(Keyed, Base):
    __tablename__ = "logs"
    child_id: Mapped[str] = mapped_column(String(36), index=True)
    child_birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(10))  # open | closed
    level: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # the child's case has a protective address code (consent's child_parties and
    # events): every access record about the log is marked
    child_protected: Mapped[bool] = mapped_column(Boolean, default=False)


class LevelChange(OfLog, Base):
    """BTI level history: every level the log has had, and who set it."""
    __tablename__ = "level_changes"
    level: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    changed_by: Mapped[str] = mapped_column(String(36))  # participant id


class Participant(OfLog, Base):
    __tablename__ = "participants"
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(10))    # staff | guardian | child
    role: Mapped[str] = mapped_column(String(20))    # stafettholder | member | former | guardian | child
    display_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100), nullable=True)
    agency: Mapped[str | None] = mapped_column(String(9), nullable=True)
    agency_type: Mapped[str | None] = mapped_column(String(30), nullable=True)
    municipality: Mapped[str | None] = mapped_column(String(100), nullable=True)
    active_from: Mapped[date] = mapped_column(Date)
    active_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # after a handover the sender may still read (not write) until this day
    read_only_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    added_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Measure(OfLog, Base):
    __tablename__ = "measures"
    __table_args__ = (Index("ix_measures_log_order", "log_id", "created_at", "id"),)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    goal: Mapped[str] = mapped_column(Text)
    responsible_id: Mapped[str] = mapped_column(ForeignKey("participants.id"))
    proposer_id: Mapped[str] = mapped_column(ForeignKey("participants.id"))
    arena: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date] = mapped_column(Date)
    evaluate_by: Mapped[date] = mapped_column(Date)
    # the day the current evaluate_by was set: an evaluation since then answers it
    evaluate_by_set_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    meeting_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    proposal_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Evaluation(Keyed, Base):
    __tablename__ = "evaluations"
    __table_args__ = (Index("ix_evaluations_measure_order", "measure_id", "evaluated_on",
                            "created_at", "id"),)
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(6))  # green | yellow | red
    text: Mapped[str] = mapped_column(Text, default="")
    child_view: Mapped[str | None] = mapped_column(Text, nullable=True)
    evaluator_id: Mapped[str] = mapped_column(ForeignKey("participants.id"))
    evaluated_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Meeting(OfLog, Base):
    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_log_order", "log_id", "starts_at", "id"),)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    mode: Mapped[str] = mapped_column(String(10))  # in_person | video | phone
    place: Mapped[str | None] = mapped_column(String(200), nullable=True)
    agenda: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str | None] = mapped_column(Text, nullable=True)
    minuted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class MeetingInvite(Base):
    __tablename__ = "meeting_invites"
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), primary_key=True)
    attended: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Entry(OfLog, Base):
    __tablename__ = "entries"
    __table_args__ = (Index("ix_entries_log_order", "log_id", "created_at", "id"),)
    kind: Mapped[str] = mapped_column(String(12))        # note | child_voice | bright_spot
    visibility: Mapped[str] = mapped_column(String(6))   # all | staff
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(ForeignKey("participants.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Proposal(OfLog, Base):
    """A measure proposed by the child or a guardian, until the stafettholder answers."""
    __tablename__ = "proposals"
    __table_args__ = (Index("ix_proposals_log_order", "log_id", "created_at", "id"),)
    proposer_id: Mapped[str] = mapped_column(ForeignKey("participants.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    goal: Mapped[str] = mapped_column(Text, default="")
    arena: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))  # proposed | accepted | declined
    decline_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    measure_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class AppliedHandover(Base):
    """Handovers applied to a log: apply_handover is idempotent by handover id."""
    __tablename__ = "applied_handovers"
    __table_args__ = (UniqueConstraint("handover_id"),)
    handover_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    log_id: Mapped[str] = mapped_column(ForeignKey("logs.id"))
    from_person_id: Mapped[str] = mapped_column(String(36))
    to_person_id: Mapped[str] = mapped_column(String(36))
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConsentProjection(Base):
    """What consent covers, per consent, as the consent service decided it (``coverage``:
    its windows, stafett/coverage.py), kept as it came in its events (or a sync check).
    ``status`` only orders events (a late one after the consent ended changes nothing)."""
    __tablename__ = "consent_projection"
    consent_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    child_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(12))
    coverage: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConsentProjectionState(Base):
    """When the projection of a child's consent was last checked against the owner."""
    __tablename__ = "consent_projection_state"
    child_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(UtcDateTime)
