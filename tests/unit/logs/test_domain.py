"""Unit tests for services.logs.domain: who the actor is in a log, and valid changes."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from services.logs import domain
from services.logs.domain import Viewer
from stafett.coverage import Covered as Coverage
from stafett.actor import CITIZEN, SERVICE, STAFF, SYSTEM, Actor
from stafett.errors import (Conflict, Forbidden, NotFound, PreconditionFailed,
                            PreconditionRequired, ValidationFailed)

TODAY = date(2025, 3, 10)
YESTERDAY = TODAY - timedelta(days=1)
TOMORROW = TODAY + timedelta(days=1)
SCHOOL, PPT, NAV = "974760673", "971526920", "889640782"
HIGH, SUBSTANTIAL = "idporten-loa-high", "idporten-loa-substantial"
#: the consent service's decision on a login's level (Actor.assured), as the default policy
#: (high only) makes it; the rule itself is tested in tests/unit/consent/test_domain.py
READ = "stafett:logs.read"

COVERED = Coverage(frozenset({SCHOOL}), frozenset({"ppt"}))
NOTHING = Coverage(frozenset(), frozenset())



def participant(pid, person_id, kind="staff", role=domain.MEMBER, agency=None,
                agency_type=None, active_from=date(2025, 1, 1), active_until=None,
                removed_at=None, read_only_until=None):
    return SimpleNamespace(id=pid, person_id=person_id, kind=kind, role=role, agency=agency,
                           agency_type=agency_type, active_from=active_from,
                           active_until=active_until, removed_at=removed_at,
                           read_only_until=read_only_until)


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
    return Actor(kind=CITIZEN, person_id=person_id, acr=acr, assured=acr == HIGH)


def system(agency=SCHOOL, agency_type="school", scopes=(READ,)):
    return Actor(kind=SYSTEM, agency=agency, agency_type=agency_type, scopes=tuple(scopes))


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


@pytest.mark.parametrize("sub, agency, agency_type, coverage", [
    ("s-nav", NAV, "nav", COVERED),              # a participant consent does not cover
    ("s-teacher", SCHOOL, "school", NOTHING),    # consent covers nothing any more
    # the teacher also works at PPT (covered by type), but takes part for the school
    ("s-teacher", PPT, "ppt", COVERED),
    ("s-teacher", None, None, COVERED),          # acting for no agency
    ("s-other", SCHOOL, "school", COVERED),      # not taking part
    # coverage by agency type follows the token's agency type, not the participant row
    ("s-advisor", PPT, "health", COVERED),
    # the advisor's row is for PPT; the school is covered, but they take part for PPT
    ("s-advisor", SCHOOL, "school", COVERED),
], ids=["not-covered", "consent-covers-nothing", "acting-for-another-agency", "no-agency",
        "not-participating", "covered-type-not-acting-type", "through-another-covered-agency"])
def test_staff_is_not_found_unless_taking_part_for_a_covered_agency(sub, agency, agency_type,
                                                                     coverage):
    with pytest.raises(NotFound):
        domain.authorize(staff(sub, agency, agency_type), PARTICIPANTS, coverage, TODAY)


@pytest.mark.parametrize("period, taking_part", [
    ({"active_until": YESTERDAY}, False),
    ({"active_until": TODAY}, True),
    ({"active_from": TODAY + timedelta(days=1)}, False),
    ({"active_from": TODAY}, True),
    ({"removed_at": datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)}, False),
], ids=["ended-yesterday", "ends-today", "starts-tomorrow", "starts-today", "removed"])
def test_a_staff_participant_takes_part_within_their_period_until_removed(period, taking_part):
    row = participant("p-1", "s-1", agency=SCHOOL, agency_type="school", **period)
    actor = staff("s-1", SCHOOL, "school")
    if taking_part:
        assert domain.authorize(actor, [row], COVERED, TODAY) == Viewer(row, domain.MEMBER)
        return
    with pytest.raises(NotFound):
        domain.authorize(actor, [row], COVERED, TODAY)


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


def test_child_with_acr_high_and_old_enough():
    viewer = domain.authorize(citizen("c-child"), PARTICIPANTS, NOTHING, TODAY, True)
    assert viewer.participant is CHILD
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


def test_system_actor_without_scopes_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(Actor(kind=SYSTEM, agency=SCHOOL), PARTICIPANTS, COVERED, TODAY)


# --- covered_on: the consent service's decisions, looked up ----------------------------------

def decided(*windows):
    """A projection row as the logs service keeps it: the consent service's decision."""
    return SimpleNamespace(coverage=[{"from": start.isoformat(), "until": end.isoformat(),
                                      "agencies": agencies, "agency_types": types}
                                     for start, end, agencies, types in windows])


