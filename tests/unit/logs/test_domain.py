"""Unit tests for services.logs.domain: who the actor is in a log, and valid changes."""
from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from services.logs import domain
from services.logs.domain import Coverage
from stafett.actor import CITIZEN, STAFF, SYSTEM, Actor
from stafett.errors import Conflict, NotFound, ValidationFailed

TODAY = date(2025, 3, 10)
YESTERDAY = TODAY - timedelta(days=1)
SCHOOL, PPT, NAV = "974760673", "971526920", "889640782"
HIGH, SUBSTANTIAL = "idporten-loa-high", "idporten-loa-substantial"

COVERED = Coverage(frozenset({SCHOOL}), frozenset({"ppt"}))
NOTHING = Coverage(frozenset(), frozenset())


def participant(pid, person_id, kind="staff", role=domain.MEMBER, agency=None,
                agency_type=None, active_from=date(2025, 1, 1), active_until=None):
    return SimpleNamespace(id=pid, person_id=person_id, kind=kind, role=role, agency=agency,
                           agency_type=agency_type, active_from=active_from,
                           active_until=active_until)


TEACHER = participant("p-teacher", "s-teacher", role=domain.STAFETTHOLDER, agency=SCHOOL,
                      agency_type="school")
ADVISOR = participant("p-advisor", "s-advisor", agency=PPT, agency_type="ppt")
COUNSELLOR = participant("p-nav", "s-nav", agency=NAV, agency_type="nav")
GUARDIAN = participant("p-guardian", "c-guardian", kind="guardian", role=domain.GUARDIAN)
CHILD = participant("p-child", "c-child", kind="child", role=domain.CHILD)
PARTICIPANTS = [TEACHER, ADVISOR, COUNSELLOR, GUARDIAN, CHILD]


def staff(person_id, agency, agency_type):
    return Actor(kind=STAFF, person_id=person_id, agency=agency, agency_type=agency_type)


def citizen(person_id, acr=HIGH):
    return Actor(kind=CITIZEN, person_id=person_id, acr=acr)


# --- authorize -------------------------------------------------------------------------------

def test_staff_participant_covered_by_named_agency():
    viewer = domain.authorize(staff("s-teacher", SCHOOL, "school"), PARTICIPANTS, COVERED,
                              TODAY)
    assert viewer.participant is TEACHER
    assert viewer.role == domain.STAFETTHOLDER
    assert viewer.is_staff is True


def test_staff_participant_covered_by_agency_type():
    viewer = domain.authorize(staff("s-advisor", PPT, "ppt"), PARTICIPANTS, COVERED, TODAY)
    assert viewer.participant is ADVISOR
    assert viewer.role == domain.MEMBER
    assert viewer.is_staff is True


def test_staff_participant_not_covered_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(staff("s-nav", NAV, "nav"), PARTICIPANTS, COVERED, TODAY)


def test_staff_participant_loses_access_when_consent_covers_nothing():
    with pytest.raises(NotFound):
        domain.authorize(staff("s-teacher", SCHOOL, "school"), PARTICIPANTS, NOTHING, TODAY)


def test_staff_acting_for_another_agency_than_their_participation_is_not_found():
    # the teacher also works at PPT (covered by type), but takes part for the school
    with pytest.raises(NotFound):
        domain.authorize(staff("s-teacher", PPT, "ppt"), PARTICIPANTS, COVERED, TODAY)


def test_staff_acting_without_agency_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(staff("s-teacher", None, None), PARTICIPANTS, COVERED, TODAY)


def test_staff_not_participating_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(staff("s-other", SCHOOL, "school"), PARTICIPANTS, COVERED, TODAY)


def test_participant_whose_period_ended_yesterday_is_not_found():
    ended = participant("p-old", "s-old", agency=SCHOOL, agency_type="school",
                        active_until=YESTERDAY)
    with pytest.raises(NotFound):
        domain.authorize(staff("s-old", SCHOOL, "school"), [ended], COVERED, TODAY)


def test_participant_whose_period_ends_today_is_still_in():
    ending = participant("p-old", "s-old", agency=SCHOOL, agency_type="school",
                         active_until=TODAY)
    viewer = domain.authorize(staff("s-old", SCHOOL, "school"), [ending], COVERED, TODAY)
    assert viewer.participant is ending


def test_participant_whose_period_starts_tomorrow_is_not_found():
    future = participant("p-new", "s-new", agency=SCHOOL, agency_type="school",
                         active_from=TODAY + timedelta(days=1))
    with pytest.raises(NotFound):
        domain.authorize(staff("s-new", SCHOOL, "school"), [future], COVERED, TODAY)


