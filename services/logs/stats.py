"""De-identified statistics: children by arena × latest outcome of their measures, per
agency type and municipality of the responsible person.

Every figure counts distinct **children**, never measures: one child's log with six
measures in one cell is one child, so a single log can never fill a cell on its own.

Per group (agency type, municipality) the table is arenas × outcomes, with its margins:
``by_arena`` (children with a measure in the arena), ``by_outcome`` and ``children`` (the
group's total). Suppression, in this order:

1. a group with fewer children than the threshold is left out: even its existence would
   tell too much;
2. primary: every figure (cell or margin) under the threshold is ``None``;
3. complementary: every row and column of the table, margins included (the margin row and
   margin column are lines too, meeting in the total), is a relation "the cells add up to
   the margin". A line in which exactly one hidden figure is not zero would give that
   figure back by subtraction, so the smallest shown figure of the line that is not zero
   is hidden too (a cell before a margin of the same size), and so on until no line has
   exactly one. Zeros do not protect: a reader may know them.

Since a child with measures in several cells is counted in each, the margins are at most
the sums of their cells; the rule treats them as equal (every child in one cell), the case
where subtraction gives a figure back exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from services.logs import domain
from services.logs.schemas import ARENAS

OUTCOME_KEYS = ("green", "yellow", "red", "not_evaluated")
FAMILY, UNKNOWN, NOT_EVALUATED = "family", "unknown", "not_evaluated"
TOTAL = "total"


@dataclass
class ChildCounts:
    """Distinct children: per cell (agency type, municipality, arena, outcome), per arena
    (agency type, municipality, arena), per outcome (agency type, municipality, outcome)
    and per group (agency type, municipality); labels already normalised (``family``,
    ``unknown``, ``not_evaluated`` for what is missing)."""
    cells: dict = field(default_factory=dict)
    arenas: dict = field(default_factory=dict)
    outcomes: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)


def label(agency_type, municipality, outcome=NOT_EVALUATED) -> tuple:
    return agency_type or FAMILY, municipality or UNKNOWN, outcome or NOT_EVALUATED


def measure_statistics(measures, evaluations, responsible_by_id, child_by_log,
                       threshold: int = 5) -> dict:
    """The table from rows (the service counts in the database: lists.statistics_counts);
    ``child_by_log`` gives each log's child."""
    by_measure: dict[str, list] = {}
    for evaluation in evaluations:
        by_measure.setdefault(evaluation.measure_id, []).append(evaluation)
    children = ChildCounts()
    seen: dict[str, dict] = {name: {} for name in ("cells", "arenas", "outcomes", "groups")}
    for measure in measures:
        person = responsible_by_id.get(measure.responsible_id)
        agency_type, municipality, outcome = label(
            person.agency_type if person else None, person.municipality if person else None,
            domain.latest_outcome(by_measure.get(measure.id, [])))
        child = child_by_log[measure.log_id]
        for name, key in (("cells", (agency_type, municipality, measure.arena, outcome)),
                          ("arenas", (agency_type, municipality, measure.arena)),
                          ("outcomes", (agency_type, municipality, outcome)),
                          ("groups", (agency_type, municipality))):
            seen[name].setdefault(key, set()).add(child)
    for name, sets in seen.items():
        setattr(children, name, {key: len(found) for key, found in sets.items()})
    return statistics_from_counts(children, threshold)


def statistics_from_counts(counts: ChildCounts, threshold: int = 5) -> dict:
    """The suppressed table from counts of distinct children."""
    rows = []
    for agency_type, municipality in sorted(g for g, total in counts.groups.items()
                                            if total >= threshold):
        def cell(arena, outcome):
            if arena == TOTAL and outcome == TOTAL:
                return counts.groups.get((agency_type, municipality), 0)
            if outcome == TOTAL:
                return counts.arenas.get((agency_type, municipality, arena), 0)
            if arena == TOTAL:
                return counts.outcomes.get((agency_type, municipality, outcome), 0)
            return counts.cells.get((agency_type, municipality, arena, outcome), 0)

        table = {(a, o): cell(a, o) for a in (*ARENAS, TOTAL) for o in (*OUTCOME_KEYS, TOTAL)}
        hidden = suppressed(table, threshold)
        shown = {key: None if key in hidden else value for key, value in table.items()}
        rows.append({
            "agency_type": agency_type, "municipality": municipality,
            "children": shown[TOTAL, TOTAL],
            "by_arena": {a: shown[a, TOTAL] for a in ARENAS},
            "by_outcome": {o: shown[TOTAL, o] for o in OUTCOME_KEYS},
            "cells": {a: {o: shown[a, o] for o in OUTCOME_KEYS} for a in ARENAS}})
    return {"counts": "children", "suppressed_below": threshold, "groups": rows}


def suppressed(table: dict[tuple, int], threshold: int) -> set[tuple]:
    """The keys (arena, outcome) of ``table`` (its margins under ``TOTAL``) to hide:
    primary (under the threshold) and complementary (no line with exactly one hidden figure
    that is not zero)."""
    arenas = sorted({a for a, _ in table}, key=lambda a: a == TOTAL)
    outcomes = sorted({o for _, o in table}, key=lambda o: o == TOTAL)
    lines = ([[(a, o) for o in outcomes] for a in arenas]
             + [[(a, o) for a in arenas] for o in outcomes])
    hidden = {key for key, value in table.items() if domain.suppress_small(value, threshold)
              is None}
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(1 for key in line if key in hidden and table[key]) != 1:
                continue
            shown = [key for key in line if key not in hidden and table[key]]
            if not shown:  # cannot happen while margins are at least their cells
                continue
            hidden.add(min(shown, key=lambda k: (table[k], TOTAL in k)))
            changed = True
    return hidden
