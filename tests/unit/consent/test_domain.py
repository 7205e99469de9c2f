"""Unit tests for services.consent.domain: validity, scope, coverage, who consents, approvals,
signatories, overlap and expiry."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from services.consent import domain, events
from services.consent.domain import ConsentPolicy
from stafett.actor import CITIZEN, SERVICE, STAFF, SYSTEM, Actor
from stafett.coverage import Coverage
from stafett.errors import (Conflict, Forbidden, NotFound, PreconditionFailed,
                            PreconditionRequired, ValidationFailed)

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


def test_require_staff_passes_for_staff():
    assert domain.require_staff(Actor(kind=STAFF, person_id="s1", agency="974760673")) is None


@pytest.mark.parametrize("actor", [
    None,
    Actor(kind=STAFF, person_id=None, agency="974760673"),
    Actor(kind=SYSTEM, agency="974760673"),
    citizen(),
    Actor(kind=SERVICE),
])
def test_require_staff_refuses_everyone_else_with_not_found(actor):
    with pytest.raises(NotFound):
        domain.require_staff(actor)


def test_require_agency_admin_passes_for_admin_of_that_agency():
    admin = Actor(kind=STAFF, person_id="s1", agency="974760673", roles=("agency_admin",))
    assert domain.require_agency_admin(admin, "974760673") is None


@pytest.mark.parametrize("actor", [
    Actor(kind=STAFF, person_id="s1", agency="971526920", roles=("agency_admin",)),
    Actor(kind=STAFF, person_id="s1", agency="974760673", roles=("teacher",)),
])
def test_require_agency_admin_refuses_others_with_forbidden(actor):
    with pytest.raises(Forbidden):
        domain.require_agency_admin(actor, "974760673")


def test_require_agency_admin_not_staff_is_not_found():
    with pytest.raises(NotFound):
        domain.require_agency_admin(citizen(), "974760673")


# --- policy ----------------------------------------------------------------------------------

def test_policy_defaults():
    policy = ConsentPolicy()
    assert (policy.default_days, policy.max_days, policy.youth_age, policy.guardians,
            policy.expiring_days) == (365, 1095, 15, domain.ANY_GUARDIAN, 30)


def test_policy_from_empty_config_uses_defaults():
    assert ConsentPolicy.from_config({}) == ConsentPolicy()


def test_policy_from_config_reads_consent_keys():
    policy = ConsentPolicy.from_config({
        "CONSENT_DEFAULT_DAYS": "90", "CONSENT_MAX_DAYS": 400, "CONSENT_YOUTH_AGE": "16",
        "CONSENT_GUARDIANS": "all", "CONSENT_EXPIRING_DAYS": 14, "OTHER_KEY": "ignored"})
    assert policy == ConsentPolicy(default_days=90, max_days=400, youth_age=16,
                                   guardians=domain.ALL_GUARDIANS, expiring_days=14)


# --- coverage: the decision sent to the other services -----------------------------------------

def row(status="active", agencies=(), types=(), start=-10, end=100, id="k-1"):
    return SimpleNamespace(id=id, status=status, method="digital",
                           scope_agencies=list(agencies), scope_agency_types=list(types),
                           valid_from=TODAY + timedelta(days=start),
                           valid_until=TODAY + timedelta(days=end))


@pytest.mark.parametrize("consent, covered", [
    (row(agencies=["974760673"]), True),
    (row(types=["school"]), True),
    (row(agencies=["912345678"], types=["ppt"]), False),
    (row(status="pending", agencies=["974760673"]), False),
    (row(status="withdrawn", agencies=["974760673"]), False),
    (row(status="superseded", agencies=["974760673"]), False),
    (row(agencies=["974760673"], start=1), False),             # not yet in force
    (row(agencies=["974760673"], start=0), True),              # its first day
    (row(agencies=["974760673"], start=-100, end=0), True),    # its last day
    (row(agencies=["974760673"], start=-100, end=-1), False),  # past its last day
])
def test_the_decision_each_consent_sends(consent, covered):
    decision = domain.coverage_of(consent)
    assert decision.covers("974760673", "school", TODAY) is covered
    # as the other services receive it: data, the same answer after the trip
    sent = events.consent_data(consent)["coverage"]
    assert Coverage.from_data(sent) == decision
    assert Coverage.from_data(sent).covers("974760673", "school", TODAY) is covered


def test_a_child_s_consents_together():
    both = domain.child_coverage([row(agencies=["974760673"], end=-1),
                                  row(types=["ppt"], start=-1, id="k-2")])
    assert not both.covers("974760673", "school", TODAY)
    assert both.covers("971526920", "ppt", TODAY)
    assert both.covers("974760673", "school", TODAY - timedelta(days=1))


HIGH, SUBSTANTIAL = "idporten-loa-high", "idporten-loa-substantial"


def test_assurance_is_decided_here_per_kind_of_citizen():
    """``Actor.assured``, which the logs and handover services read instead of the acr."""
    default = ConsentPolicy()
    assert domain.assured("guardian", HIGH, default) and domain.assured("child", HIGH, default)
    assert not domain.assured("guardian", SUBSTANTIAL, default)
    assert not domain.assured("child", SUBSTANTIAL, default)
    assert not domain.assured("guardian", None, default)
    assert not domain.assured("staff", HIGH, default)
    guardians_lower = ConsentPolicy.from_config({"CONSENT_CITIZEN_ACR": f"{HIGH},{SUBSTANTIAL}"})
    assert domain.assured("guardian", SUBSTANTIAL, guardians_lower)
    assert not domain.assured("child", SUBSTANTIAL, guardians_lower)
    child_lower = ConsentPolicy.from_config({"CONSENT_CHILD_ACR": f"{HIGH}, {SUBSTANTIAL}"})
    assert domain.assured("child", SUBSTANTIAL, child_lower)
    assert not domain.assured("guardian", SUBSTANTIAL, child_lower)
    # deciding consent keeps the citizen level: a child let in lower still consents at high
    youth = Actor(kind=CITIZEN, person_id="y-1", acr=SUBSTANTIAL, assured=True)
    with pytest.raises(Forbidden):
        domain.require_citizen_high(youth, child_lower)


def test_paper_replaces_only_paper_of_the_same_agency():
    paper, digital = SimpleNamespace(method="paper"), SimpleNamespace(method="digital")
    domain.check_paper_may_replace(None, None, "912345678")
    domain.check_paper_may_replace(paper, "912345678", "912345678")
    with pytest.raises(Forbidden):
        domain.check_paper_may_replace(paper, "974760673", "912345678")
    with pytest.raises(Forbidden):
        domain.check_paper_may_replace(digital, None, "912345678")


def test_the_accepted_citizen_levels_are_configurable():
    citizen = Actor(kind=CITIZEN, person_id="p", acr="idporten-loa-substantial")
    with pytest.raises(Forbidden, match="idporten-loa-high"):
        domain.require_citizen_high(citizen, ConsentPolicy.from_config({}))
    both = ConsentPolicy.from_config(
        {"CONSENT_CITIZEN_ACR": "idporten-loa-substantial, idporten-loa-high"})
    assert both.citizen_acr == ("idporten-loa-substantial", "idporten-loa-high")
    domain.require_citizen_high(citizen, both)
    with pytest.raises(Forbidden):
        domain.require_citizen_high(Actor(kind=CITIZEN, person_id="p", acr="low"), both)


@pytest.mark.parametrize("value", ["both", "ALL", "", "one"])
def test_policy_from_config_rejects_unknown_guardians_policy(value):
    with pytest.raises(ValueError, match="CONSENT_GUARDIANS"):
        ConsentPolicy.from_config({"CONSENT_GUARDIANS": value})


# --- who consents ----------------------------------------------------------------------------

CHILD, G1, G2 = "child-1", "guardian-1", "guardian-2"
GUARDIANS = [G1, G2]
ANY = ConsentPolicy(guardians=domain.ANY_GUARDIAN)
ALL = ConsentPolicy(guardians=domain.ALL_GUARDIANS)


@pytest.mark.parametrize("youth_age", [15, 16])
def test_consenting_party_birthday_today_is_youth(youth_age):
    born = date(TODAY.year - youth_age, TODAY.month, TODAY.day)
    policy = ConsentPolicy(youth_age=youth_age)
    assert domain.consenting_party(born, TODAY, policy) == domain.YOUTH


@pytest.mark.parametrize("youth_age", [15, 16])
def test_consenting_party_day_before_birthday_is_guardians(youth_age):
    born = date(TODAY.year - youth_age, TODAY.month, TODAY.day)
    policy = ConsentPolicy(youth_age=youth_age)
    assert domain.consenting_party(born, TODAY - timedelta(days=1), policy) == domain.GUARDIANS


@pytest.mark.parametrize("youth_age", [15, 16])
def test_consenting_party_well_above_and_below(youth_age):
    policy = ConsentPolicy(youth_age=youth_age)
    assert domain.consenting_party(date(2000, 1, 1), TODAY, policy) == domain.YOUTH
    assert domain.consenting_party(date(2020, 1, 1), TODAY, policy) == domain.GUARDIANS


def test_consenting_party_youth_age_16_keeps_a_15_year_old_with_the_guardians():
    born = date(TODAY.year - 15, TODAY.month, TODAY.day)
    assert domain.consenting_party(born, TODAY, ConsentPolicy(youth_age=16)) == domain.GUARDIANS
    assert domain.consenting_party(born, TODAY, ConsentPolicy(youth_age=15)) == domain.YOUTH


def test_consenting_party_born_29_february():
    born = date(2008, 2, 29)  # 15 in 2023, a common year
    policy = ConsentPolicy(youth_age=15)
    assert domain.consenting_party(born, date(2023, 2, 28), policy) == domain.GUARDIANS
    assert domain.consenting_party(born, date(2023, 3, 1), policy) == domain.YOUTH


def test_consenting_party_born_29_february_in_a_leap_year():
    born = date(2012, 2, 29)  # 16 in 2028, a leap year
    policy = ConsentPolicy(youth_age=16)
    assert domain.consenting_party(born, date(2028, 2, 28), policy) == domain.GUARDIANS
    assert domain.consenting_party(born, date(2028, 2, 29), policy) == domain.YOUTH


def test_parties_who_consent():
    assert domain.parties_who_consent(domain.YOUTH, CHILD, GUARDIANS) == {CHILD}
    assert domain.parties_who_consent(domain.GUARDIANS, CHILD, GUARDIANS) == {G1, G2}


@pytest.mark.parametrize("guardian", GUARDIANS)
@pytest.mark.parametrize("policy", [ANY, ALL])
def test_check_may_consent_guardian_below_the_age(guardian, policy):
    assert domain.check_may_consent(guardian, domain.GUARDIANS, CHILD, GUARDIANS, policy) is None


@pytest.mark.parametrize("policy", [ANY, ALL])
def test_check_may_consent_youth_at_or_above_the_age(policy):
    assert domain.check_may_consent(CHILD, domain.YOUTH, CHILD, GUARDIANS, policy) is None


@pytest.mark.parametrize("youth_age", [15, 16])
@pytest.mark.parametrize("person, party", [(G1, domain.YOUTH), (CHILD, domain.GUARDIANS)],
                         ids=["guardian-of-a-youth", "child-below-the-age"])
def test_check_may_consent_the_other_party_is_forbidden_naming_the_age(person, party,
                                                                        youth_age):
    with pytest.raises(Forbidden) as caught:
        domain.check_may_consent(person, party, CHILD, GUARDIANS,
                                 ConsentPolicy(youth_age=youth_age))
    assert str(youth_age) in caught.value.detail
    assert caught.value.status == 403


@pytest.mark.parametrize("party", [domain.YOUTH, domain.GUARDIANS])
def test_check_may_consent_stranger_is_not_found(party):
    with pytest.raises(NotFound) as caught:
        domain.check_may_consent("stranger", party, CHILD, GUARDIANS, ANY)
    assert caught.value.status == 404


def test_check_may_consent_without_guardians_nobody_but_the_child_is_known():
    with pytest.raises(NotFound):
        domain.check_may_consent(G1, domain.GUARDIANS, CHILD, [], ANY)


# --- approvals -------------------------------------------------------------------------------

def status(party, approvals, policy, guardians=GUARDIANS):
    return domain.status_after_approvals(party, set(approvals), CHILD, guardians, policy)


@pytest.mark.parametrize("approvals", [{G1}, {G2}, {G1, G2}])
def test_status_any_one_guardian_activates(approvals):
    assert status(domain.GUARDIANS, approvals, ANY) == domain.ACTIVE


def test_status_any_no_approval_is_pending():
    assert status(domain.GUARDIANS, set(), ANY) == domain.PENDING


def test_status_any_stranger_approval_does_not_activate():
    assert status(domain.GUARDIANS, {"stranger"}, ANY) == domain.PENDING


@pytest.mark.parametrize("approvals", [{G1}, {G2}, set(), {G1, "stranger"}])
def test_status_all_needs_every_guardian(approvals):
    assert status(domain.GUARDIANS, approvals, ALL) == domain.PENDING


def test_status_all_both_guardians_activate():
    assert status(domain.GUARDIANS, {G1, G2}, ALL) == domain.ACTIVE


def test_status_all_single_guardian_child_is_active_on_that_approval():
    assert status(domain.GUARDIANS, {G1}, ALL, guardians=[G1]) == domain.ACTIVE


@pytest.mark.parametrize("policy", [ANY, ALL])
def test_status_no_guardians_never_activates(policy):
    assert status(domain.GUARDIANS, set(), policy, guardians=[]) == domain.PENDING


@pytest.mark.parametrize("policy", [ANY, ALL])
def test_status_youth_active_on_own_approval(policy):
    assert status(domain.YOUTH, {CHILD}, policy) == domain.ACTIVE


@pytest.mark.parametrize("policy", [ANY, ALL])
@pytest.mark.parametrize("approvals", [{G1}, {G1, G2}, set()])
def test_status_guardian_approval_never_activates_a_youth_consent(policy, approvals):
    assert status(domain.YOUTH, approvals, policy) == domain.PENDING


# --- signatories -----------------------------------------------------------------------------

def signed(signed_by, party, policy, guardians=GUARDIANS):
    return domain.check_signatories(signed_by, party, CHILD, guardians, policy)


def assert_signatories_refused(signed_by, party, policy, who):
    with pytest.raises(ValidationFailed) as caught:
        signed(signed_by, party, policy)
    assert caught.value.errors == {
        "paper.signed_by": [f"must be signed by {who} (and no one else)"]}


@pytest.mark.parametrize("signed_by", [[G1], [G2], [G1, G2]])
def test_signatories_any_one_guardian_suffices(signed_by):
    assert signed(signed_by, domain.GUARDIANS, ANY) is None


def test_signatories_all_every_guardian_passes():
    assert signed([G2, G1], domain.GUARDIANS, ALL) is None


def test_signatories_duplicates_are_harmless():
    assert signed([G1, G1, G2], domain.GUARDIANS, ALL) is None


@pytest.mark.parametrize("signed_by", [[G1], [G2]])
def test_signatories_all_one_guardian_is_refused(signed_by):
    assert_signatories_refused(signed_by, domain.GUARDIANS, ALL, "every guardian")


def test_signatories_none_is_refused():
    assert_signatories_refused([], domain.GUARDIANS, ANY, "a guardian")


@pytest.mark.parametrize("policy, who", [(ANY, "a guardian"), (ALL, "every guardian")])
def test_signatories_stranger_is_refused_even_with_guardians(policy, who):
    assert_signatories_refused([G1, G2, "stranger"], domain.GUARDIANS, policy, who)


def test_signatories_child_below_the_age_is_a_stranger():
    assert_signatories_refused([G1, CHILD], domain.GUARDIANS, ANY, "a guardian")


@pytest.mark.parametrize("policy", [ANY, ALL])
def test_signatories_youth_form_signed_by_the_youth(policy):
    assert signed([CHILD], domain.YOUTH, policy) is None


@pytest.mark.parametrize("policy", [ANY, ALL])
@pytest.mark.parametrize("signed_by", [[G1], [G1, G2], [CHILD, G1], []])
def test_signatories_youth_form_must_be_signed_by_the_youth_alone(policy, signed_by):
    assert_signatories_refused(signed_by, domain.YOUTH, policy, "the youth")


# --- overlap ---------------------------------------------------------------------------------

def open_consent(id, valid_from, valid_until, status=domain.ACTIVE):
    return SimpleNamespace(id=id, valid_from=valid_from, valid_until=valid_until, status=status)


D = date(2025, 6, 1)
EXISTING = open_consent("c-old", D, D + timedelta(days=99))  # 1 Jun .. 8 Sep inclusive


@pytest.mark.parametrize("start, end", [
    (D - timedelta(days=10), D),                                  # ends on its first day
    (D + timedelta(days=99), D + timedelta(days=200)),            # starts on its last day
    (D + timedelta(days=10), D + timedelta(days=20)),             # inside
    (D - timedelta(days=10), D + timedelta(days=200)),            # around
    (D, D + timedelta(days=99)),                                  # identical
])
def test_overlap_conflicts(start, end):
    with pytest.raises(Conflict) as caught:
        domain.check_no_overlap(start, end, [EXISTING], None)
    assert "supersedes" in caught.value.detail
    assert caught.value.status == 409


def test_overlap_with_a_pending_consent_conflicts():
    pending = open_consent("c-pending", D, D + timedelta(days=99), status=domain.PENDING)
    with pytest.raises(Conflict):
        domain.check_no_overlap(D + timedelta(days=5), D + timedelta(days=50), [pending], None)


def test_overlap_adjacent_after_is_allowed():
    start = EXISTING.valid_until + timedelta(days=1)
    assert domain.check_no_overlap(start, start + timedelta(days=30), [EXISTING], None) is None


def test_overlap_adjacent_before_is_allowed():
    end = EXISTING.valid_from - timedelta(days=1)
    assert domain.check_no_overlap(end - timedelta(days=30), end, [EXISTING], None) is None


def test_overlap_no_open_consents_is_allowed():
    assert domain.check_no_overlap(D, D + timedelta(days=10), [], None) is None


def test_overlap_superseding_the_overlapping_one_is_allowed():
    assert domain.check_no_overlap(D + timedelta(days=10), D + timedelta(days=300),
                                   [EXISTING], "c-old") is None


def test_overlap_superseding_one_does_not_excuse_another():
    other = open_consent("c-other", D + timedelta(days=150), D + timedelta(days=250))
    with pytest.raises(Conflict):
        domain.check_no_overlap(D + timedelta(days=10), D + timedelta(days=200),
                                [EXISTING, other], "c-old")


def test_overlap_supersedes_not_open_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        domain.check_no_overlap(D + timedelta(days=200), D + timedelta(days=300),
                                [EXISTING], "c-withdrawn")
    assert caught.value.errors == {"supersedes": ["not an open consent of this child"]}


def test_overlap_supersedes_with_no_open_consents_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        domain.check_no_overlap(D, D + timedelta(days=10), [], "c-old")
    assert set(caught.value.errors) == {"supersedes"}


def test_overlap_superseding_a_non_overlapping_open_one_is_allowed():
    start = EXISTING.valid_until + timedelta(days=1)
    assert domain.check_no_overlap(start, start + timedelta(days=5), [EXISTING], "c-old") is None


@pytest.mark.parametrize("start, end, expected", [
    (date(2025, 1, 1), date(2025, 1, 31), True),    # same period
    (date(2024, 12, 1), date(2025, 1, 1), True),    # touches the first day
    (date(2025, 1, 31), date(2025, 3, 1), True),    # touches the last day
    (date(2025, 1, 10), date(2025, 1, 10), True),   # a single day inside
    (date(2024, 12, 1), date(2024, 12, 31), False),  # ends the day before
    (date(2025, 2, 1), date(2025, 3, 1), False),     # starts the day after
])
def test_overlaps_boundaries(start, end, expected):
    assert domain.overlaps(start, end, date(2025, 1, 1), date(2025, 1, 31)) is expected
    assert domain.overlaps(date(2025, 1, 1), date(2025, 1, 31), start, end) is expected


# --- in force --------------------------------------------------------------------------------

@pytest.mark.parametrize("today, status_, expected", [
    (D, domain.ACTIVE, True),
    (D + timedelta(days=99), domain.ACTIVE, True),
    (D - timedelta(days=1), domain.ACTIVE, False),
    (D + timedelta(days=100), domain.ACTIVE, False),
    (D + timedelta(days=5), domain.PENDING, False),
    (D + timedelta(days=5), domain.WITHDRAWN, False),
])
def test_is_in_force(today, status_, expected):
    consent = open_consent("c", D, D + timedelta(days=99), status=status_)
    assert domain.is_in_force(consent, today) is expected


# --- expiry ----------------------------------------------------------------------------------

UNTIL = date(2025, 9, 30)
WARNED = datetime(2025, 9, 1, 8, 0, tzinfo=timezone.utc)
EXPIRY_POLICY = ConsentPolicy(expiring_days=30)


def expiring(status=domain.ACTIVE, notified=None, valid_until=UNTIL):
    return SimpleNamespace(id="c-1", status=status, valid_from=valid_until - timedelta(days=365),
                           valid_until=valid_until, expiring_notified_at=notified)


@pytest.mark.parametrize("today, expected", [
    (UNTIL + timedelta(days=1), domain.EXPIRE),   # the day after the last valid day
    (UNTIL + timedelta(days=40), domain.EXPIRE),
    (UNTIL, domain.WARN),                          # the last valid day: not expired yet
    (UNTIL - timedelta(days=1), domain.WARN),
    (UNTIL - timedelta(days=30), domain.WARN),     # first day of the warning window
    (UNTIL - timedelta(days=31), None),            # one day too early
    (UNTIL - timedelta(days=200), None),
])
def test_expiry_action_boundaries_not_yet_warned(today, expected):
    assert domain.expiry_action(expiring(), today, EXPIRY_POLICY) == expected


@pytest.mark.parametrize("today, expected", [
    (UNTIL, None),
    (UNTIL - timedelta(days=30), None),
    (UNTIL + timedelta(days=1), domain.EXPIRE),  # warned consents still expire
])
def test_expiry_action_already_warned(today, expected):
    assert domain.expiry_action(expiring(notified=WARNED), today, EXPIRY_POLICY) == expected


def test_expiry_action_window_follows_the_policy():
    policy = ConsentPolicy(expiring_days=7)
    assert domain.expiry_action(expiring(), UNTIL - timedelta(days=7), policy) == domain.WARN
    assert domain.expiry_action(expiring(), UNTIL - timedelta(days=8), policy) is None


def test_expiry_action_pending_past_its_end_expires():
    consent = expiring(status=domain.PENDING)
    assert domain.expiry_action(consent, UNTIL + timedelta(days=1), EXPIRY_POLICY) == domain.EXPIRE


@pytest.mark.parametrize("today", [UNTIL, UNTIL - timedelta(days=30)])
def test_expiry_action_pending_is_never_warned(today):
    assert domain.expiry_action(expiring(status=domain.PENDING), today, EXPIRY_POLICY) is None


@pytest.mark.parametrize("status_", [domain.WITHDRAWN, domain.EXPIRED, domain.SUPERSEDED])
@pytest.mark.parametrize("today", [UNTIL - timedelta(days=10), UNTIL + timedelta(days=1)])
def test_expiry_action_closed_consents_are_left_alone(status_, today):
    assert domain.expiry_action(expiring(status=status_), today, EXPIRY_POLICY) is None


# --- a consent's own behaviour (plain objects: no table, no session) -----------------------

class PlainConsent(domain.ConsentBehaviour):
    """The behaviour on an object that is not the table's row: the rules need no ORM."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


