"""Rotation of the national-id keys (services/consent/keys.py, protection.py; the keyring
in stafett/secrets.py), on SQLite and PostgreSQL (``--database postgres``).

Numbers here are synthetic (month + 80), as in test_identity_numbers.py."""
from __future__ import annotations

import hmac
import json
import os
import stat
from datetime import datetime, timezone
from hashlib import sha256
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.consent import keys
from services.consent.models import Person
from services.consent.protection import NumberProtector
from stafett.db import make_engine, migrate
from stafett.errors import Conflict
from stafett.secrets import Keyring, KeyringError, KeyringSource
from tests.support.servers import make_database_urls

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "consent" / "migrations"
NUMBERS = [f"{day:02d}8{month}1012345" for day, month in
           ((1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7))]
#: registered in the middle of the rotation
LATE = "10811012399"


def _url(request, tmp_path, database_backend):
    if database_backend == "postgres":
        return make_database_urls(request.getfixturevalue("postgres_url"), ("consent",))
    (tmp_path / "db").mkdir()  # beside SECRETS_DIR (tmp_path), not in it
    return _Sqlite(f"sqlite:///{tmp_path}/db/consent.db")


class _Sqlite:
    def __init__(self, url):
        self.url = url

    def __enter__(self):
        return {"consent": self.url}

    def __exit__(self, *exc):
        return False


@pytest.fixture
def database(request, tmp_path, database_backend):
    with _url(request, tmp_path, database_backend) as urls:
        engine = make_engine(urls["consent"], pool_size=2) \
            if database_backend == "postgres" else make_engine(urls["consent"])
        yield engine
        engine.dispose()


@pytest.fixture
def engine(database):
    migrate(database, MIGRATIONS)
    return database


def protector(secrets: Path) -> NumberProtector:
    return NumberProtector.from_config({"SECRETS_DIR": str(secrets)})