def test_covered_on_unions_the_decisions_of_the_day():
    coverage = domain.covered_on([decided((YESTERDAY, TODAY, [SCHOOL], [])),
                                  decided((TODAY, TODAY, [], ["ppt"]),
                                          (TODAY + timedelta(days=1), TODAY + timedelta(days=9),
                                           [NAV], []))], TODAY)
    assert coverage == Coverage(frozenset({SCHOOL}), frozenset({"ppt"}))


def test_covered_on_judges_no_status_scope_or_validity_itself():
    """A withdrawn or pending consent comes with an empty decision; the projection keeps
    no status, scope or dates to judge (the consent service's rule: consent/test_domain)."""
    assert domain.covered_on([decided(), SimpleNamespace(coverage=None)], TODAY) == NOTHING
    assert not hasattr(domain, "coverage_from")


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


# --- authorize: staff ------------------------------------------------------------------------

def test_staff_participant_covered_is_a_writer():
    viewer = domain.authorize(staff("s-advisor", PPT, "ppt"), PARTICIPANTS, COVERED, TODAY)
    assert viewer == Viewer(ADVISOR, domain.MEMBER)
    assert viewer.may_write is True
    assert viewer.view == "staff"


def test_staff_with_a_row_per_agency_gets_the_row_of_the_acting_agency():
    for_school = participant("p-both-school", "s-both", agency=SCHOOL, agency_type="school")
    for_ppt = participant("p-both-ppt", "s-both", role=domain.STAFETTHOLDER, agency=PPT,
                          agency_type="ppt")
    rows = [for_school, for_ppt]
    assert domain.authorize(staff("s-both", PPT, "ppt"), rows, COVERED,
                            TODAY) == Viewer(for_ppt, domain.STAFETTHOLDER)
    assert domain.authorize(staff("s-both", SCHOOL, "school"), rows, COVERED,
                            TODAY) == Viewer(for_school, domain.MEMBER)


def former_holder(read_only_until, agency=SCHOOL, agency_type="school", removed_at=None):
    # what apply_handover leaves behind: role former, period ended yesterday
    return participant("p-former", "s-former", role=domain.FORMER, agency=agency,
                       agency_type=agency_type, active_until=YESTERDAY,
                       read_only_until=read_only_until, removed_at=removed_at)


def test_former_stafettholder_reads_within_the_grace_period():
    former = former_holder(TODAY + timedelta(days=30))
    viewer = domain.authorize(staff("s-former", SCHOOL, "school"), [former], COVERED, TODAY)
    assert viewer == Viewer(former, domain.FORMER)
    assert viewer.is_staff is True
    assert viewer.view == "staff"
    assert viewer.may_write is False


def test_former_stafettholder_reads_on_the_last_grace_day():
    former = former_holder(TODAY)
    viewer = domain.authorize(staff("s-former", SCHOOL, "school"), [former], COVERED, TODAY)
    assert viewer.role == domain.FORMER


def test_former_stafettholder_after_the_grace_period_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(staff("s-former", SCHOOL, "school"), [former_holder(YESTERDAY)],
                         COVERED, TODAY)


def test_former_stafettholder_without_grace_period_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(staff("s-former", SCHOOL, "school"), [former_holder(None)],
                         COVERED, TODAY)


def test_former_stafettholder_whose_agency_lost_consent_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(staff("s-former", NAV, "nav"),
                         [former_holder(TOMORROW, agency=NAV, agency_type="nav")], COVERED,
                         TODAY)


def test_ended_member_with_a_read_only_date_is_not_a_former_reader():
    # the grace period belongs to the role former only
    ended = participant("p-m", "s-m", agency=SCHOOL, agency_type="school",
                        active_until=YESTERDAY, read_only_until=TOMORROW)
    with pytest.raises(NotFound):
        domain.authorize(staff("s-m", SCHOOL, "school"), [ended], COVERED, TODAY)


