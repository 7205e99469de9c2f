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
    if event.type in ("consent.expiring", "consent.expired"):
        expiring = event.type == "consent.expiring"
        title = "Samtykket utløper snart" if expiring else "Samtykket er utløpt"
        body = ("Samtykket til samarbeid rundt barnet utløper snart. Logg inn for å se det "
                "og fornye det om dere ønsker." if expiring else
                "Samtykket til samarbeid rundt barnet er utløpt. Logg inn for å se hva det "
                "betyr, og gi nytt samtykke om dere ønsker.")
        return [Message(person, "consent_expiring" if expiring else "consent_expired", title,
                        body, "/samtykker") for person in event.data.get("notify_person_ids", [])]
    return []
