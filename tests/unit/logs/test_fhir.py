"""Unit tests for services.logs.fhir: the FHIR R5 Bundle of a log.

``fhir.resources`` (R5) checks structure and datatypes, not code values; the codes we emit
are asserted here against the R5 value sets.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.careplan import CarePlan
from fhir.resources.careteam import CareTeam
from fhir.resources.goal import Goal
from fhir.resources.task import Task

from services.logs.fhir import log_bundle

TODAY = date(2025, 3, 10)
ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"

CAREPLAN_STATUSES = {"draft", "active", "on-hold", "revoked", "completed",
                     "entered-in-error", "unknown"}
GOAL_LIFECYCLE = {"proposed", "planned", "accepted", "active", "on-hold", "completed",
                  "cancelled", "entered-in-error", "rejected"}
ACHIEVEMENT_CODES = {"in-progress", "improving", "worsening", "no-change", "achieved",
                     "sustaining", "not-achieved", "no-progress", "not-attainable"}
TASK_STATUSES = {"draft", "requested", "received", "accepted", "rejected", "ready",
                 "cancelled", "in-progress", "on-hold", "failed", "completed",
                 "entered-in-error"}
CARETEAM_STATUSES = {"proposed", "active", "suspended", "inactive", "entered-in-error"}
CLASSES = {"CarePlan": CarePlan, "CareTeam": CareTeam, "Goal": Goal, "Task": Task}


def at(month, day, hour=12):
    return datetime(2025, month, day, hour, tzinfo=timezone.utc)


def person(pid, person_id, kind, role, name, nin, removed_at=None):
    # a national identity number and a name on the row: neither may reach the export
    return SimpleNamespace(id=pid, person_id=person_id, kind=kind, role=role,
                           display_name=name, national_id=nin, title="kontaktlærer",
                           agency="974760673" if kind == "staff" else None,
                           agency_type="school" if kind == "staff" else None,
                           removed_at=removed_at)


PARTICIPANTS = [
    person("p-holder", "s-holder", "staff", "stafettholder", "Kari Lærer", "01017012345"),
    person("p-nurse", "s-nurse", "staff", "member", "Nina Helsesøster", "02027012345"),
    person("p-former", "s-former", "staff", "former", "Frode Barnehage", "03037012345"),
    person("p-removed", "s-removed", "staff", "member", "Rita Fjernet", "04047012345",
           removed_at=at(2, 14)),
    person("p-mother", "c-mother", "guardian", "guardian", "Mona Mor", "05058012345"),
    person("p-child", "c-child", "child", "child", "Ola Nordmann", "06061312345"),
]
NAMES = {p.display_name for p in PARTICIPANTS} | {"Kari", "Nina", "Mona", "Nordmann"}


def make_log(status="open", closed_at=None):
    return SimpleNamespace(id="log-1", child_id="child-1", status=status, level=2,
                           opened_at=at(1, 6, 8), closed_at=closed_at,
                           child_national_id="06061312345", child_name="Ola Nordmann")


def measure(mid, status, responsible_id, arena="school", title=None):
    return SimpleNamespace(id=mid, title=title or f"Tiltak {mid}", description="intern",
                           goal=f"Målet for {mid}", responsible_id=responsible_id,
                           proposer_id="p-holder", arena=arena, status=status,
                           start_date=date(2025, 1, 13), evaluate_by=date(2025, 4, 1),
                           evaluate_by_set_on=None)


MEASURES = [
    measure("m-planned", "planned", "p-holder", "school"),
    measure("m-active", "active", "p-nurse", "health"),
    measure("m-completed", "completed", "p-mother", "home"),
    measure("m-stopped", "stopped", "p-holder", "leisure"),
    measure("m-yellow", "active", "p-child", "leisure"),
    measure("m-orphan", "active", "p-unknown", "other"),
]


def evaluation(eid, measure_id, outcome, on, created_at):
    return SimpleNamespace(id=eid, measure_id=measure_id, outcome=outcome, text="tekst",
                           child_view=None, evaluator_id="p-nurse", evaluated_on=on,
                           created_at=created_at)


EVALUATIONS = [
    # m-active: red, then green: the latest (green) is reported
    evaluation("ev-1", "m-active", "red", date(2025, 2, 1), at(2, 1)),
    evaluation("ev-2", "m-active", "green", date(2025, 3, 1), at(3, 1)),
    evaluation("ev-3", "m-completed", "green", date(2025, 2, 20), at(2, 20)),
    # m-stopped: green, then red on a later day (entered earlier than the green)
    evaluation("ev-5", "m-stopped", "red", date(2025, 2, 15), at(2, 10)),
    evaluation("ev-4", "m-stopped", "green", date(2025, 2, 1), at(2, 12)),
    evaluation("ev-6", "m-yellow", "yellow", date(2025, 3, 2), at(3, 2)),
]


def bundle(log=None, measures=MEASURES, evaluations=EVALUATIONS, participants=PARTICIPANTS):
    return log_bundle(log or make_log(), participants, measures, evaluations, TODAY)


def resources(result, kind=None):
    return [e["resource"] for e in result["entry"]
            if kind is None or e["resource"]["resourceType"] == kind]


def by_id(result):
    return {r["id"]: r for r in resources(result)}


def walk(node, path="$"):
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


CLOSED = make_log("closed", at(3, 9, 15))


# -- structure ----------------------------------------------------------------------------

@pytest.mark.parametrize("log", [make_log(), CLOSED], ids=["open", "closed"])
def test_bundle_validates_as_r5(log):
    parsed = Bundle.model_validate(bundle(log))
    assert parsed.type == "collection"
    assert len(parsed.entry) == 2 + 2 * len(MEASURES)


@pytest.mark.parametrize("kind", ["CarePlan", "CareTeam", "Goal", "Task"])
def test_each_resource_validates_with_its_own_class(kind):
    found = resources(bundle(), kind)
    assert found
    for resource in found:
        parsed = CLASSES[kind].model_validate(resource)
        assert parsed.id == resource["id"]


def test_bundle_shape():
    result = bundle()
    assert result["resourceType"] == "Bundle"
    assert result["type"] == "collection"
    assert result["timestamp"] == "2025-03-10T00:00:00Z"
    assert [r["resourceType"] for r in resources(result)] == (
        ["CarePlan", "CareTeam"] + ["Goal"] * 6 + ["Task"] * 6)
    for item in result["entry"]:
        r = item["resource"]
        assert item["fullUrl"] == f"https://stafett.no/fhir/{r['resourceType']}/{r['id']}"
    ids = [r["id"] for r in resources(result)]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("log, measures", [(make_log(), MEASURES), (CLOSED, MEASURES),
                                           (make_log(), [])], ids=["open", "closed", "empty"])
def test_no_empty_arrays_objects_or_strings_anywhere(log, measures):
    result = bundle(log, measures, EVALUATIONS if measures else [])
    for path, node in walk(result):
        assert node != [] and node != {} and node != "", path
        assert node is not None, path


def test_log_without_measures_has_no_goal_or_activity_and_still_validates():
    result = bundle(measures=[], evaluations=[])
    plan = resources(result, "CarePlan")[0]
    assert "goal" not in plan and "activity" not in plan
    CarePlan.model_validate(plan)
    Bundle.model_validate(result)


# -- codes --------------------------------------------------------------------------------

@pytest.mark.parametrize("log, status", [(make_log(), "active"), (CLOSED, "completed")],
                         ids=["open", "closed"])
def test_careplan_status_and_intent(log, status):
    plan = resources(bundle(log), "CarePlan")[0]
    assert plan["status"] == status
    assert plan["status"] in CAREPLAN_STATUSES
    assert plan["intent"] == "plan"
    assert plan["subject"] == {"reference": "Patient/child-1"}


def test_careplan_period():
    assert resources(bundle(), "CarePlan")[0]["period"] == {"start": "2025-01-06"}
    assert resources(bundle(CLOSED), "CarePlan")[0]["period"] == {"start": "2025-01-06",
                                                                  "end": "2025-03-09"}


@pytest.mark.parametrize("log, status", [(make_log(), "active"), (CLOSED, "inactive")],
                         ids=["open", "closed"])
def test_careteam_status(log, status):
    team = resources(bundle(log), "CareTeam")[0]
    assert team["status"] == status
    assert team["status"] in CARETEAM_STATUSES


def test_careteam_members_by_kind_without_removed():
    team = resources(bundle(), "CareTeam")[0]
    for p in team["participant"]:
        # R5: CareTeam.participant.role is one CodeableConcept (R4 had a list)
        assert isinstance(p["role"], dict)
        assert p["role"]["coding"][0]["system"] == (
            "https://stafett.no/fhir/CodeSystem/participant-role")
    members = [(p["member"]["reference"], p["role"]["coding"][0]["code"])
               for p in team["participant"]]
    assert members == [("Practitioner/s-holder", "stafettholder"),
                       ("Practitioner/s-nurse", "member"),
                       ("Practitioner/s-former", "former"),
                       ("RelatedPerson/c-mother", "guardian"),
                       ("Patient/c-child", "child")]


GOAL_MAPPING = {"m-planned": "planned", "m-active": "active", "m-completed": "completed",
                "m-stopped": "cancelled", "m-yellow": "active", "m-orphan": "active"}
TASK_MAPPING = {"m-planned": "requested", "m-active": "in-progress",
                "m-completed": "completed", "m-stopped": "cancelled",
                "m-yellow": "in-progress", "m-orphan": "in-progress"}


def test_goal_lifecycle_status_mapping():
    goals = by_id(bundle())
    for mid, expected in GOAL_MAPPING.items():
        status = goals[f"goal-{mid}"]["lifecycleStatus"]
        assert status == expected, mid
        assert status in GOAL_LIFECYCLE


def test_goal_achievement_status_from_the_latest_evaluation():
    goals = by_id(bundle())
    expected = {"m-active": ("achieved", "Achieved"), "m-completed": ("achieved", "Achieved"),
                "m-stopped": ("no-progress", "No Progress"),
                "m-yellow": ("improving", "Improving")}
    for mid, (code, display) in expected.items():
        achievement = goals[f"goal-{mid}"]["achievementStatus"]
        assert achievement == {"coding": [{"system": ACHIEVEMENT, "code": code,
                                           "display": display}]}, mid
        assert code in ACHIEVEMENT_CODES
    for mid in ("m-planned", "m-orphan"):  # never evaluated
        assert "achievementStatus" not in goals[f"goal-{mid}"]


def test_goal_content():
    goal = by_id(bundle())["goal-m-active"]
    assert goal["description"] == {"text": "Målet for m-active"}
    assert goal["subject"] == {"reference": "Patient/child-1"}
    assert goal["startDate"] == "2025-01-13"
    assert goal["target"] == [{"dueDate": "2025-04-01"}]


def test_task_status_mapping_and_intent():
    tasks = by_id(bundle())
    for mid, expected in TASK_MAPPING.items():
        task = tasks[f"task-{mid}"]
        assert task["status"] == expected, mid
        assert task["status"] in TASK_STATUSES
        assert task["intent"] == "plan"


def test_task_content_and_owner_by_kind():
    tasks = by_id(bundle())
    active = tasks["task-m-active"]
    assert active["description"] == "Tiltak m-active"
    assert active["for"] == {"reference": "Patient/child-1"}
    assert active["code"] == {"coding": [{
        "system": "https://stafett.no/fhir/CodeSystem/arena", "code": "health"}]}
    assert active["restriction"] == {"period": {"start": "2025-01-13", "end": "2025-04-01"}}
    assert active["owner"] == {"reference": "Practitioner/s-nurse"}
    assert tasks["task-m-completed"]["owner"] == {"reference": "RelatedPerson/c-mother"}
    assert tasks["task-m-yellow"]["owner"] == {"reference": "Patient/c-child"}
    assert "owner" not in tasks["task-m-orphan"]


# -- privacy ------------------------------------------------------------------------------

ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")


@pytest.mark.parametrize("log", [make_log(), CLOSED], ids=["open", "closed"])
def test_no_names_or_national_ids_anywhere(log):
    result = bundle(log)
    text = json.dumps(result, ensure_ascii=False)
    assert not ELEVEN_DIGITS.search(text)
    for _, node in walk(result):
        if isinstance(node, str):
            assert not ELEVEN_DIGITS.search(node), node
            for name in NAMES:
                assert name not in node, (name, node)
        if isinstance(node, dict):
            for key in node:
                assert key not in {"name", "identifier", "telecom", "address"}, key


# -- references ---------------------------------------------------------------------------

def resolve(result, reference):
    """A relative reference resolves against the fullUrls of the bundle's entries."""
    base = "https://stafett.no/fhir/"
    urls = {e["fullUrl"]: e["resource"] for e in result["entry"]}
    return urls.get(base + reference)


