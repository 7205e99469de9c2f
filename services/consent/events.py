"""Events the consent service publishes. Ids and scope only: never names or numbers.

| type | data |
|---|---|
| consent.granted / withdrawn / superseded / expiring / expired | ``consent_data`` below, with |
| | ``coverage``: this service's decision of what the consent covers, day by day |
| consent.child_registered | guardian_ids, protected |
| consent.guardianship_changed | added_guardian_ids, removed_guardian_ids, guardian_ids, |
| | notify_person_ids, protected |
| consent.protection_changed | protected |

``protected`` says the case has a protective address code (the child's or a guardian's):
consumers show and send nothing that locates the child. Never which code, never where.
"""
from __future__ import annotations

from services.consent.domain import coverage_of

GRANTED = "consent.granted"
WITHDRAWN = "consent.withdrawn"
SUPERSEDED = "consent.superseded"
EXPIRED = "consent.expired"
EXPIRING = "consent.expiring"
CHILD_REGISTERED = "consent.child_registered"
GUARDIANSHIP_CHANGED = "consent.guardianship_changed"
PROTECTION_CHANGED = "consent.protection_changed"


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
        # the decision (stafett/coverage.py): which agencies this consent covers on which
        # days; the other services look it up and never judge status, scope or dates
        "coverage": coverage_of(consent).to_data(),
    }
    if notify_person_ids is not None:
        # who consents (guardians or the youth): notifications tells them, by id
        data["notify_person_ids"] = list(notify_person_ids)
    if no_longer_covers is not None:
        # when it ends: the agencies (organisation numbers) no consent in force covers now
        data["no_longer_covers"] = list(no_longer_covers)
    return data


def guardianship_data(added, removed, current, notify_person_ids, protected: bool) -> dict:
    return {"added_guardian_ids": sorted(added), "removed_guardian_ids": sorted(removed),
            "guardian_ids": sorted(current), "notify_person_ids": list(notify_person_ids),
            "protected": bool(protected)}


def of_registration(done) -> list[tuple[str, dict]]:
    """What a registration from the population register tells (``store.Registration``):
    the first one that the child is registered; a later one a change of guardianship
    (to ``done.told``), else a change of protection; else nothing."""
    if done.first:
        return [(CHILD_REGISTERED, {"guardian_ids": sorted(done.current),
                                    "protected": done.protected})]
    if done.added or done.removed:
        return [(GUARDIANSHIP_CHANGED, guardianship_data(done.added, done.removed, done.current,
                                                         done.told, done.protected))]
    if done.protected != done.protected_before:
        return [(PROTECTION_CHANGED, {"protected": done.protected})]
    return []