def test_ended_period_does_not_hide_a_later_active_one():
    ended = participant("p-1", "s-back", agency=SCHOOL, agency_type="school",
                        active_from=date(2024, 1, 1), active_until=date(2024, 6, 1))
    again = participant("p-2", "s-back", agency=SCHOOL, agency_type="school",
                        active_from=date(2025, 1, 1))
    viewer = domain.authorize(staff("s-back", SCHOOL, "school"), [ended, again], COVERED,
                              TODAY)
    assert viewer.participant is again


def test_guardian_with_acr_high():
    viewer = domain.authorize(citizen("c-guardian"), PARTICIPANTS, NOTHING, TODAY)
    assert viewer.participant is GUARDIAN
    assert viewer.role == domain.GUARDIAN
    assert viewer.is_staff is False


def test_child_with_acr_high():
    viewer = domain.authorize(citizen("c-child"), PARTICIPANTS, NOTHING, TODAY)
    assert viewer.role == domain.CHILD
    assert viewer.is_staff is False


def test_guardian_with_acr_substantial_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(citizen("c-guardian", SUBSTANTIAL), PARTICIPANTS, COVERED, TODAY)


def test_citizen_cannot_use_a_staff_participation():
    # a person id that is a staff participant, logging in through ID-porten
    with pytest.raises(NotFound):
        domain.authorize(citizen("s-teacher"), PARTICIPANTS, COVERED, TODAY)


def test_staff_token_cannot_use_a_guardian_participation():
    with pytest.raises(NotFound):
        domain.authorize(staff("c-guardian", SCHOOL, "school"), PARTICIPANTS, COVERED, TODAY)


def test_unknown_person_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(citizen("c-stranger"), PARTICIPANTS, COVERED, TODAY)


def test_actor_none_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(None, PARTICIPANTS, COVERED, TODAY)


def test_system_actor_without_person_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(Actor(kind=SYSTEM, agency=SCHOOL), PARTICIPANTS, COVERED, TODAY)


# --- coverage_from ---------------------------------------------------------------------------

def consent(status="active", agencies=(), types=(), valid_from=date(2025, 1, 1),
            valid_until=date(2026, 1, 1)):
    return SimpleNamespace(status=status, scope_agencies=list(agencies),
                           scope_agency_types=list(types), valid_from=valid_from,
                           valid_until=valid_until)


def test_coverage_from_unions_active_consents():
    coverage = domain.coverage_from([consent(agencies=[SCHOOL]), consent(types=["ppt"]),
                                     consent(agencies=[NAV], types=["bup"])], TODAY)
    assert coverage == Coverage(frozenset({SCHOOL, NAV}), frozenset({"ppt", "bup"}))


def test_coverage_from_ignores_withdrawn_and_expired_rows():
    coverage = domain.coverage_from([consent(status="withdrawn", agencies=[SCHOOL]),
                                     consent(status="expired", types=["ppt"]),
                                     consent(agencies=[NAV])], TODAY)
    assert coverage == Coverage(frozenset({NAV}), frozenset())


def test_coverage_from_ignores_rows_outside_validity():
    coverage = domain.coverage_from([
        consent(agencies=["not-yet"], valid_from=TODAY + timedelta(days=1)),
        consent(agencies=["ended"], valid_until=YESTERDAY),
        consent(agencies=["starts-today"], valid_from=TODAY),
        consent(agencies=["ends-today"], valid_until=TODAY),
    ], TODAY)
    assert coverage.agencies == frozenset({"starts-today", "ends-today"})
    assert coverage.agency_types == frozenset()


def test_coverage_from_no_rows_covers_nothing():
    coverage = domain.coverage_from([], TODAY)
    assert coverage.covers(SCHOOL, "school") is False


# --- check_can_open --------------------------------------------------------------------------

def test_check_can_open_covered_staff_without_open_log():
    assert domain.check_can_open(staff("s-teacher", SCHOOL, "school"), COVERED, False) is None


@pytest.mark.parametrize("actor", [
    None,
    citizen("c-guardian"),
    Actor(kind=SYSTEM, agency=SCHOOL, agency_type="school"),
    Actor(kind=STAFF, person_id=None, agency=SCHOOL, agency_type="school"),
])
def test_check_can_open_non_staff_is_not_found(actor):
    with pytest.raises(NotFound):
        domain.check_can_open(actor, COVERED, False)