NOW = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)
GUARDIANS_OF = ["g-1", "g-2"]
ALL_POLICY = ConsentPolicy(guardians=domain.ALL_GUARDIANS)


def plain(status=domain.ACTIVE, version=3, **fields):
    values = dict(id="c-1", child_id="k-1", consenting_party=domain.GUARDIANS, status=status,
                  version=version, granted_by=["g-1"], valid_from=TODAY - timedelta(days=5),
                  valid_until=TODAY + timedelta(days=300), ended_at=None, ended_by=None,
                  scope_agencies=["974760673"], scope_agency_types=[], recorded_by=None)
    values.update(fields)
    return PlainConsent(**values)


def grant_data(**fields):
    data = {"paper": None, "scope": {"agencies": ["974760673"], "agency_types": ["ppt"]},
            "purpose": "Samarbeid", "valid_from": None, "valid_until": None,
            "supersedes": None}
    data.update(fields)
    return data


def test_withdraw_ends_an_active_consent_and_bumps_its_version():
    consent = plain()
    assert consent.withdraw("citizen:g-1", NOW) is True  # it was active: coverage ends
    assert (consent.status, consent.ended_at, consent.ended_by, consent.version) == (
        domain.WITHDRAWN, NOW, "citizen:g-1", 4)


def test_withdraw_of_a_pending_consent_says_it_covered_no_one():
    consent = plain(status=domain.PENDING)
    assert consent.withdraw("citizen:g-1", NOW) is False
    assert consent.status == domain.WITHDRAWN


