"""Unit tests for the rules in services.handover.domain (beyond the state machine)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from services.consent.events import consent_data
from services.handover import domain
from services.handover.views import handover_view
from stafett.actor import CITIZEN, SERVICE, STAFF, Actor
from stafett.coverage import Coverage
from stafett.errors import Conflict, Forbidden, NotFound, ValidationFailed

SCHOOL, UPPER, NAV, AWAY = "974760673", "971526920", "910000011", "910000029"
AGENCIES = [
    {"org_number": SCHOOL, "type": "school", "municipality": "Havvik kommune"},
    {"org_number": UPPER, "type": "school", "municipality": "Havvik kommune"},
    {"org_number": NAV, "type": "nav", "municipality": "Havvik kommune"},
    {"org_number": AWAY, "type": "school", "municipality": "Fjordby kommune"},
]
CONTEXT = {"log_id": "log-1", "child_id": "c-1", "from_agency": SCHOOL,
           "from_agency_type": "school", "stafettholder_person_id": "s-1"}
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
TODAY = NOW.date()


def field_error(caught, field):
    assert caught.value.status == 422
    assert field in caught.value.errors
    return caught.value


# -- the receiving agency ---------------------------------------------------------------------

def test_a_known_other_agency_of_the_right_type_is_the_receiver():
    receiver = domain.receiving_agency(UPPER, AGENCIES, CONTEXT, domain.LOWER_TO_UPPER_SECONDARY)
    assert receiver["org_number"] == UPPER


def test_an_unknown_agency_is_refused_with_a_field_error():
    with pytest.raises(ValidationFailed) as caught:
        domain.receiving_agency("999999999", AGENCIES, CONTEXT, domain.OTHER)
    assert "unknown" in field_error(caught, "to_agency").detail


def test_the_own_agency_is_refused_with_a_field_error():
    with pytest.raises(ValidationFailed) as caught:
        domain.receiving_agency(SCHOOL, AGENCIES, CONTEXT, domain.OTHER)
    assert "own agency" in field_error(caught, "to_agency").detail


@pytest.mark.parametrize("kind, to_agency", [
    (domain.KINDERGARTEN_TO_SCHOOL, NAV), (domain.PRIMARY_TO_LOWER_SECONDARY, NAV),
    (domain.LOWER_TO_UPPER_SECONDARY, NAV), (domain.TO_NAV, UPPER)])
def test_a_transition_goes_to_its_kind_of_agency(kind, to_agency):
    with pytest.raises(ValidationFailed) as caught:
        domain.receiving_agency(to_agency, AGENCIES, CONTEXT, kind)
    field_error(caught, "to_agency")


@pytest.mark.parametrize("kind", [domain.OTHER, domain.TO_NAV])
def test_other_goes_anywhere_and_to_nav_to_nav(kind):
    assert domain.receiving_agency(NAV, AGENCIES, CONTEXT, kind)["type"] == "nav"


def test_a_move_goes_to_another_municipality():
    with pytest.raises(ValidationFailed) as caught:
        domain.receiving_agency(UPPER, AGENCIES, CONTEXT, domain.MUNICIPALITY_MOVE)
    assert "municipality" in field_error(caught, "to_agency").detail
    assert domain.receiving_agency(AWAY, AGENCIES, CONTEXT,
                                   domain.MUNICIPALITY_MOVE)["org_number"] == AWAY


def test_every_transition_kind_is_known():
    assert set(domain.TRANSITION_KINDS) == {
        "kindergarten_to_school", "primary_to_lower_secondary",
        "lower_secondary_to_upper_secondary", "to_nav", "municipality_move", "other"}


@pytest.mark.parametrize("staff", [None, {"id": "s-9", "agency": SCHOOL}])
def test_a_named_person_must_be_staff_of_the_receiver(staff):
    with pytest.raises(ValidationFailed) as caught:
        domain.check_named_person(staff, UPPER, "to_person_id")
    field_error(caught, "to_person_id")
    domain.check_named_person({"id": "s-9", "agency": UPPER}, UPPER, "to_person_id")


def test_one_open_handover_per_log():
    domain.check_no_open_handover(None)
    with pytest.raises(Conflict):
        domain.check_no_open_handover(object())


@pytest.mark.parametrize("actor", [None, Actor(kind=CITIZEN, person_id="g-1"),
                                   Actor(kind=STAFF, agency=SCHOOL),
                                   Actor(kind=SERVICE)])
def test_only_staff_request(actor):
    with pytest.raises(NotFound):
        domain.require_staff(actor)


# -- consent ----------------------------------------------------------------------------------

def consent(status="active", agencies=(), types=(), start=-10, end=100):
    """A consent as the consent service answers for it, its decision (``coverage``)
    made by the consent service's own rule."""
    return consent_data(SimpleNamespace(
        id="k-1", status=status, method="digital", scope_agencies=list(agencies),
        scope_agency_types=list(types), valid_from=TODAY + timedelta(days=start),
        valid_until=TODAY + timedelta(days=end)))