def test_removed_former_stafettholder_is_not_found_even_within_grace():
    removed = former_holder(TODAY + timedelta(days=30),
                            removed_at=datetime(2025, 3, 9, 12, 0, tzinfo=timezone.utc))
    with pytest.raises(NotFound):
        domain.authorize(staff("s-former", SCHOOL, "school"), [removed], COVERED, TODAY)


# --- authorize: guardians --------------------------------------------------------------------

def test_guardian_is_not_subject_to_agency_coverage():
    viewer = domain.authorize(citizen("c-guardian"), PARTICIPANTS, NOTHING, TODAY)
    assert viewer == Viewer(GUARDIAN, domain.GUARDIAN)
    assert viewer.view == "guardian"
    assert viewer.may_write is True


def test_the_level_is_the_consent_service_s_decision_not_the_acr_itself():
    """A deployment that lets guardians in at substantial says so to the consent service
    (CONSENT_CITIZEN_ACR); the log follows its ``assured``, whatever the acr reads."""
    assured = Actor(kind=CITIZEN, person_id="c-guardian", acr=SUBSTANTIAL, assured=True)
    assert domain.authorize(assured, PARTICIPANTS, NOTHING, TODAY) == Viewer(
        GUARDIAN, domain.GUARDIAN)
    not_assured = Actor(kind=CITIZEN, person_id="c-guardian", acr=HIGH, assured=False)
    with pytest.raises(NotFound):
        domain.authorize(not_assured, PARTICIPANTS, NOTHING, TODAY)


def test_guardian_without_acr_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(citizen("c-guardian", None), PARTICIPANTS, NOTHING, TODAY)


def test_guardian_whose_period_ended_is_not_found():
    ended = participant("p-g", "c-g", kind="guardian", role=domain.GUARDIAN,
                        active_until=YESTERDAY)
    with pytest.raises(NotFound):
        domain.authorize(citizen("c-g"), [ended], NOTHING, TODAY)


# --- authorize: the child --------------------------------------------------------------------

def test_a_child_the_consent_service_says_sees_its_case_reads_the_log():
    viewer = domain.authorize(citizen("c-child"), PARTICIPANTS, NOTHING, TODAY, True)
    assert viewer == Viewer(CHILD, domain.CHILD)
    assert viewer.view == "child"
    assert viewer.may_write is True


def test_a_child_too_young_by_the_consent_service_s_rule_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(citizen("c-child"), PARTICIPANTS, NOTHING, TODAY, False)


def test_the_age_decision_is_asked_only_when_the_child_is_the_actor():
    asked = []

    def sees():
        asked.append(1)
        return True
    assert domain.authorize(citizen("c-guardian"), PARTICIPANTS, NOTHING, TODAY,
                            sees).role == domain.GUARDIAN
    assert asked == []
    assert domain.authorize(citizen("c-child"), PARTICIPANTS, NOTHING, TODAY,
                            sees).role == domain.CHILD
    assert asked == [1]


def test_the_logs_service_has_no_age_rule_of_its_own():
    assert not hasattr(domain, "age_on")
    assert not hasattr(domain, "AccessPolicy")


def test_child_with_acr_substantial_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(citizen("c-child", SUBSTANTIAL), PARTICIPANTS, NOTHING, TODAY, True)


def test_a_child_consent_found_assured_reads_whatever_its_acr():
    child = Actor(kind=CITIZEN, person_id="c-child", acr=SUBSTANTIAL, assured=True)
    assert domain.authorize(child, PARTICIPANTS, NOTHING, TODAY, True).role == domain.CHILD


def test_removed_child_row_is_not_found():
    removed = participant("p-c", "c-c", kind="child", role=domain.CHILD,
                          removed_at=datetime(2025, 3, 1, tzinfo=timezone.utc))
    with pytest.raises(NotFound):
        domain.authorize(citizen("c-c"), [removed], NOTHING, TODAY, True)


# --- authorize: agency systems ---------------------------------------------------------------

def test_system_with_read_scope_and_active_staff_of_its_agency():
    viewer = domain.authorize(system(), PARTICIPANTS, COVERED, TODAY)
    assert viewer == Viewer(TEACHER, domain.SYSTEM_ROLE)
    assert viewer.is_staff is True
    assert viewer.view == "staff"
    assert viewer.may_write is False