def test_withdraw_takes_the_current_version_and_needs_none():
    assert plain(version=3).withdraw("citizen:g-1", NOW, expected_version="3") is True
    assert plain(version=3).withdraw("citizen:g-1", NOW, expected_version=None) is True


def test_withdraw_refuses_a_stale_version_and_changes_nothing():
    consent = plain(version=3)
    with pytest.raises(PreconditionFailed):
        consent.withdraw("citizen:g-1", NOW, expected_version=2)
    assert (consent.status, consent.version, consent.ended_at) == (domain.ACTIVE, 3, None)


@pytest.mark.parametrize("status", [domain.WITHDRAWN, domain.EXPIRED, domain.SUPERSEDED])
def test_withdraw_of_an_ended_consent_is_a_conflict(status):
    consent = plain(status=status)
    with pytest.raises(Conflict) as caught:
        consent.withdraw("citizen:g-1", NOW)
    assert caught.value.code == "consent.already_ended"
    assert consent.version == 3


def test_the_version_is_checked_before_the_state():
    """A stale If-Match on an ended consent: 412 (read again), as before, not 409."""
    with pytest.raises(PreconditionFailed):
        plain(status=domain.WITHDRAWN).withdraw("citizen:g-1", NOW, expected_version=1)


def test_supersede_and_expire_end_it_by_whom_they_say():
    superseded, expired = plain(), plain(status=domain.PENDING)
    assert superseded.supersede("citizen:g-2", NOW) is True
    assert expired.expire(NOW) is False
    assert (superseded.status, superseded.ended_by, superseded.version) == (
        domain.SUPERSEDED, "citizen:g-2", 4)
    assert (expired.status, expired.ended_by, expired.version) == (
        domain.EXPIRED, domain.EXPIRED_BY, 4)


