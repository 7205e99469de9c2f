"""De-identified statistics: measures by arena × latest outcome, per agency type and
municipality of the responsible person. A count under the threshold is suppressed, so
no small group (and so no child) can be picked out."""
from __future__ import annotations

from collections import Counter

from services.logs import domain
from services.logs.schemas import ARENAS

OUTCOME_KEYS = ("green", "yellow", "red", "not_evaluated")


def measure_statistics(measures, evaluations, responsible_by_id, threshold: int = 5) -> dict:
    """The table from rows (the service counts in the database: lists.statistics_counts)."""
    by_measure: dict[str, list] = {}
    for evaluation in evaluations:
        by_measure.setdefault(evaluation.measure_id, []).append(evaluation)
    counts = Counter()
    for measure in measures:
        person = responsible_by_id.get(measure.responsible_id)
        counts[(person.agency_type if person else None, person.municipality if person else None,
                measure.arena, domain.latest_outcome(by_measure.get(measure.id, [])))] += 1
    return statistics_from_counts(counts, threshold)


def statistics_from_counts(raw_counts: dict, threshold: int = 5) -> dict:
    """The table from measure counts by (agency type, municipality, arena, latest outcome),
    any of them None (no responsible staff member, no evaluation yet)."""
    counts = Counter()
    for (agency_type, municipality, arena, outcome), count in raw_counts.items():
        counts[(agency_type or "family", municipality or "unknown", arena,
                outcome or "not_evaluated")] += count
    totals = Counter()
    for (agency_type, municipality, _, _), count in counts.items():
        totals[(agency_type, municipality)] += count
    # a group that is small in total is left out: even its existence would tell too much
    groups = sorted(g for g, total in totals.items() if total >= threshold)
    rows = []
    for agency_type, municipality in groups:
        cells = {arena: {outcome: domain.suppress_small(
            counts[(agency_type, municipality, arena, outcome)], threshold)
            for outcome in OUTCOME_KEYS} for arena in ARENAS}
        rows.append({"agency_type": agency_type, "municipality": municipality,
                     "measures": cells})
    return {"suppressed_below": threshold, "groups": rows}
