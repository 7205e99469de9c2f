"""The access log as a transparency log, running: each service's sequencer signs checkpoints
that reach the witness directory and are served by the gateway, with consistency proofs
that verify; ``stafett audit verify`` agrees, then names a tampered record."""
import base64
import json
import subprocess
import sys
from pathlib import Path

import eventlet
import pytest
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.orm import Session

from stafett import tlog
from stafett.actor import STAFF, Actor
from stafett.audit import access_table, record_access
from stafett.db import make_engine, migrate
from stafett.transparency import Witness, checkpoint_table, sequence, signing_key, verify_log
from tests.support.platform import wait_for
from tests.support.servers import make_database_urls

SERVICES = ("consent", "logs", "handover", "notifications")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("database_backend", ["sqlite", "postgres"], indirect=True)
def test_checkpoints_are_signed_witnessed_served_and_verified(platform, tmp_path):
    platform.start()
    platform.seed()
    teacher = platform.client("teacher")
    assert teacher.get("/api/v1/logs").status_code == 200  # one more logs record

    def all_checkpointed():
        body = teacher.get("/api/v1/audit/checkpoint").json()
        return {c["service"] for c in body["checkpoints"]} >= {"consent", "logs"} and body
    body = wait_for(all_checkpointed, timeout=15, message="checkpoints of consent and logs")
    for checkpoint in body["checkpoints"]:
        name, public = tlog.parse_verifier_key(checkpoint["verifier_key"])
        opened = tlog.open_checkpoint(checkpoint["note"], name, public)
        assert opened.size == checkpoint["tree_size"] > 0
        assert name == f"stafett.havvik.example/audit/{checkpoint['service']}"
        witness = platform.var_dir / "audit-witness" / checkpoint["service"]
        assert checkpoint["note"] in {p.read_text() for p in witness.glob("*.checkpoint")}

    def newest_of_logs():
        return next(c for c in teacher.get("/api/v1/audit/checkpoint").json()["checkpoints"]
                    if c["service"] == "logs")
    logs = newest_of_logs()
    first = logs["tree_size"]
    assert teacher.get("/api/v1/logs").status_code == 200
    later = wait_for(lambda: (c := newest_of_logs())["tree_size"] > first and c,
                     timeout=10, message="a newer checkpoint")
    proof = teacher.get(f"/api/v1/audit/consistency?service=logs&first={first}"
                        f"&second={later['tree_size']}")
    assert proof.status_code == 200, proof.text
    hashes = [base64.b64decode(h) for h in proof.json()["proof"]]
    assert tlog.verify_consistency(first, later["tree_size"],
                                   base64.b64decode(logs["root_hash"]),
                                   base64.b64decode(later["root_hash"]), hashes)
    consistency = "/api/v1/audit/consistency?service="
    assert teacher.get(consistency + "logs&first=0&second=1").status_code == 400
    assert teacher.get(consistency + "nosuch&first=1&second=1").status_code == 400
    assert teacher.get(consistency + "logs&first=1&second=999999").status_code == 404
    assert platform.client(None).get("/api/v1/audit/checkpoint").status_code == 401

    platform.close()
    config = tmp_path / "site.yaml"
    config.write_text(json.dumps({"common": {
        "SECRETS_DIR": str(platform.var_dir / "secrets"),
        "AUDIT_WITNESS_DIR": str(platform.var_dir / "audit-witness")},
        "components": {s: {"DATABASE_URL": platform.database_urls[s]} for s in SERVICES}}))

    def verify():
        run = subprocess.run([sys.executable, "-m", "stafett.cli", "audit", "verify"],
                             capture_output=True, text=True, cwd=ROOT, timeout=120,
                             env={"STAFETT_SITE_CONFIG": str(config), "PATH": "/usr/bin",
                                  "PYTHONPATH": str(ROOT)})
        assert "Traceback" not in run.stderr
        return run.returncode, json.loads(run.stdout)
    code, report = verify()
    assert code == 0 and report["ok"] is True, report
    assert report["services"]["logs"]["records"] >= later["tree_size"]

    engine = create_engine(platform.database_urls["logs"])
    with engine.begin() as connection:
        connection.execute(update(access_table).where(access_table.c.leaf_index == 1)
                           .values(outcome="denied"))
    engine.dispose()
    code, report = verify()
    assert code == 1 and report["ok"] is False
    assert report["services"]["logs"]["first_bad_position"] == 1
    assert report["services"]["consent"]["ok"] is True


def test_two_sequencers_and_eight_writers_on_postgres(postgres_url, tmp_path):
    """Eight writers append with no shared lock while two sequencers (two replicas) run:
    every record gets exactly one place, the places run 0..n-1, each checkpoint size is
    signed once, and the log verifies."""
    writers, per_writer = 8, 40
    with make_database_urls(postgres_url, services=("audit",)) as urls:
        engine = make_engine(urls["audit"])
        migrate(engine, ROOT / "services" / "logs" / "migrations")
        key = signing_key({"SECRETS_DIR": str(tmp_path / "secrets")}, "logs")
        witness = Witness(tmp_path / "witness")
        actor = Actor(kind=STAFF, person_id="s-1", agency="974760673", agency_type="school")
        done = []

        def write(n):
            for i in range(per_writer):
                with Session(engine) as session:
                    record_access(session, actor, action="read", object_type="log",
                                  object_id=f"w{n}-{i}", subject_id="l-1", outcome="allowed")
                    session.commit()
            done.append(n)

        def sequencer():
            while len(done) < writers:
                sequence(engine, key, witness, batch=7)
                eventlet.sleep(0.01)
            sequence(engine, key, witness, batch=7)

        threads = [eventlet.spawn(write, n) for n in range(writers)]
        replicas = [eventlet.spawn(sequencer) for _ in range(2)]
        with eventlet.Timeout(120):
            for thread in threads + replicas:
                thread.wait()
        total = writers * per_writer
        with engine.connect() as connection:
            places = connection.execute(select(access_table.c.leaf_index)
                                        .order_by(access_table.c.leaf_index)).scalars().all()
            newest = connection.execute(select(func.max(checkpoint_table.c.tree_size))
                                        ).scalar()
        assert places == list(range(total)) and newest == total
        report = verify_log(engine, key, witness)
        assert report["ok"] is True, report["problems"]
        assert report["records"] == total and report["checkpoints"]["witness"] > 1
        engine.dispose()