def test_approve_requires_if_match():
    consent = plain(status=domain.PENDING)
    with pytest.raises(PreconditionRequired):
        consent.approve("g-2", GUARDIANS_OF, ALL_POLICY, TODAY, expected_version=None)
    assert consent.granted_by == ["g-1"] and consent.version == 3


def test_approve_refuses_a_stale_version():
    with pytest.raises(PreconditionFailed):
        plain(status=domain.PENDING).approve("g-2", GUARDIANS_OF, ALL_POLICY, TODAY, 2)


def test_approve_of_a_consent_no_longer_pending_is_a_conflict():
    with pytest.raises(Conflict) as caught:
        plain(status=domain.ACTIVE).approve("g-2", GUARDIANS_OF, ALL_POLICY, TODAY, 3)
    assert caught.value.code == "consent.not_pending"


def test_the_last_guardian_s_approval_activates_it_from_today():
    consent = plain(status=domain.PENDING)
    assert consent.approve("g-2", GUARDIANS_OF, ALL_POLICY, TODAY, "3") is True
    assert (consent.status, consent.granted_by, consent.version, consent.valid_from) == (
        domain.ACTIVE, ["g-1", "g-2"], 4, TODAY)


def test_an_approval_short_of_all_guardians_leaves_it_pending_with_its_start():
    consent = plain(status=domain.PENDING, granted_by=[],
                    valid_from=TODAY + timedelta(days=3))
    assert consent.approve("g-1", GUARDIANS_OF, ALL_POLICY, TODAY, 3) is False
    assert (consent.status, consent.version, consent.valid_from) == (
        domain.PENDING, 4, TODAY + timedelta(days=3))


