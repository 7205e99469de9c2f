"""Tables of the handover service."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.handover import domain
from stafett.db import Keyed, UtcDateTime


class Base(DeclarativeBase):
    pass


class Handover(domain.Handover, Keyed, Base):
    """The row is the aggregate: its behaviour (transitions, versions) is ``domain.Handover``."""

    __tablename__ = "handovers"
    __table_args__ = (UniqueConstraint("open_for_log", name="uq_handovers_open_for_log"),)
    log_id: Mapped[str] = mapped_column(String(36), index=True)
    #: equals ``log_id`` while the handover is open, NULL once it ended: the unique
    #: constraint is the database's guarantee of one open handover per log
    open_for_log: Mapped[str | None] = mapped_column(String(36), nullable=True)
    child_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    from_agency: Mapped[str] = mapped_column(String(9))
    from_agency_type: Mapped[str | None] = mapped_column(String(30), nullable=True)
    to_agency: Mapped[str] = mapped_column(String(9), index=True)
    to_agency_type: Mapped[str | None] = mapped_column(String(30), nullable=True)
    #: a named receiving person (staff of ``to_agency``); then only they may take it
    to_person_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    transition: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    requested_by: Mapped[str] = mapped_column(String(80))  # actor ref, e.g. person:<id>
    requested_by_person_id: Mapped[str | None] = mapped_column(String(36), nullable=True,
                                                               index=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: those who consent for the child (guardians, or the youth) when it was requested
    consent_person_ids: Mapped[list | None] = mapped_column(JSON, nullable=True)
    #: the handover summary compiled by the logs service at request time: the receiver
    #: sees this, never the log, before acceptance; it stays as the record afterwards
    summary: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    #: when consent covered the receiver and the request went to them
    offered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    accepted_by_person_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    new_stafettholder_person_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    receiving_person_ids: Mapped[list | None] = mapped_column(JSON, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime,
                                                          nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: requester_cancelled | log_closed | expired | application_refused | declined
    reason_code: Mapped[str | None] = mapped_column(String(30), nullable=True)
    #: the application step (logs.apply_handover): attempts and the last failure
    apply_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_apply_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
