"""Events the notifications service consumes (it publishes none).

The contracts are the producers': ``services/logs/events.py``,
``services/handover/events.py``, ``services/consent/events.py``. The service has one
queue per producer, bound to its ``<source>.events`` topic exchange with a wildcard
(``log.*``, ``consent.*``, ``handover.*``): three durable queues (plus their retry and
dead-letter companions) instead of one per type, which keeps the broker light. Types not
listed here are acknowledged and ignored; the listed ones update the small projection
and/or go through the recipient rules in ``domain.py``.
"""
from __future__ import annotations

CONSUMES = {
    "logs": ["log.opened", "log.closed", "log.stafettholder_changed", "log.stafettholder_lapsed",
             "log.participant_added",
             "log.participant_removed", "log.measure_added", "log.measure_updated",
             "log.measure_evaluated", "log.meeting_scheduled", "log.proposal_answered"],
    "consent": ["consent.granted", "consent.expiring", "consent.expired", "consent.withdrawn",
                "consent.superseded", "consent.child_registered",
                "consent.guardianship_changed", "consent.protection_changed"],
    "handover": ["handover.requested", "handover.consent_granted", "handover.accepted",
                 "handover.declined", "handover.consent_ended", "handover.cancelled"],
}
CONSUMED = frozenset(t for types in CONSUMES.values() for t in types)
