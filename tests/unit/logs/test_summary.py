"""Unit tests for services.logs.summary: the handover summary compiled from a log."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from services.logs.summary import handover_summary

TODAY = date(2025, 3, 10)


def at(month, day, hour=12):
    return datetime(2025, month, day, hour, tzinfo=timezone.utc)


def person(pid, person_id, kind, role, name, agency=None, agency_type=None):
    return SimpleNamespace(id=pid, person_id=person_id, kind=kind, role=role,
                           display_name=name, title=None, agency=agency,
                           agency_type=agency_type, municipality="Bergen" if agency else None,
                           removed_at=None)


PARTICIPANTS = [
    person("p-holder", "s-holder", "staff", "stafettholder", "Kari Lærer", "974760673",
           "school"),
    person("p-nurse", "s-nurse", "staff", "member", "Nina Helsesøster", "971526920",
           "health_station"),
    person("p-mother", "c-mother", "guardian", "guardian", "Mona Mor"),
    person("p-child", "c-child", "child", "child", "Ola Nordmann"),
]
LOG = SimpleNamespace(id="log-1", child_id="child-1", status="open", level=2,
                      opened_at=at(1, 6))


def measure(mid, title, status, responsible_id, arena, start, evaluate_by, created_at,
            set_on=None):
    return SimpleNamespace(id=mid, log_id="log-1", title=title, description="intern",
                           goal=f"mål: {title}", responsible_id=responsible_id,
                           proposer_id="p-holder", arena=arena, start_date=start,
                           evaluate_by=evaluate_by, evaluate_by_set_on=set_on, status=status,
                           created_at=created_at)


MEASURES = [
    measure("m-reading", "Lesetrening", "active", "p-nurse", "school", date(2025, 1, 13),
            date(2025, 4, 1), at(1, 10)),
    measure("m-sleep", "Faste leggetider", "planned", "p-mother", "home", date(2025, 2, 1),
            date(2025, 3, 1), at(1, 20)),
    measure("m-football", "Fotball", "stopped", "p-holder", "leisure", date(2025, 1, 13),
            date(2025, 2, 10), at(1, 12)),
    measure("m-swim", "Svømming", "completed", "p-holder", "leisure", date(2025, 1, 13),
            date(2025, 2, 1), at(1, 13)),
    measure("m-math", "Mattehjelp", "active", "p-holder", "school", date(2025, 2, 1),
            date(2025, 3, 20), at(2, 1)),
    measure("m-old", "Gammelt", "completed", "p-holder", "other", date(2024, 9, 1),
            date(2024, 12, 1), at(1, 7)),
    measure("m-gone", "Uten ansvarlig", "active", "p-removed-row", "other",
            date(2025, 2, 1), date(2025, 3, 9), at(2, 2)),
]


def evaluation(eid, measure_id, outcome, on, created_at, text):
    return SimpleNamespace(id=eid, measure_id=measure_id, outcome=outcome, text=text,
                           child_view=None, evaluator_id="p-nurse", evaluated_on=on,
                           created_at=created_at)


EVALUATIONS = [
    evaluation("ev-r2", "m-reading", "green", date(2025, 3, 3), at(3, 3), "leser bedre"),
    evaluation("ev-r1", "m-reading", "yellow", date(2025, 2, 3), at(2, 3), "litt bedre"),
    # backdated: written last, but about 20 January; the red of 10 February is the latest
    evaluation("ev-f1", "m-football", "green", date(2025, 1, 20), at(3, 1), "gøy i starten"),
    evaluation("ev-f2", "m-football", "red", date(2025, 2, 10), at(2, 10), "ville ikke"),
    evaluation("ev-s1", "m-swim", "green", date(2025, 2, 1), at(2, 1), "lærte å svømme"),
    # same day: the later one (by created_at) wins
    evaluation("ev-m2", "m-math", "red", date(2025, 3, 5), at(3, 5, 15), "for vanskelig"),
    evaluation("ev-m1", "m-math", "green", date(2025, 3, 5), at(3, 5, 10), "bra start"),
    evaluation("ev-o1", "m-old", "yellow", date(2024, 12, 1), datetime(2024, 12, 1, 12,
                                                                        tzinfo=timezone.utc),
               "middels"),
]


def entry(eid, kind, visibility, text, created_at):
    return SimpleNamespace(id=eid, log_id="log-1", kind=kind, visibility=visibility,
                           text=text, author_id="p-child", created_at=created_at)


ENTRIES = [
    entry("e-1", "child_voice", "all", "Jeg liker å lese med helsesøster", at(1, 18)),
    entry("e-2", "note", "all", "Notat fra mor", at(1, 19)),
    entry("e-3", "child_voice", "staff", "Sa noe i fortrolighet", at(1, 25)),
    entry("e-4", "bright_spot", "all", "Scoret mål", at(2, 2)),
    entry("e-5", "child_voice", "all", "Vil ikke spille fotball", at(2, 9)),
]


def proposal(pid, proposer_id, title, status, created_at):
    return SimpleNamespace(id=pid, log_id="log-1", proposer_id=proposer_id, title=title,
                           description="", goal="", arena="home", status=status,
                           decline_reason=None, measure_id=None, created_at=created_at,
                           answered_at=None)


PROPOSALS = [
    proposal("pr-1", "p-mother", "Leksehjelp", "proposed", at(2, 25)),
    proposal("pr-2", "p-child", "Mindre skjerm", "declined", at(2, 1)),
    proposal("pr-3", "p-child", "Faste leggetider", "accepted", at(1, 17)),
    proposal("pr-4", "p-child", "Sykle til skolen", "proposed", at(3, 2)),
]


def summary(today=TODAY):
    return handover_summary(LOG, PARTICIPANTS, MEASURES, EVALUATIONS, ENTRIES, PROPOSALS,
                            today)


def test_top_level_keys_and_level():
    result = summary()
    assert set(result) == {"compiled_at", "level", "active_measures", "what_worked",
                           "what_did_not", "child_voice", "open_questions"}
    assert result["level"] == 2


def test_compiled_at_is_now_in_utc():
    before = datetime.now(timezone.utc)
    compiled = datetime.fromisoformat(summary()["compiled_at"])
    assert compiled.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= compiled <= datetime.now(timezone.utc)


def test_active_measures_only_with_roles_not_names():
    assert summary()["active_measures"] == [
        {"title": "Lesetrening", "goal": "mål: Lesetrening", "arena": "school",
         "responsible_role": "member", "responsible_agency_type": "health_station",
         "start_date": "2025-01-13", "evaluate_by": "2025-04-01", "latest_outcome": "green"},
        {"title": "Faste leggetider", "goal": "mål: Faste leggetider", "arena": "home",
         "responsible_role": "guardian", "responsible_agency_type": None,
         "start_date": "2025-02-01", "evaluate_by": "2025-03-01", "latest_outcome": None},
        {"title": "Mattehjelp", "goal": "mål: Mattehjelp", "arena": "school",
         "responsible_role": "stafettholder", "responsible_agency_type": "school",
         "start_date": "2025-02-01", "evaluate_by": "2025-03-20", "latest_outcome": "red"},
        {"title": "Uten ansvarlig", "goal": "mål: Uten ansvarlig", "arena": "other",
         "responsible_role": None, "responsible_agency_type": None,
         "start_date": "2025-02-01", "evaluate_by": "2025-03-09", "latest_outcome": None},
    ]


@pytest.mark.parametrize("key, outcome, latest", [
    ("what_worked", "green", [("Lesetrening", "2025-03-03", "leser bedre"),
                              ("Svømming", "2025-02-01", "lærte å svømme")]),
    ("what_did_not", "red", [("Fotball", "2025-02-10", "ville ikke"),
                             ("Mattehjelp", "2025-03-05", "for vanskelig")]),
])
def test_what_worked_and_what_did_not_are_the_latest_green_and_red_with_dates(key, outcome,
                                                                              latest):
    assert summary()[key] == [{"title": title, "outcome": outcome, "evaluated_on": on,
                               "text": text} for title, on, text in latest]


def test_yellow_is_neither_worked_nor_not():
    titles = {i["title"] for key in ("what_worked", "what_did_not") for i in summary()[key]}
    assert "Gammelt" not in titles


def test_child_voice_with_visibility_all_only():
    assert summary()["child_voice"] == [
        {"text": "Jeg liker å lese med helsesøster", "created_at": "2025-01-18T12:00:00+00:00"},
        {"text": "Vil ikke spille fotball", "created_at": "2025-02-09T12:00:00+00:00"},
    ]


def test_open_questions_open_proposals_then_overdue_measures():
    assert summary()["open_questions"] == [
        {"text": "Forslag som venter på svar: Leksehjelp",
         "created_at": "2025-02-25T12:00:00+00:00"},
        {"text": "Forslag som venter på svar: Sykle til skolen",
         "created_at": "2025-03-02T12:00:00+00:00"},
        {"text": "Tiltaket «Faste leggetider» skulle vært evaluert 2025-03-01",
         "created_at": "2025-01-20T12:00:00+00:00"},
        {"text": "Tiltaket «Uten ansvarlig» skulle vært evaluert 2025-03-09",
         "created_at": "2025-02-02T12:00:00+00:00"},
    ]


def test_open_questions_follow_today():
    # on 1 March nothing is overdue yet (evaluate_by is not before today)
    texts = [q["text"] for q in summary(date(2025, 3, 1))["open_questions"]]
    assert texts == ["Forslag som venter på svar: Leksehjelp",
                     "Forslag som venter på svar: Sykle til skolen"]


def test_empty_log():
    result = handover_summary(LOG, PARTICIPANTS, [], [], [], [], TODAY)
    assert {k: v for k, v in result.items() if k != "compiled_at"} == {
        "level": 2, "active_measures": [], "what_worked": [], "what_did_not": [],
        "child_voice": [], "open_questions": []}


def _strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def test_no_person_ids_or_names_anywhere():
    forbidden = {"log-1", "child-1"}
    for p in PARTICIPANTS:
        forbidden |= {p.id, p.person_id, p.display_name, p.agency}
    forbidden |= {m.id for m in MEASURES} | {p.id for p in PROPOSALS}
    forbidden |= {e.id for e in ENTRIES} | {e.id for e in EVALUATIONS}
    forbidden |= {"p-removed-row", "Kari", "Mona", "Ola Nordmann", "Nordmann"}
    forbidden.discard(None)
    result = summary()
    for text in _strings(result):
        for word in forbidden:
            assert word not in text, (word, text)
    # the staff-only child voice never reaches the receiver
    assert "Sa noe i fortrolighet" not in list(_strings(result))
