"""The kernel's small helpers, each of which once had a copy per service: time (naive is
UTC), loading a request against its schema, new ids, boolean settings, AES-GCM at rest and
the keys it uses. The last test keeps them single."""
from __future__ import annotations

import base64
import os
import re
import stat
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from marshmallow import Schema, fields

from gateway.web.session import Sealer
from services.consent.protection import NumberProtector
from services.notifications.protection import SecretBox
from stafett.clock import as_utc, parse_utc, utcnow
from stafett.config import ConfigError, flag
from stafett.contracts import load
from stafett.crypto import Aead
from stafett.errors import ValidationFailed
from stafett.ids import new_id
from stafett.secrets import symmetric_key

ROOT = Path(__file__).resolve().parents[2]
OSLO_SUMMER = timezone(timedelta(hours=2))


# --- clock -----------------------------------------------------------------------------------

def test_a_naive_moment_is_read_as_utc():
    assert as_utc(datetime(2026, 6, 1, 12, 0)) == datetime(2026, 6, 1, 12, 0,
                                                           tzinfo=timezone.utc)
    assert as_utc(datetime(2026, 6, 1, 12, 0)).tzinfo is timezone.utc


def test_an_aware_moment_keeps_its_instant_and_offset():
    moment = datetime(2026, 6, 1, 14, 0, tzinfo=OSLO_SUMMER)
    assert as_utc(moment) is moment


