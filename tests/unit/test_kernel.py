"""Unit tests for the shared kernel: config, errors, actor, events, logging, audit."""
from __future__ import annotations

import io
import json
import logging
import uuid
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from nameko.exceptions import RemoteError, deserialize, serialize
from sqlalchemy import create_engine, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from stafett import audit, errors, transparency
from stafett.actor import CITIZEN, SERVICE, STAFF, SYSTEM, SYSTEM_ACTOR, Actor
from stafett.config import DEFAULT_CONFIG, ConfigError, component_config, expand, load_file
from stafett.events import Envelope, kernel_metadata
from stafett.logging import CallIdLogging, JsonFormatter, scrub

# Clearly invalid identity-number-shaped strings (month 34 does not exist): the scrubber
# matches on shape, so they are enough, and no real-looking number lands in the repository.
SHAPED = "12345678901"
SHAPED_SPACED = "123456 78901"


# --- config ----------------------------------------------------------------------------------

def test_expand_uses_default_when_unset():
    assert expand("uri: ${AMQP_URI:amqp://localhost}", {}) == "uri: amqp://localhost"


def test_expand_prefers_the_environment():
    assert expand("uri: ${AMQP_URI:amqp://localhost}", {"AMQP_URI": "amqp://rabbit"}) == (
        "uri: amqp://rabbit")


def test_expand_variable_without_default_set():
    assert expand("${A}-${B:x}", {"A": "1"}) == "1-x"


def test_expand_empty_default():
    assert expand("[${NOTHING:}]", {}) == "[]"


def test_expand_missing_variable_without_default_is_config_error():
    with pytest.raises(ConfigError) as caught:
        expand("key: ${REQUIRED_SECRET}", {"OTHER": "x"})
    assert "REQUIRED_SECRET" in str(caught.value)


def test_expand_uses_only_the_explicit_environ(monkeypatch):
    monkeypatch.setenv("STAFETT_TEST_ONLY_IN_OS", "from-os")
    assert expand("${STAFETT_TEST_ONLY_IN_OS:default}", {}) == "default"


CONFIG_YAML = """\
common:
  AMQP_URI: ${AMQP_URI:pyamqp://guest:guest@localhost:5672/}
  RPC_TIMEOUT: ${RPC_TIMEOUT:5}
  SHARED: from-common
components:
  logs:
    SHARED: from-logs
    DATABASE_URL: ${LOGS_DATABASE_URL:sqlite:///var/logs.db}
  bare:
"""


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "stafett.yaml"
    path.write_text(CONFIG_YAML, encoding="utf-8")
    return path


def test_component_config_merges_common_and_component(config_file):
    config = component_config("logs", config_file, environ={"AMQP_URI": "amqp://rabbit/"})
    assert config == {"AMQP_URI": "amqp://rabbit/", "RPC_TIMEOUT": 5, "SHARED": "from-logs",
                      "DATABASE_URL": "sqlite:///var/logs.db", "COMPONENT": "logs"}


def test_component_config_applies_overrides_last(config_file):
    config = component_config("logs", config_file, environ={"RPC_TIMEOUT": "9"},
                              RPC_TIMEOUT=1, DATABASE_URL="sqlite:///tmp/x.db")
    assert config["RPC_TIMEOUT"] == 1
    assert config["DATABASE_URL"] == "sqlite:///tmp/x.db"
    assert config["SHARED"] == "from-logs"


def test_component_config_environment_values_are_typed_by_yaml(config_file):
    assert component_config("logs", config_file, environ={"RPC_TIMEOUT": "9"})[
        "RPC_TIMEOUT"] == 9


def test_component_config_empty_section_is_common_only(config_file):
    assert component_config("bare", config_file, environ={}) == {
        "AMQP_URI": "pyamqp://guest:guest@localhost:5672/", "RPC_TIMEOUT": 5,
        "SHARED": "from-common", "COMPONENT": "bare"}


def test_component_config_unknown_component_is_config_error(config_file):
    with pytest.raises(ConfigError) as caught:
        component_config("billing", config_file, environ={})
    assert "billing" in str(caught.value)