def add_person(session, numbers, n: int, number: str) -> Person:
    person = Person(id=f"person-{n:02d}", kind="child", name=f"Barn {n}",
                    created_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    person.nin_key_id, person.nin_ciphertext, person.nin_index = \
        numbers.protect(number, person.id)
    session.add(person)
    session.commit()
    return person


def found(session, numbers, number):
    person = keys.person_by_number(session, numbers, number)
    return None if person is None else (
        person.id, numbers.decrypt(person.nin_ciphertext, person.id, person.nin_key_id))


def test_a_lookup_between_batches_finds_every_citizen(engine, tmp_path):
    """The service's protector (loaded before the rotation) and the operator's share
    SECRETS_DIR; after every batch, every citizen is found by number and opens."""
    service, operator = protector(tmp_path), protector(tmp_path)
    with Session(engine) as session:
        for n, number in enumerate(NUMBERS):
            add_person(session, service, n, number)
        assert keys.status(session, operator) == {"current": "1", "active": ["1"],
                                                  "retired": [], "remaining": 0}
        began = keys.begin(session, operator)
        assert (began["started"], began["current"], began["active"]) == (True, "2", ["1", "2"])
        assert began["remaining"] == len(NUMBERS)
        # the running service uses the new key from its next call on
        assert service.current_key_id == "2"
        late = add_person(session, service, 99, LATE)
        assert late.nin_key_id == "2"
        batches = 0
        while True:
            result = keys.step(session, operator, batch_size=3)
            batches += 1
            for n, number in enumerate(NUMBERS):
                assert found(session, service, number) == (f"person-{n:02d}", number), \
                    (batches, number)
            assert found(session, service, LATE) == ("person-99", LATE)
            if result["remaining"] == 0:
                break
            assert keys.begin(session, operator)["started"] is False  # resumes, no 3rd key
        assert batches == 3  # 7 rows, 3 a batch
        under = session.execute(select(Person.nin_key_id)).scalars().all()
        assert set(under) == {"2"}
        done = keys.retire(session, operator)
        assert (done["active"], done["retired"], done["retired_now"]) == (["2"], ["1"], ["1"])
        for n, number in enumerate(NUMBERS):
            assert found(session, service, number) == (f"person-{n:02d}", number)
    keyring = json.loads((tmp_path / "nin-keys.json").read_text())
    assert set(keyring["keys"]) == {"2"} and keyring["retired"] == ["1"]
    assert stat.S_IMODE((tmp_path / "nin-keys.json").stat().st_mode) == 0o600


def test_a_row_resealed_under_the_new_key_no_longer_opens_with_the_old(engine, tmp_path):
    numbers = protector(tmp_path)
    with Session(engine) as session:
        person = add_person(session, numbers, 1, NUMBERS[0])
        old_cipher, old_index = person.nin_ciphertext, person.nin_index
        keys.begin(session, numbers)
        keys.step(session, numbers, 10)
        session.refresh(person)
        assert person.nin_key_id == "2"
        assert person.nin_ciphertext != old_cipher and person.nin_index != old_index
        with pytest.raises(InvalidTag):
            numbers.decrypt(person.nin_ciphertext, person.id, "1")
        assert numbers.blind_index(NUMBERS[0], "1") == old_index


def test_retiring_before_every_row_is_resealed_is_refused(engine, tmp_path):
    numbers = protector(tmp_path)
    with Session(engine) as session:
        for n, number in enumerate(NUMBERS[:3]):
            add_person(session, numbers, n, number)
        keys.begin(session, numbers)
        keys.step(session, numbers, 2)
        with pytest.raises(Conflict, match="1 rows are still under an old key"):
            keys.retire(session, numbers)
        assert numbers.keyring().active.keys() == {"1", "2"}


def test_a_row_under_a_key_the_keyring_lacks_stops_the_rotation(engine, tmp_path):
    numbers = protector(tmp_path)
    with Session(engine) as session:
        person = add_person(session, numbers, 1, NUMBERS[0])
        person.nin_key_id = "7"
        session.commit()
        keys.begin(session, numbers)
        with pytest.raises(Conflict, match="under key '7'.*restore that key first"):
            keys.step(session, numbers, 10)
        session.rollback()
        assert keys.status(session, numbers)["remaining"] == 1


def test_existing_rows_stay_readable_as_key_1_after_the_migration(database, tmp_path):
    """A database at 0003 with a number sealed and indexed by the single key files of
    before keyrings: migrated to head, the row is under key 1, found and opened; rotated,
    the old key files go with the retired key."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    enc, idx = os.urandom(32), os.urandom(32)
    (tmp_path / "nin-encryption.key").write_text(enc.hex())
    (tmp_path / "nin-index.key").write_text(idx.hex())
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(enc).encrypt(nonce, NUMBERS[0].encode(), b"person-old")
    index = hmac.new(idx, NUMBERS[0].encode(), sha256).hexdigest()
    with database.begin() as connection:
        connection.execute(text(
            "INSERT INTO persons (id, kind, name, nin_ciphertext, nin_index, created_at) "
            "VALUES ('person-old', 'child', 'Gammel', :c, :i, :at)"),
            {"c": sealed, "i": index, "at": datetime(2025, 1, 1, tzinfo=timezone.utc)})
        connection.execute(text(
            "INSERT INTO persons (id, kind, name, created_at) "
            "VALUES ('staff-1', 'staff', 'Ansatt', :at)"),
            {"at": datetime(2025, 1, 1, tzinfo=timezone.utc)})
    migrate(database, MIGRATIONS)
    numbers = protector(tmp_path)
    assert not (tmp_path / "nin-keys.json").exists()  # the old files are key 1
    with Session(database) as session:
        assert dict(session.execute(select(Person.id, Person.nin_key_id)).all()) == {
            "person-old": "1", "staff-1": None}
        assert found(session, numbers, NUMBERS[0]) == ("person-old", NUMBERS[0])
        keys.begin(session, numbers)
        assert (tmp_path / "nin-keys.json").exists()
        assert found(session, numbers, NUMBERS[0]) == ("person-old", NUMBERS[0])
        assert keys.step(session, numbers, 10)["remaining"] == 0
        assert keys.retire(session, numbers)["removed_files"] == [
            str(tmp_path / "nin-encryption.key"), str(tmp_path / "nin-index.key")]
        assert found(session, protector(tmp_path), NUMBERS[0]) == ("person-old", NUMBERS[0])


# -- the keyring ------------------------------------------------------------------------------

PARTS = ("encryption", "index")


def test_a_new_keyring_file_is_created_once_owner_only(tmp_path):
    first = KeyringSource({"SECRETS_DIR": str(tmp_path)}, "NIN_KEYS", "nin-keys.json",
                          PARTS).keyring()
    assert first.current == "1" and list(first.active) == ["1"]
    assert stat.S_IMODE((tmp_path / "nin-keys.json").stat().st_mode) == 0o600
    again = KeyringSource({"SECRETS_DIR": str(tmp_path)}, "NIN_KEYS", "nin-keys.json",
                          PARTS).keyring()
    assert again == first


def test_with_creation_off_a_missing_keyring_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nin-keys.json"):
        protector_config = {"SECRETS_DIR": str(tmp_path), "SECRETS_CREATE": "false"}
        NumberProtector.from_config(protector_config)
    assert list(tmp_path.iterdir()) == []


def test_a_keyring_from_configuration_is_never_written(engine, tmp_path):
    """NIN_KEYS (the keyring's JSON from a secret store): the service re-seals, and the
    operator removes the old key where the configuration comes from."""
    ring = Keyring("1", {"1": {p: os.urandom(32) for p in PARTS}}).with_new_key(PARTS)
    config = {"NIN_KEYS": json.dumps(ring.to_json()), "SECRETS_DIR": str(tmp_path)}
    numbers = NumberProtector.from_config(config)
    assert numbers.current_key_id == "2" and numbers.keyring().rotating
    old = NumberProtector(keys=type("K", (), {"keyring": lambda self: Keyring(
        "1", {"1": ring.active["1"]})})())
    with Session(engine) as session:
        add_person(session, old, 1, NUMBERS[0])
        assert keys.begin(session, numbers)["started"] is False
        assert keys.step(session, numbers, 10)["resealed"] == 1
        done = keys.retire(session, numbers)
        assert done["remove_yourself"] == ["1"] and done["retired_now"] == []
        assert found(session, numbers, NUMBERS[0]) == ("person-01", NUMBERS[0])
    with pytest.raises(KeyringError, match="configuration"):
        numbers.keys.save(ring.retire_all_but_current())
    assert not (tmp_path / "nin-keys.json").exists()


@pytest.mark.parametrize("broken", ["{}", '{"current": "2", "keys": {"1": {}}}',
                                    '{"current": "x", "keys": {"x": {"encryption": "00", '
                                    '"index": "00"}}}', "not json"])
def test_a_broken_keyring_is_refused(broken):
    with pytest.raises((KeyringError, ValueError)):
        Keyring.from_json(broken, PARTS)


def test_a_retired_key_is_named_as_such():
    ring = Keyring("1", {"1": {p: os.urandom(32) for p in PARTS}}).with_new_key(PARTS)
    done = ring.retire_all_but_current()
    assert (done.current, list(done.active), done.retired, done.next_id()) == \
        ("2", ["2"], ("1",), "3")
    with pytest.raises(KeyringError, match="no active key '1' \\(retired\\)"):
        done.key("1", "index")
