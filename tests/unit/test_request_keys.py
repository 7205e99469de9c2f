"""stafett.request_keys on a real SQLite session: what is recorded, and what a repeat gets."""
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, select
from sqlalchemy.orm import Session

from stafett.db import make_engine
from sqlalchemy.exc import OperationalError

from stafett.errors import Conflict, NotFound, ServiceUnavailable, unavailable
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


# -- a crash anywhere: the answer commits with the effect ------------------------------------

class Crash(BaseException):
    """kill -9: nothing after it runs; the database rolls back what was not committed."""


class Viewed(Service):
    @once
    def add_and_view(self, name):  # like the services: the work commits, then the view
        self.runs += 1
        self.db.execute(things.insert().values(name=name))
        self.db.commit()
        seen = self.db.execute(select(func.count()).select_from(things)).scalar()
        self.db.commit()  # a view may commit what it refreshed
        return {"name": name, "seen": seen}


def crash_at(engine, n: int):
    """Crash at the ``n``-th statement or COMMIT sent to the database (counted from 1)."""
    sent = []

    def step(*_args, **_kwargs):
        sent.append(1)
        if len(sent) == n:
            raise Crash(f"killed at step {n}")

    event.listen(engine, "before_cursor_execute", step)
    event.listen(engine, "commit", step)
    return lambda: (event.remove(engine, "before_cursor_execute", step),
                    event.remove(engine, "commit", step), len(sent))[-1]


def steps_of_one_call(engine) -> int:
    stop = crash_at(engine, 0)
    Viewed(engine, "counting").add_and_view("x")
    return stop()


def test_a_crash_at_any_step_leaves_the_effect_once_and_its_first_answer(engine, monkeypatch):
    """Issue 14: a replica killed between the effect's commit and its answer's left the key
    without an answer (a final 409). The answer commits in the effect's transaction: at
    whichever step the process dies, the retry either carries the call out (nothing had
    committed) or gets the first answer, and the effect exists once."""
    monkeypatch.setattr("stafett.request_keys.ANSWER_WAIT_SECONDS", 0.2)
    steps = steps_of_one_call(engine)
    assert steps >= 6  # look-up, insert, commit(s), record, answer, commit
    for n in range(1, steps + 1):
        key, name = f"crash-{n}", f"n{n}"
        first = Viewed(engine, key)
        stop = crash_at(engine, n)
        try:
            with pytest.raises(Crash):
                first.add_and_view(name)
        finally:
            stop()
        first.db.close()  # the process is gone: its connection, and what it had not committed
        engine.dispose()
        retry = Viewed(engine, key)
        answer = retry.add_and_view(name)
        assert Viewed(engine, key).add_and_view(name) == answer, n
        with engine.connect() as connection:
            made = connection.execute(select(func.count()).select_from(things)
                                      .where(things.c.name == name)).scalar()
        assert made == 1, f"killed at step {n}: {made} effects"
        assert answer["name"] == name and retry.runs + first.runs >= 1


def test_a_call_to_another_service_sees_what_was_committed_before_it(engine, tmp_path):
    """Commits are held until the answer is stored, but not past a call to another
    service: it must see them (consent tells logs to re-read a withdrawal it committed)."""
    from stafett.db import HELD

    observer = make_engine(f"sqlite:///{tmp_path}/t.db")  # another process's view

    class Telling(Service):
        @once
        def add_and_tell(self, name):
            self.db.execute(things.insert().values(name=name))
            self.db.commit()
            held_back = count(observer, things)
            self.db.info[HELD].release()  # what the RPC proxies do before a call
            return {"before": held_back, "after": count(observer, things)}

    try:
        service = Telling(engine)
        assert service.add_and_tell("a") == {"before": 0, "after": 1}
        assert service.add_and_tell("a") == {"before": 0, "after": 1}  # its answer, stored
        assert count(engine, things) == 1
    finally:
        observer.dispose()


def test_the_rpc_proxies_release_what_is_held_before_each_call(monkeypatch):
    from nameko.exceptions import UnknownService

    from stafett import rpc
    from stafett.errors import ServiceUnavailable

    order = []
    monkeypatch.setattr(rpc, "before_calling_out", lambda ctx: order.append(("release", ctx)))

    def call(self, *args, **kwargs):
        order.append(("call", self.method_name))
        raise UnknownService("logs")

    monkeypatch.setattr(rpc.TimeoutMethodProxy, "_call", call)
    proxy = rpc.TimeoutMethodProxy.__new__(rpc.TimeoutMethodProxy)
    proxy.worker_ctx, proxy.service_name, proxy.method_name = "ctx", "logs", "refresh_consent"
    with pytest.raises(ServiceUnavailable):
        proxy("child-1")
    assert order == [("release", "ctx"), ("call", "refresh_consent")]


class Failing(Service):
    @once
    def add_then_fail(self, name, how):
        self.runs += 1
        self.db.execute(things.insert().values(name=name))
        self.db.commit()
        if self.runs == 1 and how == "database gone":  # its backend terminated
            self.db.connection().invalidate()
            raise OperationalError("SELECT 1", {}, Exception("terminating connection"))
        if self.runs == 1 and how == "unavailable":  # a service it asks did not answer
            raise ServiceUnavailable("the consent service did not answer within 5 s")
        return {"name": name}


@pytest.mark.parametrize("how", ["database gone", "unavailable"])
def test_an_outage_after_the_commit_undoes_the_call_and_the_retry_does_it_once(engine, how):
    """pg-terminate in make faults: a backend terminated after the work's commit gave a
    PendingRollbackError (a 500) when the answer was to be stored. An outage is no answer
    to keep: nothing commits, the call says 503, and the retry does the work once."""
    service = Failing(engine)
    with pytest.raises((OperationalError, ServiceUnavailable)) as raised:
        service.add_then_fail("a", how)
    assert unavailable(raised.value) is not None  # the gateway answers 503 + Retry-After
    assert count(engine, things) == 0 and count(engine, request_keys_table) == 0
    assert service.add_then_fail("a", how) == {"name": "a"}
    assert service.add_then_fail("a", how) == {"name": "a"} and service.runs == 2
    assert count(engine, things) == 1


def test_a_kept_refusal_keeps_its_codes():
    """A form shows a refusal by its codes: the answer kept for a request key carries them,
    and the replay raises them again (issue 18: "kan ikke være fram i tid", not "ble ikke
    godtatt")."""
    from stafett import errors, request_keys
    from stafett.errors import ValidationFailed, coded
    refused = ValidationFailed("an evaluation cannot be dated in the future",
                               {"evaluated_on": [coded("evaluation.in_future", "not after today")]},
                               code="evaluation.invalid")
    with pytest.raises(errors.ValidationFailed) as replayed:
        request_keys._replay(request_keys._answer_of(refused))
    assert replayed.value.code == "evaluation.invalid"
    assert replayed.value.error_codes == {"evaluated_on": ["evaluation.in_future"]}
