"""Unit tests for services.logs.views: what each viewer sees of a log.

The expected field sets are written out by hand here (not read from the schema classes):
they are the contract of minimisation per viewer. The rows are handed over as
services/logs/lists.py reads them for a viewer (``recent_of``); test_lists.py checks that
the database gives exactly these, and the timeline.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from services.logs import domain, views
from services.logs.domain import Viewer
from stafett.errors import Forbidden

TODAY = date(2025, 3, 10)
SCHOOL, HEALTH = "974760673", "971526920"


def at(month, day, hour=12, minute=0):
    return datetime(2025, month, day, hour, minute, tzinfo=timezone.utc)


def person(pid, person_id, kind, role, name, title=None, agency=None, agency_type=None,
           municipality=None, active_from=date(2025, 1, 6), active_until=None,
           removed_at=None, read_only_until=None, added_at=None):
    return SimpleNamespace(id=pid, log_id="log-1", person_id=person_id, kind=kind, role=role,
                           display_name=name, title=title, agency=agency,
                           agency_type=agency_type, municipality=municipality,
                           active_from=active_from, active_until=active_until,
                           removed_at=removed_at, read_only_until=read_only_until,
                           added_at=added_at)


HOLDER = person("p-holder", "s-holder", "staff", domain.STAFETTHOLDER, "Kari Lærer",
                "kontaktlærer", SCHOOL, "school", "Bergen", added_at=at(1, 6, 9))
NURSE = person("p-nurse", "s-nurse", "staff", domain.MEMBER, "Nina Helsesøster",
               "helsesykepleier", HEALTH, "health_station", "Bergen", added_at=at(1, 8, 9))
FORMER = person("p-former", "s-former", "staff", domain.FORMER, "Frode Barnehage",
                "pedagogisk leder", "998877665", "kindergarten", "Bergen",
                active_until=date(2025, 3, 1), read_only_until=date(2025, 3, 31),
                added_at=at(1, 7, 9))
REMOVED = person("p-removed", "s-removed", "staff", domain.MEMBER, "Rita Fjernet",
                 "rådgiver", SCHOOL, "school", "Bergen", added_at=at(1, 9, 9),
                 removed_at=at(2, 14, 10))
MOTHER = person("p-mother", "c-mother", "guardian", domain.GUARDIAN, "Mona Mor")
FATHER = person("p-father", "c-father", "guardian", domain.GUARDIAN, "Fredrik Far")
CHILD = person("p-child", "c-child", "child", domain.CHILD, "Ola")
PARTICIPANTS = [HOLDER, NURSE, FORMER, REMOVED, MOTHER, FATHER, CHILD]
PERSON_IDS = {p.person_id for p in PARTICIPANTS}
AGENCIES = {SCHOOL, HEALTH, "998877665"}

LOG = SimpleNamespace(id="log-1", child_id="child-1", child_birth_date=date(2011, 5, 1),
                      status="open", level=2, opened_at=at(1, 6, 8), closed_at=None,
                      close_reason=None, version=17)
LEVELS = [SimpleNamespace(id="lv-1", log_id="log-1", level=1, changed_at=at(1, 6, 8),
                          changed_by="p-holder"),
          SimpleNamespace(id="lv-2", log_id="log-1", level=2, changed_at=at(2, 3, 11),
                          changed_by="p-holder")]


def measure(mid, title, proposer_id, responsible_id, arena, status, start_date, evaluate_by,
            created_at, evaluate_by_set_on=None, meeting_id=None, proposal_id=None,
            version=1):
    return SimpleNamespace(id=mid, log_id="log-1", title=title,
                           description=f"beskrivelse av {title}", goal=f"mål for {title}",
                           responsible_id=responsible_id, proposer_id=proposer_id, arena=arena,
                           start_date=start_date, evaluate_by=evaluate_by,
                           evaluate_by_set_on=evaluate_by_set_on, status=status,
                           meeting_id=meeting_id, proposal_id=proposal_id,
                           created_at=created_at, updated_at=None, version=version)


READING = measure("m-reading", "Lesetrening", "p-holder", "p-nurse", "school", "active",
                  date(2025, 1, 13), date(2025, 4, 1), at(1, 10, 10), version=3)
SLEEP = measure("m-sleep", "Faste leggetider", "p-child", "p-mother", "home", "planned",
                date(2025, 2, 1), date(2025, 3, 1), at(1, 20, 10), proposal_id="pr-child",
                meeting_id="mt-1")
FOOTBALL = measure("m-football", "Fotball på fritida", "p-nurse", "p-holder", "leisure",
                   "stopped", date(2025, 1, 13), date(2025, 2, 10), at(1, 12, 10))
MEASURES = [READING, SLEEP, FOOTBALL]


def evaluation(eid, measure_id, outcome, on, created_at, evaluator="p-nurse",
               child_view=None):
    return SimpleNamespace(id=eid, measure_id=measure_id, outcome=outcome,
                           text=f"vurdering {eid}", child_view=child_view,
                           evaluator_id=evaluator, evaluated_on=on, created_at=created_at)


# given out of order on purpose: the view orders them by evaluated_on
EVALUATIONS = [
    evaluation("ev-2", "m-reading", "green", date(2025, 3, 3), at(3, 3, 14),
               child_view="Det går bedre"),
    evaluation("ev-1", "m-reading", "yellow", date(2025, 2, 3), at(2, 3, 14)),
    evaluation("ev-3", "m-football", "red", date(2025, 2, 10), at(2, 10, 14),
               evaluator="p-holder"),
]

MEETINGS = [
    SimpleNamespace(id="mt-1", log_id="log-1", starts_at=at(2, 3, 10), ends_at=at(2, 3, 11),
                    mode="in_person", place="Skolen, møterom 2", agenda="Status",
                    minutes="Vi ble enige om leggetider", minuted_at=at(2, 4, 9),
                    created_by="p-holder", created_at=at(1, 25, 9), version=2),
    SimpleNamespace(id="mt-2", log_id="log-1", starts_at=at(3, 17, 10), ends_at=None,
                    mode="video", place=None, agenda="Evaluering", minutes=None,
                    minuted_at=None, created_by="p-holder", created_at=at(3, 5, 9),
                    version=1),
]
INVITES = [
    SimpleNamespace(meeting_id="mt-1", participant_id="p-nurse", attended=True),
    SimpleNamespace(meeting_id="mt-1", participant_id="p-mother", attended=False),
    SimpleNamespace(meeting_id="mt-1", participant_id="p-holder", attended=True),
    SimpleNamespace(meeting_id="mt-2", participant_id="p-child", attended=None),
    SimpleNamespace(meeting_id="mt-2", participant_id="p-holder", attended=None),
]


def entry(eid, kind, visibility, author_id, created_at):
    return SimpleNamespace(id=eid, log_id="log-1", kind=kind, visibility=visibility,
                           text=f"tekst {eid}", author_id=author_id, created_at=created_at)


ENTRIES = [
    entry("e-note-all", "note", "all", "p-mother", at(1, 15, 18)),
    entry("e-note-staff", "note", "staff", "p-holder", at(1, 16, 15)),
    entry("e-voice", "child_voice", "all", "p-child", at(1, 18, 16)),
    entry("e-voice-staff", "child_voice", "staff", "p-nurse", at(1, 19, 13)),
    entry("e-bright", "bright_spot", "all", "p-nurse", at(2, 20, 13)),
]


def proposal(pid, proposer_id, title, status, created_at, answered_at=None,
             decline_reason=None, measure_id=None):
    return SimpleNamespace(id=pid, log_id="log-1", proposer_id=proposer_id, title=title,
                           description=f"beskrivelse {pid}", goal=f"mål {pid}", arena="home",
                           status=status, decline_reason=decline_reason,
                           measure_id=measure_id, created_at=created_at,
                           answered_at=answered_at,
                           answered_by="p-holder" if answered_at else None)


PROPOSALS = [
    proposal("pr-child", "p-child", "Faste leggetider", "accepted", at(1, 17, 19),
             at(1, 20, 10), measure_id="m-sleep"),
    proposal("pr-mother", "p-mother", "Leksehjelp", "proposed", at(2, 25, 20)),
    proposal("pr-child-2", "p-child", "Mindre skjerm", "declined", at(2, 1, 19),
             at(2, 5, 10), decline_reason="ikke nå"),
]

STAFF = Viewer(HOLDER, domain.STAFETTHOLDER)
GUARDIAN = Viewer(MOTHER, domain.GUARDIAN)
CHILD_VIEWER = Viewer(CHILD, domain.CHILD)


def newest(rows, *names):
    return sorted(rows, key=lambda r: tuple(getattr(r, n) for n in names), reverse=True)


def evaluations_of(measure_id, rows=EVALUATIONS):
    """A measure's evaluations as lists.measure_extras gives them: the latest first."""
    return newest([e for e in rows if e.measure_id == measure_id], "evaluated_on",
                  "created_at", "id")