def test_system_covered_by_agency_type():
    viewer = domain.authorize(system(PPT, "ppt"), PARTICIPANTS, COVERED, TODAY)
    assert viewer == Viewer(ADVISOR, domain.SYSTEM_ROLE)


def test_system_without_read_scope_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(system(scopes=("stafett:logs.write", "stafett:consent.read")),
                         PARTICIPANTS, COVERED, TODAY)


def test_system_without_an_active_staff_participant_of_its_agency_is_not_found():
    ended = participant("p-t", "s-t", agency=SCHOOL, agency_type="school",
                        active_until=YESTERDAY)
    removed = participant("p-r", "s-r", agency=SCHOOL, agency_type="school",
                          removed_at=datetime(2025, 3, 1, tzinfo=timezone.utc))
    former = former_holder(TOMORROW)  # reading in grace is personal, not the agency's
    with pytest.raises(NotFound):
        domain.authorize(system(), [ended, removed, former, ADVISOR, GUARDIAN, CHILD],
                         COVERED, TODAY)


def test_system_is_not_let_in_by_a_guardian_row_with_its_agency():
    odd = participant("p-odd", "c-odd", kind="guardian", role=domain.GUARDIAN, agency=SCHOOL)
    with pytest.raises(NotFound):
        domain.authorize(system(), [odd], COVERED, TODAY)


def test_system_whose_agency_is_not_covered_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(system(NAV, "nav"), PARTICIPANTS, COVERED, TODAY)


def test_system_without_agency_is_not_found():
    with pytest.raises(NotFound):
        domain.authorize(system(None, None), PARTICIPANTS, COVERED, TODAY)


@pytest.mark.parametrize("actor", [
    Actor(kind=STAFF, agency=SCHOOL, agency_type="school"),
    Actor(kind=CITIZEN, acr=HIGH),
    Actor(kind=STAFF, person_id="", agency=SCHOOL, agency_type="school"),
    Actor(kind=SERVICE),
])
def test_actor_without_person_id_is_not_found(actor):
    rows = PARTICIPANTS + [participant("p-blank", None, agency=SCHOOL, agency_type="school")]
    with pytest.raises(NotFound):
        domain.authorize(actor, rows, COVERED, TODAY, True)


# --- Viewer ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role, view, is_staff, may_write", [
    (domain.STAFETTHOLDER, "staff", True, True),
    (domain.MEMBER, "staff", True, True),
    (domain.FORMER, "staff", True, False),
    (domain.SYSTEM_ROLE, "staff", True, False),
    (domain.GUARDIAN, "guardian", False, True),
    (domain.CHILD, "child", False, True),
])
def test_viewer_properties_per_role(role, view, is_staff, may_write):
    viewer = Viewer(SimpleNamespace(id="p-x"), role)
    assert (viewer.view, viewer.is_staff, viewer.may_write) == (view, is_staff, may_write)


def writer_checks(role):
    viewer = Viewer(SimpleNamespace(id="p-x"), role)
    results = {}
    for name in ("require_writer", "require_staff_writer", "require_stafettholder"):
        try:
            getattr(domain, name)(viewer)
            results[name] = "ok"
        except Forbidden:
            results[name] = "forbidden"
    return results


@pytest.mark.parametrize("role, expected", [
    (domain.STAFETTHOLDER, ("ok", "ok", "ok")),
    (domain.MEMBER, ("ok", "ok", "forbidden")),
    (domain.FORMER, ("forbidden", "forbidden", "forbidden")),
    (domain.SYSTEM_ROLE, ("forbidden", "forbidden", "forbidden")),
    (domain.GUARDIAN, ("ok", "forbidden", "forbidden")),
    (domain.CHILD, ("ok", "forbidden", "forbidden")),
])
def test_write_requirements_per_role(role, expected):
    assert writer_checks(role) == dict(zip(
        ("require_writer", "require_staff_writer", "require_stafettholder"), expected))


def test_require_open():
    assert domain.require_open(SimpleNamespace(status="open")) is None
    with pytest.raises(Conflict):
        domain.require_open(SimpleNamespace(status="closed"))


# --- check_version ---------------------------------------------------------------------------

