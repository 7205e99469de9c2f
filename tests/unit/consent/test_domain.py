"""Unit tests for services.consent.domain: validity, scope, coverage and who may act."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.consent import domain
from services.consent.domain import ConsentPolicy
from stafett.actor import CITIZEN, SERVICE, STAFF, SYSTEM, Actor
from stafett.errors import Forbidden, NotFound, ValidationFailed

TODAY = date(2025, 3, 10)
POLICY = ConsentPolicy(default_days=365, max_days=1095)


# --- validity --------------------------------------------------------------------------------

def test_validity_defaults_to_today_and_default_length():
    assert domain.validity(None, None, TODAY, POLICY) == (TODAY, TODAY + timedelta(days=365))


def test_validity_default_length_counts_from_a_given_start():
    start = TODAY + timedelta(days=10)
    assert domain.validity(start, None, TODAY, POLICY) == (start, start + timedelta(days=365))


def test_validity_default_length_follows_the_policy():
    policy = ConsentPolicy(default_days=30, max_days=60)
    assert domain.validity(None, None, TODAY, policy) == (TODAY, TODAY + timedelta(days=30))


def test_validity_exactly_max_days_is_allowed():
    end = TODAY + timedelta(days=1095)
    assert domain.validity(TODAY, end, TODAY, POLICY) == (TODAY, end)


def test_validity_max_plus_one_day_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        domain.validity(TODAY, TODAY + timedelta(days=1096), TODAY, POLICY)
    assert caught.value.errors == {"valid_until": ["at most 1095 days after valid_from"]}


def test_validity_one_day_is_allowed():
    assert domain.validity(TODAY, TODAY + timedelta(days=1), TODAY, POLICY) == (
        TODAY, TODAY + timedelta(days=1))


def test_validity_end_equal_to_start_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        domain.validity(TODAY, TODAY, TODAY, POLICY)
    assert caught.value.errors == {"valid_until": ["must be after valid_from"]}


def test_validity_end_before_start_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        domain.validity(TODAY + timedelta(days=5), TODAY + timedelta(days=4), TODAY, POLICY)
    assert set(caught.value.errors) == {"valid_until"}


def test_validity_start_in_the_past_is_refused():
    yesterday = TODAY - timedelta(days=1)
    with pytest.raises(ValidationFailed) as caught:
        domain.validity(yesterday, TODAY + timedelta(days=30), TODAY, POLICY)
    assert caught.value.errors == {"valid_from": ["must not be in the past"]}
    assert caught.value.status == 422


def test_validity_start_today_is_allowed():
    assert domain.validity(TODAY, None, TODAY, POLICY)[0] == TODAY


def test_validity_reports_both_errors_at_once():
    yesterday = TODAY - timedelta(days=1)
    with pytest.raises(ValidationFailed) as caught:
        domain.validity(yesterday, yesterday, TODAY, POLICY)
    assert set(caught.value.errors) == {"valid_from", "valid_until"}


# --- scope -----------------------------------------------------------------------------------

KNOWN = {"974760673", "971526920"}


def test_check_scope_empty_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        domain.check_scope([], [], KNOWN)
    assert caught.value.errors == {"scope": ["name at least one agency or agency type"]}


def test_check_scope_unknown_agency_is_refused_with_field_errors():
    with pytest.raises(ValidationFailed) as caught:
        domain.check_scope(["974760673", "999999999", "888888888"], [], KNOWN)
    assert caught.value.errors == {
        "scope.agencies": ["unknown agency 888888888", "unknown agency 999999999"]}


def test_check_scope_known_agency_passes():
    assert domain.check_scope(["974760673"], [], KNOWN) is None


def test_check_scope_agency_types_alone_pass():
    assert domain.check_scope([], ["school", "ppt"], KNOWN) is None


# --- covers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("agency, agency_type, expected", [
    ("974760673", "school", True),       # named agency
    ("971526920", "ppt", True),          # agency type in scope
    ("971526920", "nav", False),         # neither
    (None, "ppt", False),                # no acting agency: never covered
    ("", "ppt", False),
])
def test_covers(agency, agency_type, expected):
    assert domain.covers(["974760673"], ["ppt"], agency, agency_type) is expected


def test_covers_returns_bool_for_empty_scope():
    assert domain.covers([], [], "974760673", "school") is False


# --- who may act -----------------------------------------------------------------------------

def citizen(person_id="p-guardian", acr=domain.HIGH_ASSURANCE):
    return Actor(kind=CITIZEN, person_id=person_id, acr=acr)


def test_may_grant_guardian():
    assert domain.may_grant(citizen("g1"), {"g1", "g2"}, "c1") is True


def test_may_grant_not_a_guardian():
    assert domain.may_grant(citizen("stranger"), {"g1", "g2"}, "c1") is False


def test_may_grant_without_guardians():
    assert domain.may_grant(citizen("g1"), set(), "c1") is False


def test_require_citizen_high_passes_for_high():
    assert domain.require_citizen_high(citizen()) is None


def test_require_citizen_high_refuses_substantial_with_forbidden():
    with pytest.raises(Forbidden):
        domain.require_citizen_high(citizen(acr="idporten-loa-substantial"))


@pytest.mark.parametrize("actor", [
    None,
    Actor(kind=STAFF, person_id="s1", agency="974760673", acr=domain.HIGH_ASSURANCE),
    Actor(kind=SYSTEM, agency="974760673"),
    Actor(kind=CITIZEN, person_id=None, acr=domain.HIGH_ASSURANCE),
])
def test_require_citizen_high_not_a_citizen_is_not_found(actor):
    with pytest.raises(NotFound):
        domain.require_citizen_high(actor)


def test_require_internal_passes_for_service():
    assert domain.require_internal(Actor(kind=SERVICE)) is None


@pytest.mark.parametrize("actor", [
    None,
    Actor(kind=STAFF, person_id="s1", agency="974760673", roles=("admin",)),
    Actor(kind=SYSTEM, agency="974760673", scopes=("stafett:admin",)),
    citizen(),
])
def test_require_internal_refuses_everyone_else(actor):
    with pytest.raises(Forbidden):
        domain.require_internal(actor)
