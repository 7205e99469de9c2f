"""Unit tests for services.logs.events: event data carries ids and codes, never names."""
from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace

from services.logs import events

STAFF = SimpleNamespace(id="p-nurse", person_id="s-nurse", kind="staff", role="member",
                        agency="971526920", display_name="Nina Helsesøster")
HOLDER = SimpleNamespace(id="p-holder", person_id="s-holder", kind="staff",
                         role="stafettholder", agency="974760673", display_name="Kari Lærer")
CHILD = SimpleNamespace(id="p-child", person_id="c-child", kind="child", role="child",
                        agency=None, display_name="Ola")


def test_participant_data():
    assert events.participant_data(STAFF) == {
        "participant_id": "p-nurse", "person_id": "s-nurse", "kind": "staff",
        "role": "member", "agency": "971526920"}


def test_measure_data_with_and_without_proposer():
    measure = SimpleNamespace(id="m-1", status="active", arena="school",
                              evaluate_by=date(2025, 4, 1), title="Lesetrening",
                              description="intern", goal="mål")
    data = events.measure_data(measure, STAFF, CHILD, HOLDER)
    assert data == {"measure_id": "m-1", "status": "active", "arena": "school",
                    "evaluate_by": "2025-04-01", "responsible_person_id": "s-nurse",
                    "responsible_agency": "971526920", "proposer_person_id": "c-child",
                    "stafettholder_person_id": "s-holder"}
    assert events.measure_data(measure, STAFF, None, HOLDER)["proposer_person_id"] is None


def test_meeting_data_sorts_invited_and_allows_open_end():
    meeting = SimpleNamespace(id="mt-1",
                              starts_at=datetime(2025, 3, 17, 10, tzinfo=timezone.utc),
                              ends_at=None, agenda="Status", place="Skolen")
    assert events.meeting_data(meeting, {"s-b", "c-a", "s-a"}, HOLDER) == {
        "meeting_id": "mt-1", "starts_at": "2025-03-17T10:00:00+00:00", "ends_at": None,
        "invited_person_ids": ["c-a", "s-a", "s-b"], "stafettholder_person_id": "s-holder"}
    meeting.ends_at = datetime(2025, 3, 17, 11, tzinfo=timezone.utc)
    assert events.meeting_data(meeting, [], HOLDER)["ends_at"] == "2025-03-17T11:00:00+00:00"


def test_event_data_has_no_names_or_free_text():
    measure = SimpleNamespace(id="m-1", status="active", arena="school",
                              evaluate_by=date(2025, 4, 1), title="Lesetrening",
                              description="intern", goal="mål")
    meeting = SimpleNamespace(id="mt-1",
                              starts_at=datetime(2025, 3, 17, 10, tzinfo=timezone.utc),
                              ends_at=None, agenda="Status", place="Skolen")
    payloads = [events.participant_data(STAFF), events.measure_data(measure, STAFF, CHILD,
                                                                    HOLDER),
                events.meeting_data(meeting, ["s-nurse"], HOLDER)]
    text = repr(payloads)
    for forbidden in ("Nina", "Kari", "Ola", "Lesetrening", "intern", "mål", "Status",
                      "Skolen"):
        assert forbidden not in text