def test_component_config_does_not_mutate_between_calls(config_file):
    first = component_config("logs", config_file, environ={}, EXTRA=1)
    second = component_config("logs", config_file, environ={})
    assert first["EXTRA"] == 1 and "EXTRA" not in second


@pytest.mark.parametrize("component", ["gateway", "consent", "logs", "handover",
                                       "notifications"])
def test_shipped_config_loads_without_any_environment(component):
    config = component_config(component, DEFAULT_CONFIG, environ={})
    assert config["COMPONENT"] == component
    assert config["AMQP_URI"].startswith("pyamqp://")
    assert config["RPC_TIMEOUT"] == 5


def test_the_default_config_is_package_data():
    """An installed wheel has no source tree: the defaults live inside the package
    (tests/deploy/test_image.py installs a wheel and starts from it)."""
    import stafett

    assert DEFAULT_CONFIG.parent == Path(stafett.__file__).parent
    assert DEFAULT_CONFIG.name == "stafett.yaml" and DEFAULT_CONFIG.is_file()


SITE_YAML = """\
common:
  SHARED: from-site-common
components:
  logs:
    DATABASE_URL: ${SITE_DB:postgresql://site/logs}
    ISSUERS: [{issuer: "https://idp.example", kind: staff}]
"""


def test_a_site_file_replaces_keys_over_the_defaults(config_file, tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(SITE_YAML, encoding="utf-8")
    environ = {"STAFETT_SITE_CONFIG": str(site), "SITE_DB": "postgresql://db/logs"}
    config = component_config("logs", config_file, environ=environ)
    assert config["SHARED"] == "from-site-common"       # site common beats the default's
    assert config["DATABASE_URL"] == "postgresql://db/logs"   # substituted from environ
    assert config["ISSUERS"] == [{"issuer": "https://idp.example", "kind": "staff"}]
    assert config["RPC_TIMEOUT"] == 5                    # untouched defaults stay
    bare = component_config("bare", config_file, environ=environ)
    assert bare["SHARED"] == "from-site-common" and "ISSUERS" not in bare


def test_a_site_file_with_an_unknown_section_is_a_config_error(config_file, tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("gateway:\n  ISSUERS: []\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        component_config("logs", config_file, environ={"STAFETT_SITE_CONFIG": str(site)})
    assert "unknown sections ['gateway']" in str(caught.value)


def test_stafett_config_from_the_given_environ_replaces_the_file(config_file):
    config = component_config("logs", environ={"STAFETT_CONFIG": str(config_file)})
    assert config["SHARED"] == "from-logs"


def test_load_file_empty_document_is_empty_dict(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_file(path, {}) == {}


# --- errors ----------------------------------------------------------------------------------

EXPECTED_STATUS = {
    errors.BadRequest: 400, errors.Unauthorized: 401, errors.Forbidden: 403,
    errors.NotFound: 404, errors.Conflict: 409, errors.PreconditionFailed: 412,
    errors.MethodNotAllowed: 405, errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415, errors.ValidationFailed: 422,
    errors.PreconditionRequired: 428, errors.TooManyRequests: 429,
    errors.ServiceUnavailable: 503,
}
ERROR_CLASSES = sorted(EXPECTED_STATUS, key=lambda cls: cls.__name__)
FIELD_ERRORS = {"valid_until": ["must be after valid_from"],
                "scope.agencies": ["unknown agency 999999999", "unknown agency 888888888"]}


def test_every_error_class_is_listed_here():
    assert set(errors.StafettError.__subclasses__()) == set(EXPECTED_STATUS)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_error_round_trips_through_nameko_as_the_same_class(cls):
    payload = serialize(cls("the detail", FIELD_ERRORS))
    # over AMQP the payload travels as JSON
    received = deserialize(json.loads(json.dumps(payload)))
    assert type(received) is cls
    assert not isinstance(received, RemoteError)
    assert received.detail == "the detail"
    assert received.errors == FIELD_ERRORS
    assert received.status == EXPECTED_STATUS[cls]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_error_without_field_errors_round_trips(cls):
    received = deserialize(json.loads(json.dumps(serialize(cls("only detail")))))
    assert type(received) is cls
    assert (received.detail, received.errors) == ("only detail", {})


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_to_problem(cls):
    problem = cls("what went wrong", FIELD_ERRORS).to_problem()
    codes = {field: ["field.invalid"] * len(messages) for field, messages in FIELD_ERRORS.items()}
    assert problem == {"type": errors.PROBLEM_PAGE["url"] + "#" + cls.default_code,
                       "title": cls.title, "status": EXPECTED_STATUS[cls],
                       "detail": "what went wrong", "code": cls.default_code,
                       "errors": FIELD_ERRORS, "error_codes": codes}


def test_to_problem_without_errors_or_detail():
    problem = errors.NotFound().to_problem(instance="/api/v1/logs/x")
    assert problem == {"type": errors.PROBLEM_PAGE["url"] + "#resource.not_found",
                       "title": "Not found", "status": 404, "detail": "Not found",
                       "code": "resource.not_found", "instance": "/api/v1/logs/x"}


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_code_and_field_codes_round_trip(cls):
    sent = cls("the log is closed", {"text": [errors.coded("text.control_character",
                                                           "Not allowed", char="U+0007")]},
               code="log.closed")
    received = deserialize(json.loads(json.dumps(serialize(sent))))
    assert type(received) is cls
    assert received.code == "log.closed"
    assert received.error_codes == {"text": ["text.control_character"]}
    assert received.error_params == {"text": [{"char": "U+0007"}]}


def test_every_class_has_a_declared_generic_code():
    assert {errors.REGISTRY[cls.default_code][0] for cls in ERROR_CLASSES} == {"kernel"}


def test_error_slugs_are_unique():
    assert len({cls.slug for cls in ERROR_CLASSES}) == len(ERROR_CLASSES)


def test_str_is_detail_or_title():
    assert str(errors.Conflict("the log is closed")) == "the log is closed"
    assert str(errors.Conflict()) == "Conflict"


def test_expected_holds_the_callers_faults_only():
    assert errors.ServiceUnavailable not in errors.EXPECTED
    assert set(errors.EXPECTED) == set(EXPECTED_STATUS) - {errors.ServiceUnavailable}


# --- actor -----------------------------------------------------------------------------------

def test_actor_context_round_trip():
    actor = Actor(kind=STAFF, person_id="s-1", agency="974760673", agency_type="school",
                  roles=("teacher", "stafettholder"), scopes=("logs:read",),
                  acr="substantial")
    raw = actor.to_context()
    assert isinstance(raw, str)
    assert Actor.from_context(raw) == actor
    assert Actor.from_context(raw.encode()) == actor


def test_actor_from_context_dict_and_unknown_keys():
    actor = Actor.from_context({"kind": CITIZEN, "person_id": "c-1", "roles": None,
                                "acr": "idporten-loa-high", "name": "ignored"})
    assert actor == Actor(kind=CITIZEN, person_id="c-1", acr="idporten-loa-high")
    assert actor.roles == () and actor.scopes == ()


@pytest.mark.parametrize("raw", [None, "", b"", {}])
def test_actor_from_empty_context_is_none(raw):
    assert Actor.from_context(raw) is None


@pytest.mark.parametrize("actor, ref", [
    (Actor(kind=STAFF, person_id="s-1", agency="974760673"), "person:s-1"),
    (Actor(kind=CITIZEN, person_id="c-1"), "person:c-1"),
    (Actor(kind=SYSTEM, agency="974760673"), "system:974760673"),
    (Actor(kind=SYSTEM), "system"),
    (Actor(kind=SERVICE), "service"),
    (SYSTEM_ACTOR, "service"),
])
def test_actor_ref(actor, ref):
    assert actor.ref == ref


# --- event envelope --------------------------------------------------------------------------

def test_envelope_dict_round_trip():
    envelope = Envelope(type="log.measure_added", source="logs", data={"measure_id": "m-1"},
                        agency="974760673", actor_ref="person:s-1", child_id="c-1",
                        log_id="l-1")
    payload = envelope.to_dict()
    assert payload["type"] == "log.measure_added" and payload["log_id"] == "l-1"
    assert Envelope.from_dict(json.loads(json.dumps(payload))) == envelope


def test_envelope_from_dict_ignores_unknown_keys():
    envelope = Envelope.from_dict({"type": "t", "source": "s", "surprise": 1})
    assert (envelope.type, envelope.source, envelope.version) == ("t", "s", 1)


def test_envelope_occurred_at_defaults_to_utc_now():
    before = datetime.now(timezone.utc)
    occurred = datetime.fromisoformat(Envelope(type="t", source="s").occurred_at)
    after = datetime.now(timezone.utc)
    assert occurred.utcoffset() == timedelta(0)
    assert before <= occurred <= after


def test_envelope_event_ids_are_unique_uuids():
    ids = {Envelope(type="t", source="s").event_id for _ in range(500)}
    assert len(ids) == 500
    for event_id in list(ids)[:5]:
        assert str(uuid.UUID(event_id)) == event_id


# --- logging ---------------------------------------------------------------------------------

@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("logs"))
    logger = logging.getLogger("stafett.tests.kernel")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield logger, lines
    logger.handlers[:] = []


def test_json_formatter_one_object_per_record(log_lines):
    logger, lines = log_lines
    logger.info("first")
    logger.warning("second %s", "line\nbreak")
    entries = lines()
    assert len(entries) == 2
    first, second = entries
    assert first["message"] == "first" and first["level"] == "INFO"
    assert first["service"] == "logs" and first["logger"] == "stafett.tests.kernel"
    assert datetime.fromisoformat(first["time"]).utcoffset() == timedelta(0)
    assert second["message"] == "second line\nbreak" and second["level"] == "WARNING"
    assert "call_id" not in first


def test_json_formatter_includes_call_id_from_worker(log_lines):
    logger, lines = log_lines
    dependency = CallIdLogging()
    worker_ctx = SimpleNamespace(call_id="logs.add_measure.1",
                                 call_id_stack=deque(["gateway.http.0", "logs.add_measure.1"]))
    dependency.worker_setup(worker_ctx)
    try:
        logger.info("inside")
    finally:
        dependency.worker_teardown(worker_ctx)
    logger.info("outside")
    inside, outside = lines()
    assert inside["call_id"] == "logs.add_measure.1"
    assert inside["call_id_stack"] == ["gateway.http.0", "logs.add_measure.1"]
    assert "call_id" not in outside


def test_json_formatter_keeps_simple_extras(log_lines):
    logger, lines = log_lines
    logger.info("delivered", extra={"attempts": 3, "ok": True, "queue": "logs.q"})
    entry = lines()[0]
    assert (entry["attempts"], entry["ok"], entry["queue"]) == (3, True, "logs.q")


@pytest.mark.parametrize("number", [SHAPED, SHAPED_SPACED])
def test_scrub_redacts_identity_number_shapes(number):
    assert scrub(f"child {number} found") == "child [redacted] found"
    assert scrub(number) == "[redacted]"


@pytest.mark.parametrize("text", ["1234567890", "123456789012", "12345 678901",
                                  "order 2025-03-10", "uuid 5b0c7a86-1f4e-4bd2"])
def test_scrub_leaves_other_numbers(text):
    assert scrub(text) == text


def test_scrub_in_message(log_lines):
    logger, lines = log_lines
    logger.info("looked up %s and %s", SHAPED, SHAPED_SPACED)
    raw = json.dumps(lines())
    assert lines()[0]["message"] == "looked up [redacted] and [redacted]"
    assert SHAPED not in raw and SHAPED_SPACED not in raw


def test_scrub_in_extras(log_lines):
    logger, lines = log_lines
    logger.info("search", extra={"query": f"pid={SHAPED_SPACED}", "body": {"fnr": SHAPED}})
    entry = lines()[0]
    assert entry["query"] == "pid=[redacted]"
    assert SHAPED not in entry["body"] and "[redacted]" in entry["body"]


def test_scrub_in_exception_text(log_lines):
    logger, lines = log_lines
    try:
        raise ValueError(f"no child with number {SHAPED}")
    except ValueError:
        logger.exception("lookup failed")
    entry = lines()[0]
    assert "ValueError: no child with number [redacted]" in entry["exception"]
    assert SHAPED not in entry["exception"]


def test_scrub_in_numeric_extras(log_lines):
    logger, lines = log_lines
    logger.info("search", extra={"pid": int(SHAPED)})
    assert SHAPED not in json.dumps(lines()[0])


# --- access records (the tree and its tampering: tests/unit/test_transparency.py) ---------

@pytest.fixture
def audit_session():
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    kernel_metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


ACTOR = Actor(kind=STAFF, person_id="s-1", agency="974760673", agency_type="school")

def log_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.from_private_bytes(b"t" * 32)
    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    return transparency.LogKey("stafett.test/audit/kernel", private, public)


def three_records(session):
    records = [
        audit.record_access(session, ACTOR, action="read", object_type="log",
                            object_id="l-1", subject_id="l-1", outcome="allowed",
                            role="stafettholder"),
        audit.record_access(session, None, action="read", object_type="log",
                            object_id="l-1", subject_id="l-1", outcome="denied",
                            reason="no such log"),
        audit.record_access(session, ACTOR, action="add_measure", object_type="log",
                            object_id="l-1", subject_id="l-1", outcome="allowed",
                            role="stafettholder"),
    ]
    session.commit()
    return records


def sequenced(session, key=None):
    """Each record sequenced on its own (a checkpoint at sizes 1, 2, 3)."""
    key = key or log_key()
    for _ in range(3):
        audit.record_access(session, ACTOR, action="read", object_type="log",
                            object_id="l-1", subject_id="l-1", outcome="allowed")
        session.commit()
        transparency.sequence(session.get_bind(), key)
    return key


def rows(session):
    return [dict(row) for row in session.execute(
        select(audit.access_table).order_by(audit.access_table.c.seq)).mappings()]


def test_audit_records_are_appended_without_a_lock_or_a_read(audit_session):
    """One INSERT per record: no advisory lock, no read of the previous record."""
    from sqlalchemy import event

    statements = []
    engine = audit_session.get_bind()
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))
    first, second, third = three_records(audit_session)
    assert [s.split()[0] for s in statements] == ["INSERT"] * 3
    assert audit.verify_chain(audit_session) == (True, None)
    assert first["prev_hash"] is None and first["hash"] == audit._digest(first)
    assert [r["seq"] for r in rows(audit_session)] == [1, 2, 3]
    assert [r["leaf_index"] for r in rows(audit_session)] == [None] * 3  # not yet placed
    assert second["actor_ref"] == "anonymous" and first["actor_ref"] == "person:s-1"


def test_audit_protected_mark_is_hashed_and_old_records_hash_as_before(audit_session):
    """A record about a child with a protective address code is marked; removing the mark
    breaks its hash, and records without it hash exactly as before the mark existed."""
    plain = audit.record_access(audit_session, ACTOR, action="read", object_type="log",
                                object_id="l-1", subject_id="l-1", outcome="allowed")
    marked = audit.record_access(audit_session, ACTOR, action="read", object_type="log",
                                 object_id="l-2", subject_id="l-2", outcome="allowed",
                                 protected=True)
    audit_session.commit()
    assert [r["protected"] for r in rows(audit_session)] == [None, True]
    assert plain["hash"] == audit._digest({k: v for k, v in plain.items() if k != "protected"})
    assert marked["hash"] != audit._digest({**marked, "protected": None})
    assert audit.verify_chain(audit_session) == (True, None)
    audit_session.execute(update(audit.access_table).where(audit.access_table.c.seq == 2)
                          .values(protected=None))
    audit_session.commit()
    assert audit.verify_chain(audit_session) == (False, 2)


def test_audit_empty_log_is_intact(audit_session):
    assert audit.verify_chain(audit_session) == (True, None)
    report = transparency.verify_log(audit_session.get_bind(), log_key(), None)
    assert report["ok"] is True and report["records"] == 0


def test_audit_edited_outcome_is_detected(audit_session):
    three_records(audit_session)
    audit_session.execute(update(audit.access_table).where(audit.access_table.c.seq == 2)
                          .values(outcome="allowed"))
    audit_session.commit()
    assert audit.verify_chain(audit_session) == (False, 2)


def test_audit_edit_with_recomputed_hash_is_detected_by_the_checkpoint(audit_session):
    key = sequenced(audit_session)
    record = rows(audit_session)[1]
    record["outcome"] = "denied"
    audit_session.execute(update(audit.access_table).where(audit.access_table.c.seq == 2)
                          .values(outcome="denied", hash=audit._digest(record)))
    audit_session.commit()
    assert audit.verify_chain(audit_session) == (True, None)  # the hashes alone cannot
    report = transparency.verify_log(audit_session.get_bind(), key, None)
    assert report["first_bad_position"] == 1
    assert {(p["kind"], p.get("checkpoint")) for p in report["problems"]} == {
        ("root_mismatch", 2), ("root_mismatch", 3), ("state_mismatch", None)}


def test_audit_deleted_middle_record_is_detected(audit_session):
    key = sequenced(audit_session)
    audit_session.execute(delete(audit.access_table).where(audit.access_table.c.seq == 2))
    audit_session.commit()
    report = transparency.verify_log(audit_session.get_bind(), key, None)
    assert report["first_bad_position"] == 1
    assert report["problems"][0]["kind"] == "missing"


def _swap(session, seq_a, seq_b):
    table = audit.access_table
    by_seq = {row["seq"]: row for row in rows(session)}
    content = lambda row: {k: v for k, v in row.items()  # noqa: E731
                           if k not in ("seq", "leaf_index")}
    session.execute(update(table).where(table.c.seq == seq_a).values(id="swapping"))
    session.execute(update(table).where(table.c.seq == seq_b)
                    .values(**content(by_seq[seq_a])))
    session.execute(update(table).where(table.c.seq == seq_a)
                    .values(**content(by_seq[seq_b])))
    session.commit()


@pytest.mark.parametrize("pair, position", [((1, 2), 0), ((2, 3), 1)])
def test_audit_swapped_records_are_detected(audit_session, pair, position):
    key = sequenced(audit_session)
    _swap(audit_session, *pair)
    assert audit.verify_chain(audit_session) == (True, None)  # each record is still itself
    report = transparency.verify_log(audit_session.get_bind(), key, None)
    assert report["first_bad_position"] == position
    assert report["problems"][0]["kind"] == "root_mismatch"


def test_environment_values_are_not_reinterpreted_as_yaml(tmp_path):
    from stafett.config import load_file

    path = tmp_path / "c.yaml"
    path.write_text("a: ${A:x}\nb: ${B:8000}\nc: prefix-${A:x}\n# ${NOT_SET_ANYWHERE}\n")
    env = {"A": "pyamqp://u:p #x@h/: {y}"}
    assert load_file(path, env) == {"a": "pyamqp://u:p #x@h/: {y}", "b": 8000,
                                    "c": "prefix-pyamqp://u:p #x@h/: {y}"}


# -- event retries back off for minutes before the dead-letter queue (issue 14) ----------

def test_event_retries_back_off_for_at_least_ten_minutes_by_default():
    from stafett.config import component_config
    from stafett.events import Backoff

    backoff = Backoff.from_config(component_config("logs", environ={}))
    waits = backoff.schedule()
    assert waits[:8] == [1, 2, 4, 8, 16, 32, 64, 120]  # doubling, then capped
    assert max(waits) == 120
    assert 600 <= sum(waits) <= 900  # minutes, not the 15 s of five quick attempts
    assert backoff.delay_after(len(waits) + 1) is None  # then the dead-letter queue


def test_event_backoff_budget_and_attempt_cap_are_configurable():
    from stafett.events import Backoff

    assert Backoff(base=0.1, cap=1, budget=2).schedule() == [0.1, 0.2, 0.4, 0.8]
    assert Backoff(base=1, cap=120, budget=900, max_attempts=3).schedule() == [1, 2]
