"""The handover workflow as a state machine. The sender keeps the baton until the
receiver has taken it: only ``completed`` moves it."""
from __future__ import annotations

from stafett.errors import Conflict

CONSENT_PENDING = "consent_pending"
AWAITING_ACCEPTANCE = "awaiting_acceptance"
ACCEPTED = "accepted"
COMPLETED = "completed"
DECLINED = "declined"
CANCELLED = "cancelled"
EXPIRED = "expired"

OPEN_STATES = frozenset({CONSENT_PENDING, AWAITING_ACCEPTANCE, ACCEPTED})
CANCELLABLE_STATES = frozenset({CONSENT_PENDING, AWAITING_ACCEPTANCE})

TRANSITIONS = {
    CONSENT_PENDING: {AWAITING_ACCEPTANCE, CANCELLED, EXPIRED},
    AWAITING_ACCEPTANCE: {ACCEPTED, DECLINED, CANCELLED, EXPIRED},
    ACCEPTED: {COMPLETED},
    COMPLETED: set(), DECLINED: set(), CANCELLED: set(), EXPIRED: set(),
}


def transition(current: str, target: str) -> str:
    if target not in TRANSITIONS.get(current, set()):
        raise Conflict(f"a handover that is {current} cannot become {target}")
    return target
