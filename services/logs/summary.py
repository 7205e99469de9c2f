"""The handover summary: what the receiver needs before accepting, compiled from the log.

Roles and agency types, not names; the child's own words; what worked and what did not.
"""
from __future__ import annotations

from datetime import date

from services.logs import domain
from stafett.events import as_utc, utcnow


def handover_summary(log, participants, measures, evaluations, entries, proposals,
                     today: date) -> dict:
    people = {p.id: p for p in participants}
    by_measure: dict[str, list] = {}
    for evaluation in evaluations:
        by_measure.setdefault(evaluation.measure_id, []).append(evaluation)

    def latest(measure):
        found = by_measure.get(measure.id, [])
        return max(found, key=lambda e: (e.evaluated_on, e.created_at)) if found else None

    def outcome_items(colour):
        items = []
        for measure in measures:
            evaluation = latest(measure)
            if evaluation and evaluation.outcome == colour:
                items.append({"title": measure.title, "outcome": colour,
                              "evaluated_on": evaluation.evaluated_on.isoformat(),
                              "text": evaluation.text})
        return items

    active = []
    for measure in measures:
        if measure.status not in domain.OPEN_MEASURE_STATES:
            continue
        responsible = people.get(measure.responsible_id)
        evaluation = latest(measure)
        active.append({"title": measure.title, "goal": measure.goal, "arena": measure.arena,
                       "responsible_role": responsible.role if responsible else None,
                       "responsible_agency_type": responsible.agency_type if responsible else None,
                       "start_date": measure.start_date.isoformat(),
                       "evaluate_by": measure.evaluate_by.isoformat(),
                       "latest_outcome": evaluation.outcome if evaluation else None})
    open_questions = [{"text": f"Forslag som venter på svar: {p.title}",
                       "created_at": as_utc(p.created_at).isoformat()}
                      for p in proposals if p.status == "proposed"]
    open_questions += [{"text": f"Tiltaket «{m.title}» skulle vært evaluert "
                                f"{m.evaluate_by.isoformat()}",
                        "created_at": as_utc(m.created_at).isoformat()}
                       for m in measures if domain.is_overdue(m, by_measure.get(m.id, []), today)]
    return {
        "compiled_at": utcnow().isoformat(),
        "level": log.level,
        "active_measures": active,
        "what_worked": outcome_items("green"),
        "what_did_not": outcome_items("red"),
        "child_voice": [{"text": e.text, "created_at": as_utc(e.created_at).isoformat()}
                        for e in entries if e.kind == "child_voice" and e.visibility == "all"],
        "open_questions": open_questions,
    }