def test_check_version_without_if_match_is_precondition_required():
    with pytest.raises(PreconditionRequired):
        domain.check_version(None, 3)


@pytest.mark.parametrize("expected", [2, 4, "2"])
def test_check_version_mismatch_is_precondition_failed(expected):
    with pytest.raises(PreconditionFailed):
        domain.check_version(expected, 3)


@pytest.mark.parametrize("expected", [3, "3"])
def test_check_version_match_passes(expected):
    assert domain.check_version(expected, 3) is None


# --- check_removal ---------------------------------------------------------------------------

HOLDER_VIEWER = Viewer(TEACHER, domain.STAFETTHOLDER)


def test_check_removal_of_a_staff_member_passes():
    assert domain.check_removal(ADVISOR, HOLDER_VIEWER) is None


def test_check_removal_of_a_former_stafettholder_passes():
    assert domain.check_removal(former_holder(TOMORROW), HOLDER_VIEWER) is None


def test_check_removal_of_the_stafettholder_is_conflict():
    with pytest.raises(Conflict):
        domain.check_removal(TEACHER, HOLDER_VIEWER)


@pytest.mark.parametrize("row", [GUARDIAN, CHILD], ids=["guardian", "child"])
def test_check_removal_of_guardian_or_child_is_validation_failed(row):
    with pytest.raises(ValidationFailed) as caught:
        domain.check_removal(row, HOLDER_VIEWER)
    assert caught.value.errors == {"participant_id": ["only staff can be removed"]}


# --- check_entry / entry_visible -------------------------------------------------------------

ALL_ROLES = (domain.STAFETTHOLDER, domain.MEMBER, domain.FORMER, domain.SYSTEM_ROLE,
             domain.GUARDIAN, domain.CHILD)
KINDS_ALLOWED = {
    domain.STAFETTHOLDER: {"note", "child_voice", "bright_spot"},
    domain.MEMBER: {"note", "child_voice", "bright_spot"},
    # former and system pass here; require_writer stops their writes
    domain.FORMER: {"note", "child_voice", "bright_spot"},
    domain.SYSTEM_ROLE: {"note", "child_voice", "bright_spot"},
    domain.GUARDIAN: {"note", "bright_spot"},
    domain.CHILD: {"child_voice", "bright_spot"},
}
STAFF_ONLY_ALLOWED = {domain.STAFETTHOLDER, domain.MEMBER, domain.FORMER, domain.SYSTEM_ROLE}


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("kind", ["note", "child_voice", "bright_spot"])
@pytest.mark.parametrize("visibility", ["all", "staff"])
def test_check_entry_matrix(role, kind, visibility):
    viewer = Viewer(SimpleNamespace(id="p-x"), role)
    kind_ok = kind in KINDS_ALLOWED[role]
    visibility_ok = visibility == "all" or role in STAFF_ONLY_ALLOWED
    if kind_ok and visibility_ok:
        assert domain.check_entry(viewer, kind, visibility) is None
        return
    with pytest.raises(ValidationFailed) as caught:
        domain.check_entry(viewer, kind, visibility)
    if not kind_ok:
        expected = {domain.GUARDIAN: "choose one of note, bright_spot",
                    domain.CHILD: "choose one of child_voice, bright_spot"}[role]
        assert caught.value.errors == {"kind": [expected]}
    else:
        assert caught.value.errors == {"visibility": ["must be 'all'"]}


@pytest.mark.parametrize("role, sees_staff_only", [
    (domain.STAFETTHOLDER, True), (domain.MEMBER, True), (domain.FORMER, True),
    (domain.SYSTEM_ROLE, True), (domain.GUARDIAN, False), (domain.CHILD, False)])
def test_entry_visible_per_role(role, sees_staff_only):
    viewer = Viewer(SimpleNamespace(id="p-x"), role)
    assert domain.entry_visible(SimpleNamespace(visibility="all"), viewer) is True
    assert domain.entry_visible(SimpleNamespace(visibility="staff"), viewer) is sees_staff_only


# --- proposals -------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [domain.GUARDIAN, domain.CHILD])
def test_check_proposer_family_may_propose(role):
    assert domain.check_proposer(Viewer(SimpleNamespace(id="p-x"), role)) is None


