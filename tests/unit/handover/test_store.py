"""``store.save``: a transition the aggregate made is written as a compare-and-set on the
status it moved from, so of two workers (replicas, retries) only one changes the row."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.handover import domain, store
from services.handover.models import Base, Handover
from stafett.errors import Conflict

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(tmp_path):
    # two workers: two connections (the service's SQLite engine keeps one per process)
    engine = create_engine(f"sqlite:///{tmp_path}/handover.db")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Handover(
            id="h-1", log_id="log-1", open_for_log="log-1", child_id="c-1",
            from_agency="974760673", to_agency="971526920", transition=domain.OTHER,
            status=domain.AWAITING_ACCEPTANCE, requested_by="person:s-1",
            created_at=NOW, updated_at=NOW, expires_at=NOW + timedelta(days=14),
            offered_at=NOW, apply_attempts=0, version=1))
        session.commit()
    yield engine
    engine.dispose()


def test_the_first_transition_wins_and_the_second_sees_the_row_as_it_is(engine):
    first = Session(engine, expire_on_commit=False)
    second = Session(engine, expire_on_commit=False)
    mine, theirs = first.get(Handover, "h-1"), second.get(Handover, "h-1")
    second.commit()
    mine.decline("nei", NOW)
    assert store.save(first, mine) is True
    first.commit()
    theirs.withdraw(None, NOW)  # read before the decline: it still looks cancellable
    assert store.save(second, theirs) is False
    assert (theirs.status, theirs.reason_code, theirs.version) == (
        domain.DECLINED, domain.DECLINED_REASON, 2)
    second.commit()
    with Session(engine) as check:
        row = check.get(Handover, "h-1")
        assert (row.status, row.version, row.open_for_log) == (domain.DECLINED, 2, None)
    first.close(), second.close()


def test_a_required_transition_that_lost_is_a_conflict_naming_the_state(engine):
    first = Session(engine, expire_on_commit=False)
    second = Session(engine, expire_on_commit=False)
    mine, theirs = first.get(Handover, "h-1"), second.get(Handover, "h-1")
    second.commit()
    mine.expire_if_due(NOW + timedelta(days=15))
    store.save(first, mine)
    first.commit()
    theirs.decline(None, NOW)
    with pytest.raises(Conflict) as caught:
        store.save(second, theirs, required=True)
    assert caught.value.code == "handover.changed_meanwhile"
    assert "expired" in caught.value.detail
    first.close(), second.close()