@pytest.mark.parametrize("consents, covered", [
    ([consent(agencies=[UPPER])], True),
    ([consent(types=["school"])], True),
    ([consent(agencies=[SCHOOL], types=["ppt"])], False),
    ([consent(status="pending", agencies=[UPPER])], False),
    ([consent(status="withdrawn", agencies=[UPPER])], False),
    ([consent(agencies=[UPPER], start=1)], False),        # not yet in force
    ([consent(agencies=[UPPER], start=-100, end=-1)], False),  # past its last day
    ([consent(agencies=[SCHOOL]), consent(types=["school"])], True),
    ([], False),
])
def test_coverage_of_the_receiver_is_the_consent_service_s_decision(consents, covered):
    assert Coverage.of_answer(consents).covers(UPPER, "school", TODAY) is covered
    assert not hasattr(domain, "covers")  # no rule of its own to judge the consents by


def test_those_asked_to_consent_are_whom_the_consent_service_names():
    """The age rule is the consent service's: the handover service takes its answer."""
    youth = {"child": {"id": "c-1", "birth_date": "2011-03-10"}, "guardians": [{"id": "g-1"}],
             "consenting_party": "youth", "consenting_person_ids": ["c-1"]}
    guardians = {**youth, "consenting_party": "guardians",
                 "consenting_person_ids": ["g-2", "g-1"]}
    assert domain.consenting_person_ids(youth) == ["c-1"]
    assert domain.consenting_person_ids(guardians) == ["g-1", "g-2"]


def test_the_handover_service_has_no_age_rule_of_its_own():
    assert not hasattr(domain, "age_on")


def test_expiry():
    expires = domain.expires_at(NOW, 14)
    assert expires == NOW + timedelta(days=14)
    assert not domain.is_due(expires, NOW + timedelta(days=13))
    assert domain.is_due(expires, NOW + timedelta(days=14))
    assert domain.is_due(expires.replace(tzinfo=None), NOW + timedelta(days=15))  # SQLite
    assert not domain.is_due(None, NOW)


# -- who sees and does what -------------------------------------------------------------------

def handover(**values):
    base = dict(id="h-1", log_id="log-1", from_agency=SCHOOL, to_agency=UPPER,
                from_agency_type=None, to_agency_type=None,
                to_person_id=None, requested_by_person_id="s-1", status=domain.AWAITING_ACCEPTANCE,
                offered_at=NOW, consent_person_ids=["g-1"], completed_at=None,
                new_stafettholder_person_id=None, receiving_person_ids=None)
    base.update(values)
    return SimpleNamespace(**base)


REQUESTER = Actor(kind=STAFF, person_id="s-1", agency=SCHOOL)
RECEIVER = Actor(kind=STAFF, person_id="s-2", agency=UPPER)
OUTSIDER = Actor(kind=STAFF, person_id="s-3", agency=NAV)
COLLEAGUE = Actor(kind=STAFF, person_id="s-4", agency=SCHOOL)
GUARDIAN = Actor(kind=CITIZEN, person_id="g-1", acr="idporten-loa-high", assured=True)
#: consent covers both sides of the handover
BOTH = [consent(agencies=[SCHOOL, UPPER])]


def role_of(actor, handover, consents=BOTH):
    return domain.viewer_role(actor, handover, lambda: Coverage.of_answer(consents), TODAY)


@pytest.mark.parametrize("actor, role", [
    (REQUESTER, domain.REQUESTER), (RECEIVER, domain.RECEIVER),
    (GUARDIAN, domain.CONSENTING_PARTY), (OUTSIDER, None), (COLLEAGUE, None), (None, None),
    # the consent service found the login's level not enough (Actor.assured), whatever
    # the acr says: the handover has no level of its own
    (Actor(kind=CITIZEN, person_id="g-1", acr="idporten-loa-substantial"), None),
    (Actor(kind=CITIZEN, person_id="g-1", acr="idporten-loa-high", assured=False), None),
    (Actor(kind=CITIZEN, person_id="g-1", acr="idporten-loa-substantial", assured=True),
     domain.CONSENTING_PARTY),
    (Actor(kind=CITIZEN, person_id="g-9", acr="idporten-loa-high", assured=True), None),
    (Actor(kind=STAFF, person_id="s-1", agency=NAV), None),  # the requester, elsewhere
])
def test_viewer_roles(actor, role):
    assert role_of(actor, handover()) == role


