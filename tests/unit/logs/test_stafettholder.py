"""A log always has exactly one stafettholder who can act (issue 13, point 7).

``domain.can_act``: staff, in their active period (the end date included) and with
consent covering their agency. A holder who cannot act is refused; one who stops being
able to act has lapsed, and the log then has no stafettholder until someone takes the
baton. The boundary dates: the participation ends yesterday, today or tomorrow.
"""
from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from services.logs import domain
from services.logs.domain import Viewer
from stafett.coverage import Covered as Coverage
from stafett.errors import Forbidden, ValidationFailed

TODAY = date(2025, 3, 10)
YESTERDAY, TOMORROW = TODAY - timedelta(days=1), TODAY + timedelta(days=1)
SCHOOL, PPT = "974760673", "971526920"
COVERED = Coverage(frozenset({SCHOOL, PPT}), frozenset())
PPT_ONLY = Coverage(frozenset({PPT}), frozenset())   # consent for the school has ended


def person(pid, kind="staff", role=domain.MEMBER, agency=SCHOOL, agency_type="school",
           active_until=None, removed_at=None):
    return SimpleNamespace(id=pid, person_id=f"s-{pid}", kind=kind, role=role, agency=agency,
                           agency_type=agency_type, active_from=date(2025, 1, 1),
                           active_until=active_until, removed_at=removed_at,
                           read_only_until=None)


def log_with(holder_until=None):
    holder = person("holder", role=domain.STAFETTHOLDER, active_until=holder_until)
    advisor = person("advisor", agency=PPT, agency_type="ppt")
    guardian = person("guardian", kind="guardian", role=domain.GUARDIAN, agency=None,
                      agency_type=None)
    child = person("child", kind="child", role=domain.CHILD, agency=None, agency_type=None)
    return holder, [holder, advisor, guardian, child]


@pytest.mark.parametrize("until, acts", [(YESTERDAY, False), (TODAY, True), (TOMORROW, True),
                                         (None, True)])
def test_can_act_until_and_including_the_last_day(until, acts):
    assert domain.can_act(person("p", active_until=until), TODAY, COVERED) is acts


def test_cannot_act_without_consent_for_the_agency_removed_or_as_a_citizen():
    assert not domain.can_act(person("p"), TODAY, PPT_ONLY)
    assert not domain.can_act(person("p", removed_at="2025-03-01"), TODAY, COVERED)
    guardian = person("g", kind="guardian", role=domain.GUARDIAN, agency=None, agency_type=None)
    assert not domain.can_act(guardian, TODAY, COVERED)


@pytest.mark.parametrize("until, refused", [(YESTERDAY, True), (TODAY, False),
                                            (TOMORROW, False)])
def test_a_new_holder_who_cannot_act_is_refused_with_a_code(until, refused):
    target = person("new", active_until=until)
    if refused:
        with pytest.raises(ValidationFailed) as caught:
            domain.check_new_stafettholder(target, TODAY, COVERED)
        assert caught.value.code == "stafettholder.cannot_act"
        assert "participant_id" in caught.value.errors
    else:
        domain.check_new_stafettholder(target, TODAY, COVERED)


def test_a_new_holder_whose_agency_consent_does_not_cover_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        domain.check_new_stafettholder(person("new"), TODAY, PPT_ONLY)
    assert caught.value.code == "stafettholder.cannot_act"


@pytest.mark.parametrize("until, lapsed", [(YESTERDAY, True), (TODAY, False),
                                           (TOMORROW, False)])
def test_the_holder_lapses_the_day_after_the_participation_ends(until, lapsed):
    holder, participants = log_with(holder_until=until)
    assert (domain.lapsed_stafettholder(participants, TODAY, COVERED) is holder) is lapsed
    assert domain.current_stafettholder(participants, TODAY, COVERED) is (
        None if lapsed else holder)


def test_the_holder_lapses_when_consent_stops_covering_the_agency():
    holder, participants = log_with()
    assert domain.lapsed_stafettholder(participants, TODAY, COVERED) is None
    assert domain.lapsed_stafettholder(participants, TODAY, PPT_ONLY) is holder
    assert domain.current_stafettholder(participants, TODAY, PPT_ONLY) is None


def test_who_is_told_of_a_lapse_the_staff_who_can_act_and_the_guardians():
    holder, participants = log_with(holder_until=YESTERDAY)
    ended = person("ended", active_until=YESTERDAY)
    told = domain.told_of_lapse(participants + [ended], holder, TODAY, COVERED)
    assert told == {"staff_person_ids": ["s-advisor"], "guardian_person_ids": ["s-guardian"]}


def test_a_lapse_clears_the_role_and_says_why():
    holder, participants = log_with(holder_until=YESTERDAY)
    assert domain.lapse_reason(holder, TODAY, COVERED) == "participation_ended"
    assert domain.lapse_reason(person("p"), TODAY, PPT_ONLY) == "consent_ended"
    domain.clear_stafettholder(holder)
    assert holder.role == domain.MEMBER
    assert domain.stafettholder_row(participants) is None


def test_without_a_holder_any_staff_participant_who_can_act_may_take_the_baton():
    holder, participants = log_with(holder_until=YESTERDAY)
    advisor = participants[1]
    domain.require_may_pass_baton(Viewer(advisor, domain.MEMBER), None)
    with pytest.raises(Forbidden) as caught:   # while someone holds it: only they pass it
        domain.require_may_pass_baton(Viewer(advisor, domain.MEMBER), holder)
    assert caught.value.code == "log.stafettholder_only"
    guardian = participants[2]
    with pytest.raises(Forbidden):
        domain.require_may_pass_baton(Viewer(guardian, domain.GUARDIAN), None)