@pytest.mark.parametrize("role", [domain.STAFETTHOLDER, domain.MEMBER, domain.FORMER,
                                  domain.SYSTEM_ROLE])
def test_check_proposer_staff_may_not_propose(role):
    with pytest.raises(Forbidden):
        domain.check_proposer(Viewer(SimpleNamespace(id="p-x"), role))


def test_check_answerable():
    assert domain.check_answerable(SimpleNamespace(status="proposed")) is None
    for status in ("accepted", "declined"):
        with pytest.raises(Conflict) as caught:
            domain.check_answerable(SimpleNamespace(status=status))
        assert caught.value.detail == f"the proposal is already {status}"


def test_proposal_visible():
    own = SimpleNamespace(proposer_id="p-child")
    guardians = SimpleNamespace(proposer_id="p-guardian")
    other_child_row = SimpleNamespace(proposer_id="p-child-2")
    child = Viewer(CHILD, domain.CHILD)
    assert domain.proposal_visible(own, child) is True
    assert domain.proposal_visible(guardians, child) is False
    assert domain.proposal_visible(other_child_row, child) is False
    for viewer in (Viewer(GUARDIAN, domain.GUARDIAN), HOLDER_VIEWER,
                   Viewer(ADVISOR, domain.MEMBER), Viewer(TEACHER, domain.SYSTEM_ROLE)):
        assert domain.proposal_visible(own, viewer) is True
        assert domain.proposal_visible(guardians, viewer) is True


# --- measures: evaluable, latest outcome, overdue --------------------------------------------

@pytest.mark.parametrize("status", ["planned", "active", "completed"])
def test_check_evaluable_passes(status):
    assert domain.check_evaluable(SimpleNamespace(status=status)) is None


def test_check_evaluable_stopped_is_conflict():
    with pytest.raises(Conflict):
        domain.check_evaluable(SimpleNamespace(status="stopped"))


def evaluation(outcome, evaluated_on, created_at=datetime(2025, 1, 1, tzinfo=timezone.utc)):
    return SimpleNamespace(outcome=outcome, evaluated_on=evaluated_on, created_at=created_at)


def test_latest_outcome_none_without_evaluations():
    assert domain.latest_outcome([]) is None


def test_latest_outcome_is_the_latest_evaluated_on_whatever_the_order():
    rows = [evaluation("red", date(2025, 2, 1)), evaluation("green", date(2025, 3, 1)),
            evaluation("yellow", date(2025, 1, 1))]
    assert domain.latest_outcome(rows) == "green"
    assert domain.latest_outcome(list(reversed(rows))) == "green"


def test_latest_outcome_same_day_is_decided_by_created_at():
    morning = evaluation("red", date(2025, 3, 1), datetime(2025, 3, 1, 8, tzinfo=timezone.utc))
    evening = evaluation("yellow", date(2025, 3, 1),
                         datetime(2025, 3, 1, 18, tzinfo=timezone.utc))
    assert domain.latest_outcome([evening, morning]) == "yellow"
    assert domain.latest_outcome([morning, evening]) == "yellow"


def test_latest_outcome_backdated_evaluation_does_not_win():
    # written later, but about an earlier day
    late_entry = evaluation("red", date(2025, 2, 1), datetime(2025, 3, 5, tzinfo=timezone.utc))
    earlier_entry = evaluation("green", date(2025, 3, 1),
                               datetime(2025, 3, 1, tzinfo=timezone.utc))
    assert domain.latest_outcome([late_entry, earlier_entry]) == "green"


def measure_row(status="active", evaluate_by=YESTERDAY, start_date=date(2025, 1, 6),
                evaluate_by_set_on=None):
    return SimpleNamespace(status=status, evaluate_by=evaluate_by, start_date=start_date,
                           evaluate_by_set_on=evaluate_by_set_on)


@pytest.mark.parametrize("status", ["planned", "active"])
def test_is_overdue_evaluate_by_yesterday_without_evaluation(status):
    assert domain.is_overdue(measure_row(status), [], TODAY) is True


def test_is_overdue_evaluate_by_today_is_not_yet_overdue():
    assert domain.is_overdue(measure_row(evaluate_by=TODAY), [], TODAY) is False


def test_is_overdue_evaluate_by_tomorrow_is_not_overdue():
    assert domain.is_overdue(measure_row(evaluate_by=TOMORROW), [], TODAY) is False


