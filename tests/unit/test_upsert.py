"""``stafett.db.upsert``: a row two transactions add at once is written by both, never a
duplicate key (the logs service's consent projection raced its own sync this way)."""
from __future__ import annotations

import threading

from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from stafett.db import upsert


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "row"
    key: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[str] = mapped_column(String(8))


def engine_at(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}",
                           connect_args={"timeout": 10})
    Base.metadata.create_all(engine)
    return engine


def test_a_second_add_of_the_same_key_updates_instead_of_failing(tmp_path):
    engine = engine_at(tmp_path)
    with Session(engine) as session:
        upsert(session, Row, {"key": "a", "value": "first"})
        upsert(session, Row, {"key": "a", "value": "second"})
        session.commit()
    with Session(engine) as session:
        assert [(r.key, r.value) for r in session.scalars(select(Row))] == [("a", "second")]


def test_a_loaded_row_is_read_again_after_the_upsert(tmp_path):
    engine = engine_at(tmp_path)
    with Session(engine) as session:
        session.add(Row(key="a", value="old"))
        session.commit()
        loaded = session.get(Row, "a")
        upsert(session, Row, {"key": "a", "value": "new"})
        assert loaded.value == "new"


def test_two_sessions_adding_the_same_key_at_once_both_commit(tmp_path):
    engine = engine_at(tmp_path)
    errors, barrier = [], threading.Barrier(2)

    def add(value):
        try:
            with Session(engine) as session:
                barrier.wait(timeout=10)
                upsert(session, Row, {"key": "a", "value": value})
                session.commit()
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(v,)) for v in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with Session(engine) as session:
        assert [r.value for r in session.scalars(select(Row))] in (["x"], ["y"])
