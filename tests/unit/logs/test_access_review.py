"""The anomalies only the logs service can see for the agency auditor
(services/logs/access_review.py): an access outside the staff member's participation, and
one after a consent covering their agency ended."""
from datetime import date, datetime, timezone
from types import SimpleNamespace

from services.logs.access_review import active_on, after_consent_ended

DAY = date(2026, 12, 1)
AT = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
SCHOOL, PPT = "974760673", "977354684"


def participation(**changes):
    return SimpleNamespace(**{"active_from": date(2026, 11, 1), "active_until": None,
                              "read_only_until": None, "removed_at": None, **changes})


def consent(**changes):
    return SimpleNamespace(**{"status": "active", "scope_agencies": [SCHOOL],
                              "scope_agency_types": [], "valid_from": date(2026, 11, 1),
                              "valid_until": date(2027, 11, 1),
                              "updated_at": datetime(2026, 11, 1, tzinfo=timezone.utc),
                              **changes})


def test_a_participation_is_in_force_from_its_first_to_its_last_day_until_removed():
    assert active_on(participation(), DAY, AT)
    assert not active_on(participation(active_from=date(2026, 12, 2)), DAY, AT)
    assert not active_on(participation(active_until=date(2026, 11, 30)), DAY, AT)
    # a handover's read-only days still count
    assert active_on(participation(active_until=date(2026, 11, 30),
                                   read_only_until=date(2026, 12, 5)), DAY, AT)
    assert not active_on(participation(removed_at=datetime(2026, 12, 1, 9, tzinfo=timezone.utc)),
                         DAY, AT)


def test_after_consent_ended_needs_an_ended_consent_of_the_agency_and_none_in_force():
    withdrawn = consent(status="withdrawn",
                        updated_at=datetime(2026, 11, 20, tzinfo=timezone.utc))
    assert after_consent_ended([withdrawn], SCHOOL, "school", DAY, AT)
    assert not after_consent_ended([withdrawn], PPT, "ppt", DAY, AT)  # not the agency's
    assert not after_consent_ended([withdrawn, consent()], SCHOOL, "school", DAY, AT)
    assert not after_consent_ended([consent()], SCHOOL, "school", DAY, AT)
    later = consent(status="withdrawn", updated_at=datetime(2026, 12, 2, tzinfo=timezone.utc))
    assert not after_consent_ended([later], SCHOOL, "school", DAY, AT)  # ended afterwards
    lapsed = consent(valid_until=date(2026, 11, 30))
    assert after_consent_ended([lapsed], SCHOOL, "school", DAY, AT)
    by_type = consent(status="expired", scope_agencies=[], scope_agency_types=["school"])
    assert after_consent_ended([by_type], SCHOOL, "school", DAY, AT)
