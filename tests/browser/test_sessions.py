"""The web client's server-side sessions and forms, without a broker: gateway/web/session.py,
gateway/web/forms.py, gateway/migrations (revision 0001)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from gateway.models import WebSession
from gateway.web.forms import Field, Form, flatten, parse_date, problem_text
from gateway.web.session import (ANONYMOUS, Sealer, SessionStore, clear_cookie_header,
                                 cookie_header, csrf_ok, hash_id)
from stafett.db import make_engine, migrate
from gateway.web.messages import FIELD_MESSAGES
from stafett.errors import Conflict, PreconditionFailed, ValidationFailed, coded

MIGRATIONS = Path(__file__).resolve().parents[2] / "gateway" / "migrations"
IDENTITY = {"kind": "citizen", "issuer": "https://idp.example", "sub": "s-1",
            "pid": "SYNTHETIC-PID-MARKER", "acr": "idporten-loa-high"}


class Clock:
    def __init__(self):
        self.now = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def db(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/gateway.db")
    migrate(engine, MIGRATIONS)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(db, clock):
    return SessionStore(db, Sealer(bytes(range(32))), idle=timedelta(minutes=30),
                        absolute=timedelta(hours=10), clock=clock)


def test_the_migrations_make_the_gateways_own_tables_only(db):
    from gateway.models import Base

    tables = set(inspect(db.get_bind()).get_table_names())
    assert "web_sessions" in tables
    assert tables == set(Base.metadata.tables) | {"alembic_version"}  # no kernel tables


def test_the_cookie_is_opaque_and_the_table_holds_neither_it_nor_the_identity(store, db):
    session = store.login(None, IDENTITY, "Ingrid Solberg", "dev", {"id_token": "eyJ.secret.x"})
    cookie = session.new_cookie
    assert len(cookie) >= 43  # 256 bits, url-safe
    row = db.scalars(select(WebSession)).one()
    stored = json.dumps({c: str(getattr(row, c)) for c in WebSession.__table__.columns.keys()})
    assert row.id_hash == hash_id(cookie) and cookie not in stored
    for secret in ("SYNTHETIC-PID-MARKER", "Ingrid", "eyJ.secret", "s-1"):
        assert secret not in stored
    assert store.load(cookie).identity == IDENTITY


def test_a_sealed_row_does_not_open_under_another_key_or_row(store, db, clock):
    first = store.login(None, IDENTITY, "A", "dev")
    second = store.login(None, {**IDENTITY, "sub": "s-2"}, "B", "dev")
    rows = {r.id_hash: r for r in db.scalars(select(WebSession))}
    # move the first session's sealed identity onto the second row: it must not open
    rows[second.id_hash].sealed = rows[first.id_hash].sealed
    db.commit()
    assert store.load(second.new_cookie) is None
    other_key = SessionStore(db, Sealer(bytes(32)), timedelta(minutes=30), timedelta(hours=10),
                             clock=clock)
    assert other_key.load(first.new_cookie) is None


def test_idle_and_absolute_timeouts(store, clock):
    session = store.login(None, IDENTITY, "A", "dev")
    cookie = session.new_cookie
    for _ in range(19):  # active every 29 minutes: alive for 9 h 11 min
        clock.now += timedelta(minutes=29)
        assert store.load(cookie) is not None
    clock.now += timedelta(minutes=29)  # 9 h 40 min
    assert store.load(cookie) is not None
    clock.now += timedelta(minutes=21)  # past 10 hours since login, though active
    assert store.load(cookie) is None
    idle = store.login(None, IDENTITY, "B", "dev").new_cookie
    clock.now += timedelta(minutes=30)
    assert store.load(idle) is None


def test_login_rotates_the_session_and_logout_deletes_it(store, db):
    before = store.create(ANONYMOUS, {})
    after = store.login(before, IDENTITY, "A", "dev")
    assert after.new_cookie != before.new_cookie and after.csrf_token != before.csrf_token
    assert store.load(before.new_cookie) is None
    assert store.load(after.new_cookie).authenticated
    store.delete(after)
    assert store.load(after.new_cookie) is None
    assert db.scalars(select(WebSession)).all() == []


def test_expired_rows_are_swept_when_a_session_starts(store, db, clock):
    store.login(None, IDENTITY, "A", "dev")
    clock.now += timedelta(hours=11)
    store.create(ANONYMOUS, {})
    assert len(db.scalars(select(WebSession)).all()) == 1


def test_csrf_needs_the_sessions_own_token(store):
    session = store.create(ANONYMOUS, {})
    assert csrf_ok(session, session.csrf_token)
    assert not csrf_ok(session, "")
    assert not csrf_ok(session, session.csrf_token + "x")
    assert not csrf_ok(None, session.csrf_token)


def test_cookie_flags():
    header = cookie_header("abc")
    assert header.split("; ")[0] == "stafett_session=abc"
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/"} <= set(header.split("; "))
    assert "Max-Age=0" in clear_cookie_header()


# -- forms ----------------------------------------------------------------------------------

class FormData(dict):
    def getlist(self, key):
        value = self.get(key)
        return value if isinstance(value, list) else ([value] if value else [])


def test_a_form_keeps_what_was_typed_and_says_what_is_wrong_in_bokmal():
    form = Form(Field("title", "Tittel", required=True, max_length=5),
                Field("evaluate_by", "Vurderes innen", kind="date", required=True),
                Field("arena", "Arena", kind="select", required=True,
                      choices=[("home", "Hjemme")]),
                Field("who", "Hvem", kind="checkboxes", choices=[("a", "A")]))
    form.read(FormData(title="  Altfor lang  ", evaluate_by="31.02.2026", arena="moon",
                       who=["a", "b"]))
    assert form.values["title"] == "Altfor lang" and form.values["evaluate_by"] == "31.02.2026"
    assert form.errors == {
        "title": ["Teksten kan være høyst 5 tegn (nå 11)."],
        "evaluate_by": ["Skriv datoen som dd.mm.åååå, for eksempel 14.03.2026."],
        "arena": ["Velg et av alternativene som vises."],
        "who": ["Velg bare blant alternativene som vises."]}
    empty = Form(Field("title", "Tittel", required=True),
                 Field("arena", "Arena", kind="select", required=True)).read(FormData())
    assert empty.errors == {"title": ["Fyll ut tittel."], "arena": ["Velg arena."]}


def test_service_refusals_become_bokmal_messages_on_the_fields():
    form = Form(Field("evaluate_by", "Vurderes innen", kind="date"),
                Field("responsible_id", "Ansvarlig"), Field("day", "Dato"),
                Field("text", "Tekst", kind="textarea"))
    form.take_service_errors(ValidationFailed("the measure is not valid", {
        "evaluate_by": [coded("measure.evaluate_by_before_start", "any English")],
        "responsible_id": [coded("measure.responsible_not_participant", "any English")],
        "starts_at": [coded("datetime.invalid", "Not a valid aware datetime.")],
        "text": [coded("text.control_character", "Not allowed: ...", char="U+0007")],
        "unknown": ["Something English."]}), aliases={"starts_at": "day"})
    assert form.errors == {
        "evaluate_by": ["Datoen for vurdering kan ikke være før startdatoen."],
        "responsible_id": ["Velg en som er aktiv deltaker i loggen."],
        "day": ["Skriv en gyldig dato og et gyldig klokkeslett."],
        "text": [FIELD_MESSAGES["text.control_character"].format(char="U+0007")]}
    assert "(tegnkode U+0007)" in form.errors["text"][0]
    assert form.general == ["Dette feltet ble ikke godtatt. Sjekk det og prøv igjen."]
    assert problem_text(Conflict("the child already has an open log",
                                 code="log.already_open")) == \
        "Barnet har allerede en åpen stafettlogg."
    assert problem_text(PreconditionFailed("stale")).startswith("Noen har endret dette")


def test_the_web_client_reads_the_code_not_the_english_text():
    """A service may reword its detail and messages: the bokmål stays; English words
    without their code translate to nothing but the generic text of their kind."""
    reworded = Conflict("Log is archived", code="log.closed")
    assert problem_text(reworded) == "Loggen er lukket og kan ikke endres."
    assert problem_text(Conflict("the log is closed and read-only")) == (
        "Det lot seg ikke gjøre nå, fordi saken er endret. Last siden på nytt.")
    form = Form(Field("evaluate_by", "Vurderes innen", kind="date"))
    form.take_service_errors(ValidationFailed("x", {"evaluate_by": [
        "must be on or after start_date"]}))
    assert form.errors == {"evaluate_by": ["Dette feltet ble ikke godtatt. Sjekk det og "
                                           "prøv igjen."]}


def test_nested_errors_flatten_and_dates_parse_both_ways():
    assert flatten({"scope": {"agencies": ["x"]}, "a": ["y"]}) == {"scope.agencies": ["x"],
                                                                 "a": ["y"]}
    assert parse_date("2026-03-14") == parse_date("14.03.2026") == parse_date("14.3.2026")
    assert parse_date("2026-02-30") is None and parse_date("i morgen") is None
