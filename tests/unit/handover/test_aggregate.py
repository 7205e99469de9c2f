"""The ``Handover`` aggregate's rules on plain objects: no session, no services. The mapped
row is the aggregate (``models.Handover`` inherits ``domain.Handover``); built here with
its constructor only, it never touches a database."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from services.handover import domain
from services.handover.models import Handover
from stafett.actor import STAFF, Actor
from stafett.coverage import Coverage, Window
from stafett.errors import Conflict, ValidationFailed

SCHOOL, UPPER = "974760673", "971526920"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
TODAY = NOW.date()
RECEIVER = Actor(kind=STAFF, person_id="s-upper", agency=UPPER, agency_type="school")
TEACHER = Actor(kind=STAFF, person_id="s-teacher", agency=SCHOOL, agency_type="school")
DIRECTORY = {"s-upper": {"agency": UPPER}, "s-upper2": {"agency": UPPER},
             "s-teacher": {"agency": SCHOOL}}


def consent(*agencies) -> Coverage:
    """The consent service's decision: these agencies, from yesterday for a month."""
    return Coverage((Window(TODAY - timedelta(days=1), TODAY + timedelta(days=30),
                            frozenset(agencies), frozenset()),))


def handover(status=domain.AWAITING_ACCEPTANCE, **values) -> Handover:
    fields = dict(id="h-1", log_id="log-1", open_for_log="log-1", child_id="c-1",
                  from_agency=SCHOOL, from_agency_type="school", to_agency=UPPER,
                  to_agency_type="school", to_person_id=None, transition=domain.OTHER,
                  status=status, requested_by="person:s-teacher",
                  requested_by_person_id="s-teacher", consent_person_ids=["g-1"],
                  created_at=NOW, updated_at=NOW, expires_at=NOW + timedelta(days=14),
                  offered_at=NOW, apply_attempts=0, version=3)
    return Handover(**{**fields, **values})


def accept(h, holder="s-upper", participants=(), coverage=(UPPER,)):
    return h.accept(RECEIVER, holder, list(participants),
                    coverage=lambda: consent(*coverage), staff=DIRECTORY.get,
                    now=NOW + timedelta(hours=1), today=TODAY)


def test_a_request_is_offered_at_once_only_when_consent_covers_the_receiver():
    context = {"log_id": "log-1", "child_id": "c-1", "from_agency": SCHOOL}
    data = {"to_person_id": None, "transition": domain.OTHER, "note": None}
    receiver = {"org_number": UPPER, "type": "school"}
    made = {covered: Handover.request(
        id="h-1", context=context, receiver=receiver, data=data, actor=TEACHER,
        covered=covered, consent_person_ids=["g-1"], summary={}, now=NOW, expiry_days=14)
        for covered in (True, False)}
    assert (made[True].status, made[True].offered_at) == (domain.AWAITING_ACCEPTANCE, NOW)
    assert (made[False].status, made[False].offered_at) == (domain.CONSENT_PENDING, None)
    assert made[True].version == 1 and made[True].open_for_log == "log-1"
    assert made[True].expires_at == NOW + timedelta(days=14)


def test_accepting_applies_the_transition_and_bumps_the_version_itself():
    h = handover()
    assert accept(h, participants=["s-upper2", "s-upper", "s-upper2"]) == \
        domain.AWAITING_ACCEPTANCE
    assert (h.status, h.version, h.moved_from) == (domain.ACCEPTED, 4,
                                                   domain.AWAITING_ACCEPTANCE)
    assert h.new_stafettholder_person_id == "s-upper" and h.receiving_person_ids == ["s-upper2"]
    assert h.accepted_by_person_id == "s-upper" and h.accepted_at == NOW + timedelta(hours=1)
    assert h.open_for_log == "log-1"  # still open until the logs service applied it


def test_accepting_without_consent_for_the_receiver_is_refused_and_changes_nothing():
    h = handover()
    with pytest.raises(Conflict) as caught:
        accept(h, coverage=(SCHOOL,))
    assert caught.value.code == "handover.consent_ended"
    assert (h.status, h.version, h.moved_from) == (domain.AWAITING_ACCEPTANCE, 3, None)


def test_accepting_names_only_staff_of_the_receiving_agency():
    h = handover()
    with pytest.raises(ValidationFailed) as caught:
        accept(h, participants=["s-teacher"])
    assert caught.value.code == "handover.person_not_receiver_staff"
    assert "participant_person_ids.0" in caught.value.errors
    assert h.status == domain.AWAITING_ACCEPTANCE


def test_accepting_what_is_not_offered_is_an_invalid_transition_asked_before_consent():
    asked = []
    h = handover(domain.CONSENT_PENDING)
    with pytest.raises(Conflict) as caught:
        h.accept(RECEIVER, "s-upper", [], coverage=lambda: asked.append(1) or Coverage(),
                 staff=DIRECTORY.get, now=NOW, today=TODAY)
    assert caught.value.code == "handover.invalid_transition" and asked == []


def test_declining_ends_it_and_frees_the_log():
    h = handover()
    h.decline("Ikke vår elev", NOW)
    assert (h.status, h.reason, h.reason_code, h.ended_at) == (
        domain.DECLINED, "Ikke vår elev", domain.DECLINED_REASON, NOW)
    assert h.open_for_log is None and h.version == 4


@pytest.mark.parametrize("status", sorted(domain.CANCELLABLE_STATES))
def test_the_requester_withdraws_before_acceptance(status):
    h = handover(status)
    assert h.withdraw(None, NOW) == status
    assert (h.status, h.reason_code, h.reason) == (
        domain.CANCELLED, domain.REQUESTER_CANCELLED, "Trukket av avsender")
    assert h.open_for_log is None