def recent_of(viewer) -> dict:
    """What lists.recent reads for this viewer, from the rows above (all fit a page)."""
    entries = newest([e for e in ENTRIES if domain.entry_visible(e, viewer)],
                     "created_at", "id")
    proposals = newest([p for p in PROPOSALS if domain.proposal_visible(p, viewer)],
                       "created_at", "id")
    pages = {"entries": entries, "measures": newest(MEASURES, "created_at", "id"),
             "meetings": newest(MEETINGS, "starts_at", "id"), "proposals": proposals}
    return {**pages, "levels": LEVELS,
            "evaluations": {m.id: evaluations_of(m.id) for m in MEASURES},
            "evaluation_totals": {m.id: len(evaluations_of(m.id)) for m in MEASURES},
            "evaluation_cursors": {},
            "invites": {m.id: [i for i in INVITES if i.meeting_id == m.id] for m in MEETINGS},
            "lists": {kind: {"total": len(rows), "next_cursor": None, "next": None}
                      for kind, rows in pages.items()}}


def log_view(viewer, log=LOG, holder=HOLDER):
    return views.log_view(viewer, log, PARTICIPANTS, recent_of(viewer), TODAY, holder)


def walk(node, path="$"):
    """Every (path, key, value) in a nested structure of dicts and lists."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


def strings(node):
    found = []
    for _, key, value in walk(node):
        found.append(key)
        if isinstance(value, str):
            found.append(value)
    if isinstance(node, list):
        found += [v for v in node if isinstance(v, str)]
    return found


# -- the field sets, by hand --------------------------------------------------------------

#: what the viewer may do (domain.permissions), in every view
PERMISSIONS = {"audience", "can_edit", "can_add_measure", "can_evaluate",
               "can_schedule_meeting", "can_record_minutes", "can_add_entry", "entry_kinds",
               "can_propose", "can_answer_proposals", "can_add_participant",
               "can_remove_participant", "can_change_level", "can_close", "can_pass_baton",
               "can_take_baton", "can_read_access_log"}
STAFF_TOP = {"id", "child_id", "status", "level", "level_history", "opened_at", "closed_at",
             "close_reason", "version", "viewer_role", "viewer_participant_id",
             "participants", "measures", "meetings", "entries", "proposals", "lists",
             "stafettholder_id"} | PERMISSIONS
GUARDIAN_TOP = {"id", "status", "level", "opened_at", "closed_at", "close_reason",
                "version", "viewer_role", "viewer_participant_id", "participants",
                "measures", "meetings", "entries", "proposals", "lists",
                "stafettholder_id"} | PERMISSIONS
CHILD_TOP = {"id", "status", "viewer_role", "viewer_participant_id", "participants",
             "measures", "meetings", "entries", "proposals", "lists",
             "stafettholder_id"} | PERMISSIONS
LISTS = {"entries", "measures", "meetings", "proposals"}
LIST_INFO = {"total", "next_cursor", "next"}

LEVEL_KEYS = {"level", "changed_at"}
STAFF_PARTICIPANT = {"id", "person_id", "kind", "role", "display_name", "title", "agency",
                     "agency_type", "active_from", "active_until", "read_only_until"}
CITIZEN_PARTICIPANT = {"id", "kind", "role", "display_name", "title", "agency_type"}
MEASURE = {"id", "title", "description", "goal", "responsible_id", "proposer_id",
           "proposer_role", "arena", "start_date", "evaluate_by", "status", "latest_outcome",
           "overdue", "meeting_id", "version", "evaluations", "evaluation_total",
           "evaluations_next_cursor"}
CHILD_MEASURE = {"id", "title", "goal", "responsible_id", "proposer_role", "arena",
                 "evaluate_by", "status", "latest_outcome", "evaluations", "evaluation_total",
                 "evaluations_next_cursor"}
EVALUATION = {"id", "outcome", "text", "child_view", "evaluator_id", "evaluated_on"}
CHILD_EVALUATION = {"outcome", "child_view", "evaluated_on"}
MEETING = {"id", "starts_at", "ends_at", "mode", "place", "agenda", "minutes", "invited",
           "attended", "version"}
CHILD_MEETING = {"id", "starts_at", "mode", "place", "agenda"}
STAFF_ENTRY = {"id", "kind", "visibility", "text", "author_id", "created_at"}
CITIZEN_ENTRY = {"id", "kind", "text", "author_id", "created_at"}
PROPOSAL = {"id", "proposer_id", "proposer_role", "title", "description", "goal", "arena",
            "status", "decline_reason", "measure_id", "created_at", "answered_at"}

EXPECTED = {
    "staff": dict(top=STAFF_TOP, participant=STAFF_PARTICIPANT, measure=MEASURE,
                  evaluation=EVALUATION, meeting=MEETING, entry=STAFF_ENTRY),
    "guardian": dict(top=GUARDIAN_TOP, participant=CITIZEN_PARTICIPANT, measure=MEASURE,
                     evaluation=EVALUATION, meeting=MEETING, entry=CITIZEN_ENTRY),
    "child": dict(top=CHILD_TOP, participant=CITIZEN_PARTICIPANT, measure=CHILD_MEASURE,
                  evaluation=CHILD_EVALUATION, meeting=CHILD_MEETING, entry=CITIZEN_ENTRY),
}
VIEWERS = {"staff": STAFF, "guardian": GUARDIAN, "child": CHILD_VIEWER}


# -- key sets per role --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["staff", "guardian", "child"])
def test_exact_key_sets_per_role(name):
    view, expected = log_view(VIEWERS[name]), EXPECTED[name]
    assert set(view) == expected["top"]
    assert view["participants"] and view["measures"] and view["meetings"]
    assert view["entries"] and view["proposals"]
    for p in view["participants"]:
        assert set(p) == expected["participant"], p["id"]
    evaluated = 0
    for m in view["measures"]:
        assert set(m) == expected["measure"], m["id"]
        for e in m["evaluations"]:
            assert set(e) == expected["evaluation"]
            evaluated += 1
    assert evaluated == 3
    for m in view["meetings"]:
        assert set(m) == expected["meeting"], m["id"]
    for e in view["entries"]:
        assert set(e) == expected["entry"], e["id"]
    for p in view["proposals"]:
        assert set(p) == PROPOSAL, p["id"]
    if name == "staff":
        assert [set(lv) for lv in view["level_history"]] == [LEVEL_KEYS, LEVEL_KEYS]
    assert set(view["lists"]) == LISTS
    assert all(set(info) == LIST_INFO for info in view["lists"].values())


@pytest.mark.parametrize("name", ["staff", "guardian", "child"])
def test_the_lists_say_how_many_the_viewer_may_see(name):
    lists = log_view(VIEWERS[name])["lists"]
    assert {kind: info["total"] for kind, info in lists.items()} == {
        "entries": 5 if name == "staff" else 3, "measures": 3, "meetings": 2,
        "proposals": 2 if name == "child" else 3}
    assert all(info["next_cursor"] is None and info["next"] is None
               for info in lists.values())


@pytest.mark.parametrize("role", [domain.MEMBER, domain.FORMER, domain.SYSTEM_ROLE])
def test_every_staff_role_gets_the_staff_view(role):
    view = log_view(Viewer(NURSE, role))
    assert set(view) == STAFF_TOP
    assert view["viewer_role"] == role
    assert view["viewer_participant_id"] == "p-nurse"
    assert {e["id"] for e in view["entries"]} == {e.id for e in ENTRIES}


def test_staff_view_values():
    view = log_view(STAFF)
    assert view["id"] == "log-1" and view["child_id"] == "child-1"
    assert (view["status"], view["level"], view["version"]) == ("open", 2, 17)
    assert view["viewer_role"] == "stafettholder"
    assert view["viewer_participant_id"] == "p-holder"
    assert view["opened_at"] == "2025-01-06T08:00:00+00:00"
    assert view["closed_at"] is None and view["close_reason"] is None
    assert view["level_history"] == [
        {"level": 1, "changed_at": "2025-01-06T08:00:00+00:00"},
        {"level": 2, "changed_at": "2025-02-03T11:00:00+00:00"}]
    holder = next(p for p in view["participants"] if p["id"] == "p-holder")
    assert holder == {"id": "p-holder", "person_id": "s-holder", "kind": "staff",
                      "role": "stafettholder", "display_name": "Kari Lærer",
                      "title": "kontaktlærer", "agency": SCHOOL, "agency_type": "school",
                      "active_from": "2025-01-06", "active_until": None,
                      "read_only_until": None}
    former = next(p for p in view["participants"] if p["id"] == "p-former")
    assert former["read_only_until"] == "2025-03-31"
    assert former["active_until"] == "2025-03-01"
    assert {e["id"] for e in view["entries"]} == {"e-note-all", "e-note-staff", "e-voice",
                                                  "e-voice-staff", "e-bright"}
    staff_only = next(e for e in view["entries"] if e["id"] == "e-note-staff")
    assert staff_only["visibility"] == "staff"


@pytest.mark.parametrize("name", ["staff", "guardian", "child"])
def test_removed_participants_are_not_listed(name):
    ids = [p["id"] for p in log_view(VIEWERS[name])["participants"]]
    assert ids == ["p-holder", "p-nurse", "p-former", "p-mother", "p-father", "p-child"]


def test_measures_for_staff_and_guardian():
    for viewer in (STAFF, GUARDIAN):
        measures = {m["id"]: m for m in log_view(viewer)["measures"]}
        assert list(measures) == ["m-sleep", "m-football", "m-reading"]  # newest first
        reading = measures["m-reading"]
        assert reading["proposer_role"] == "stafettholder"
        assert reading["latest_outcome"] == "green"
        assert reading["overdue"] is False
        assert reading["version"] == 3
        assert reading["description"] == "beskrivelse av Lesetrening"
        assert [e["id"] for e in reading["evaluations"]] == ["ev-2", "ev-1"]  # latest first
        assert reading["evaluation_total"] == 2
        assert reading["evaluations_next_cursor"] is None
        assert reading["evaluations"][0] == {
            "id": "ev-2", "outcome": "green", "text": "vurdering ev-2",
            "child_view": "Det går bedre", "evaluator_id": "p-nurse",
            "evaluated_on": "2025-03-03"}
        sleep = measures["m-sleep"]
        assert sleep["proposer_role"] == "child"
        assert sleep["proposer_id"] == "p-child"
        assert sleep["responsible_id"] == "p-mother"
        assert sleep["overdue"] is True          # evaluate_by 1 March, never evaluated
        assert sleep["latest_outcome"] is None
        assert sleep["meeting_id"] == "mt-1"
        assert sleep["evaluations"] == []
        football = measures["m-football"]
        assert football["status"] == "stopped"
        assert football["latest_outcome"] == "red"
        assert football["overdue"] is False       # stopped measures are never overdue
        assert football["proposer_role"] == "member"


def test_child_measure_view_has_no_description_and_no_evaluator_text():
    measures = {m["id"]: m for m in log_view(CHILD_VIEWER)["measures"]}
    assert measures["m-reading"] == {
        "id": "m-reading", "title": "Lesetrening", "goal": "mål for Lesetrening",
        "responsible_id": "p-nurse", "proposer_role": "stafettholder", "arena": "school",
        "evaluate_by": "2025-04-01", "status": "active", "latest_outcome": "green",
        "evaluations": [
            {"outcome": "green", "child_view": "Det går bedre",
             "evaluated_on": "2025-03-03"},
            {"outcome": "yellow", "child_view": None, "evaluated_on": "2025-02-03"}],
        "evaluation_total": 2, "evaluations_next_cursor": None}
    assert measures["m-sleep"]["proposer_role"] == "child"
    measure_keys = {key for _, key, _ in walk(list(measures.values()))}
    assert not measure_keys & {"description", "text", "evaluator_id", "proposer_id",
                               "start_date", "overdue", "version", "meeting_id"}
    child_strings = strings(log_view(CHILD_VIEWER))
    for hidden in ("beskrivelse av Lesetrening", "beskrivelse av Faste leggetider",
                   "vurdering ev-1", "vurdering ev-2", "vurdering ev-3"):
        assert hidden not in child_strings


def test_meetings_for_staff_and_guardian():
    for viewer in (STAFF, GUARDIAN):
        meetings = {m["id"]: m for m in log_view(viewer)["meetings"]}
        assert meetings["mt-1"] == {
            "id": "mt-1", "starts_at": "2025-02-03T10:00:00+00:00",
            "ends_at": "2025-02-03T11:00:00+00:00", "mode": "in_person",
            "place": "Skolen, møterom 2", "agenda": "Status",
            "minutes": "Vi ble enige om leggetider",
            "invited": ["p-holder", "p-mother", "p-nurse"],
            "attended": ["p-holder", "p-nurse"], "version": 2}
        assert meetings["mt-2"]["invited"] == ["p-child", "p-holder"]
        assert meetings["mt-2"]["attended"] == []
        assert meetings["mt-2"]["minutes"] is None


def test_child_meeting_view():
    assert log_view(CHILD_VIEWER)["meetings"] == [  # the latest planned first
        {"id": "mt-2", "starts_at": "2025-03-17T10:00:00+00:00", "mode": "video",
         "place": None, "agenda": "Evaluering"},
        {"id": "mt-1", "starts_at": "2025-02-03T10:00:00+00:00", "mode": "in_person",
         "place": "Skolen, møterom 2", "agenda": "Status"}]


@pytest.mark.parametrize("name", ["guardian", "child"])
def test_citizens_never_get_staff_only_entries(name):
    view = log_view(VIEWERS[name])
    assert [e["id"] for e in view["entries"]] == ["e-bright", "e-voice", "e-note-all"]
    text = strings(view)
    assert "tekst e-note-staff" not in text
    assert "tekst e-voice-staff" not in text
    assert all("visibility" not in e for e in view["entries"])


@pytest.mark.parametrize("name", ["guardian", "child"])
def test_citizens_never_get_person_ids_agencies_or_child_id(name):
    view = log_view(VIEWERS[name])
    keys = {key for _, key, _ in walk(view)}
    assert not keys & {"person_id", "agency", "child_id", "municipality"}
    values = set(strings(view))
    assert not values & PERSON_IDS
    assert not values & AGENCIES
    assert "child-1" not in values


def test_guardian_sees_every_proposal_with_the_proposer_role():
    proposals = {p["id"]: p for p in log_view(GUARDIAN)["proposals"]}
    assert set(proposals) == {"pr-child", "pr-mother", "pr-child-2"}
    assert proposals["pr-mother"]["proposer_role"] == "guardian"
    assert proposals["pr-child"]["proposer_role"] == "child"
    assert proposals["pr-child"]["measure_id"] == "m-sleep"
    assert proposals["pr-child-2"]["decline_reason"] == "ikke nå"
    assert proposals["pr-mother"]["answered_at"] is None


def test_child_gets_only_its_own_proposals():
    proposals = log_view(CHILD_VIEWER)["proposals"]
    assert [p["id"] for p in proposals] == ["pr-child-2", "pr-child"]
    assert {p["proposer_role"] for p in proposals} == {"child"}
    assert "Leksehjelp" not in strings(log_view(CHILD_VIEWER))


def test_staff_sees_every_proposal():
    proposals = {p["id"]: p for p in log_view(STAFF)["proposals"]}
    assert set(proposals) == {"pr-child", "pr-mother", "pr-child-2"}
    assert proposals["pr-child"] == {
        "id": "pr-child", "proposer_id": "p-child", "proposer_role": "child",
        "title": "Faste leggetider", "description": "beskrivelse pr-child",
        "goal": "mål pr-child", "arena": "home", "status": "accepted",
        "decline_reason": None, "measure_id": "m-sleep",
        "created_at": "2025-01-17T19:00:00+00:00",
        "answered_at": "2025-01-20T10:00:00+00:00"}


def test_guardian_view_values():
    view = log_view(GUARDIAN)
    assert view["viewer_role"] == "guardian"
    assert view["viewer_participant_id"] == "p-mother"
    assert (view["level"], view["version"], view["status"]) == (2, 17, "open")
    assert next(p for p in view["participants"] if p["id"] == "p-nurse") == {
        "id": "p-nurse", "kind": "staff", "role": "member",
        "display_name": "Nina Helsesøster", "title": "helsesykepleier",
        "agency_type": "health_station"}


def test_child_view_values():
    view = log_view(CHILD_VIEWER)
    assert (view["id"], view["status"], view["viewer_role"],
            view["viewer_participant_id"]) == ("log-1", "open", "child", "p-child")
    assert next(p for p in view["participants"] if p["id"] == "p-child") == {
        "id": "p-child", "kind": "child", "role": "child", "display_name": "Ola",
        "title": None, "agency_type": None}


def test_closed_log_shows_closing_to_staff_and_guardian_not_child():
    closed = SimpleNamespace(**{**vars(LOG), "status": "closed", "closed_at": at(3, 8, 12),
                                "close_reason": "målene er nådd"})
    assert log_view(STAFF, closed)["close_reason"] == "målene er nådd"
    assert log_view(GUARDIAN, closed)["closed_at"] == "2025-03-08T12:00:00+00:00"
    child = log_view(CHILD_VIEWER, closed)
    assert child["status"] == "closed"
    assert "close_reason" not in child and "closed_at" not in child


def test_dump_helpers_follow_the_viewer():
    extras = recent_of(STAFF)
    assert set(views.dump_measure(CHILD_VIEWER, READING, PARTICIPANTS, TODAY,
                                  extras)) == CHILD_MEASURE
    assert set(views.dump_measure(GUARDIAN, READING, PARTICIPANTS, TODAY, extras)) == MEASURE
    assert set(views.dump_evaluation(CHILD_VIEWER, EVALUATIONS[0])) == CHILD_EVALUATION
    assert set(views.dump_evaluation(GUARDIAN, EVALUATIONS[0])) == EVALUATION
    assert set(views.dump_meeting(CHILD_VIEWER, MEETINGS[0], INVITES[:3])) == CHILD_MEETING
    assert set(views.dump_entry(GUARDIAN, ENTRIES[0])) == CITIZEN_ENTRY
    assert set(views.dump_entry(STAFF, ENTRIES[1])) == STAFF_ENTRY
    assert set(views.dump_participant(GUARDIAN, HOLDER)) == CITIZEN_PARTICIPANT
    assert set(views.dump_participant(Viewer(NURSE, domain.SYSTEM_ROLE),
                                      HOLDER)) == STAFF_PARTICIPANT
    assert views.dump_proposal(PROPOSALS[1], PARTICIPANTS)["proposer_role"] == "guardian"


def test_role_of_unknown_participant_is_none():
    assert views.role_of("p-nobody", PARTICIPANTS) is None
    assert views.role_of("p-father", PARTICIPANTS) == "guardian"


def test_the_colour_and_overdue_need_only_the_latest_evaluations():
    """A measure's view gets its latest 3 evaluations (lists.EVALUATIONS_SHOWN): the colour
    and ``overdue`` are what all of them would give."""
    many = [evaluation(f"ev-{n:02d}", "m-sleep", ("green", "yellow", "red")[n % 3],
                       date(2025, 2, 1) + timedelta(days=n % 7), at(2, 1 + n, 9))
            for n in range(12)]
    for today in (TODAY, date(2025, 2, 3), date(2025, 2, 10)):
        whole = views.measure_dict(SLEEP, many, PARTICIPANTS, today)
        latest = views.measure_dict(SLEEP, evaluations_of("m-sleep", many)[:3], PARTICIPANTS,
                                    today, total=12, next_cursor="c")
        assert (latest["latest_outcome"], latest["overdue"]) == (
            whole["latest_outcome"], whole["overdue"]), today
        assert latest["evaluations"] == whole["evaluations"][:3]
        assert (latest["evaluation_total"], whole["evaluation_total"]) == (12, 12)


# -- meeting preparation ------------------------------------------------------------------

def prep_measure(mid, status, evaluate_by, set_on=None, start=date(2025, 1, 13)):
    return measure(mid, f"tiltak {mid}", "p-holder", "p-nurse", "school", status, start,
                   evaluate_by, at(1, 10), evaluate_by_set_on=set_on)


PREP_MEASURES = [
    prep_measure("m-due-on-day", "active", date(2025, 3, 17)),
    prep_measure("m-after-day", "active", date(2025, 3, 18)),
    prep_measure("m-answered", "planned", date(2025, 3, 1), set_on=date(2025, 2, 20)),
    prep_measure("m-old-cycle", "active", date(2025, 3, 1), set_on=date(2025, 2, 20)),
    prep_measure("m-planned-due", "planned", date(2025, 3, 12)),
    prep_measure("m-completed", "completed", date(2025, 3, 1)),
    prep_measure("m-stopped", "stopped", date(2025, 3, 1)),
]
PREP_EVALUATIONS = [
    evaluation("pe-1", "m-answered", "yellow", date(2025, 2, 20), at(2, 20)),
    evaluation("pe-2", "m-old-cycle", "red", date(2025, 2, 19), at(2, 19)),
]
EARLIEST = SimpleNamespace(id="mt-0", starts_at=at(1, 10, 9))
PREVIOUS = SimpleNamespace(id="mt-1", starts_at=at(2, 3, 10))
UPCOMING = SimpleNamespace(id="mt-2", starts_at=at(3, 17, 10))
LATER = SimpleNamespace(id="mt-3", starts_at=at(4, 20, 10))


def prepare(meeting=UPCOMING, since=PREVIOUS.starts_at):
    open_measures = [m for m in PREP_MEASURES if m.status in domain.OPEN_MEASURE_STATES]
    extras = {"evaluations": {m.id: evaluations_of(m.id, PREP_EVALUATIONS)
                              for m in open_measures},
              "evaluation_totals": {}, "evaluation_cursors": {}}
    return views.preparation(open_measures, extras, meeting, since, PARTICIPANTS, TODAY)


def test_preparation_open_measures_only():
    prepared = prepare()
    assert prepared["meeting_id"] == "mt-2"
    assert [m["id"] for m in prepared["open_measures"]] == [
        "m-due-on-day", "m-after-day", "m-answered", "m-old-cycle", "m-planned-due"]


def test_preparation_evaluations_due_by_the_meeting_day():
    due = [m["id"] for m in prepare()["evaluations_due"]]
    assert due == ["m-due-on-day", "m-old-cycle", "m-planned-due"]


def test_preparation_measures_come_as_measure_dicts():
    first = prepare()["evaluations_due"][0]
    assert first["id"] == "m-due-on-day"
    assert first["overdue"] is False           # due on 17 March; today is 10 March
    old = next(m for m in prepare()["open_measures"] if m["id"] == "m-old-cycle")
    assert old["overdue"] is True
    assert old["latest_outcome"] == "red"
    assert old["proposer_role"] == "stafettholder"


def test_preparation_for_the_first_meeting():
    prepared = prepare(EARLIEST, None)
    assert prepared["previous_meeting_at"] is None
    # due by 10 January: nothing yet
    assert prepared["evaluations_due"] == []


# -- the stafettholder who can act (issue 13, point 7) ---------------------------------------

@pytest.mark.parametrize("name", ["staff", "guardian", "child"])
def test_every_view_names_the_holder_who_can_act_or_none(name):
    assert log_view(VIEWERS[name])["stafettholder_id"] == HOLDER.id
    assert log_view(VIEWERS[name], holder=None)["stafettholder_id"] is None


def test_without_a_holder_staff_who_may_write_may_take_the_baton_while_the_log_is_open():
    member = Viewer(HOLDER, domain.MEMBER)
    assert log_view(member, holder=None)["can_take_baton"] is True
    assert log_view(member)["can_take_baton"] is False           # someone holds it
    assert log_view(Viewer(HOLDER, domain.FORMER), holder=None)["can_take_baton"] is False
    closed = SimpleNamespace(**{**vars(LOG), "status": domain.CLOSED})
    assert log_view(member, closed, holder=None)["can_take_baton"] is False


# -- what the viewer may do: can_* flags from the owner (issue 13, point 3) ------------------

def flags(view: dict) -> set[str]:
    return {k for k, v in view.items() if k.startswith("can_") and v is True}


STAFF_WRITER = {"can_edit", "can_add_measure", "can_evaluate", "can_schedule_meeting",
                "can_record_minutes", "can_add_entry"}
HOLDER_ONLY = {"can_answer_proposals", "can_add_participant", "can_remove_participant",
               "can_change_level", "can_close", "can_pass_baton", "can_read_access_log"}


@pytest.mark.parametrize("viewer, may, kinds", [
    (STAFF, STAFF_WRITER | HOLDER_ONLY, ["note", "child_voice", "bright_spot"]),
    (Viewer(NURSE, domain.MEMBER), STAFF_WRITER, ["note", "child_voice", "bright_spot"]),
    (Viewer(HOLDER, domain.FORMER), set(), []),   # the grace period: reading only
    (GUARDIAN, {"can_add_entry", "can_propose", "can_read_access_log"},
     ["note", "bright_spot"]),
    (CHILD_VIEWER, {"can_add_entry", "can_propose", "can_read_access_log"},
     ["child_voice", "bright_spot"]),
], ids=["stafettholder", "member", "former", "guardian", "child"])
def test_each_viewer_gets_the_flags_the_entrypoints_decide(viewer, may, kinds):
    view = log_view(viewer)
    assert flags(view) == may
    assert view["entry_kinds"] == (kinds if viewer.may_write else [])
    assert view["audience"] == viewer.view


@pytest.mark.parametrize("viewer", [STAFF, GUARDIAN, CHILD_VIEWER])
def test_a_closed_log_lets_nobody_change_it(viewer):
    closed = SimpleNamespace(**{**vars(LOG), "status": domain.CLOSED})
    view = log_view(viewer, closed)
    assert flags(view) <= {"can_read_access_log"} and view["entry_kinds"] == []


def test_the_flags_and_the_entrypoints_use_one_rule():
    """Each flag is what the matching check lets through: no second reading."""
    for viewer in (STAFF, Viewer(NURSE, domain.MEMBER), Viewer(HOLDER, domain.FORMER),
                   GUARDIAN, CHILD_VIEWER):
        may = domain.permissions(viewer, LOG, HOLDER)
        for flag, check in (("can_add_measure", domain.require_staff_writer),
                            ("can_close", domain.require_stafettholder),
                            ("can_read_access_log", domain.require_may_read_access_log),
                            ("can_propose", domain.check_proposer)):
            try:
                domain.require_writer(viewer)
                check(viewer)
                allowed = True
            except Forbidden:
                allowed = False
            assert may[flag] is allowed, (viewer.role, flag)
