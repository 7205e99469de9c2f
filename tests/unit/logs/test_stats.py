"""Unit tests for services.logs.stats: de-identified measure statistics."""
from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace

import random

import pytest

from services.logs.stats import ChildCounts, measure_statistics, statistics_from_counts

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


def measures(n, responsible_id, arena, log_id=None):
    """n measures, each in a log of its own (one child each) unless log_id is given."""
    rows = []
    for _ in range(n):
        number = next(_seq)
        rows.append(SimpleNamespace(id=f"m-{number:03d}", log_id=log_id or f"log-{number:03d}",
                                    title="tiltak for Ola", responsible_id=responsible_id,
                                    arena=arena, status="active"))
    return rows


def children_of(rows):
    """Each log's child: log-001 belongs to child-001."""
    return {m.log_id: m.log_id.replace("log-", "child-") for m in rows}


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
    return measure_statistics(ALL_MEASURES, ALL_EVALUATIONS, PEOPLE,
                              children_of(ALL_MEASURES), threshold)


def group(result, agency_type, municipality):
    found = [g for g in result["groups"]
             if (g["agency_type"], g["municipality"]) == (agency_type, municipality)]
    assert len(found) == 1, (agency_type, municipality)
    return found[0]["cells"]


def test_top_level_shape():
    result = stats()
    assert set(result) == {"counts", "suppressed_below", "groups"}
    assert result["counts"] == "children"
    assert result["suppressed_below"] == 5


def test_groups_by_agency_type_and_municipality_sorted():
    assert [(g["agency_type"], g["municipality"]) for g in stats()["groups"]] == [
        ("family", "unknown"), ("health_station", "Bergen"), ("school", "Bergen")]


def test_every_group_has_every_arena_and_outcome():
    for g in stats()["groups"]:
        assert set(g) == {"agency_type", "municipality", "children", "by_arena", "by_outcome",
                          "cells"}
        assert set(g["by_arena"]) == set(g["cells"]) == ARENAS
        assert set(g["by_outcome"]) == OUTCOMES
        for cells in g["cells"].values():
            assert set(cells) == OUTCOMES


def test_counts_at_or_over_the_threshold_are_shown():
    school = group(stats(), "school", "Bergen")
    assert school["leisure"] == {"green": None, "yellow": None, "red": 6,
                                 "not_evaluated": None}
    nurse = group(stats(), "health_station", "Bergen")
    assert nurse["health"]["yellow"] == 5
    whole = [g for g in stats()["groups"] if g["agency_type"] == "health_station"][0]
    assert whole["children"] == 5
    assert whole["by_arena"]["health"] == whole["by_outcome"]["yellow"] == 5


def test_a_shown_cell_that_would_give_a_hidden_one_back_is_hidden_too():
    """Bergen school: 5 children green at school, 4 unevaluated at home, 6 red in leisure,
    15 in all. Shown, 15 - 5 - 6 would give the home cell's 4 back: the smallest figures on
    its lines (the green total, then the cell, then the school arena's total) are hidden."""
    school = [g for g in stats()["groups"] if g["agency_type"] == "school"][0]
    assert school["children"] == 15
    assert school["cells"]["school"]["green"] is None
    assert school["by_outcome"] == {"green": None, "yellow": None, "red": 6,
                                    "not_evaluated": None}
    assert school["by_arena"] == {"home": None, "school": None, "leisure": 6,
                                  "kindergarten": None, "health": None, "other": None}


def test_counts_under_the_threshold_are_suppressed():
    school = group(stats(), "school", "Bergen")
    # four unevaluated home measures: a real count, but under 5
    assert school["home"]["not_evaluated"] is None
    # a group with fewer measures than the threshold in total is left out altogether
    assert ("nav", "Utsira") not in {(g["agency_type"], g["municipality"])
                                     for g in stats()["groups"]}


def test_latest_outcome_decides_the_cell():
    school = group(stats(threshold=1), "school", "Bergen")
    # one school measure went red -> green: it counts once, as green
    assert school["school"]["green"] == 5
    assert school["school"]["red"] is None
    # leisure went green -> yellow -> red: counted as red, not green or yellow
    assert school["leisure"]["green"] is None


def test_not_evaluated_and_family_fallback():
    family = group(stats(threshold=1), "family", "unknown")
    # guardian-responsible (5) and responsible row not found (2) share the fallback group
    assert family["home"]["not_evaluated"] == 5
    assert family["school"]["not_evaluated"] == 2
    family = group(stats(), "family", "unknown")
    assert family["school"]["not_evaluated"] is None
    assert family["home"]["not_evaluated"] is None  # 7 - 5 would give the 2 back


def test_lower_threshold_shows_smaller_cells():
    result = stats(threshold=4)
    assert result["suppressed_below"] == 4
    assert group(result, "school", "Bergen")["home"]["not_evaluated"] == 4
    assert group(result, "school", "Bergen")["school"]["green"] == 5
    assert group(stats(threshold=1), "nav", "Utsira")["other"]["green"] == 1
    assert group(stats(threshold=1), "family", "unknown")["school"]["not_evaluated"] == 2


def test_no_measures_no_groups():
    assert measure_statistics([], [], {}, {}) == {"counts": "children", "suppressed_below": 5,
                                                  "groups": []}


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


# -- distinct children, complementary suppression ------------------------------------------