def test_the_receiver_does_not_see_a_request_consent_does_not_cover_yet():
    pending = handover(status=domain.CONSENT_PENDING, offered_at=None)
    assert role_of(RECEIVER, pending) is None
    assert role_of(REQUESTER, pending) == domain.REQUESTER
    assert role_of(GUARDIAN, pending) == domain.CONSENTING_PARTY


def test_a_named_receiver_is_the_only_receiver():
    named = handover(to_person_id="s-5")
    assert role_of(RECEIVER, named) is None
    assert role_of(Actor(kind=STAFF, person_id="s-5", agency=UPPER), named) == domain.RECEIVER


@pytest.mark.parametrize("side, actor, refusal", [
    (domain.RECEIVER, RECEIVER, None),
    (domain.RECEIVER, REQUESTER, (Forbidden, "handover.receiver_only")),
    (domain.RECEIVER, GUARDIAN, (Forbidden, "handover.receiver_only")),
    (domain.RECEIVER, OUTSIDER, (NotFound, "handover.not_found")),
    (domain.REQUESTER, REQUESTER, None),
    (domain.REQUESTER, RECEIVER, (Forbidden, "handover.requester_only")),
    (domain.REQUESTER, COLLEAGUE, (NotFound, "handover.not_found")),
], ids=["receiver", "requester-accepts", "guardian-accepts", "outsider-accepts",
        "requester", "receiver-cancels", "colleague-cancels"])
def test_accept_and_decline_are_for_the_receiver_cancel_for_the_requester(side, actor, refusal):
    both = lambda: Coverage.of_answer(BOTH)  # noqa: E731
    if refusal is None:
        assert domain.require_side(side, actor, handover(), both, TODAY) == side
        return
    with pytest.raises(refusal[0]) as caught:
        domain.require_side(side, actor, handover(), both, TODAY)
    assert caught.value.code == refusal[1]


# -- consent binds: when it ends, staff on that side see nothing ---------------------------------

@pytest.mark.parametrize("status", sorted(domain.STATES))
@pytest.mark.parametrize("consents", [
    [],                                                          # withdrawn: none left
    [consent(status="withdrawn", agencies=[SCHOOL, UPPER])],     # as the owner reports it
    [consent(agencies=[SCHOOL, UPPER], start=-100, end=-1)],     # expired (past its day)
    [consent(agencies=[SCHOOL], types=["ppt"])],                 # narrowed: not the receiver
], ids=["none", "withdrawn", "expired", "narrowed"])
def test_the_receiver_sees_no_handover_consent_no_longer_covers_in_any_state(status, consents):
    theirs = handover(status=status, completed_at=NOW)
    assert role_of(RECEIVER, theirs, consents) is None
    with pytest.raises(NotFound) as caught:
        domain.require_side(domain.RECEIVER, RECEIVER, theirs,
                            lambda: Coverage.of_answer(consents), TODAY)
    assert caught.value.detail == "no such handover"  # the missing handover's words


def test_the_requester_sees_it_only_while_consent_covers_the_sender():
    receiver_only = [consent(agencies=[UPPER])]
    assert role_of(REQUESTER, handover(), receiver_only) is None
    assert role_of(RECEIVER, handover(), receiver_only) == domain.RECEIVER
    by_type = [consent(types=["school"])]
    sender = handover(from_agency_type="school", to_agency_type="school")
    assert role_of(REQUESTER, sender, by_type) == domain.REQUESTER


def test_those_who_consent_see_their_childs_handover_whatever_the_consent():
    asked = []

    def coverage():
        asked.append(True)
        return Coverage()
    assert domain.viewer_role(GUARDIAN, handover(), coverage, TODAY) == domain.CONSENTING_PARTY
    assert asked == []  # and the consent service is not asked for them


def test_strangers_cost_no_question_to_the_consent_service():
    def coverage():
        raise AssertionError("asked the consent service for someone with no part")
    assert domain.viewer_role(OUTSIDER, handover(), coverage, TODAY) is None


@pytest.mark.parametrize("status, covered, action", [
    (domain.CONSENT_PENDING, True, domain.OFFER),
    (domain.CONSENT_PENDING, False, None),
    (domain.AWAITING_ACCEPTANCE, False, domain.BACK_TO_CONSENT),
    (domain.AWAITING_ACCEPTANCE, True, None),
    (domain.ACCEPTED, False, domain.CHECK_APPLICATION),
    (domain.ACCEPTED, True, None),
    *[(ended, covered, None) for ended in sorted(domain.TERMINAL_STATES)
      for covered in (True, False)],
])
def test_what_consent_asks_of_a_handover_in_each_state(status, covered, action):
    assert domain.consent_action(status, covered) == action