@pytest.mark.parametrize("status", ["completed", "stopped"])
def test_is_overdue_never_for_finished_measures(status):
    assert domain.is_overdue(measure_row(status, evaluate_by=date(2024, 1, 1)), [],
                             TODAY) is False


def test_is_overdue_evaluation_on_the_cycle_start_day_counts():
    m = measure_row(evaluate_by_set_on=date(2025, 2, 10))
    assert domain.is_overdue(m, [evaluation("yellow", date(2025, 2, 10))], TODAY) is False


def test_is_overdue_evaluation_before_the_cycle_start_does_not_count():
    # evaluated on 9 Feb, then a new evaluate-by date was set on 10 Feb
    m = measure_row(evaluate_by_set_on=date(2025, 2, 10))
    assert domain.is_overdue(m, [evaluation("yellow", date(2025, 2, 9))], TODAY) is True


def test_is_overdue_falls_back_to_start_date_when_set_on_is_unknown():
    m = measure_row(start_date=date(2025, 1, 6), evaluate_by_set_on=None)
    assert domain.is_overdue(m, [evaluation("green", date(2025, 1, 6))], TODAY) is False
    assert domain.is_overdue(m, [evaluation("green", date(2025, 1, 5))], TODAY) is True


def test_is_overdue_any_evaluation_in_the_cycle_answers_it():
    m = measure_row(evaluate_by_set_on=date(2025, 2, 10))
    rows = [evaluation("red", date(2025, 1, 20)), evaluation("red", date(2025, 3, 9))]
    assert domain.is_overdue(m, rows, TODAY) is False


# --- statistics helpers, age, policy ---------------------------------------------------------

@pytest.mark.parametrize("count, shown", [(0, None), (1, None), (4, None), (5, 5), (6, 6),
                                          (120, 120)])
def test_suppress_small_default_threshold(count, shown):
    assert domain.suppress_small(count) == shown


def test_suppress_small_custom_threshold():
    assert domain.suppress_small(9, threshold=10) is None
    assert domain.suppress_small(10, threshold=10) == 10
    assert domain.suppress_small(3, threshold=3) == 3


# -- caps on what is loaded whole ------------------------------------------------------------

def test_a_log_is_full_at_its_cap():
    domain.check_room(99, 100, "participants")
    with pytest.raises(Conflict) as refused:
        domain.check_room(100, 100, "participants")
    assert refused.value.detail == "the log has reached its limit of 100 participants"
    domain.check_room(89, 100, "participants", needed=domain.HANDOVER_PARTICIPANTS)
    with pytest.raises(Conflict):
        domain.check_room(90, 100, "participants", needed=domain.HANDOVER_PARTICIPANTS)


def test_the_caps_come_from_the_configuration():
    assert domain.Limits.from_config({}) == domain.Limits(participants=100, measures=500)
    assert domain.Limits.from_config({"LOG_MAX_PARTICIPANTS": "7",
                                      "LOG_MAX_MEASURES": 3}) == domain.Limits(7, 3)


def test_an_evaluation_is_dated_neither_in_the_future_nor_before_the_measure_started():
    measure = SimpleNamespace(start_date=YESTERDAY)
    domain.check_evaluation_date(measure, TODAY, TODAY)
    domain.check_evaluation_date(measure, YESTERDAY, TODAY)
    for day, code in ((TOMORROW, "evaluation.in_future"),
                      (YESTERDAY - timedelta(days=1), "evaluation.before_start")):
        with pytest.raises(ValidationFailed) as refused:
            domain.check_evaluation_date(measure, day, TODAY)
        assert refused.value.error_codes == {"evaluated_on": [code]}


def test_minutes_only_once_the_meeting_has_begun():
    now = datetime(2025, 3, 10, 13, 0, tzinfo=timezone.utc)
    domain.check_meeting_begun(SimpleNamespace(starts_at=now), now)
    domain.check_meeting_begun(SimpleNamespace(starts_at=now.replace(tzinfo=None)), now)
    with pytest.raises(Conflict) as refused:
        domain.check_meeting_begun(SimpleNamespace(starts_at=now + timedelta(minutes=1)), now)
    assert refused.value.code == "meeting.not_started"
