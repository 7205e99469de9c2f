"""Tables of the consent service: parties and consents. History is never deleted."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String,
                        Text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.consent.domain import ConsentBehaviour
from stafett.db import Keyed, UtcDateTime


class Base(DeclarativeBase):
    pass


class Agency(Keyed, Base):
    __tablename__ = "agencies"
    org_number: Mapped[str] = mapped_column(String(9), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(30))
    municipality: Mapped[str] = mapped_column(String(100))


class Person(Keyed, Base):
    """A child, a guardian or a staff member. National ids only encrypted + blind index."""
    __tablename__ = "persons"
    kind: Mapped[str] = mapped_column(String(10))  # child | guardian | staff
    name: Mapped[str] = mapped_column(String(200))
    nin_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    nin_index: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # the id of the key (services/consent/protection.py) that sealed nin_ciphertext and
    # made nin_index; a rotation re-seals a row and changes both with it
    nin_key_id: Mapped[str | None] = mapped_column(String(16), index=True, nullable=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    staff_subject: Mapped[str | None] = mapped_column(String(300), unique=True, nullable=True)
    staff_title: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # citizens: facts mirrored from the population register. ``protection`` is the
    # protective address code (None, fortrolig, strengt_fortrolig); the municipality is
    # kept only for unprotected persons of an unprotected case, never for a code
    protection: Mapped[str | None] = mapped_column(String(20), nullable=True)
    municipality: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # set when a registration from the register completed: until then a child resolved
    # for a registration is invisible (no half-registered child), and nobody logs in as it
    registered_at: Mapped[datetime | None] = mapped_column(UtcDateTime,
                                                           nullable=True)


class Guardianship(Base):
    __tablename__ = "guardianships"
    child_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    guardian_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    parental_responsibility: Mapped[bool] = mapped_column(Boolean, default=True)


class GuardianshipChange(Keyed, Base):
    """History of parental responsibility as the population register gave it."""
    __tablename__ = "guardianship_changes"
    child_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    guardian_id: Mapped[str] = mapped_column(ForeignKey("persons.id"))
    change: Mapped[str] = mapped_column(String(10))  # added | removed
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # who asked for the registration that found the change (the register is the source)
    requested_by: Mapped[str] = mapped_column(String(80))


class Consent(Keyed, Base, ConsentBehaviour):
    __tablename__ = "consents"
    child_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))  # pending|active|withdrawn|expired|superseded
    scope_agencies: Mapped[list] = mapped_column(JSON, default=list)
    scope_agency_types: Mapped[list] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(10))  # digital | paper
    granted_by: Mapped[list] = mapped_column(JSON, default=list)  # person ids who consented
    paper_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    recorded_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    consenting_party: Mapped[str] = mapped_column(String(10), default="guardians")
    paper_kind: Mapped[str | None] = mapped_column(String(30), nullable=True)
    supersedes_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    expiring_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime,
                                                                  nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

