"""Events of the handover workflow (exchange ``handover.events``), and their data.

Every event's data starts with the handover's common part:
``handover_id, transition, from_agency, to_agency, to_person_id (or null),
requested_by_person_id``; then, per type:

| type | further data |
|---|---|
| handover.requested | status (consent_pending / awaiting_acceptance), consent_person_ids (those asked to consent — the guardians with parental responsibility, or the youth, as the consent service decides (consent.child_parties) — when consent_pending, else []) |
| handover.consent_granted | (none: consent now covers the receiver; the handover awaits acceptance) |
| handover.consent_ended | previous_status (awaiting_acceptance), consent_person_ids (those asked to consent again), requester_covered (whether consent still covers the requesting agency: if not, its staff are not told) — consent no longer covers the receiver; the handover is consent_pending again |
| handover.accepted | new_stafettholder_person_id, accepted_by_person_id |
| handover.declined | (none; the receiver's reason stays in the handover service) |
| handover.completed | new_stafettholder_person_id, accepted_by_person_id |
| handover.cancelled | reason (code: requester_cancelled / log_closed / expired / application_refused / consent_withdrawn / consent_refused), previous_status; with consent_withdrawn also consent_person_ids and requester_covered |

An expired request is published as ``handover.cancelled`` with reason ``expired`` (its
status is ``expired``). Ids, codes and organisation numbers only: never names, the note,
the decline reason or anything from the summary. Every envelope also carries ``log_id``
and ``child_id``.
"""
from __future__ import annotations

REQUESTED = "handover.requested"
CONSENT_GRANTED = "handover.consent_granted"
CONSENT_ENDED = "handover.consent_ended"
ACCEPTED = "handover.accepted"
DECLINED = "handover.declined"
COMPLETED = "handover.completed"
CANCELLED = "handover.cancelled"


def common(handover) -> dict:
    return {"handover_id": handover.id, "transition": handover.transition,
            "from_agency": handover.from_agency, "to_agency": handover.to_agency,
            "to_person_id": handover.to_person_id,
            "requested_by_person_id": handover.requested_by_person_id}


def requested(handover) -> dict:
    asked = (list(handover.consent_person_ids or [])
             if handover.status == "consent_pending" else [])
    return {**common(handover), "status": handover.status, "consent_person_ids": asked}


def consent_granted(handover) -> dict:
    return common(handover)


def consent_ended(handover, previous_status: str, requester_covered: bool) -> dict:
    return {**common(handover), "previous_status": previous_status,
            "consent_person_ids": list(handover.consent_person_ids or []),
            "requester_covered": requester_covered}


def accepted(handover) -> dict:
    return {**common(handover),
            "new_stafettholder_person_id": handover.new_stafettholder_person_id,
            "accepted_by_person_id": handover.accepted_by_person_id}


completed = accepted


def declined(handover) -> dict:
    return common(handover)


def cancelled(handover, reason: str, previous_status: str,
              requester_covered: bool | None = None) -> dict:
    data = {**common(handover), "reason": reason, "previous_status": previous_status}
    if requester_covered is not None:  # consent_withdrawn: who is told
        data["consent_person_ids"] = list(handover.consent_person_ids or [])
        data["requester_covered"] = requester_covered
    return data


def transitioned(handover, previous_status: str,
                 requester_covered: bool | None = None) -> tuple[str, dict]:
    """The event a transition the aggregate made publishes: its type and data.
    ``requester_covered``: for a handover taken back (or cancelled because consent ended),
    whether consent still covers the requesting agency, so its staff are told."""
    status = handover.status
    if status == "awaiting_acceptance":
        return CONSENT_GRANTED, consent_granted(handover)
    if status == "consent_pending":
        return CONSENT_ENDED, consent_ended(handover, previous_status, bool(requester_covered))
    if status in ("cancelled", "expired"):
        return CANCELLED, cancelled(handover, handover.reason_code, previous_status,
                                    requester_covered)
    if status == "accepted":
        return ACCEPTED, accepted(handover)
    if status == "declined":
        return DECLINED, declined(handover)
    return COMPLETED, completed(handover)