def test_a_digital_grant_is_approved_by_the_citizen_who_gives_it():
    period = (TODAY, TODAY + timedelta(days=30))
    one = PlainConsent.grant("c-9", "k-1", domain.GUARDIANS, grant_data(), citizen("g-1"),
                             GUARDIANS_OF, period, POLICY, NOW)
    everyone = PlainConsent.grant("c-9", "k-1", domain.GUARDIANS, grant_data(),
                                  citizen("g-1"), GUARDIANS_OF, period, ALL_POLICY, NOW)
    assert (one.status, one.method, one.granted_by, one.recorded_by, one.version) == (
        domain.ACTIVE, "digital", ["g-1"], None, 1)
    assert everyone.status == domain.PENDING  # the all-guardians policy waits for g-2


def test_a_paper_grant_is_approved_by_its_signatories_and_names_its_recorder():
    staff = Actor(kind=STAFF, person_id="s-1", agency="974760673", agency_type="school")
    data = grant_data(paper={"kind": "signed_form", "reference": "A-1",
                             "signed_by": ["g-2", "g-1"]})
    consent = PlainConsent.grant("c-9", "k-1", domain.GUARDIANS, data, staff, GUARDIANS_OF,
                                 (TODAY, TODAY + timedelta(days=30)), ALL_POLICY, NOW)
    assert (consent.status, consent.method, consent.granted_by, consent.recorded_by,
            consent.paper_kind, consent.paper_reference) == (
        domain.ACTIVE, "paper", ["g-1", "g-2"], "s-1", "signed_form", "A-1")