def test_an_accepted_handover_can_no_longer_be_withdrawn():
    h = handover(domain.ACCEPTED)
    with pytest.raises(Conflict) as caught:
        h.withdraw("for sent", NOW)
    assert caught.value.code == "handover.not_cancellable"
    assert "the receiver has taken it" in caught.value.detail
    assert h.status == domain.ACCEPTED and h.version == 3


def test_a_transition_the_state_does_not_allow_changes_nothing():
    h = handover(domain.COMPLETED, open_for_log=None)
    assert h.cancel(domain.LOG_CLOSED, NOW) is None
    assert h.expire_if_due(NOW + timedelta(days=30)) is None
    assert (h.status, h.version, h.moved_from) == (domain.COMPLETED, 3, None)


def test_a_request_expires_on_its_day_not_before():
    h = handover()
    assert h.expire_if_due(NOW + timedelta(days=13)) is None
    assert h.expire_if_due(NOW + timedelta(days=14)) == domain.AWAITING_ACCEPTANCE
    assert (h.status, h.reason_code) == (domain.EXPIRED, domain.EXPIRED_REASON)


def test_following_consent_offers_and_takes_back():
    waiting = handover(domain.CONSENT_PENDING, offered_at=None)
    assert waiting.follow_consent(consent(UPPER), TODAY, NOW) == domain.OFFER
    assert (waiting.status, waiting.offered_at) == (domain.AWAITING_ACCEPTANCE, NOW)
    offered = handover()
    assert offered.follow_consent(consent(SCHOOL), TODAY, NOW) == domain.BACK_TO_CONSENT
    assert (offered.status, offered.offered_at) == (domain.CONSENT_PENDING, None)
    assert offered.sender_covered(consent(SCHOOL), TODAY)
    accepted = handover(domain.ACCEPTED)
    assert accepted.follow_consent(Coverage(), TODAY, NOW) == domain.CHECK_APPLICATION
    assert accepted.status == domain.ACCEPTED  # the logs service decides


def test_completion_counts_the_attempt_and_clears_the_error():
    h = handover(domain.ACCEPTED, apply_attempts=2, last_apply_error="RemoteError: x")
    assert h.complete(NOW) == domain.ACCEPTED
    assert (h.status, h.completed_at, h.apply_attempts, h.last_apply_error) == (
        domain.COMPLETED, NOW, 3, None)
    assert h.open_for_log is None


@pytest.mark.parametrize("code, reason, kept_error", [
    ("log.closed", domain.LOG_CLOSED, False),
    ("log.receiver_not_covered", domain.CONSENT_WITHDRAWN, False),
    ("log.not_found", domain.APPLICATION_REFUSED, True),
    (None, domain.APPLICATION_REFUSED, True)])
def test_a_refused_application_ends_it_by_the_logs_services_code(code, reason, kept_error):
    h = handover(domain.ACCEPTED)
    h.refused(code, "NotFound log.not_found: no such log" + "x" * 600, NOW)
    assert (h.status, h.reason_code, h.reason) == (domain.CANCELLED, reason,
                                                   domain.REASON_TEXTS[reason])
    assert h.apply_attempts == 1
    assert (h.last_apply_error is not None) is kept_error
    assert h.last_apply_error is None or len(h.last_apply_error) == 500


def test_only_the_stafettholder_requests():
    domain.require_stafettholder(TEACHER, {"stafettholder_person_id": "s-teacher"})
    with pytest.raises(Exception) as caught:
        domain.require_stafettholder(TEACHER, {"stafettholder_person_id": "s-other"})
    assert caught.value.code == "handover.stafettholder_only"


def test_an_offer_goes_back_to_waiting_for_consent_and_only_from_an_offer():
    h = handover()
    assert h.request_consent(NOW) == domain.AWAITING_ACCEPTANCE
    assert (h.status, h.offered_at, h.version) == (domain.CONSENT_PENDING, None, 4)
    assert h.offer(NOW + timedelta(days=1)) == domain.CONSENT_PENDING
    assert (h.status, h.offered_at, h.version) == (domain.AWAITING_ACCEPTANCE,
                                                   NOW + timedelta(days=1), 5)
    accepted = handover(domain.ACCEPTED)
    assert accepted.request_consent(NOW) is None and accepted.offer(NOW) is None
    assert accepted.status == domain.ACCEPTED


def test_those_who_consent_refuse_only_a_handover_that_waits_for_them():
    waiting = handover(domain.CONSENT_PENDING, offered_at=None)
    assert waiting.refuse_consent(NOW) == domain.CONSENT_PENDING
    assert (waiting.status, waiting.reason_code) == (domain.CANCELLED, domain.CONSENT_REFUSED)
    assert waiting.open_for_log is None and waiting.version == 4
    for status in (domain.AWAITING_ACCEPTANCE, domain.ACCEPTED, domain.CANCELLED):
        with pytest.raises(Conflict) as refused:
            handover(status).refuse_consent(NOW)
        assert refused.value.code == "handover.not_waiting_for_consent"


def test_only_those_asked_to_consent_may_refuse():
    from stafett.actor import CITIZEN
    from stafett.errors import Forbidden
    guardian = Actor(kind=CITIZEN, person_id="g-1", assured=True)  # consent's decision
    waiting = handover(domain.CONSENT_PENDING, offered_at=None)
    assert domain.require_side(domain.CONSENTING_PARTY, guardian, waiting, Coverage,
                               TODAY) == domain.CONSENTING_PARTY
    with pytest.raises(Forbidden) as refused:
        domain.require_side(domain.CONSENTING_PARTY, TEACHER, waiting,
                            lambda: consent(SCHOOL), TODAY)
    assert refused.value.code == "handover.consenting_party_only"
