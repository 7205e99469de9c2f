"""The anomalies only the logs service can see for the agency auditor
(services/logs/access_review.py): an access outside the staff member's participation, and
one after consent's coverage of their agency ended."""
from datetime import date, datetime, timezone
from types import SimpleNamespace

from services.logs.access_review import active_on, after_consent_ended

DAY = date(2026, 12, 1)
AT = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
SCHOOL, PPT = "974760673", "977354684"


def participation(**changes):
    return SimpleNamespace(**{"active_from": date(2026, 11, 1), "active_until": None,
                              "read_only_until": None, "removed_at": None, **changes})


def projection(*windows):
    """A consent as the logs service keeps consent's decision: its coverage windows."""
    return SimpleNamespace(coverage=[{"from": start, "until": end, "agencies": agencies,
                                      "agency_types": types}
                                     for start, end, agencies, types in windows])


def test_a_participation_is_in_force_from_its_first_to_its_last_day_until_removed():
    assert active_on(participation(), DAY, AT)
    assert not active_on(participation(active_from=date(2026, 12, 2)), DAY, AT)
    assert not active_on(participation(active_until=date(2026, 11, 30)), DAY, AT)
    # a handover's read-only days still count
    assert active_on(participation(active_until=date(2026, 11, 30),
                                   read_only_until=date(2026, 12, 5)), DAY, AT)
    assert not active_on(participation(removed_at=datetime(2026, 12, 1, 9, tzinfo=timezone.utc)),
                         DAY, AT)


def test_after_consent_ended_needs_a_covering_window_ended_and_none_holding_the_day():
    ended = projection(("2026-01-01", "2026-11-30", [SCHOOL], []))
    assert after_consent_ended([ended], SCHOOL, "school", DAY)
    assert not after_consent_ended([ended], PPT, "ppt", DAY)  # not the agency's
    renewed = projection(("2026-12-01", "2027-06-30", [SCHOOL], []))
    assert not after_consent_ended([ended, renewed], SCHOOL, "school", DAY)
    assert not after_consent_ended([renewed], SCHOOL, "school", DAY)
    by_type = projection(("2026-01-01", "2026-11-15", [], ["school"]))
    assert after_consent_ended([by_type], SCHOOL, "school", DAY)
    assert not after_consent_ended([projection()], SCHOOL, "school", DAY)  # never covered