def test_one_childs_log_alone_never_reaches_the_threshold():
    """Six measures in one child's log are one child: under 5, so hidden (counting measures
    showed 6, and the cell pointed at that child)."""
    one_child = measures(6, "p-teacher", "school", log_id="log-ola")
    others = measures(5, "p-teacher", "leisure")  # five other children
    rows = one_child + others
    result = measure_statistics(rows, evaluate(rows, "green"), PEOPLE, children_of(rows))
    school = [g for g in result["groups"] if g["agency_type"] == "school"][0]
    assert school["children"] == 6
    assert school["cells"]["school"]["green"] is None
    assert school["by_arena"]["school"] is None
    assert school["cells"]["leisure"]["green"] is None  # 6 - 5 would give the 1 back
    alone = measure_statistics(one_child, [], PEOPLE, children_of(one_child))
    assert alone["groups"] == []  # one child in all: not even the group is shown


def test_one_child_with_measures_in_several_cells_counts_once_in_the_margins():
    ola = (measures(3, "p-teacher", "school", log_id="log-ola")
           + measures(3, "p-teacher", "home", log_id="log-ola"))
    rows = ola + measures(5, "p-teacher", "school") + measures(5, "p-teacher", "home")
    result = measure_statistics(rows, [], PEOPLE, children_of(rows), threshold=1)
    school = result["groups"][0]
    assert school["children"] == 11
    assert school["by_arena"]["school"] == school["by_arena"]["home"] == 6
    assert school["cells"]["school"]["not_evaluated"] == 6


def counted(cells: dict, threshold=5, **margins) -> dict:
    """The table of one group (school, Bergen) from its cells {(arena, outcome): children},
    every child in one cell (margins are sums)."""
    counts = ChildCounts()
    for (arena, outcome), n in cells.items():
        counts.cells[("school", "Bergen", arena, outcome)] = n
        counts.arenas[("school", "Bergen", arena)] = \
            counts.arenas.get(("school", "Bergen", arena), 0) + n
        counts.outcomes[("school", "Bergen", outcome)] = \
            counts.outcomes.get(("school", "Bergen", outcome), 0) + n
    counts.groups[("school", "Bergen")] = sum(cells.values())
    (result,) = statistics_from_counts(counts, threshold)["groups"]
    return result


def test_complementary_suppression_leaves_no_line_with_one_hidden_figure():
    """school/red = 3 is hidden; shown, its row (7 + ? = 10) and its column (? + 9 = 12)
    would give it back. The smallest other figure of each line is hidden, then of the lines
    those open, until every line has two hidden figures: x = school/red can be 0..10."""
    result = counted({("school", "green"): 7, ("school", "red"): 3,
                      ("home", "green"): 8, ("home", "red"): 9})
    assert result["cells"]["school"]["red"] is None                       # primary
    assert result["cells"]["school"]["green"] is None                     # its row
    assert result["cells"]["home"]["red"] is None                         # its column
    assert result["cells"]["home"]["green"] is None                       # then theirs
    assert (result["by_arena"]["school"], result["by_arena"]["home"]) == (10, 17)
    assert (result["by_outcome"]["green"], result["by_outcome"]["red"]) == (15, 12)
    assert result["children"] == 27
    # without complementary suppression exactly the primary cell would be hidden
    assert counted({("school", "green"): 7, ("school", "red"): 3,
                    ("home", "green"): 8, ("home", "red"): 9},
                   threshold=3)["cells"]["home"]["red"] == 9


def test_a_total_is_hidden_when_no_cell_can_protect():
    """One arena, 3 children green and 20 red: hiding the cell of 20 protects the 3 in the
    arena's row, but the red column then has its total as the only other figure."""
    result = counted({("school", "green"): 3, ("school", "red"): 20})
    assert result["cells"]["school"] == {"green": None, "yellow": None, "red": None,
                                         "not_evaluated": None}
    assert result["by_outcome"] == {"green": None, "yellow": None, "red": None,
                                    "not_evaluated": None}
    assert result["by_arena"]["school"] == 23 and result["children"] == 23


@pytest.mark.parametrize("seed", range(40))
def test_no_random_table_has_a_line_with_exactly_one_hidden_figure(seed):
    rng = random.Random(seed)
    cells = {(a, o): rng.choice([0, 0, 1, 2, 4, 5, 6, 9, 20])
             for a in rng.sample(sorted(ARENAS), 3) for o in rng.sample(sorted(OUTCOMES), 3)}
    if sum(cells.values()) < 5:
        return
    result = counted(cells)
    arenas, outcomes = sorted(ARENAS), sorted(OUTCOMES)
    value = {(a, o): cells.get((a, o), 0) for a in arenas for o in outcomes}
    shown = {(a, o): result["cells"][a][o] for a in arenas for o in outcomes}
    for a in arenas:
        value[a, "T"] = sum(value[a, o] for o in outcomes)
        shown[a, "T"] = result["by_arena"][a]
    for o in outcomes:
        value["T", o] = sum(value[a, o] for a in arenas)
        shown["T", o] = result["by_outcome"][o]
    value["T", "T"], shown["T", "T"] = sum(cells.values()), result["children"]
    for key, figure in shown.items():
        assert figure is None or (figure == value[key] and figure >= 5), key
    lines = [[(a, o) for o in (*outcomes, "T")] for a in (*arenas, "T")] + \
        [[(a, o) for a in (*arenas, "T")] for o in (*outcomes, "T")]
    for line in lines:
        assert sum(1 for k in line if shown[k] is None and value[k]) != 1, line
