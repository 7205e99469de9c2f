"""The recipient rules (services.notifications.domain.notices_for), one event type at a time."""
from __future__ import annotations

import pytest

from services.notifications import domain
from services.notifications.domain import Facts, notices_for
from stafett.events import Envelope

LOG_ID = "5b0c7a86-1f4e-4bd2-9a51-1c7b4fd0e3a2"
CHILD_ID = "8e3f6b2a-77c1-4a8e-b0a4-2d9c1e5f6a70"
PPT, SCHOOL, NAV = "974760673", "912345678", "889640782"
RESPONSIBLE, HOLDER, ACTOR = "p-responsible", "p-stafettholder", "p-actor"
G1, G2, CHILD = "p-guardian-1", "p-guardian-2", "p-child"


def event(type_, data=None, actor=ACTOR, **envelope) -> Envelope:
    source = type_.split(".")[0]
    source = {"log": "logs"}.get(source, source)
    return Envelope(type=type_, source=source, data=data or {}, log_id=LOG_ID,
                    child_id=CHILD_ID, actor_ref=f"person:{actor}" if actor else source,
                    **envelope)


def who(notices) -> dict:
    """kind → (persons, agencies)"""
    return {n.kind: (set(n.person_ids), set(n.agencies)) for n in notices}


def measure(**data) -> dict:
    base = {"measure_id": "m-1", "status": "active", "arena": "school",
            "evaluate_by": "2026-12-14", "responsible_person_id": RESPONSIBLE,
            "responsible_agency": PPT, "proposer_person_id": None,
            "stafettholder_person_id": HOLDER}
    return {**base, **data}


# -- a new measure: its responsible person --------------------------------------------------------

def test_a_new_measure_goes_to_its_responsible_person_and_their_agency():
    notices = notices_for(event("log.measure_added", measure()))
    assert who(notices) == {"measure_assigned": ({RESPONSIBLE}, {PPT})}
    assert notices[0].context == {"log_id": LOG_ID, "child_id": CHILD_ID,
                                  "measure_id": "m-1", "evaluate_by": "2026-12-14"}


def test_whoever_adds_a_measure_for_themselves_is_not_told():
    notices = notices_for(event("log.measure_added", measure(), actor=RESPONSIBLE))
    assert who(notices) == {"measure_assigned": (set(), {PPT})}  # the agency's system still is


def test_the_responsible_agency_falls_back_on_the_projection():
    data = measure(responsible_agency=None)
    notices = notices_for(event("log.measure_added", data),
                          Facts(participants={RESPONSIBLE: NAV}))
    assert who(notices) == {"measure_assigned": ({RESPONSIBLE}, {NAV})}


@pytest.mark.parametrize("data", [{}, {"responsible_person_id": None},
                                  {"responsible_person_id": ""}])
def test_a_measure_without_a_responsible_person_tells_nobody(data):
    assert notices_for(event("log.measure_added", data)) == []


def test_a_measure_handed_to_someone_else_tells_the_new_responsible():
    updated = event("log.measure_updated", measure(responsible_person_id="p-new"))
    assert who(notices_for(updated, Facts(previous_responsible=RESPONSIBLE))) == {
        "measure_assigned": ({"p-new"}, {PPT})}
    same = event("log.measure_updated", measure())
    assert notices_for(same, Facts(previous_responsible=RESPONSIBLE)) == []
    assert notices_for(updated, Facts(previous_responsible=None)) == []  # unknown before


# -- a meeting: the invited ------------------------------------------------------------------------

def test_a_scheduled_meeting_goes_to_the_invited_but_not_the_one_who_scheduled_it():
    data = {"meeting_id": "mt-1", "starts_at": "2026-12-01T09:00:00+01:00", "ends_at": None,
            "invited_person_ids": [RESPONSIBLE, G1, ACTOR], "stafettholder_person_id": ACTOR}
    notices = notices_for(event("log.meeting_scheduled", data),
                          Facts(participants={RESPONSIBLE: PPT, G1: None, ACTOR: SCHOOL}))
    assert who(notices) == {"meeting_invited": ({RESPONSIBLE, G1}, {PPT, SCHOOL})}
    assert notices[0].context["starts_at"] == "2026-12-01T09:00:00+01:00"


# -- consent expiring: the guardians and the stafettholder ----------------------------------------

