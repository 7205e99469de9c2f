"""What each viewer sees of a log, built from rows (no database access here).

The schemas in schemas.py then cut every object down to the viewer's field set.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from services.logs import domain
from services.logs.schemas import (ENTRY_VIEWS, MEASURE_VIEWS, MEETING_VIEWS, VIEWS,
                                   ParticipantCitizenView, ParticipantStaffView, ProposalView)


def role_of(participant_id: str, participants) -> str | None:
    participant = next((p for p in participants if p.id == participant_id), None)
    return participant.role if participant else None


def measure_dict(measure, evaluations, participants, today: date) -> dict:
    ordered = sorted(evaluations, key=lambda e: (e.evaluated_on, e.created_at))
    return {**{c: getattr(measure, c) for c in (
        "id", "title", "description", "goal", "responsible_id", "proposer_id", "arena",
        "start_date", "evaluate_by", "status", "meeting_id", "version")},
        "proposer_role": role_of(measure.proposer_id, participants),
        "latest_outcome": domain.latest_outcome(evaluations),
        "overdue": domain.is_overdue(measure, evaluations, today),
        "evaluations": ordered}


def meeting_dict(meeting, invites) -> dict:
    return {**{c: getattr(meeting, c) for c in (
        "id", "starts_at", "ends_at", "mode", "place", "agenda", "minutes", "version")},
        "invited": sorted(i.participant_id for i in invites),
        "attended": sorted(i.participant_id for i in invites if i.attended)}


def proposal_dict(proposal, participants) -> dict:
    return {**{c: getattr(proposal, c) for c in (
        "id", "proposer_id", "title", "description", "goal", "arena", "status",
        "decline_reason", "measure_id", "created_at", "answered_at")},
        "proposer_role": role_of(proposal.proposer_id, participants)}


def dump_measure(viewer, measure, evaluations, participants, today) -> dict:
    return MEASURE_VIEWS[viewer.view]().dump(measure_dict(measure, evaluations, participants,
                                                          today))


def dump_meeting(viewer, meeting, invites) -> dict:
    return MEETING_VIEWS[viewer.view]().dump(meeting_dict(meeting, invites))


def dump_entry(viewer, entry) -> dict:
    return ENTRY_VIEWS[viewer.view]().dump(entry)


def dump_participant(viewer, participant) -> dict:
    schema = ParticipantStaffView() if viewer.is_staff else ParticipantCitizenView()
    return schema.dump(participant)


def dump_proposal(proposal, participants) -> dict:
    return ProposalView().dump(proposal_dict(proposal, participants))


def log_view(viewer, log, participants, measures, evaluations, meetings, invites, entries,
             proposals, levels, today: date) -> dict:
    by_measure, by_meeting = defaultdict(list), defaultdict(list)
    for evaluation in evaluations:
        by_measure[evaluation.measure_id].append(evaluation)
    for invite in invites:
        by_meeting[invite.meeting_id].append(invite)
    visible_people = [p for p in participants if p.removed_at is None]
    view = {
        "id": log.id, "child_id": log.child_id, "status": log.status, "level": log.level,
        "level_history": [{"level": lv.level, "changed_at": lv.changed_at} for lv in levels],
        "opened_at": log.opened_at, "closed_at": log.closed_at,
        "close_reason": log.close_reason, "version": log.version,
        "viewer_role": viewer.role, "viewer_participant_id": viewer.participant.id,
        "participants": visible_people,
        "measures": [measure_dict(m, by_measure[m.id], participants, today) for m in measures],
        "meetings": [meeting_dict(m, by_meeting[m.id]) for m in meetings],
        "entries": [e for e in entries if domain.entry_visible(e, viewer)],
        "proposals": [proposal_dict(p, participants) for p in proposals
                      if domain.proposal_visible(p, viewer)],
    }
    return VIEWS[viewer.view]().dump(view)


def timeline(viewer, log, participants, measures, evaluations, meetings, entries, proposals,
             levels) -> list[dict]:
    """Everything that happened, oldest first, as this viewer may see it."""
    titles = {m.id: m.title for m in measures}
    items = [{"at": log.opened_at, "kind": "log_opened", "object_id": log.id,
              "title": None, "detail": None}]
    items += [{"at": lv.changed_at, "kind": "level_changed", "object_id": lv.id,
               "title": None, "detail": str(lv.level)} for lv in levels[1:]]
    for p in participants:
        if p.added_at and p.kind == "staff":
            items.append({"at": p.added_at, "kind": "participant_added", "object_id": p.id,
                          "title": p.display_name, "detail": p.role})
        if p.removed_at:
            items.append({"at": p.removed_at, "kind": "participant_removed",
                          "object_id": p.id, "title": p.display_name, "detail": None})
    items += [{"at": m.created_at, "kind": "measure_added", "object_id": m.id,
               "title": m.title, "detail": m.status} for m in measures]
    items += [{"at": e.created_at, "kind": "measure_evaluated", "object_id": e.measure_id,
               "title": titles.get(e.measure_id), "detail": e.outcome} for e in evaluations]
    for meeting in meetings:
        items.append({"at": meeting.created_at, "kind": "meeting_scheduled",
                      "object_id": meeting.id, "title": None,
                      "detail": meeting.starts_at.isoformat()})
        if meeting.minuted_at:
            items.append({"at": meeting.minuted_at, "kind": "meeting_minuted",
                          "object_id": meeting.id, "title": None, "detail": None})
    items += [{"at": e.created_at, "kind": f"entry_{e.kind}", "object_id": e.id,
               "title": None, "detail": e.text} for e in entries
              if domain.entry_visible(e, viewer)]
    for proposal in proposals:
        if not domain.proposal_visible(proposal, viewer):
            continue
        items.append({"at": proposal.created_at, "kind": "proposal_made",
                      "object_id": proposal.id, "title": proposal.title, "detail": None})
        if proposal.answered_at:
            items.append({"at": proposal.answered_at, "kind": f"proposal_{proposal.status}",
                          "object_id": proposal.id, "title": proposal.title, "detail": None})
    if log.closed_at:
        items.append({"at": log.closed_at, "kind": "log_closed", "object_id": log.id,
                      "title": None, "detail": None})
    return sorted(items, key=lambda i: (_aware(i["at"]), i["kind"], i["object_id"]))


def _aware(moment: datetime) -> datetime:
    from stafett.events import as_utc
    return as_utc(moment)


def preparation(measures, evaluations, meetings, meeting, timeline_items, participants,
                today: date) -> dict:
    """For a meeting: open measures, evaluations due, and what changed since the last one."""
    by_measure = defaultdict(list)
    for evaluation in evaluations:
        by_measure[evaluation.measure_id].append(evaluation)
    meeting_day = _aware(meeting.starts_at).date()
    open_measures = [m for m in measures if m.status in domain.OPEN_MEASURE_STATES]
    due = [m for m in open_measures if m.evaluate_by <= meeting_day
           and not any(e.evaluated_on >= (m.evaluate_by_set_on or m.start_date)
                       for e in by_measure[m.id])]
    earlier = [m for m in meetings if _aware(m.starts_at) < _aware(meeting.starts_at)]
    since = max((_aware(m.starts_at) for m in earlier), default=None)
    changes = [i for i in timeline_items if since is None or _aware(i["at"]) > since]
    return {"meeting_id": meeting.id, "previous_meeting_at": since,
            "open_measures": [measure_dict(m, by_measure[m.id], participants, today)
                              for m in open_measures],
            "evaluations_due": [measure_dict(m, by_measure[m.id], participants, today)
                                for m in due],
            "changes_since_last_meeting": changes}
