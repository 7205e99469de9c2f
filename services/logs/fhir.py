"""FHIR R5 export of a log: a Bundle of CarePlan, CareTeam, Goal and Task resources.

Persons appear as references by id with their role, never by name or national id.
Tests validate the structure with ``fhir.resources`` and assert the codes we emit.
"""
from __future__ import annotations

from datetime import date

from services.logs import domain

ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
PARTICIPANT_ROLE = "https://stafett.no/fhir/CodeSystem/participant-role"
ARENA = "https://stafett.no/fhir/CodeSystem/arena"

#: the latest evaluation onto Goal.achievementStatus
ACHIEVEMENT_CODES = {"green": ("achieved", "Achieved"), "yellow": ("improving", "Improving"),
                     "red": ("no-progress", "No Progress")}
#: measure status onto Goal.lifecycleStatus and Task.status
GOAL_STATUS = {"planned": "planned", "active": "active", "completed": "completed",
               "stopped": "cancelled"}
TASK_STATUS = {"planned": "requested", "active": "in-progress", "completed": "completed",
               "stopped": "cancelled"}
CAREPLAN_STATUS = {"open": "active", "closed": "completed"}





def log_bundle(log, participants, measures, evaluations, today: date) -> dict:
    by_measure: dict[str, list] = {}
    for evaluation in evaluations:
        by_measure.setdefault(evaluation.measure_id, []).append(evaluation)
    patient = {"reference": f"Patient/{log.child_id}"}
    care_team_id = f"careteam-{log.id}"
    care_team = {
        "resourceType": "CareTeam", "id": care_team_id,
        "status": "active" if log.status == domain.OPEN else "inactive",
        "subject": patient,
        "participant": [{
            "role": {"coding": [{"system": PARTICIPANT_ROLE, "code": p.role}]},
            "member": {"reference": f"{'Practitioner' if p.kind == 'staff' else 'RelatedPerson' if p.kind == 'guardian' else 'Patient'}/{p.person_id}"},
        } for p in participants if p.removed_at is None],
    }
    goals, tasks = [], []
    for measure in measures:
        outcome = domain.latest_outcome(by_measure.get(measure.id, []))
        goal = {"resourceType": "Goal", "id": f"goal-{measure.id}",
                "lifecycleStatus": GOAL_STATUS[measure.status],
                "description": {"text": measure.goal}, "subject": patient,
                "startDate": measure.start_date.isoformat(),
                "target": [{"dueDate": measure.evaluate_by.isoformat()}]}
        if outcome:
            code, display = ACHIEVEMENT_CODES[outcome]
            goal["achievementStatus"] = {"coding": [{"system": ACHIEVEMENT, "code": code,
                                                     "display": display}]}
        goals.append(goal)
        responsible = next((p for p in participants if p.id == measure.responsible_id), None)
        task = {"resourceType": "Task", "id": f"task-{measure.id}",
                "status": TASK_STATUS[measure.status], "intent": "plan",
                "description": measure.title, "for": patient,
                "code": {"coding": [{"system": ARENA, "code": measure.arena}]},
                "restriction": {"period": {"start": measure.start_date.isoformat(),
                                           "end": measure.evaluate_by.isoformat()}},
                "focus": {"reference": f"Goal/goal-{measure.id}"}}
        if responsible is not None:
            task["owner"] = {"reference": f"{'Practitioner' if responsible.kind == 'staff' else 'RelatedPerson' if responsible.kind == 'guardian' else 'Patient'}/{responsible.person_id}"}
        tasks.append(task)
    care_plan = {
        "resourceType": "CarePlan", "id": f"careplan-{log.id}",
        "status": CAREPLAN_STATUS[log.status], "intent": "plan",
        "title": "Stafettlogg", "subject": patient,
        "period": {"start": log.opened_at.date().isoformat(),
                   **({"end": log.closed_at.date().isoformat()} if log.closed_at else {})},
        "careTeam": [{"reference": f"CareTeam/{care_team_id}"}],
        "goal": [{"reference": f"Goal/{g['id']}"} for g in goals],
        "activity": [{"plannedActivityReference": {"reference": f"Task/{t['id']}"}}
                     for t in tasks],
    }
    for key in ("goal", "activity"):
        if not care_plan[key]:
            del care_plan[key]  # FHIR JSON has no empty arrays
    resources = [care_plan, care_team, *goals, *tasks]
    return {"resourceType": "Bundle", "type": "collection",
            "timestamp": f"{today.isoformat()}T00:00:00Z",
            "entry": [{"fullUrl": f"https://stafett.no/fhir/{r['resourceType']}/{r['id']}",
                       "resource": r} for r in resources]}