# --- may it be granted -------------------------------------------------------------------

SCHOOL_STAFF = Actor(kind=STAFF, person_id="s-1", agency="974760673", agency_type="school")


def check_grant(data, staff=None, open_consents=(), agency_of=lambda person_id: None):
    return domain.check_grant(data, staff, domain.GUARDIANS, "k-1", GUARDIANS_OF, KNOWN,
                              list(open_consents), agency_of, TODAY, POLICY)


def test_check_grant_answers_the_validity_period():
    assert check_grant(grant_data()) == (TODAY, TODAY + timedelta(days=365))


def test_staff_record_only_a_paper_form():
    with pytest.raises(ValidationFailed) as caught:
        check_grant(grant_data(), staff=SCHOOL_STAFF)
    assert caught.value.code == "consent.paper_required"


def test_staff_record_only_for_their_own_agency():
    data = grant_data(scope={"agencies": ["971526920"], "agency_types": []},
                      paper={"kind": "signed_form", "reference": "A", "signed_by": ["g-1"]})
    with pytest.raises(ValidationFailed) as caught:
        check_grant(data, staff=SCHOOL_STAFF)
    assert caught.value.code == "consent.scope_misses_own_agency"


def test_staff_do_not_replace_another_agency_s_paper_form():
    replaced = plain(id="c-0", method="paper", recorded_by="s-9",
                     valid_from=TODAY, valid_until=TODAY + timedelta(days=10))
    data = grant_data(supersedes="c-0",
                      paper={"kind": "signed_form", "reference": "A", "signed_by": ["g-1"]})
    with pytest.raises(Forbidden) as caught:
        check_grant(data, staff=SCHOOL_STAFF, open_consents=[replaced],
                    agency_of={"s-9": "971526920"}.get)
    assert caught.value.code == "consent.paper_changed_by_recording_agency"
    assert check_grant(data, staff=SCHOOL_STAFF, open_consents=[replaced],
                       agency_of={"s-9": "974760673"}.get)[0] == TODAY