def test_every_consent_action_is_an_allowed_transition():
    assert domain.transition(domain.CONSENT_PENDING, domain.AWAITING_ACCEPTANCE)
    assert domain.transition(domain.AWAITING_ACCEPTANCE, domain.CONSENT_PENDING)
    assert domain.transition(domain.ACCEPTED, domain.CANCELLED)  # the logs service refused


@pytest.mark.parametrize("status, shown", [
    (domain.AWAITING_ACCEPTANCE, True), (domain.ACCEPTED, True), (domain.COMPLETED, True),
    (domain.DECLINED, False), (domain.CANCELLED, False), (domain.EXPIRED, False)])
def test_the_receiver_sees_the_summary_while_it_is_theirs_and_as_the_record(status, shown):
    assert domain.shows_summary(domain.RECEIVER, handover(status=status, completed_at=NOW),
                                NOW + timedelta(days=400), 30) is shown


def test_the_requester_sees_the_summary_through_the_grace_period():
    done = handover(status=domain.COMPLETED, completed_at=NOW.replace(tzinfo=None))
    assert domain.shows_summary(domain.REQUESTER, done, NOW + timedelta(days=30), 30)
    assert not domain.shows_summary(domain.REQUESTER, done, NOW + timedelta(days=31), 30)
    assert not domain.shows_summary(domain.REQUESTER, done, NOW + timedelta(seconds=1), 0)
    assert domain.shows_summary(domain.REQUESTER, handover(status=domain.CONSENT_PENDING),
                                NOW, 0)
    assert not domain.shows_summary(domain.CONSENTING_PARTY, handover(), NOW, 30)


def test_the_application_is_for_an_accepted_handover():
    with pytest.raises(Conflict):
        domain.application(handover(), 30)
    accepted = handover(status=domain.ACCEPTED, new_stafettholder_person_id="s-2",
                        receiving_person_ids=["s-6", "s-2", "s-6"])
    application = domain.application(accepted, 0)
    assert application == domain.Application("log-1", "h-1", "s-2", ["s-2", "s-6"], 0)


# -- what the viewer may do: can_* flags (issue 13, point 3) -----------------------------------

@pytest.mark.parametrize("role, status, may", [
    (domain.RECEIVER, domain.AWAITING_ACCEPTANCE, {"can_accept", "can_decline"}),
    (domain.RECEIVER, domain.ACCEPTED, set()),
    (domain.REQUESTER, domain.CONSENT_PENDING, {"can_cancel"}),
    (domain.REQUESTER, domain.AWAITING_ACCEPTANCE, {"can_cancel"}),
    (domain.REQUESTER, domain.ACCEPTED, set()),   # the receiver has taken it
    (domain.CONSENTING_PARTY, domain.CONSENT_PENDING, {"can_consent"}),
    (domain.CONSENTING_PARTY, domain.AWAITING_ACCEPTANCE, set()),
    *((role, status, set()) for role in (domain.RECEIVER, domain.REQUESTER,
                                         domain.CONSENTING_PARTY)
      for status in sorted(domain.TERMINAL_STATES)),
])
def test_the_flags_follow_the_part_and_the_state(role, status, may):
    flags = domain.permissions(role, handover(status=status))
    assert {name for name, allowed in flags.items()
            if allowed and name.startswith("can_")} == may


def test_each_view_carries_the_flags_of_its_viewer():
    offered = handover(status=domain.AWAITING_ACCEPTANCE, summary=None)
    seen = {role: handover_view(offered, role, now=NOW, grace_days=30, child=lambda: None)
            for role in (domain.RECEIVER, domain.REQUESTER, domain.CONSENTING_PARTY)}
    assert (seen[domain.RECEIVER]["can_accept"], seen[domain.RECEIVER]["can_cancel"]) == (
        True, False)
    assert (seen[domain.REQUESTER]["can_accept"], seen[domain.REQUESTER]["can_cancel"]) == (
        False, True)
    assert seen[domain.CONSENTING_PARTY] == {**seen[domain.CONSENTING_PARTY],
                                             "can_consent": False}
    assert "can_accept" not in seen[domain.CONSENTING_PARTY]
    assert seen[domain.REQUESTER]["direct_role"] is True
    assert seen[domain.RECEIVER]["direct_role"] is False  # not before it has accepted
