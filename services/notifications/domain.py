"""Who hears of what, and what they are told (bokmål; never names or free text)."""
from __future__ import annotations

from dataclasses import dataclass

from stafett.events import Envelope


@dataclass(frozen=True)
class Message:
    person_id: str
    kind: str
    title: str
    body: str
    link: str


def log_link(log_id: str) -> str:
    return f"/logger/{log_id}"


def recipients_for(event: Envelope) -> list[Message]:
    """The recipient rules, one event type at a time."""
    if event.type == "log.measure_added":
        person = event.data.get("responsible_person_id")
        if not person:
            return []
        return [Message(person, "measure_assigned", "Nytt tiltak der du er ansvarlig",
                        "Du er satt som ansvarlig for et nytt tiltak i en stafettlogg. "
                        "Logg inn for å se tiltaket.", log_link(event.log_id))]
    return []
