"""The logs service's business gauges (stafett.gauges.ScrapeGauges), de-identified: open
logs by BTI level, measures past their evaluate-by date with no evaluation since it was set
(domain.is_overdue, as one query), and evaluations by colour in the last 30 days. Counts
only; no id, no name, no agency."""
from __future__ import annotations

from datetime import date, timedelta

from prometheus_client import Gauge
from sqlalchemy import and_, exists, func, select

from services.logs import domain
from services.logs.models import Evaluation, Log, Measure

LEVELS = (0, 1, 2, 3)
RECENT_DAYS = 30

OPEN_LOGS = Gauge("stafett_logs_open", "Open logs by BTI level", ["service", "level"])
OVERDUE_MEASURES = Gauge("stafett_measures_past_evaluate_by",
                         "Open measures past their evaluate-by date and not evaluated since "
                         "it was set", ["service"])
RECENT_EVALUATIONS = Gauge("stafett_evaluations_recent",
                           "Evaluations made in the last 30 days, by colour",
                           ["service", "colour"])


def refresh_gauges(session, service: str, today: date | None = None) -> None:
    today = today or date.today()
    levels = dict.fromkeys(LEVELS, 0)
    for level, count in session.execute(select(Log.level, func.count())
                                        .where(Log.status == "open").group_by(Log.level)):
        levels[level] = count
    for level, count in levels.items():
        OPEN_LOGS.labels(service=service, level=str(level)).set(count)

    answered = exists().where(and_(
        Evaluation.measure_id == Measure.id,
        Evaluation.evaluated_on >= func.coalesce(Measure.evaluate_by_set_on,
                                                 Measure.start_date)))
    overdue = session.scalar(
        select(func.count()).select_from(Measure).join(Log, Log.id == Measure.log_id)
        .where(Log.status == "open", Measure.status.in_(domain.OPEN_MEASURE_STATES),
               Measure.evaluate_by < today, ~answered))
    OVERDUE_MEASURES.labels(service=service).set(overdue or 0)

    colours = dict.fromkeys(domain.OUTCOMES, 0)
    for colour, count in session.execute(
            select(Evaluation.outcome, func.count())
            .where(Evaluation.evaluated_on >= today - timedelta(days=RECENT_DAYS))
            .group_by(Evaluation.outcome)):
        if colour in colours:
            colours[colour] = count
    for colour, count in colours.items():
        RECENT_EVALUATIONS.labels(service=service, colour=colour).set(count)
