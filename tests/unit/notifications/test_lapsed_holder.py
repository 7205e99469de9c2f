"""The notifications projection after ``log.stafettholder_lapsed`` (issue 13, point 7):
the log has no stafettholder, so consent ending tells no holder of it until someone takes
the baton, and then tells the new one."""
from __future__ import annotations


import pytest
from sqlalchemy.orm import Session

from services.notifications import store
from stafett.events import Envelope
from tests.support.databases import migrated_engine

SCHOOL, PPT = "974760673", "971526920"


@pytest.fixture
def session(tmp_path):
    with migrated_engine(None, tmp_path, "notifications") as engine, Session(engine) as session:
        yield session


def apply(session, type_, at, **data):
    store.apply(session, Envelope(type=type_, source="logs", log_id="log-1", child_id="c-1",
                                  occurred_at=f"2026-03-{at:02d}T12:00:00+00:00", data=data))
    session.flush()


def holders(session) -> tuple:
    return store.facts_for(session, Envelope(type="consent.expired", source="consent",
                                             child_id="c-1", data={})).child_stafettholders


def test_a_lapse_leaves_the_log_without_a_holder_until_someone_takes_the_baton(session):
    apply(session, "log.opened", 1, level=1, stafettholder_person_id="s-teacher",
          stafettholder_agency=SCHOOL)
    assert holders(session) == (("s-teacher", SCHOOL, "log-1"),)
    apply(session, "log.stafettholder_lapsed", 2, from_person_id="s-teacher",
          from_agency=SCHOOL, reason="consent_ended", staff_person_ids=["s-advisor"],
          guardian_person_ids=["g-1"])
    assert holders(session) == ()
    apply(session, "log.stafettholder_changed", 3, from_person_id=None,
          to_person_id="s-advisor", to_agency=PPT)
    assert holders(session) == (("s-advisor", PPT, "log-1"),)


def test_a_lapse_of_someone_no_longer_holding_it_changes_nothing(session):
    apply(session, "log.opened", 1, level=1, stafettholder_person_id="s-teacher",
          stafettholder_agency=SCHOOL)
    apply(session, "log.stafettholder_changed", 3, from_person_id="s-teacher",
          to_person_id="s-advisor", to_agency=PPT)
    apply(session, "log.stafettholder_lapsed", 2, from_person_id="s-teacher",
          staff_person_ids=[], guardian_person_ids=[])
    assert holders(session) == (("s-advisor", PPT, "log-1"),)
