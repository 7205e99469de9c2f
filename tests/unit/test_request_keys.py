"""stafett.request_keys on a real SQLite session: what is recorded, and what a repeat gets."""
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.orm import Session

from stafett.db import make_engine
from stafett.errors import Conflict, NotFound
from stafett.events import kernel_metadata
from stafett.request_keys import once, request_keys_table

things = Table("things", MetaData(), Column("id", Integer, primary_key=True),
               Column("name", String(20)))


class Service:
    name = "things"

    def __init__(self, engine, key="request-1"):
        self.db, self.request_key, self.runs = Session(engine), key, 0

    @once
    def add(self, name):
        self.runs += 1
        self.db.execute(things.insert().values(name=name))
        self.db.commit()
        return {"name": name}

    @once
    def add_then_refuse(self, name):  # like audited_work: the refusal's record commits
        self.runs += 1
        self.db.execute(things.insert().values(name=name))
        self.db.commit()
        raise NotFound("no such thing")

    @once
    def refuse_at_once(self):
        self.runs += 1
        raise NotFound("nothing happened")

    @once(keep_answer=False)
    def add_secret(self, name):
        self.runs += 1
        self.db.execute(things.insert().values(name=name))
        self.db.commit()
        return {"secret": "s3cr3t"}


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    kernel_metadata.create_all(engine)
    things.metadata.create_all(engine)
    yield engine
    engine.dispose()


def count(engine, table):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()


def test_a_repeat_gets_the_first_answer_and_changes_nothing(engine):
    service = Service(engine)
    assert service.add("a") == service.add("a") == {"name": "a"}
    assert service.runs == 1 and count(engine, things) == 1
    assert service.add("b") == {"name": "b"}  # other arguments: another call
    assert Service(engine, "request-2").add("a") == {"name": "a"}  # another request
    assert count(engine, things) == 3


def test_a_refusal_after_a_commit_is_the_first_answer_too(engine):
    service = Service(engine)
    for _ in range(2):
        with pytest.raises(NotFound, match="no such thing"):
            service.add_then_refuse("a")
    assert service.runs == 1 and count(engine, things) == 1


def test_a_call_that_changed_nothing_before_failing_is_carried_out_again(engine):
    service = Service(engine)
    for _ in range(2):
        with pytest.raises(NotFound):
            service.refuse_at_once()
    assert service.runs == 2 and count(engine, request_keys_table) == 0


def test_an_answer_shown_once_is_not_kept(engine):
    service = Service(engine)
    assert service.add_secret("hook") == {"secret": "s3cr3t"}
    with pytest.raises(Conflict, match="shown once"):
        service.add_secret("hook")
    assert service.runs == 1 and count(engine, things) == 1
    with engine.connect() as connection:
        assert "s3cr3t" not in connection.execute(select(request_keys_table.c.answer)).scalar()


def test_calls_without_a_request_key_are_not_recorded(engine):
    service = Service(engine, key=None)
    service.add("a")
    service.add("a")
    assert count(engine, things) == 2 and count(engine, request_keys_table) == 0
