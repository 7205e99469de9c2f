"""Events the logs service publishes, and the consent events it consumes."""
from __future__ import annotations

OPENED = "log.opened"
CLOSED = "log.closed"
LEVEL_CHANGED = "log.level_changed"
STAFETTHOLDER_CHANGED = "log.stafettholder_changed"
PARTICIPANT_ADDED = "log.participant_added"
PARTICIPANT_REMOVED = "log.participant_removed"
MEASURE_ADDED = "log.measure_added"
MEASURE_UPDATED = "log.measure_updated"
MEASURE_EVALUATED = "log.measure_evaluated"
MEETING_SCHEDULED = "log.meeting_scheduled"
MEETING_MINUTED = "log.meeting_minuted"
ENTRY_ADDED = "log.entry_added"


def measure_added(measure, responsible) -> dict:
    return {"measure_id": measure.id, "responsible_person_id": responsible.person_id,
            "evaluate_by": measure.evaluate_by.isoformat(), "arena": measure.arena}


def participant_added(participant) -> dict:
    return {"participant_id": participant.id, "person_id": participant.person_id,
            "kind": participant.kind, "role": participant.role, "agency": participant.agency}
