"""Rules of consent and parties, free of nameko and the ORM's sessions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from stafett.actor import CITIZEN, SERVICE, STAFF, Actor
from stafett.errors import Forbidden, NotFound, ValidationFailed

AGENCY_TYPES = ("kindergarten", "school", "health_station", "ppt", "child_welfare", "nav",
                "bup", "other")
ACTIVE, WITHDRAWN, EXPIRED, SUPERSEDED = "active", "withdrawn", "expired", "superseded"
HIGH_ASSURANCE = "idporten-loa-high"


@dataclass(frozen=True)
class ConsentPolicy:
    default_days: int = 365
    max_days: int = 1095
    youth_age: int = 15


def require_internal(actor: Actor | None) -> None:
    """Registry administration: the platform itself (seed, agency integrations)."""
    if actor is None or actor.kind != SERVICE:
        raise Forbidden("only an internal administrator may do this")


def require_citizen_high(actor: Actor | None) -> None:
    if actor is None or actor.kind != CITIZEN or not actor.person_id:
        raise NotFound("no such child")
    if actor.acr != HIGH_ASSURANCE:
        raise Forbidden("this needs login at assurance level high")


def require_staff(actor: Actor | None) -> None:
    if actor is None or actor.kind != STAFF or not actor.person_id:
        raise NotFound("not found")


def may_grant(actor: Actor, guardian_ids: set[str], child_id: str) -> bool:
    """A guardian with parental responsibility grants. (The youth's own consent from the
    configured age comes with the consent issue.)"""
    return actor.person_id in guardian_ids


def validity(valid_from: date | None, valid_until: date | None, today: date,
             policy: ConsentPolicy) -> tuple[date, date]:
    start = valid_from or today
    end = valid_until or start + timedelta(days=policy.default_days)
    errors = {}
    if start < today:
        errors["valid_from"] = ["must not be in the past"]
    if end <= start:
        errors["valid_until"] = ["must be after valid_from"]
    elif end > start + timedelta(days=policy.max_days):
        errors["valid_until"] = [f"at most {policy.max_days} days after valid_from"]
    if errors:
        raise ValidationFailed("the validity period is not allowed", errors)
    return start, end


def check_scope(agencies: list[str], agency_types: list[str], known_agencies: set[str]) -> None:
    if not agencies and not agency_types:
        raise ValidationFailed("consent must name at least one agency or agency type",
                               {"scope": ["name at least one agency or agency type"]})
    unknown = sorted(set(agencies) - known_agencies)
    if unknown:
        raise ValidationFailed("the scope names an unknown agency",
                               {"scope.agencies": [f"unknown agency {o}" for o in unknown]})


def covers(scope_agencies: list[str], scope_types: list[str], agency: str | None,
           agency_type: str | None) -> bool:
    return bool(agency) and (agency in scope_agencies or agency_type in scope_types)
