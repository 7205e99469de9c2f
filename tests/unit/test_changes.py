"""``stafett.changes.compare_and_set`` and ``stafett.etags``: the kernel's one way to write
what a domain object changed, and to read an If-Match header."""
from __future__ import annotations

import pytest
from sqlalchemy import Integer, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from stafett import etags
from stafett.changes import compare_and_set, pending_changes
from stafett.db import Keyed


class Base(DeclarativeBase):
    pass


class Thing(Keyed, Base):
    __tablename__ = "things"
    state: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(10), nullable=True)
    version: Mapped[int] = mapped_column(Integer)


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/things.db")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Thing(id="t", state="a", note="x", version=1))
        session.commit()
    yield engine
    engine.dispose()


def test_only_the_changed_columns_are_written_when_the_condition_holds(engine):
    with Session(engine) as session:
        thing = session.get(Thing, "t")
        thing.state, thing.version = "b", 2
        assert set(pending_changes(thing)) == {"state", "version"}
        assert compare_and_set(session, thing, Thing.state == "a") is True
        session.commit()
    with Session(engine) as session:
        row = session.get(Thing, "t")
        assert (row.state, row.note, row.version) == ("b", "x", 2)


def test_a_lost_race_writes_nothing_and_shows_the_row_as_it_is(engine):
    with Session(engine) as mine, Session(engine) as theirs:
        stale = mine.get(Thing, "t")
        mine.commit()
        winner = theirs.get(Thing, "t")
        winner.state, winner.version = "c", 2
        assert compare_and_set(theirs, winner, Thing.version == 1)
        theirs.commit()
        stale.state, stale.version = "b", 2
        assert compare_and_set(mine, stale, Thing.version == 1) is False
        assert (stale.state, stale.version) == ("c", 2)
        mine.commit()  # nothing pending: the unflushed writes were dropped
    with Session(engine) as session:
        assert session.get(Thing, "t").state == "c"


def test_if_match_reads_the_opaque_value_and_the_wildcard():
    assert etags.if_match(' W/"7" ', "hint") == "7"
    assert etags.if_match('"7"', "hint") == "7"
    assert etags.if_match("*", "hint") is etags.ANY
    assert etags.matches(etags.ANY, 1) and not etags.matches(etags.ANY, None)
    assert etags.matches("0", None) and not etags.matches("07", 7)