@pytest.mark.parametrize("type_, kind, holder_kind", [
    ("consent.expiring", "consent_expiring", "consent_expiring_stafettholder"),
    ("consent.expired", "consent_expired", "consent_expired_stafettholder")])
def test_consent_ending_goes_to_those_who_consent_and_the_stafettholders(type_, kind,
                                                                         holder_kind):
    data = {"consent_id": "c-1", "status": "active", "scope_agencies": [SCHOOL],
            "scope_agency_types": ["ppt"], "valid_from": "2026-01-01",
            "valid_until": "2026-12-31", "notify_person_ids": [G1, G2]}
    facts = Facts(child_stafettholders=((HOLDER, SCHOOL, LOG_ID),))
    notices = notices_for(event(type_, data, actor=None), facts)
    assert who(notices) == {kind: ({G1, G2}, {SCHOOL}), holder_kind: ({HOLDER}, {SCHOOL})}
    assert domain.link_path(kind, notices[0].context) == "/samtykker"
    assert domain.link_path(holder_kind, notices[1].context) == f"/logger/{LOG_ID}"


def test_a_paper_form_recorded_by_staff_is_told_to_those_who_consent():
    data = {"consent_id": "c-1", "status": "active", "method": "paper",
            "notify_person_ids": [G1, G2]}
    notices = notices_for(event("consent.granted", data, actor=HOLDER))
    assert who(notices) == {"consent_recorded": ({G1, G2}, set())}
    assert domain.link_path("consent_recorded", notices[0].context) == "/samtykker"
    # a consent they gave digitally themselves needs no notice
    assert notices_for(event("consent.granted", {**data, "method": "digital"}, actor=G1)) == []


def test_a_youth_who_consents_alone_is_told_alone():
    data = {"consent_id": "c-1", "notify_person_ids": [CHILD]}
    assert who(notices_for(event("consent.expiring", data, actor=None))) == {
        "consent_expiring": ({CHILD}, set())}


# -- handovers ------------------------------------------------------------------------------------

def handover(status="awaiting_acceptance", **data) -> dict:
    base = {"handover_id": "h-1", "status": status, "transition": "school",
            "from_agency": SCHOOL, "to_agency": NAV, "to_person_id": "p-receiver",
            "requested_by_person_id": "p-requester",
            "consent_person_ids": [G1, G2] if status == "consent_pending" else []}
    return {**base, **data}


def test_a_handover_needing_consent_goes_to_the_guardians_first():
    notices = notices_for(event("handover.requested", handover("consent_pending"),
                                actor="p-requester"))
    assert who(notices) == {"handover_consent_needed": ({G1, G2}, set())}


def test_a_handover_request_goes_to_the_receiver_and_the_receiving_agency():
    notices = notices_for(event("handover.requested", handover(), actor="p-requester"))
    assert who(notices) == {"handover_requested": ({"p-receiver"}, {NAV})}
    assert domain.link_path("handover_requested", notices[0].context) == "/overganger/h-1"


def test_a_handover_request_to_an_agency_without_a_named_receiver_goes_to_its_systems():
    notices = notices_for(event("handover.requested", handover(to_person_id=None)))
    assert who(notices) == {"handover_requested": (set(), {NAV})}


def test_once_consent_is_given_the_receiver_hears_of_the_handover():
    data = {"handover_id": "h-1", "to_agency": NAV, "to_person_id": "p-receiver"}
    assert who(notices_for(event("handover.consent_granted", data, actor=G1))) == {
        "handover_requested": ({"p-receiver"}, {NAV})}


@pytest.mark.parametrize("type_, kind", [("handover.accepted", "handover_accepted"),
                                         ("handover.declined", "handover_declined")])
def test_an_answered_handover_goes_to_the_requester(type_, kind):
    data = {"handover_id": "h-1", "from_agency": SCHOOL, "to_agency": NAV,
            "requested_by_person_id": "p-requester"}
    assert who(notices_for(event(type_, data, actor="p-receiver"))) == {
        kind: ({"p-requester"}, {SCHOOL})}


# -- a closed log: all participants ----------------------------------------------------------------