def test_careplan_references_resolve_within_the_bundle():
    result = bundle()
    plan = resources(result, "CarePlan")[0]
    teams = [resolve(result, r["reference"]) for r in plan["careTeam"]]
    assert [t["resourceType"] for t in teams] == ["CareTeam"]
    goals = [resolve(result, r["reference"]) for r in plan["goal"]]
    assert [g["resourceType"] for g in goals] == ["Goal"] * 6
    assert {g["id"] for g in goals} == {f"goal-{m.id}" for m in MEASURES}
    tasks = [resolve(result, a["plannedActivityReference"]["reference"])
             for a in plan["activity"]]
    assert [t["resourceType"] for t in tasks] == ["Task"] * 6
    assert {t["id"] for t in tasks} == {f"task-{m.id}" for m in MEASURES}


def test_task_focus_resolves_to_its_goal():
    result = bundle()
    for task in resources(result, "Task"):
        goal = resolve(result, task["focus"]["reference"])
        assert goal is not None and goal["resourceType"] == "Goal"
        assert goal["id"] == task["id"].replace("task-", "goal-", 1)


def test_every_internal_reference_resolves():
    result = bundle()
    internal = ("CarePlan/", "CareTeam/", "Goal/", "Task/")
    seen = 0
    for path, node in walk(result):
        if isinstance(node, dict) and isinstance(node.get("reference"), str):
            ref = node["reference"]
            if ref.startswith(internal):
                assert resolve(result, ref) is not None, (path, ref)
                seen += 1
            else:
                assert ref.split("/")[0] in {"Patient", "Practitioner", "RelatedPerson"}
    assert seen == 1 + 6 + 6 + 6  # careTeam, goals, activities, task focus