# --- who needs to know -------------------------------------------------------------------

def asked(answer):
    """``takes_part`` as the logs service answers it, remembering that it was asked."""
    calls = []

    def takes_part():
        calls.append(1)
        return answer
    return takes_part, calls


def test_staff_of_a_covered_agency_who_take_part_need_to_know():
    takes_part, calls = asked(True)
    assert domain.staff_need_to_know(SCHOOL_STAFF, [plain()], TODAY, takes_part) is True
    assert calls == [1]


def test_staff_of_a_covered_agency_who_do_not_take_part_do_not():
    takes_part, _ = asked(False)
    assert domain.staff_need_to_know(SCHOOL_STAFF, [plain()], TODAY, takes_part) is False


def test_the_recorder_of_an_open_paper_form_needs_to_know_without_asking_logs():
    takes_part, calls = asked(False)
    consents = [plain(recorded_by="s-1", method="paper")]
    assert domain.staff_need_to_know(SCHOOL_STAFF, consents, TODAY, takes_part) is True
    assert calls == []


@pytest.mark.parametrize("consent", [
    plain(status=domain.PENDING),                                     # not in force
    plain(valid_from=TODAY + timedelta(days=1)),                      # not yet
    plain(valid_until=TODAY - timedelta(days=1)),                     # no longer
    plain(scope_agencies=["971526920"]),                              # another agency
], ids=["pending", "not-yet", "ended", "other-agency"])
def test_staff_outside_a_consent_in_force_are_not_asked_about(consent):
    takes_part, calls = asked(True)
    assert domain.staff_need_to_know(SCHOOL_STAFF, [consent], TODAY, takes_part) is False
    assert calls == []  # the logs service is not asked about someone with no cover


def test_coverage_ends_on_the_day_after_valid_until():
    last_day = plain(valid_until=TODAY)
    assert domain.covered_now([last_day], "974760673", "school", TODAY) is True
    assert domain.covered_now([last_day], "974760673", "school",
                              TODAY + timedelta(days=1)) is False


def test_citizens_never_need_to_know_as_staff():
    takes_part, _ = asked(True)
    assert domain.staff_need_to_know(citizen(), [plain()], TODAY, takes_part) is False


def test_a_guardian_reads_the_child_s_consents():
    assert domain.citizen_may_read(citizen("g-1"), "k-1", date(2015, 1, 1), GUARDIANS_OF,
                                   TODAY, POLICY) is True


