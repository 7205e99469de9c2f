"""Events the consent service publishes. Ids and scope only: never names or numbers."""
from __future__ import annotations

GRANTED = "consent.granted"
WITHDRAWN = "consent.withdrawn"
SUPERSEDED = "consent.superseded"
EXPIRED = "consent.expired"
EXPIRING = "consent.expiring"


def consent_data(consent, notify_person_ids: list[str] | None = None,
                 no_longer_covers: list[str] | None = None) -> dict:
    data = {
        "consent_id": consent.id,
        "status": consent.status,
        "method": consent.method,
        "scope_agencies": list(consent.scope_agencies),
        "scope_agency_types": list(consent.scope_agency_types),
        "valid_from": consent.valid_from.isoformat(),
        "valid_until": consent.valid_until.isoformat(),
    }
    if notify_person_ids is not None:
        # who consents (guardians or the youth): notifications tells them, by id
        data["notify_person_ids"] = list(notify_person_ids)
    if no_longer_covers is not None:
        # when it ends: the agencies (organisation numbers) no consent in force covers now
        data["no_longer_covers"] = list(no_longer_covers)
    return data