def test_check_can_open_not_covered_is_not_found():
    with pytest.raises(NotFound):
        domain.check_can_open(staff("s-nav", NAV, "nav"), COVERED, False)


def test_check_can_open_not_covered_is_not_found_even_with_an_open_log():
    # an uncovered agency must not learn that a log exists
    with pytest.raises(NotFound):
        domain.check_can_open(staff("s-nav", NAV, "nav"), COVERED, True)


def test_check_can_open_second_open_log_is_conflict():
    with pytest.raises(Conflict):
        domain.check_can_open(staff("s-teacher", SCHOOL, "school"), COVERED, True)


# --- check_new_participant -------------------------------------------------------------------

def new_staff(person_id="s-new", agency=PPT, agency_type="ppt"):
    return {"id": person_id, "agency": agency, "agency_type": agency_type}


def test_check_new_participant_covered_passes():
    assert domain.check_new_participant(new_staff(), COVERED, PARTICIPANTS, TODAY) is None


def test_check_new_participant_not_covered_is_validation_failed():
    with pytest.raises(ValidationFailed) as caught:
        domain.check_new_participant(new_staff(agency=NAV, agency_type="nav"), COVERED,
                                     PARTICIPANTS, TODAY)
    assert caught.value.errors == {"person_id": ["the agency is not covered by consent"]}


def test_check_new_participant_already_taking_part_is_conflict():
    with pytest.raises(Conflict):
        domain.check_new_participant(new_staff("s-advisor"), COVERED, PARTICIPANTS, TODAY)


def test_check_new_participant_whose_earlier_period_ended_may_rejoin():
    ended = participant("p-old", "s-old", agency=PPT, agency_type="ppt",
                        active_until=YESTERDAY)
    assert domain.check_new_participant(new_staff("s-old"), COVERED, [ended], TODAY) is None


# --- check_measure ---------------------------------------------------------------------------

def measure(**overrides):
    data = {"responsible_id": "p-advisor", "start_date": TODAY,
            "evaluate_by": TODAY + timedelta(days=42)}
    data.update(overrides)
    return data


def test_check_measure_returns_the_responsible_participant():
    assert domain.check_measure(measure(), PARTICIPANTS, TODAY) is ADVISOR


def test_check_measure_evaluate_on_start_day_is_allowed():
    assert domain.check_measure(measure(evaluate_by=TODAY), PARTICIPANTS, TODAY) is ADVISOR


def test_check_measure_evaluate_before_start_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        domain.check_measure(measure(evaluate_by=YESTERDAY), PARTICIPANTS, TODAY)
    assert caught.value.errors == {"evaluate_by": ["must be on or after start_date"]}


def test_check_measure_responsible_not_a_participant_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        domain.check_measure(measure(responsible_id="p-stranger"), PARTICIPANTS, TODAY)
    assert caught.value.errors == {
        "responsible_id": ["must be an active participant of the log"]}


def test_check_measure_responsible_by_person_id_is_not_enough():
    # responsible_id names a participant row, not a person
    with pytest.raises(ValidationFailed) as caught:
        domain.check_measure(measure(responsible_id="s-advisor"), PARTICIPANTS, TODAY)
    assert set(caught.value.errors) == {"responsible_id"}


def test_check_measure_responsible_whose_period_ended_is_refused():
    ended = participant("p-old", "s-old", agency=PPT, agency_type="ppt",
                        active_until=YESTERDAY)
    with pytest.raises(ValidationFailed) as caught:
        domain.check_measure(measure(responsible_id="p-old"), PARTICIPANTS + [ended], TODAY)
    assert set(caught.value.errors) == {"responsible_id"}


def test_check_measure_reports_both_errors_at_once():
    with pytest.raises(ValidationFailed) as caught:
        domain.check_measure(measure(responsible_id="p-stranger", evaluate_by=YESTERDAY),
                             PARTICIPANTS, TODAY)
    assert caught.value.errors == {
        "evaluate_by": ["must be on or after start_date"],
        "responsible_id": ["must be an active participant of the log"],
    }


def test_check_new_participant_with_a_future_end_date_is_still_taking_part():
    leaving = participant("p-leaving", "s-leaving", agency=PPT, agency_type="ppt",
                          active_until=TODAY + timedelta(days=30))
    with pytest.raises(Conflict):
        domain.check_new_participant(new_staff("s-leaving"), COVERED, [leaving], TODAY)
