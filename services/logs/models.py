"""Tables of the logs service: the stafettlogg and its local projection of consent."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Log(Base):
    __tablename__ = "logs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    child_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(10))  # open | closed
    level: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Participant(Base):
    __tablename__ = "participants"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    log_id: Mapped[str] = mapped_column(ForeignKey("logs.id"), index=True)
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(10))    # staff | guardian | child
    role: Mapped[str] = mapped_column(String(20))    # stafettholder | member | guardian | child
    display_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100), nullable=True)
    agency: Mapped[str | None] = mapped_column(String(9), nullable=True)
    agency_type: Mapped[str | None] = mapped_column(String(30), nullable=True)
    active_from: Mapped[date] = mapped_column(Date)
    active_until: Mapped[date | None] = mapped_column(Date, nullable=True)


class Measure(Base):
    __tablename__ = "measures"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    log_id: Mapped[str] = mapped_column(ForeignKey("logs.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    goal: Mapped[str] = mapped_column(Text)
    responsible_id: Mapped[str] = mapped_column(ForeignKey("participants.id"))
    proposer_id: Mapped[str] = mapped_column(ForeignKey("participants.id"))
    arena: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date] = mapped_column(Date)
    evaluate_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)


class ConsentProjection(Base):
    """What consent covers, per consent, as learnt from consent events (or a sync check)."""
    __tablename__ = "consent_projection"
    consent_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    child_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(12))
    scope_agencies: Mapped[list] = mapped_column(JSON, default=list)
    scope_agency_types: Mapped[list] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsentProjectionState(Base):
    """When the projection of a child's consent was last checked against the owner."""
    __tablename__ = "consent_projection_state"
    child_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