def test_a_closed_log_goes_to_all_participants_but_the_one_who_closed_it():
    data = {"participant_person_ids": [HOLDER, RESPONSIBLE, G1, G2, CHILD],
            "stafettholder_person_id": HOLDER}
    notices = notices_for(event("log.closed", data, actor=HOLDER),
                          Facts(participants={HOLDER: SCHOOL, RESPONSIBLE: PPT, G1: None}))
    assert who(notices) == {"log_closed": ({RESPONSIBLE, G1, G2, CHILD}, {SCHOOL, PPT})}


def test_a_closed_log_without_the_list_uses_the_projection():
    notices = notices_for(event("log.closed", {}, actor=HOLDER),
                          Facts(participants={HOLDER: SCHOOL, RESPONSIBLE: PPT}))
    assert who(notices) == {"log_closed": ({RESPONSIBLE}, {SCHOOL, PPT})}


# -- the stafettholder lapsed: the staff who can act, and the guardians (issue 13, point 7) --------

def test_a_lapsed_stafettholder_is_told_to_the_remaining_staff_and_the_guardians():
    data = {"from_person_id": HOLDER, "from_agency": SCHOOL, "reason": "participation_ended",
            "staff_person_ids": [RESPONSIBLE], "guardian_person_ids": [G1, G2]}
    notices = notices_for(event("log.stafettholder_lapsed", data, actor=None),
                          Facts(participants={HOLDER: SCHOOL, RESPONSIBLE: PPT, G1: None}))
    assert who(notices) == {"stafettholder_lapsed": ({RESPONSIBLE}, {PPT}),
                            "stafettholder_lapsed_family": ({G1, G2}, set())}
    assert {n.kind: n.person_agencies for n in notices}["stafettholder_lapsed"] == {
        RESPONSIBLE: PPT}
    assert all(n.context == {"log_id": LOG_ID, "child_id": CHILD_ID} for n in notices)


def test_a_lapse_with_nobody_left_to_tell_tells_nobody():
    data = {"from_person_id": HOLDER, "staff_person_ids": [], "guardian_person_ids": []}
    assert notices_for(event("log.stafettholder_lapsed", data, actor=None)) == []


# -- a child's proposal answered: the proposer -------------------------------------------------------

def test_an_answered_proposal_goes_to_the_proposer():
    data = {"proposal_id": "pr-1", "proposer_person_id": CHILD, "decision": "declined",
            "measure_id": None}
    notices = notices_for(event("log.proposal_answered", data, actor=HOLDER))
    assert who(notices) == {"proposal_answered": ({CHILD}, set())}
    assert notices[0].context == {"log_id": LOG_ID, "child_id": CHILD_ID,
                                  "proposal_id": "pr-1", "decision": "declined"}


# -- what no rule answers ---------------------------------------------------------------------------

@pytest.mark.parametrize("type_", ["log.opened", "log.participant_added", "log.entry_added",
                                   "log.measure_evaluated", "consent.granted",
                                   "handover.completed", "unknown.thing"])
def test_other_events_tell_nobody(type_):
    assert notices_for(event(type_, {"responsible_person_id": RESPONSIBLE,
                                     "person_id": RESPONSIBLE})) == []


def test_a_notice_carries_known_ids_only_whatever_the_event_says():
    data = measure(title="Kari Nordmann", goal="fri tekst", national_id="01010112345")
    [notice] = notices_for(event("log.measure_added", data))
    assert set(notice.context) <= set(domain.CONTEXT_KEYS)
    assert "Kari Nordmann" not in str(notice) and "01010112345" not in str(notice)


def test_duplicates_and_empty_recipients_are_dropped():
    notice = domain.notice("x", ["a", "a", None, "", "b"], ["1", None, "1"], {})
    assert (notice.person_ids, notice.agencies) == (("a", "b"), ("1",))


def test_log_link():
    assert domain.log_link("abc") == "/logger/abc"


@pytest.mark.parametrize("value, safe", [
    ("059f3ed5-30ac-486a-ae45-d92592581571", True),   # a uuid with eleven digits in a row
    ("2026-12-01T09:00:00+01:00", True), ("2026-12-14", True), ("accepted", True),
    ("14831397854", False), ("148313-97854", False), ("148313 97854", False),
    ("Emma Solberg", False), ("x" * 65, False), (None, False), (12, False)])
def test_only_id_shaped_values_pass(value, safe):
    assert domain.safe_value(value) is safe
