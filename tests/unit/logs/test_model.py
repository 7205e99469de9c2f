"""The log as one aggregate (services/logs/model.py), on plain objects without a session:
each change checks its rules before it touches anything, bumps the log's version once
and raises its event; a refused change leaves no trace (no bump, no row, no event)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from services.logs import domain, events
from services.logs.domain import Limits, Viewer
from stafett.coverage import Covered
from services.logs.model import Log
from services.logs.models import Log as LogRow
from services.logs.models import Measure, MeetingInvite
from stafett.errors import (Conflict, NotFound, PreconditionFailed, PreconditionRequired,
                            ValidationFailed)

TODAY = date(2026, 3, 10)
YESTERDAY, TOMORROW = TODAY - timedelta(days=1), TODAY + timedelta(days=1)
SCHOOL, PPT = "974760673", "971526920"
COVERED = Covered(frozenset({SCHOOL, PPT}), frozenset())
AT = datetime(2026, 3, 12, 9, 0, tzinfo=timezone.utc)


def person(pid, kind="staff", role=domain.MEMBER, agency=SCHOOL, active_until=None):
    return SimpleNamespace(id=pid, person_id=f"s-{pid}", kind=kind, role=role, agency=agency,
                           agency_type="school" if agency == SCHOOL else "ppt",
                           active_from=date(2026, 1, 1), active_until=active_until,
                           removed_at=None, read_only_until=None, display_name=pid)


def a_log(holder_until=None, status=domain.OPEN, coverage=COVERED, **kwargs) -> Log:
    row = LogRow(id="log-1", child_id="c-1", status=status, level=1, version=7,
                 child_protected=False)
    people = [person("holder", role=domain.STAFETTHOLDER, active_until=holder_until),
              person("advisor", agency=PPT),
              person("ended", agency=PPT, active_until=YESTERDAY),
              person("guardian", kind="guardian", role=domain.GUARDIAN, agency=None),
              person("child", kind="child", role=domain.CHILD, agency=None)]
    return Log(row, people, coverage, TODAY, **kwargs)


def measure_data(**changes) -> dict:
    return {"title": "Lesetrening", "description": "", "goal": "Leser 20 minutter",
            "responsible_id": "advisor", "arena": "school", "start_date": TODAY,
            "evaluate_by": TODAY + timedelta(days=42), "status": "planned", **changes}


def untouched(log: Log) -> bool:
    return log.changes == 0 and log.collect_rows() == [] and log.collect_events() == []


def event_types(log: Log) -> list[str]:
    return [event_type for event_type, _ in log.collect_events()]


# -- version: one bump per change ------------------------------------------------------------

def test_a_change_bumps_the_version_once_and_raises_its_event():
    log = a_log()
    measure = log.add_measure(measure_data(), proposer=log.participant("holder"))
    assert log.changes == 1
    assert log.collect_rows() == [measure]
    [(event_type, data)] = log.collect_events()
    assert event_type == events.MEASURE_ADDED
    assert data["responsible_person_id"] == "s-advisor"
    assert data["stafettholder_person_id"] == "s-holder"
    assert log.row.version == 7  # the unit of work applies it under the row lock (versions.py)


def test_the_changes_are_collected_once():
    log = a_log()
    log.add_entry({"kind": "note", "visibility": "all", "text": "Hei"},
                  Viewer(log.participant("guardian"), domain.GUARDIAN))
    assert log.collect_changes() == (1, None)
    assert log.collect_changes() == (0, None)


def test_two_changes_in_one_unit_of_work_are_two_bumps():
    log = a_log()
    proposal = SimpleNamespace(id="pr-1", proposer_id="guardian", status="proposed",
                               title="Mer lesing", description="", goal="", arena="home")
    log.accept_proposal(proposal, {"responsible_id": "advisor", "start_date": TODAY,
                                   "evaluate_by": TOMORROW}, by=log.participant("holder"))
    assert log.changes == 2  # the measure, and the answer
    assert event_types(log) == [events.MEASURE_ADDED, events.PROPOSAL_ANSWERED]
    assert proposal.status == "accepted" and proposal.answered_by == "holder"


def test_an_unchanged_level_is_still_a_change_without_an_event():
    log = a_log()
    log.change_level(1, by=log.participant("holder"))
    assert log.changes == 1 and log.collect_events() == [] and log.collect_rows() == []


# -- If-Match ---------------------------------------------------------------------------------

def test_expect_version_refuses_a_missing_or_stale_version_and_remembers_a_current_one():
    log = a_log()
    with pytest.raises(PreconditionRequired):
        log.expect_version(None)
    with pytest.raises(PreconditionFailed):
        log.expect_version(6)
    log.expect_version(None, required=False)
    assert log.expected_version is None
    log.expect_version("7")
    assert log.expected_version == 7  # checked again at commit


# -- measures and evaluations ---------------------------------------------------------------

def test_evaluate_by_before_the_measure_starts_is_refused_and_nothing_changes():
    log = a_log()
    with pytest.raises(ValidationFailed) as caught:
        log.add_measure(measure_data(evaluate_by=YESTERDAY), log.participant("holder"))
    assert caught.value.error_codes == {"evaluate_by": ["measure.evaluate_by_before_start"]}
    assert untouched(log)


def test_a_responsible_who_has_left_the_log_is_refused():
    log = a_log()
    with pytest.raises(ValidationFailed) as caught:
        log.add_measure(measure_data(responsible_id="ended"), log.participant("holder"))
    assert caught.value.error_codes == {
        "responsible_id": ["measure.responsible_not_participant"]}
    assert untouched(log)


def test_updating_moves_the_evaluation_cycle_and_bumps_both_versions():
    log = a_log()
    measure = Measure(id="m-1", log_id="log-1", start_date=TODAY, version=3,
                      responsible_id="advisor", proposer_id="holder", status="planned",
                      arena="school", evaluate_by=TOMORROW)
    with pytest.raises(PreconditionFailed):
        log.update_measure(measure, {"status": "active"}, expected_version=2)
    with pytest.raises(ValidationFailed):  # the start stays, so the date must follow it
        log.update_measure(measure, {"evaluate_by": YESTERDAY}, expected_version=3)
    assert untouched(log)
    log.update_measure(measure, {"evaluate_by": TODAY + timedelta(days=7)}, expected_version=3)
    assert (measure.version, measure.evaluate_by_set_on, log.changes) == (4, TODAY, 1)


def test_a_stopped_measure_cannot_be_evaluated():
    log = a_log()
    measure = SimpleNamespace(id="m-1", status="stopped", version=2)
    with pytest.raises(Conflict) as caught:
        log.evaluate(measure, {"outcome": "green", "text": "Bra", "child_view": None,
                               "evaluated_on": None}, log.participant("holder"))
    assert caught.value.code == "measure.stopped"
    assert untouched(log) and measure.version == 2


def test_an_evaluation_is_dated_today_unless_told_and_bumps_the_measure_and_the_log():
    log = a_log()
    measure = Measure(id="m-1", log_id="log-1", status="active", version=2, arena="school",
                      responsible_id="advisor", proposer_id="holder", evaluate_by=TOMORROW)
    evaluation = log.evaluate(measure, {"outcome": "yellow", "text": "Litt bedre",
                                        "child_view": None, "evaluated_on": None},
                              log.participant("advisor"))
    assert (evaluation.evaluated_on, evaluation.evaluator_id) == (TODAY, "advisor")
    assert (measure.version, log.changes) == (3, 1)
    [(event_type, data)] = log.collect_events()
    assert (event_type, data["outcome"]) == (events.MEASURE_EVALUATED, "yellow")


def test_the_measure_cap_is_counted_once_and_then_kept_by_the_log():
    asked = []

    def count():
        asked.append(1)
        return 1

    log = a_log(limits=Limits(measures=2), count_measures=count)
    log.add_measure(measure_data(), log.participant("holder"))
    with pytest.raises(Conflict) as caught:
        log.add_measure(measure_data(), log.participant("holder"))
    assert caught.value.code == "log.limit_reached"
    assert asked == [1] and log.changes == 1


# -- meetings ---------------------------------------------------------------------------------

def meeting_data(**changes) -> dict:
    return {"starts_at": AT, "ends_at": AT + timedelta(hours=1), "mode": "video",
            "place": None, "agenda": "", "invited": ["holder", "guardian"], **changes}


def test_a_meeting_that_ends_before_it_starts_and_invites_a_former_participant_is_refused():
    log = a_log()
    with pytest.raises(ValidationFailed) as caught:
        log.schedule_meeting(meeting_data(ends_at=AT, invited=["holder", "ended"]),
                             log.participant("holder"))
    assert caught.value.error_codes == {"ends_at": ["meeting.ends_before_start"],
                                        "invited": ["meeting.invitee_not_participant"]}
    assert untouched(log)


def test_a_meeting_invites_its_active_participants():
    log = a_log()
    meeting = log.schedule_meeting(meeting_data(ends_at=None), log.participant("holder"))
    rows = log.collect_rows()
    assert rows[0] is meeting
    assert sorted(i.participant_id for i in rows[1:] if isinstance(i, MeetingInvite)) == [
        "guardian", "holder"]
    [(event_type, data)] = log.collect_events()
    assert data["invited_person_ids"] == ["s-guardian", "s-holder"]
    assert log.changes == 1


def test_minutes_change_the_meeting_not_the_log_and_their_decisions_become_measures():
    log = a_log()
    meeting = SimpleNamespace(id="mt-1", version=1, minutes=None, minuted_at=None, starts_at=AT)
    invites = [SimpleNamespace(participant_id="holder", attended=None),
               SimpleNamespace(participant_id="guardian", attended=None)]
    with pytest.raises(ValidationFailed) as caught:
        log.record_minutes(meeting, invites, {"minutes": "Referat", "attended": ["advisor"],
                                              "decisions": []}, 1, log.participant("holder"))
    assert caught.value.code == "meeting.attendee_not_invited"
    with pytest.raises(ValidationFailed) as caught:
        log.record_minutes(meeting, invites, {
            "minutes": "Referat", "attended": ["holder"],
            "decisions": [measure_data(evaluate_by=YESTERDAY)]}, 1, log.participant("holder"))
    assert caught.value.error_codes == {
        "decisions.0.evaluate_by": ["measure.evaluate_by_before_start"]}
    log = a_log()
    meeting.version = 1
    log.record_minutes(meeting, invites, {"minutes": "Referat", "attended": ["holder"],
                                          "decisions": []}, 1, log.participant("holder"))
    assert (meeting.version, log.changes) == (2, 0)
    assert [i.attended for i in invites] == [True, False]
    assert event_types(log) == [events.MEETING_MINUTED]


# -- the stafettholder: exactly one who can act ---------------------------------------------

def test_a_holder_who_cannot_act_is_refused():
    log = a_log()
    with pytest.raises(ValidationFailed) as caught:
        log.set_stafettholder("ended")   # their participation ended yesterday
    assert caught.value.code == "stafettholder.cannot_act"
    with pytest.raises(ValidationFailed) as caught:
        log.set_stafettholder("guardian")
    assert caught.value.code == "participant.not_active_staff"
    uncovered = a_log(coverage=Covered(frozenset({SCHOOL}), frozenset()))
    with pytest.raises(ValidationFailed) as caught:
        uncovered.set_stafettholder("advisor")  # consent no longer covers the PPT
    assert caught.value.code == "stafettholder.cannot_act"
    assert untouched(log) and untouched(uncovered)


def test_the_baton_passes_once_to_someone_else():
    log = a_log()
    with pytest.raises(Conflict):
        log.set_stafettholder("holder")
    log.set_stafettholder("advisor")
    assert (log.participant("holder").role, log.participant("advisor").role) == (
        domain.MEMBER, domain.STAFETTHOLDER)
    assert log.changes == 1 and event_types(log) == [events.STAFETTHOLDER_CHANGED]


@pytest.mark.parametrize("last_day, lapses", [(TOMORROW, False), (TODAY, False),
                                              (YESTERDAY, True)])
def test_the_holder_lapses_the_day_after_their_last_day(last_day, lapses):
    log = a_log(holder_until=last_day)
    assert log.lapse() is lapses
    assert log.changes == int(lapses)
    if lapses:
        [(event_type, data)] = log.collect_events()
        assert event_type == events.STAFETTHOLDER_LAPSED
        assert data["staff_person_ids"] == ["s-advisor"]   # not the ended one
        assert data["guardian_person_ids"] == ["s-guardian"]
        assert log.holder is None and log.lapse() is False  # once


def test_a_lapse_another_replica_recorded_is_not_recorded_again():
    log = a_log(holder_until=YESTERDAY, claim_lapse=lambda holder: False)
    assert log.lapse() is False and untouched(log)


def test_a_closed_log_records_no_lapse():
    assert a_log(holder_until=YESTERDAY, status=domain.CLOSED).lapse() is False


def test_taking_the_baton_while_the_log_has_none_records_the_lapse_first():
    log = a_log(holder_until=YESTERDAY)
    advisor = Viewer(log.participant("advisor"), domain.MEMBER)
    log.require_may_pass_baton(advisor)  # no holder who can act: anyone who can act
    log.set_stafettholder("advisor")
    assert event_types(log) == [events.STAFETTHOLDER_LAPSED, events.STAFETTHOLDER_CHANGED]
    assert log.changes == 2 and log.acting_holder().id == "advisor"


# -- handover ---------------------------------------------------------------------------------

def test_a_handover_ends_the_senders_role_today_and_lets_them_read_through_the_grace():
    log = a_log()
    asked = []
    log.hand_over("h-1", "s-new", ["s-advisor"], 14,
                  lambda person_id: asked.append(person_id) or {
                      "id": person_id, "name": "Ny", "agency": PPT, "agency_type": "ppt"})
    holder = log.participant("holder")
    assert (holder.role, holder.active_until, holder.read_only_until) == (
        domain.FORMER, YESTERDAY, TODAY + timedelta(days=14))
    assert asked == ["s-new"]  # the advisor takes part already
    assert log.acting_holder().person_id == "s-new"
    assert log.changes == 1


def test_a_handover_without_grace_and_one_to_an_agency_consent_no_longer_covers():
    log = a_log()
    log.hand_over("h-1", "s-advisor", [], 0, lambda person_id: pytest.fail("not asked"))
    assert log.participant("holder").read_only_until is None
    uncovered = a_log(coverage=Covered(frozenset({SCHOOL}), frozenset()))
    with pytest.raises(Conflict) as caught:
        uncovered.hand_over("h-2", "s-advisor", [], 0, lambda person_id: {})
    assert caught.value.code == "log.receiver_not_covered"
    assert untouched(uncovered)


# -- the log's life ---------------------------------------------------------------------------

def test_a_closed_log_takes_no_change():
    log = a_log()
    log.close("Målene er nådd")
    assert (log.row.status, log.changes) == (domain.CLOSED, 1)
    [(event_type, data)] = log.collect_events()
    assert data["participant_person_ids"] == ["s-advisor", "s-child", "s-guardian", "s-holder"]
    with pytest.raises(Conflict) as caught:
        log.add_measure(measure_data(), log.participant("holder"))
    assert caught.value.code == "log.closed"


def test_a_participant_not_in_the_log_is_not_found():
    with pytest.raises(NotFound) as caught:
        a_log().participant("stranger")
    assert caught.value.code == "participant.not_found"


def test_the_stafettholder_cannot_be_removed_and_the_family_is_not_removed_by_staff():
    log = a_log()
    holder = Viewer(log.participant("holder"), domain.STAFETTHOLDER)
    with pytest.raises(Conflict):
        log.remove_participant("holder", holder, expected_version=7)
    with pytest.raises(ValidationFailed):
        log.remove_participant("guardian", holder, expected_version=7)
    with pytest.raises(PreconditionFailed):
        log.remove_participant("advisor", holder, expected_version=6)
    assert untouched(log)
    removed = log.remove_participant("advisor", holder, expected_version=7)
    assert removed.removed_at is not None and log.changes == 1


def test_guardians_follow_the_register_in_open_logs_and_leave_closed_ones():
    log = a_log()
    log.remove_guardians(["s-guardian"], AT)
    log.add_guardians({"g-2", "g-3"}, {"g-2": "Ny verge"}, AT)  # g-3: no longer a guardian
    assert log.participant("guardian").removed_at == AT
    assert [p.person_id for p in log.collect_rows()] == ["g-2"]
    assert log.changes == 2
    closed = a_log(status=domain.CLOSED)
    closed.add_guardians({"g-2"}, {"g-2": "Ny verge"}, AT)
    assert untouched(closed)
