"""Events of the handover workflow."""
from __future__ import annotations

REQUESTED = "handover.requested"
ACCEPTED = "handover.accepted"
DECLINED = "handover.declined"
COMPLETED = "handover.completed"
CANCELLED = "handover.cancelled"