def test_parse_utc_reads_a_timestamp_without_offset_as_utc_and_keeps_one_with():
    assert parse_utc("2026-06-01T12:00:00") == datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
    assert parse_utc("2026-06-01T14:00:00+02:00") == datetime(2026, 6, 1, 12,
                                                              tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        parse_utc("yesterday")


def test_utcnow_is_aware_utc():
    assert utcnow().utcoffset() == timedelta(0)


# --- contracts -------------------------------------------------------------------------------

class _PersonIn(Schema):
    name = fields.String(required=True)
    age = fields.Integer(load_default=None)


def test_load_gives_the_loaded_data():
    assert load(_PersonIn(), {"name": "Kari", "age": 9}) == {"name": "Kari", "age": 9}


def test_load_takes_an_absent_payload_as_empty_and_names_each_field_in_the_error():
    with pytest.raises(ValidationFailed) as info:
        load(_PersonIn(), None)
    assert info.value.errors == {"name": ["Missing data for required field."]}
    with pytest.raises(ValidationFailed) as info:
        load(_PersonIn(), {"name": "Kari", "age": "ni", "extra": 1})
    assert set(info.value.errors) == {"age", "extra"}
    assert info.value.detail == "the request has invalid fields"


# --- ids -------------------------------------------------------------------------------------

def test_new_id_is_a_random_uuid_in_canonical_text():
    first, second = new_id(), new_id()
    assert first != second
    assert str(uuid.UUID(first)) == first and uuid.UUID(first).version == 4


# --- boolean settings ------------------------------------------------------------------------

@pytest.mark.parametrize("value", [True, "true", "True", " TRUE ", "1", 1, "yes", "on", "On"])
def test_flag_on(value):
    assert flag(value) is True


@pytest.mark.parametrize("value", [False, "false", "False", "0", 0, "no", "off", "", " "])
def test_flag_off(value):
    assert flag(value, default=True) is False


def test_an_absent_flag_is_its_default():
    assert flag(None) is False and flag(None, True) is True


@pytest.mark.parametrize("value", ["ture", "enabled", "2", "y"])
def test_a_mistyped_flag_is_refused_by_name(value):
    with pytest.raises(ConfigError, match="DEV_ISSUER"):
        flag(value, False, "DEV_ISSUER")


# --- AES-GCM ---------------------------------------------------------------------------------

KEY = bytes(range(32))


def test_a_seal_opens_where_it_is_bound_and_only_there():
    box = Aead(KEY)
    sealed = box.seal(b"01010112345", "row-1")
    assert box.open(sealed, "row-1") == b"01010112345"
    with pytest.raises(InvalidTag):
        box.open(sealed, "row-2")          # copied onto another row
    with pytest.raises(InvalidTag):
        Aead(bytes(32)).open(sealed, "row-1")  # another key
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(InvalidTag):
        box.open(tampered, "row-1")


def test_every_seal_has_a_fresh_nonce():
    box = Aead(KEY)
    assert box.seal(b"same", "row") != box.seal(b"same", "row")


@pytest.mark.parametrize("length", [0, 16, 31, 33])
def test_a_key_of_the_wrong_length_is_refused_by_name(length):
    with pytest.raises(ValueError, match="the session key must be 32 bytes"):
        Aead(bytes(length), "the session key")


def test_the_text_form_is_base64_of_the_same_layout():
    box = Aead(KEY)
    sealed = box.seal_text("hemmelig", "hook-1")
    assert box.open_text(sealed, "hook-1") == "hemmelig"
    assert box.open(base64.b64decode(sealed), "hook-1") == b"hemmelig"


def test_what_was_stored_before_the_kernel_owned_aes_gcm_still_opens():
    """The layout the three copies wrote (nonce of 12 bytes, then ciphertext and tag; the
    row as associated data; base64 for webhook secrets): rows already stored must open."""
    nonce = os.urandom(12)
    raw = nonce + AESGCM(KEY).encrypt(nonce, b"01010112345", b"person-1")
    assert NumberProtector(KEY, KEY).decrypt(raw, "person-1") == "01010112345"
    secret = base64.b64encode(nonce + AESGCM(KEY).encrypt(nonce, b"whsec_x", b"hook-1"))
    assert SecretBox(KEY).open(secret.decode(), "hook-1") == "whsec_x"
    session = base64.b64encode(nonce + AESGCM(KEY).encrypt(nonce, b'{"a":1}', b"row-key"))
    assert Sealer(KEY).open(session.decode(), "row-key") == {"a": 1}
    assert Sealer(KEY).open(Sealer(KEY).seal({"a": 1}, "row-key"), "row-key") == {"a": 1}


# --- keys ------------------------------------------------------------------------------------

def test_a_key_from_configuration_is_hex():
    assert symmetric_key({"SESSION_KEY": KEY.hex()}, "SESSION_KEY", "web-session.key") == KEY


def test_a_missing_key_file_is_created_once_owner_only(tmp_path):
    config = {"SECRETS_DIR": str(tmp_path)}
    first = symmetric_key(config, "SESSION_KEY", "web-session.key")
    assert len(first) == 32
    path = tmp_path / "web-session.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert symmetric_key(config, "SESSION_KEY", "web-session.key") == first


@pytest.mark.parametrize("off", [False, "false", "no", "0"])
def test_with_creation_off_a_missing_key_file_is_an_error(tmp_path, off):
    with pytest.raises(FileNotFoundError, match="web-session.key"):
        symmetric_key({"SECRETS_DIR": str(tmp_path), "SECRETS_CREATE": off},
                      "SESSION_KEY", "web-session.key")
    assert not (tmp_path / "web-session.key").exists()


def test_the_national_id_keys_come_from_configuration_or_files(tmp_path):
    index_key = bytes(range(32, 64))
    configured = NumberProtector.from_config({"NIN_ENCRYPTION_KEY": KEY.hex(),
                                              "NIN_INDEX_KEY": index_key.hex(),
                                              "SECRETS_DIR": str(tmp_path)})
    assert configured.decrypt(configured.encrypt("01010112345", "p"), "p") == "01010112345"
    assert NumberProtector(KEY, index_key).blind_index("01010112345") == \
        configured.blind_index("01010112345")
    assert list(tmp_path.iterdir()) == []   # no file when configuration has both keys
    from_files = NumberProtector.from_config({"SECRETS_DIR": str(tmp_path)})
    # a new installation gets a keyring (key ids: tests/unit/consent/test_key_rotation.py)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nin-keys.json"]
    again = NumberProtector.from_config({"SECRETS_DIR": str(tmp_path)})
    assert again.decrypt(from_files.encrypt("01010112345", "p"), "p") == "01010112345"
    with pytest.raises(FileNotFoundError):
        NumberProtector.from_config({"SECRETS_DIR": str(tmp_path / "empty"),
                                     "SECRETS_CREATE": "false"})


# --- one copy --------------------------------------------------------------------------------

#: each helper's telltale, and the one kernel module allowed to have it
SINGLE = {
    r"replace\(tzinfo=": "stafett/clock.py",
    r"\bAESGCM\b": "stafett/crypto.py",
    r"""["']yes["'],\s*["']on["']|\.lower\(\)\s*[!=]=\s*["']true["']""": "stafett/config.py",
    r"def new_id\b|str\(uuid\.uuid4\(\)\)": "stafett/ids.py",
    r"except ValidationError as": "stafett/contracts.py",
    r"os\.urandom\(32\)": "stafett/secrets.py",
}


@pytest.mark.parametrize("pattern", sorted(SINGLE))
def test_each_helper_has_one_copy(pattern):
    found = sorted(str(path.relative_to(ROOT))
                   for package in ("stafett", "services", "gateway")
                   for path in (ROOT / package).rglob("*.py")
                   if re.search(pattern, path.read_text(encoding="utf-8")))
    assert found == [SINGLE[pattern]]
