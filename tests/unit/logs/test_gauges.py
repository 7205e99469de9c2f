"""The logs service's business gauges count what the domain means: open logs by level,
measures past evaluate-by exactly as ``domain.is_overdue`` says (one query), and evaluations
by colour in the last 30 days."""
import uuid
from datetime import date, datetime, timezone

from prometheus_client import REGISTRY
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.logs import domain
from services.logs.gauges import refresh_gauges
from services.logs.models import Base, Evaluation, Log, Measure

TODAY = date(2026, 3, 1)
NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


def log(session, status="open", level=2) -> str:
    row = Log(id=new_id(), child_id=new_id(), status=status, level=level, opened_at=NOW)
    session.add(row)
    return row.id


def measure(session, log_id, evaluate_by, status="active", set_on=None,
            start=date(2026, 1, 1)) -> Measure:
    row = Measure(id=new_id(), log_id=log_id, title="t", goal="g", responsible_id=new_id(),
                  proposer_id=new_id(), arena="school", start_date=start,
                  evaluate_by=evaluate_by, evaluate_by_set_on=set_on, status=status,
                  created_at=NOW)
    session.add(row)
    return row


def evaluate(session, measure_id, on, outcome="green") -> Evaluation:
    row = Evaluation(id=new_id(), measure_id=measure_id, outcome=outcome, evaluator_id=new_id(),
                     evaluated_on=on, created_at=NOW)
    session.add(row)
    return row


def value(name, **labels):
    return REGISTRY.get_sample_value(name, {"service": "unit-logs", **labels})


def test_the_gauges_count_what_the_domain_means():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        open_2, open_3 = log(session, level=2), log(session, level=3)
        log(session, level=2)
        closed = log(session, status="closed", level=1)
        overdue = measure(session, open_2, date(2026, 2, 1))
        answered = measure(session, open_2, date(2026, 2, 1), set_on=date(2026, 1, 10))
        evaluate(session, answered.id, date(2026, 2, 3), "yellow")
        stale_answer = measure(session, open_3, date(2026, 2, 15), set_on=date(2026, 2, 10))
        evaluate(session, stale_answer.id, date(2026, 2, 5), "red")     # before it was set
        measure(session, open_3, date(2026, 3, 10))                         # not due yet
        measure(session, open_3, date(2026, 2, 1), status="completed")      # not open
        measure(session, closed, date(2026, 2, 1))                          # log closed
        evaluate(session, overdue.id, date(2025, 12, 1), "green")           # old, not since
        session.commit()

        refresh_gauges(session, "unit-logs", today=TODAY)

        evaluations = {m.id: [] for m in session.query(Measure)}
        for row in session.query(Evaluation):
            evaluations[row.measure_id].append(row)
        expected = sum(domain.is_overdue(m, evaluations[m.id], TODAY)
                       for m in session.query(Measure)
                       if session.get(Log, m.log_id).status == "open")
    assert value("stafett_measures_past_evaluate_by") == expected == 2
    assert value("stafett_logs_open", level="2") == 2
    assert value("stafett_logs_open", level="3") == 1
    assert value("stafett_logs_open", level="1") == 0   # closed logs are not open
    assert value("stafett_logs_open", level="0") == 0
    assert value("stafett_evaluations_recent", colour="yellow") == 1
    assert value("stafett_evaluations_recent", colour="red") == 1
    assert value("stafett_evaluations_recent", colour="green") == 0  # 90 days ago
