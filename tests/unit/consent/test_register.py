"""The population register port: the embedded file and the HTTP adapter, the latter against
a real register server on loopback (tests/support/register.py)."""
from __future__ import annotations

import time
from datetime import date

import pytest

from services.consent import domain
from services.consent.register import (EmbeddedRegister, HttpRegister, RegisterUnavailable,
                                       from_config)
from stafett.dev.demo import CHILDREN, EMMA, NORA
from tests.support.register import LOOKUP_PATH, RegisterFile, RegisterServer

INGRID = next(g["national_id"] for g in CHILDREN[0]["guardians"] if g["name"] == "Ingrid Solberg")
TOR = next(g["national_id"] for g in CHILDREN[0]["guardians"] if g["name"] == "Tor Solberg")


@pytest.fixture
def register_file(tmp_path):
    return RegisterFile(tmp_path / "register.yaml")


@pytest.fixture
def server(register_file):
    server = RegisterServer(register_file.api_persons()).start()
    yield server
    server.stop()


# -- the embedded register ---------------------------------------------------------------------

def test_the_committed_register_is_the_demos_persons_with_each_code():
    register = from_config({})  # the default: the packaged stafett/population-register.yaml
    assert isinstance(register, EmbeddedRegister)
    emma = register.lookup(EMMA["national_id"])
    assert (emma.name, emma.birth_date) == ("Emma Solberg", date(2013, 3, 14))
    assert set(emma.parental_responsibility) == {INGRID, TOR}
    assert emma.protection is None and emma.municipality == "Havvik kommune"
    persons = register.persons().values()
    for code in ("fortrolig", "strengt_fortrolig"):
        coded = {p.national_id for p in persons if p.protection == code}
        assert any(coded & set(p.parental_responsibility) for p in persons), code
    assert register.lookup(NORA["national_id"]).protection == "strengt_fortrolig"
    assert register.lookup("01811512345") is None
    # every demo child and guardian is a synthetic number (month + 80)
    assert all(80 < int(p.national_id[2:4]) <= 92 for p in persons)


def test_the_embedded_register_reads_the_file_again_when_it_changes(register_file):
    register = from_config({"POPULATION_REGISTER": register_file.setting})
    assert set(register.lookup(EMMA["national_id"]).parental_responsibility) == {INGRID, TOR}
    register_file.set_parents("emma", ["ingrid"])
    assert register.lookup(EMMA["national_id"]).parental_responsibility == (INGRID,)
    register_file.path.write_text("persons: {broken: {name: 1}}\n")
    with pytest.raises(RegisterUnavailable) as refused:
        register.lookup(EMMA["national_id"])
    assert EMMA["national_id"] not in str(refused.value)
    register_file.path.unlink()
    with pytest.raises(RegisterUnavailable):
        register.lookup(EMMA["national_id"])


def test_a_person_never_shows_its_number_or_address_in_repr():
    emma = from_config({}).lookup(EMMA["national_id"])
    assert EMMA["national_id"] not in repr(emma) and "Havvik" not in repr(emma)


# -- the register API over HTTP ----------------------------------------------------------------

def test_the_http_adapter_follows_the_documented_contract(server):
    register = from_config({"POPULATION_REGISTER": server.url,
                            "POPULATION_REGISTER_TOKEN": server.token})
    assert isinstance(register, HttpRegister)
    emma = register.lookup(EMMA["national_id"])
    assert emma.name == "Emma Solberg" and set(emma.parental_responsibility) == {INGRID, TOR}
    assert register.lookup(NORA["national_id"]).protection == "strengt_fortrolig"
    assert register.lookup("01811512345") is None  # 404: no such person
    # the number travels in the body, never the URL; the token in the header
    assert {r["path"] for r in server.requests} == {LOOKUP_PATH}
    assert {r["authorization"] for r in server.requests} == {f"Bearer {server.token}"}
    assert EMMA["national_id"] in server.requests[0]["body"]


@pytest.mark.parametrize("trouble", ["503", "401", "wrong person", "not a person", "down",
                                     "slow"])
def test_anything_but_a_person_or_404_is_unavailable(trouble, server, register_file):
    token = "wrong" if trouble == "401" else server.token
    register = HttpRegister(server.url, token=token, timeout=0.5)
    if trouble == "503":
        server.fail_status = 503
    elif trouble == "wrong person":
        server.persons[EMMA["national_id"]] = server.persons[INGRID]
    elif trouble == "not a person":
        server.persons[EMMA["national_id"]] = {"national_id": EMMA["national_id"]}
    elif trouble == "down":
        server.stop()
    elif trouble == "slow":
        server.delay = 2
    started = time.monotonic()
    with pytest.raises(RegisterUnavailable) as refused:
        register.lookup(EMMA["national_id"])
    assert time.monotonic() - started < 1.5  # within the timeout, not the delay
    assert EMMA["national_id"] not in str(refused.value)


def test_the_register_api_is_reached_over_https_only_outside_loopback():
    HttpRegister("https://folkeregister.example/api")
    HttpRegister("http://127.0.0.1:9")
    with pytest.raises(ValueError):
        HttpRegister("http://folkeregister.example/api")
    with pytest.raises(ValueError):
        from_config({"POPULATION_REGISTER": "ftp://folkeregister.example"})


# -- the rules ----------------------------------------------------------------------------------

def test_a_registration_names_the_fields_that_come_from_the_register():
    assert domain.registration_errors({"national_id": "x"}) == {}
    errors = domain.registration_errors({"national_id": "x", "guardians": [], "name": "E",
                                         "birth_date": "2013-03-14", "extra": 1})
    assert set(errors) == {"guardians", "name", "birth_date", "extra"}
    assert "population register" in errors["guardians"][0]
    assert "national_id" in domain.registration_errors({"guardians": []})
    assert domain.registration_errors(["national_id"]) == {
        "_schema": ["send a JSON object with national_id"]}


def test_the_register_is_the_truth_and_who_is_told():
    assert domain.guardianship_diff({"a", "b"}, {"a", "c"}) == ({"c"}, {"b"})
    policy = domain.ConsentPolicy(youth_age=15)
    today = date(2026, 12, 1)
    # the guardians who keep it are told; neither the added nor the removed
    assert domain.told_of_guardianship_change({"a", "b"}, {"a", "c"}, "child",
                                              date(2013, 3, 14), today, policy) == ["a"]
    # the youth from the consent age
    assert domain.told_of_guardianship_change({"a"}, {"a", "c"}, "child",
                                              date(2010, 5, 5), today, policy) == ["a", "child"]
    assert domain.case_protected([None, None]) is False
    assert domain.case_protected([None, "fortrolig"]) is True
    assert domain.shows_names(True, False) is False and domain.shows_names(False, False)
    assert domain.is_minor(date(2008, 12, 1), today) is False
    assert domain.is_minor(date(2008, 12, 2), today) is True
