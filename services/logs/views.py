"""What each viewer sees of a log, built from rows (no database access here).

The schemas in schemas.py then cut every object down to the viewer's field set.
"""
from __future__ import annotations

from datetime import date
from functools import cache

from services.logs import domain
from services.logs.schemas import (ENTRY_VIEWS, EVALUATION_VIEWS, MEASURE_VIEWS, MEETING_VIEWS,
                                   VIEWS, ParticipantCitizenView, ParticipantStaffView,
                                   ProposalView)
from stafett.events import as_utc


@cache
def schema(cls):
    """One instance of each view schema, made once: a schema keeps no state between dumps,
    and making one copies its fields and builds its nested schemas again."""
    return cls()


def role_of(participant_id: str, participants) -> str | None:
    participant = next((p for p in participants if p.id == participant_id), None)
    return participant.role if participant else None


def measure_dict(measure, evaluations, participants, today: date, total: int | None = None,
                 next_cursor: str | None = None) -> dict:
    """``evaluations``: the measure's latest ones, newest first (lists.measure_extras), or
    all of them; either way the latest is among them, which is all that the colour and
    ``overdue`` need (the latest by the day evaluated, and whether it is since the cycle
    began)."""
    ordered = sorted(evaluations, key=lambda e: (e.evaluated_on, as_utc(e.created_at), e.id),
                     reverse=True)
    return {**{c: getattr(measure, c) for c in (
        "id", "title", "description", "goal", "responsible_id", "proposer_id", "arena",
        "start_date", "evaluate_by", "status", "meeting_id", "version")},
        "proposer_role": role_of(measure.proposer_id, participants),
        "latest_outcome": domain.latest_outcome(ordered),
        "overdue": domain.is_overdue(measure, ordered, today),
        "evaluations": ordered,
        "evaluation_total": len(ordered) if total is None else total,
        "evaluations_next_cursor": next_cursor}


def extras_dict(extras: dict, measure_id: str) -> dict:
    """What lists.measure_extras read for one measure, as measure_dict's arguments."""
    return {"evaluations": extras["evaluations"].get(measure_id, []),
            "total": extras["evaluation_totals"].get(measure_id, 0),
            "next_cursor": extras["evaluation_cursors"].get(measure_id)}


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


def dump_measure(viewer, measure, participants, today, extras: dict) -> dict:
    return schema(MEASURE_VIEWS[viewer.view]).dump(measure_dict(
        measure, participants=participants, today=today, **extras_dict(extras, measure.id)))


def dump_evaluation(viewer, evaluation) -> dict:
    return schema(EVALUATION_VIEWS[viewer.view]).dump(evaluation)


def dump_meeting(viewer, meeting, invites) -> dict:
    return schema(MEETING_VIEWS[viewer.view]).dump(meeting_dict(meeting, invites))


def dump_entry(viewer, entry) -> dict:
    return schema(ENTRY_VIEWS[viewer.view]).dump(entry)


def dump_participant(viewer, participant) -> dict:
    return schema(ParticipantStaffView if viewer.is_staff
                  else ParticipantCitizenView).dump(participant)


def dump_proposal(proposal, participants) -> dict:
    return schema(ProposalView).dump(proposal_dict(proposal, participants))


def log_view(viewer, log, participants, recent: dict, today: date, holder=None) -> dict:
    """The log as this viewer sees it, with what ``recent`` holds of its lists
    (lists.recent: the newest of each the viewer may see, their totals and the links to
    the rest). Nothing here filters: the rows were read for this viewer. ``holder``: the
    stafettholder who can act (domain.current_stafettholder), None when the log has none."""
    visible_people = [p for p in participants if p.removed_at is None]
    may = domain.permissions(viewer, log, holder)
    view = {
        "stafettholder_id": holder.id if holder is not None else None,
        **may, "audience": viewer.view,
        "entry_kinds": list(domain.entry_kinds(viewer)) if may["can_add_entry"] else [],
        "id": log.id, "child_id": log.child_id, "status": log.status, "level": log.level,
        "level_history": [{"level": lv.level, "changed_at": lv.changed_at}
                          for lv in recent["levels"]],
        "opened_at": log.opened_at, "closed_at": log.closed_at,
        "close_reason": log.close_reason, "version": log.version,
        "viewer_role": viewer.role, "viewer_participant_id": viewer.participant.id,
        "participants": visible_people,
        "measures": [measure_dict(m, participants=participants, today=today,
                                  **extras_dict(recent, m.id)) for m in recent["measures"]],
        "meetings": [meeting_dict(m, recent["invites"].get(m.id, []))
                     for m in recent["meetings"]],
        "entries": recent["entries"],
        "proposals": [proposal_dict(p, participants) for p in recent["proposals"]],
        "lists": recent["lists"],
    }
    return schema(VIEWS[viewer.view]).dump(view)


def preparation(open_measures, extras: dict, meeting, since, participants,
                today: date) -> dict:
    """For a meeting: the open measures and those whose evaluation is due by the meeting
    (``extras``: their latest evaluations, lists.measure_extras)."""
    meeting_day = as_utc(meeting.starts_at).date()
    shown = [measure_dict(m, participants=participants, today=today,
                          **extras_dict(extras, m.id)) for m in open_measures]
    due = [m for m, shown_m in zip(open_measures, shown) if m.evaluate_by <= meeting_day
           and not any(e.evaluated_on >= (m.evaluate_by_set_on or m.start_date)
                       for e in shown_m["evaluations"])]
    due_ids = {m.id for m in due}
    return {"meeting_id": meeting.id, "previous_meeting_at": since,
            "open_measures": shown,
            "evaluations_due": [m for m in shown if m["id"] in due_ids]}


def notice_details(viewer, participants, named: dict[str, list]) -> dict:
    """What a notification about this log may say to its recipient, who may read the log:
    the child's first name, the named measures' titles and evaluate-by dates, the meetings'
    start, the proposals' titles (those a child sees: its own)."""
    child = next((p for p in participants if p.kind == "child"), None)
    first = (child.display_name or "").split(" ")[0] if child else None
    return {
        "child": first or None,
        "measures": {m.id: {"title": m.title, "evaluate_by": m.evaluate_by.isoformat()}
                     for m in named.get("measures", [])},
        "meetings": {m.id: {"starts_at": as_utc(m.starts_at).isoformat()}
                     for m in named.get("meetings", [])},
        "proposals": {p.id: {"title": p.title} for p in named.get("proposals", [])
                      if domain.proposal_visible(p, viewer)}}


def refs_by_log(refs: list) -> dict[str, dict[str, list[str]]]:
    """``[{"log_id", "kind": measures|meetings|proposals, "id"}]`` by log (at most 50)."""
    by_log: dict[str, dict[str, list[str]]] = {}
    for ref in list(refs or [])[:50]:
        if isinstance(ref, dict) and isinstance(ref.get("log_id"), str):
            ids = by_log.setdefault(ref["log_id"], {})
            if ref.get("kind") in ("measures", "meetings", "proposals") and isinstance(
                    ref.get("id"), str):
                ids.setdefault(ref["kind"], []).append(ref["id"])
    return by_log