def test_the_child_reads_its_own_from_the_policy_s_age():
    policy = ConsentPolicy(child_min_age=12)
    birthday = date(TODAY.year - 12, TODAY.month, TODAY.day)
    day_before = birthday + timedelta(days=1)
    assert domain.citizen_may_read(citizen("k-1"), "k-1", birthday, [], TODAY, policy) is True
    assert domain.citizen_may_read(citizen("k-1"), "k-1", day_before, [], TODAY,
                                   policy) is False


def test_a_stranger_does_not_read_and_a_low_level_is_refused():
    assert domain.citizen_may_read(citizen("x"), "k-1", date(2015, 1, 1), GUARDIANS_OF,
                                   TODAY, POLICY) is False
    with pytest.raises(Forbidden):
        domain.citizen_may_read(citizen("g-1", acr="idporten-loa-substantial"), "k-1",
                                date(2015, 1, 1), GUARDIANS_OF, TODAY, POLICY)


# --- the age rules: consent's alone (logs and handover take its answers) ------------------

@pytest.mark.parametrize("birth, sees", [
    (date(2013, 3, 10), True),    # 12 today (the default age)
    (date(2013, 3, 11), False),   # 12 tomorrow
    (date(2012, 2, 29), True),    # a leap-day birth is 13 on 1 March
    (None, False),                # no birth date known
])
def test_the_child_sees_its_own_case_from_its_birthday(birth, sees):
    assert domain.sees_own_case(birth, TODAY, ConsentPolicy()) is sees


def test_the_youth_consents_from_its_birthday():
    assert domain.consenting_party(date(2010, 3, 10), TODAY, ConsentPolicy()) == domain.YOUTH
    assert domain.consenting_party(date(2010, 3, 11), TODAY,
                                   ConsentPolicy()) == domain.GUARDIANS


# --- what the viewer may do: can_* flags (issue 13, point 3) -----------------------------------

def citizen_at(person_id, acr=HIGH):
    return Actor(kind=CITIZEN, person_id=person_id, acr=acr, assured=acr == HIGH)


def years_before(today, years):
    return date(today.year - years, 1, 1)


@pytest.mark.parametrize("actor, age, party, status, granted_by, may", [
    (citizen_at("g-1"), 10, domain.GUARDIANS, domain.ACTIVE, ["g-1"], {"can_withdraw"}),
    (citizen_at("g-2"), 10, domain.GUARDIANS, domain.PENDING, ["g-1"],
     {"can_withdraw", "can_approve"}),
    (citizen_at("g-1"), 10, domain.GUARDIANS, domain.PENDING, ["g-1"], {"can_withdraw"}),
    (citizen_at("g-1"), 10, domain.GUARDIANS, domain.WITHDRAWN, ["g-1"], set()),
    # the 13-year-old sees its consent, and may neither change nor withdraw it
    (citizen_at("c-1"), 13, domain.GUARDIANS, domain.ACTIVE, ["g-1"], set()),
    # from the consent age the youth alone
    (citizen_at("c-1"), 16, domain.YOUTH, domain.ACTIVE, ["c-1"], {"can_withdraw"}),
    (citizen_at("g-1"), 16, domain.YOUTH, domain.ACTIVE, ["c-1"], set()),
    (citizen_at("g-1", SUBSTANTIAL), 10, domain.GUARDIANS, domain.ACTIVE, ["g-1"], set()),
    (Actor(kind=STAFF, person_id="s-1", agency="974760673"), 10, domain.GUARDIANS,
     domain.ACTIVE, ["g-1"], set()),
    (None, 10, domain.GUARDIANS, domain.ACTIVE, ["g-1"], set()),
], ids=["guardian", "second-guardian-pending", "first-guardian-pending", "withdrawn",
        "child-13", "youth-16", "guardian-of-youth", "substantial", "staff", "nobody"])
def test_the_consent_view_tells_the_viewer_what_they_may_do(actor, age, party, status,
                                                             granted_by, may):
    consent = SimpleNamespace(child_id="c-1", consenting_party=party, status=status,
                              granted_by=granted_by)
    flags = domain.viewer_may(actor, consent, ["g-1", "g-2"], years_before(TODAY, age),
                              TODAY, ConsentPolicy())
    assert {name for name, allowed in flags.items() if allowed} == may


def test_the_flags_agree_with_the_check_that_guards_withdrawal():
    policy, guardians = ConsentPolicy(), ["g-1", "g-2"]
    for person_id in ("g-1", "c-1", "stranger"):
        for age in (10, 13, 16):
            born = years_before(TODAY, age)
            party = domain.consenting_party(born, TODAY, policy)
            try:
                domain.check_may_consent(person_id, party, "c-1", guardians, policy)
                passes = person_id != "c-1" or domain.sees_own_case(born, TODAY, policy)
            except (Forbidden, NotFound):
                passes = False
            assert domain.may_decide(citizen_at(person_id), party, "c-1", guardians, born,
                                     TODAY, policy) is passes, (person_id, age)
