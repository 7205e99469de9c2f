"""Unit tests for services.logs.stats: de-identified measure statistics."""
from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from services.logs.stats import measure_statistics

ARENAS = {"home", "school", "kindergarten", "health", "leisure", "other"}
OUTCOMES = {"green", "yellow", "red", "not_evaluated"}


def responsible(pid, agency_type, municipality, name, person_id, agency):
    return SimpleNamespace(id=pid, person_id=person_id, display_name=name, kind="staff",
                           agency=agency, agency_type=agency_type, municipality=municipality)


PEOPLE = {
    "p-teacher": responsible("p-teacher", "school", "Bergen", "Kari Lærer", "s-teacher",
                             "974760673"),
    "p-nurse": responsible("p-nurse", "health_station", "Bergen", "Nina Helsesøster",
                           "s-nurse", "971526920"),
    "p-nav": responsible("p-nav", "nav", "Utsira", "Nils Veileder", "s-nav", "889640782"),
    "p-mother": SimpleNamespace(id="p-mother", person_id="c-mother", display_name="Mona Mor",
                                kind="guardian", agency=None, agency_type=None,
                                municipality=None),
}

_seq = iter(range(1, 1000))


def measures(n, responsible_id, arena, log_id="log-1"):
    return [SimpleNamespace(id=f"m-{next(_seq):03d}", log_id=log_id, title="tiltak for Ola",
                            responsible_id=responsible_id, arena=arena, status="active")
            for _ in range(n)]


def evaluate(rows, *outcomes):
    """Evaluations for every measure in rows; the last outcome is the latest."""
    result = []
    for m in rows:
        for i, outcome in enumerate(outcomes):
            result.append(SimpleNamespace(
                id=f"ev-{m.id}-{i}", measure_id=m.id, outcome=outcome,
                evaluator_id="p-teacher", text="Ola leser bedre",
                evaluated_on=date(2025, 1 + i, 10),
                created_at=datetime(2025, 1 + i, 10, tzinfo=timezone.utc)))
    return result


# Bergen school staff: 5 school measures whose latest outcome is green (one was red first),
# 4 home measures not evaluated, 6 leisure measures red.
SCHOOL_GREEN = measures(5, "p-teacher", "school")
SCHOOL_HOME = measures(4, "p-teacher", "home")
SCHOOL_LEISURE_RED = measures(6, "p-teacher", "leisure")
# Bergen health station: 5 health measures, latest yellow
NURSE_YELLOW = measures(5, "p-nurse", "health")
# a small municipality: one NAV measure
NAV_ONE = measures(1, "p-nav", "other")
# a guardian is responsible: no agency type, no municipality
FAMILY = measures(5, "p-mother", "home")
# responsible participant row not found
UNKNOWN = measures(2, "p-gone", "school")

ALL_MEASURES = (SCHOOL_GREEN + SCHOOL_HOME + SCHOOL_LEISURE_RED + NURSE_YELLOW + NAV_ONE
                + FAMILY + UNKNOWN)
ALL_EVALUATIONS = (evaluate(SCHOOL_GREEN[:1], "red", "green")
                   + evaluate(SCHOOL_GREEN[1:], "green")
                   + evaluate(SCHOOL_LEISURE_RED, "green", "yellow", "red")
                   + evaluate(NURSE_YELLOW, "yellow") + evaluate(NAV_ONE, "green"))


def stats(threshold=5):
    return measure_statistics(ALL_MEASURES, ALL_EVALUATIONS, PEOPLE, threshold)


def group(result, agency_type, municipality):
    found = [g for g in result["groups"]
             if (g["agency_type"], g["municipality"]) == (agency_type, municipality)]
    assert len(found) == 1, (agency_type, municipality)
    return found[0]["measures"]


def test_top_level_shape():
    result = stats()
    assert set(result) == {"suppressed_below", "groups"}
    assert result["suppressed_below"] == 5


def test_groups_by_agency_type_and_municipality_sorted():
    assert [(g["agency_type"], g["municipality"]) for g in stats()["groups"]] == [
        ("family", "unknown"), ("health_station", "Bergen"), ("school", "Bergen")]


def test_every_group_has_every_arena_and_outcome():
    for g in stats()["groups"]:
        assert set(g) == {"agency_type", "municipality", "measures"}
        assert set(g["measures"]) == ARENAS
        for cells in g["measures"].values():
            assert set(cells) == OUTCOMES


def test_counts_at_or_over_the_threshold_are_shown():
    school = group(stats(), "school", "Bergen")
    assert school["school"] == {"green": 5, "yellow": None, "red": None,
                                "not_evaluated": None}
    assert school["leisure"] == {"green": None, "yellow": None, "red": 6,
                                 "not_evaluated": None}
    nurse = group(stats(), "health_station", "Bergen")
    assert nurse["health"]["yellow"] == 5


def test_counts_under_the_threshold_are_suppressed():
    school = group(stats(), "school", "Bergen")
    # four unevaluated home measures: a real count, but under 5
    assert school["home"]["not_evaluated"] is None
    # a group with fewer measures than the threshold in total is left out altogether
    assert ("nav", "Utsira") not in {(g["agency_type"], g["municipality"])
                                     for g in stats()["groups"]}


def test_latest_outcome_decides_the_cell():
    school = group(stats(), "school", "Bergen")
    # one school measure went red -> green: it counts once, as green
    assert school["school"]["green"] == 5
    assert school["school"]["red"] is None
    # leisure went green -> yellow -> red: counted as red, not green or yellow
    assert school["leisure"]["green"] is None


def test_not_evaluated_and_family_fallback():
    family = group(stats(), "family", "unknown")
    # guardian-responsible (5) and responsible row not found (2) share the fallback group
    assert family["home"]["not_evaluated"] == 5
    assert family["school"]["not_evaluated"] is None


def test_lower_threshold_shows_smaller_cells():
    result = stats(threshold=4)
    assert result["suppressed_below"] == 4
    assert group(result, "school", "Bergen")["home"]["not_evaluated"] == 4
    assert group(stats(threshold=1), "nav", "Utsira")["other"]["green"] == 1
    assert group(stats(threshold=1), "family", "unknown")["school"]["not_evaluated"] == 2


def test_no_measures_no_groups():
    assert measure_statistics([], [], {}) == {"suppressed_below": 5, "groups": []}


def _walk(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _walk(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _walk(value)
    else:
        yield node


@pytest.mark.parametrize("threshold", [1, 5])
def test_no_ids_or_names_anywhere(threshold):
    forbidden = set()
    for m in ALL_MEASURES:
        forbidden |= {m.id, m.log_id, m.title, m.responsible_id}
    for e in ALL_EVALUATIONS:
        forbidden |= {e.id, e.evaluator_id, e.text}
    for p in PEOPLE.values():
        forbidden |= {p.id, p.person_id, p.display_name, p.agency}
    forbidden.discard(None)
    for token in _walk(stats(threshold)):
        if isinstance(token, str):
            assert token not in forbidden
            assert not any(f in token for f in forbidden), token
            assert "Ola" not in token
        else:
            assert token is None or isinstance(token, int)
