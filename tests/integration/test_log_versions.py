"""A log's version goes up with every change, and its row is locked last, just before
commit (services/logs/versions.py): writers of one log no longer queue behind a holder
that still writes its outbox row and access record, concurrent writers each get their
own version, and an If-Match that another writer overtook is a 412 under the row lock.

On PostgreSQL, with a probe inside the unit of work: a separate connection that tries
the log's row lock while the access record is being written (``record_access``)."""
from __future__ import annotations

import eventlet
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

import stafett.audit
from stafett.dev.demo import AGENCIES, EMMA
from tests.support.platform import Platform

SCHOOL, PPT = AGENCIES["school"]["org_number"], AGENCIES["ppt"]["org_number"]
pytestmark = pytest.mark.parametrize("database_backend", ["postgres"], indirect=True)


@pytest.fixture
def logs_platform(container_factory, amqp_uri, database_urls, tmp_path):
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path)
    platform.start()
    platform.seed()
    guardian, teacher = platform.client("guardian"), platform.client("teacher")
    emma = next(c["id"] for c in guardian.get("/api/v1/children").json()["items"]
                if c["name"] == EMMA["name"])
    assert guardian.post(f"/api/v1/children/{emma}/consents", json={
        "scope": {"agencies": [SCHOOL, PPT]}, "purpose": "Samarbeid"}).status_code == 201
    log = teacher.post("/api/v1/logs", json={"child_id": emma}).json()
    engine = create_engine(database_urls["logs"])
    yield platform, teacher, log["id"], engine
    engine.dispose()
    platform.close()


def version(client, log_id) -> int:
    response = client.get(f"/api/v1/logs/{log_id}")
    assert response.status_code == 200, response.text
    return int(response.headers["ETag"].strip('W/"'))


def probe_during_access_record(monkeypatch, action: str, probe):
    """Run ``probe()`` right after the access record of ``action`` is written (inside
    the unit of work, before commit); returns the list of what it returned."""
    seen = []
    original = stafett.audit.record_access

    def record_then_probe(session, actor, **kwargs):
        record = original(session, actor, **kwargs)
        if kwargs.get("action") == action and kwargs.get("outcome") == "allowed":
            seen.append(probe())
        return record

    monkeypatch.setattr(stafett.audit, "record_access", record_then_probe)
    return seen


def row_lock_free(engine, log_id) -> bool:
    """Whether another writer could take the log's row now, as an UPDATE of its version
    does (NO KEY UPDATE: an entry's foreign key share-locks the row, which it does not
    conflict with); NOWAIT, so it never waits."""
    with engine.connect() as connection:
        try:
            connection.execute(text("SELECT id FROM logs WHERE id = :id "
                                    "FOR NO KEY UPDATE NOWAIT"),
                               {"id": log_id})
            return True
        except OperationalError as exc:
            assert "could not obtain lock" in str(exc)
            return False
        finally:
            connection.rollback()


def test_adding_an_entry_locks_the_log_row_only_after_its_access_record(logs_platform,
                                                                       monkeypatch):
    platform, teacher, log_id, engine = logs_platform
    before = version(teacher, log_id)
    seen = probe_during_access_record(monkeypatch, "add_entry",
                                      lambda: row_lock_free(engine, log_id))
    added = teacher.post(f"/api/v1/logs/{log_id}/entries",
                         json={"kind": "note", "text": "Fin dag på skolen"})
    assert added.status_code == 201, added.text
    assert seen == [True], "the log's row was locked while the access record was written"
    assert version(teacher, log_id) == before + 1


def test_concurrent_entries_each_raise_the_version(logs_platform):
    platform, teacher, log_id, _ = logs_platform
    before = version(teacher, log_id)
    writers = 8
    pool = eventlet.GreenPool(writers)
    statuses = list(pool.imap(lambda n: teacher.post(
        f"/api/v1/logs/{log_id}/entries",
        json={"kind": "note", "text": f"Notat {n}"}).status_code, range(writers)))
    assert statuses == [201] * writers
    assert version(teacher, log_id) == before + writers  # none lost


def test_an_if_match_overtaken_before_commit_is_a_412_and_changes_nothing(logs_platform,
                                                                          monkeypatch):
    platform, teacher, log_id, engine = logs_platform
    log_url = f"/api/v1/logs/{log_id}"
    omar = teacher.get(f"/api/v1/agencies/{PPT}/staff").json()["items"][0]
    added = teacher.post(f"{log_url}/participants", json={"person_id": omar["id"]})
    assert added.status_code == 201, added.text
    read = version(teacher, log_id)

    def another_writer_commits():
        """Another writer changes the log between our If-Match check and our commit."""
        with engine.connect() as connection:
            connection.execute(text("SET lock_timeout = '2s'"))
            connection.execute(text("UPDATE logs SET version = version + 1 WHERE id = :id"),
                               {"id": log_id})
            connection.commit()
        return True

    seen = probe_during_access_record(monkeypatch, "remove_participant",
                                      another_writer_commits)
    removed = teacher.request_delete(f"{log_url}/participants/{added.json()['id']}",
                                     headers={"If-Match": f'"{read}"'})
    assert seen == [True], removed.text
    assert removed.status_code == 412, removed.text
    assert removed.headers["Content-Type"] == "application/problem+json"
    after = teacher.get(log_url)
    # nothing of the overtaken change was kept: Omar is still in the log (the view lists
    # only participants not removed)
    assert added.json()["id"] in {p["id"] for p in after.json()["participants"]}
    assert int(after.headers["ETag"].strip('W/"')) == read + 1  # the other writer's only
