"""Events the logs service publishes (exchange ``logs.events``), and their data.

The contract for consumers (notifications, handover). Ids, dates, codes and agency
organisation numbers only: never names, national identity numbers or free text from the
log. Every event's envelope also carries ``log_id`` and ``child_id``.

| type | data |
|---|---|
| log.opened | level, stafettholder_person_id, stafettholder_agency |
| log.closed | participant_person_ids (everyone with a role when it closed), stafettholder_person_id |
| log.level_changed | from_level, to_level |
| log.stafettholder_changed | from_person_id (null: the log had no stafettholder and someone took the baton), to_person_id, to_agency |
| log.stafettholder_lapsed | from_person_id, from_agency, reason (participation_ended/consent_ended), staff_person_ids (the staff who can still act), guardian_person_ids: the log has no stafettholder until someone takes the baton |
| log.participant_added / log.participant_removed | participant_id, person_id, kind, role, agency |
| log.measure_added / log.measure_updated | measure_id, status, arena, evaluate_by, responsible_person_id, responsible_agency, proposer_person_id, stafettholder_person_id (null while the log has none: also below) |
| log.measure_evaluated | the above + evaluation_id, outcome (green/yellow/red) |
| log.meeting_scheduled | meeting_id, starts_at, ends_at, invited_person_ids, stafettholder_person_id |
| log.meeting_minuted | meeting_id, attendee_person_ids |
| log.entry_added | entry_id, kind, visibility |
| log.proposal_made | proposal_id, proposer_person_id, stafettholder_person_id |
| log.proposal_answered | proposal_id, proposer_person_id, decision (accepted/declined), measure_id or null |
"""
from __future__ import annotations

OPENED = "log.opened"
CLOSED = "log.closed"
LEVEL_CHANGED = "log.level_changed"
STAFETTHOLDER_CHANGED = "log.stafettholder_changed"
STAFETTHOLDER_LAPSED = "log.stafettholder_lapsed"
PARTICIPANT_ADDED = "log.participant_added"
PARTICIPANT_REMOVED = "log.participant_removed"
MEASURE_ADDED = "log.measure_added"
MEASURE_UPDATED = "log.measure_updated"
MEASURE_EVALUATED = "log.measure_evaluated"
MEETING_SCHEDULED = "log.meeting_scheduled"
MEETING_MINUTED = "log.meeting_minuted"
ENTRY_ADDED = "log.entry_added"
PROPOSAL_MADE = "log.proposal_made"
PROPOSAL_ANSWERED = "log.proposal_answered"


def person_id(participant) -> str | None:
    return participant.person_id if participant is not None else None


def participant_data(participant) -> dict:
    return {"participant_id": participant.id, "person_id": participant.person_id,
            "kind": participant.kind, "role": participant.role, "agency": participant.agency}


def measure_data(measure, responsible, proposer, stafettholder) -> dict:
    return {"measure_id": measure.id, "status": measure.status, "arena": measure.arena,
            "evaluate_by": measure.evaluate_by.isoformat(),
            "responsible_person_id": responsible.person_id,
            "responsible_agency": responsible.agency,
            "proposer_person_id": proposer.person_id if proposer else None,
            "stafettholder_person_id": person_id(stafettholder)}


def meeting_data(meeting, invited_person_ids, stafettholder) -> dict:
    return {"meeting_id": meeting.id, "starts_at": meeting.starts_at.isoformat(),
            "ends_at": meeting.ends_at.isoformat() if meeting.ends_at else None,
            "invited_person_ids": sorted(invited_person_ids),
            "stafettholder_person_id": person_id(stafettholder)}
