"""Unit tests for services.notifications.domain.recipients_for."""
from __future__ import annotations

import re

import pytest

from services.notifications import domain
from stafett.events import Envelope

LOG_ID = "5b0c7a86-1f4e-4bd2-9a51-1c7b4fd0e3a2"
CHILD_ID = "8e3f6b2a-77c1-4a8e-b0a4-2d9c1e5f6a70"
RESPONSIBLE = "0c9d8e7f-6a5b-4c3d-8e1f-0a9b8c7d6e5f"


def measure_added(**data) -> Envelope:
    payload = {"measure_id": "a1b2c3d4-0000-4000-8000-000000000001",
               "responsible_person_id": RESPONSIBLE, "evaluate_by": "2025-04-21",
               "arena": "school"}
    payload.update(data)
    return Envelope(type="log.measure_added", source="logs", data=payload, log_id=LOG_ID,
                    child_id=CHILD_ID, agency="974760673", actor_ref="person:s-teacher")


def test_measure_added_goes_to_the_responsible_person():
    messages = domain.recipients_for(measure_added())
    assert len(messages) == 1
    message = messages[0]
    assert message.person_id == RESPONSIBLE
    assert message.kind == "measure_assigned"
    assert message.link == f"/logger/{LOG_ID}"


def test_measure_added_text_is_bokmal():
    message = domain.recipients_for(measure_added())[0]
    assert message.title == "Nytt tiltak der du er ansvarlig"
    assert message.body == ("Du er satt som ansvarlig for et nytt tiltak i en stafettlogg. "
                            "Logg inn for å se tiltaket.")


def test_measure_added_text_carries_nothing_from_the_event():
    event = measure_added()
    message = domain.recipients_for(event)[0]
    text = message.title + " " + message.body
    leaks = [RESPONSIBLE, LOG_ID, CHILD_ID, "974760673", "s-teacher", "2025-04-21",
             "school", event.data["measure_id"], event.event_id]
    assert [value for value in leaks if value in text] == []
    assert re.search(r"\d", text) is None  # no number of any kind


def test_measure_added_text_is_fixed_whatever_the_event_says():
    a = domain.recipients_for(measure_added())[0]
    b = domain.recipients_for(measure_added(responsible_person_id="other", arena="home",
                                            title="Kari Nordmann"))[0]
    assert (a.title, a.body) == (b.title, b.body)
    assert "Kari" not in b.title + b.body


@pytest.mark.parametrize("event_type", ["log.opened", "log.closed", "log.measure_updated",
                                        "consent.granted", "handover.requested", "unknown"])
def test_other_event_types_have_no_recipients(event_type):
    event = Envelope(type=event_type, source="logs", log_id=LOG_ID,
                     data={"responsible_person_id": RESPONSIBLE})
    assert domain.recipients_for(event) == []


@pytest.mark.parametrize("data", [{}, {"responsible_person_id": None},
                                  {"responsible_person_id": ""}])
def test_measure_added_without_responsible_has_no_recipients(data):
    event = Envelope(type="log.measure_added", source="logs", log_id=LOG_ID, data=data)
    assert domain.recipients_for(event) == []


def test_log_link():
    assert domain.log_link("abc") == "/logger/abc"
