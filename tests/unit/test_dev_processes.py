"""``make run`` runs several processes of each service where its database allows it
(issue 19, point 4): ``STAFETT_PROCESSES`` (2 unless set) on PostgreSQL, one on SQLite and
one gateway; each further process gets a port of its own."""
from __future__ import annotations

import pytest

from stafett.dev.stack import (COMPONENTS, PORT_STEP, process_env, process_names,
                               processes_per_component)

PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/stafett_"


def postgres_env(**more) -> dict:
    return {**{f"{name.upper()}_DATABASE_URL": PG + name for name in COMPONENTS}, **more}


def test_each_service_on_postgresql_runs_two_processes_unless_told_and_the_gateway_one():
    assert processes_per_component(postgres_env()) == {
        "consent": 2, "logs": 2, "handover": 2, "notifications": 2, "gateway": 1}
    assert processes_per_component(postgres_env(STAFETT_PROCESSES="3"))["logs"] == 3
    assert set(processes_per_component(postgres_env(STAFETT_PROCESSES="1")).values()) == {1}


def test_a_service_on_sqlite_runs_one_process_whatever_is_asked():
    env = postgres_env(STAFETT_PROCESSES="4", LOGS_DATABASE_URL="sqlite:///var/logs.db")
    counts = processes_per_component(env)
    assert counts["logs"] == 1 and counts["consent"] == 4
    assert set(processes_per_component({"STAFETT_PROCESSES": "4"}).values()) == {1}


def test_zero_processes_is_refused():
    with pytest.raises(ValueError, match="STAFETT_PROCESSES"):
        processes_per_component(postgres_env(STAFETT_PROCESSES="0"))


def test_each_further_process_has_a_name_and_a_port_of_its_own():
    names = process_names({"logs": 3, "gateway": 1})
    assert names == {"logs": ("logs", 1), "logs-2": ("logs", 2), "logs-3": ("logs", 3),
                     "gateway": ("gateway", 1)}
    env = postgres_env(LOGS_HTTP="127.0.0.1:8102", METRICS_HTTP="127.0.0.1:9100")
    assert process_env(env, "logs", 1) is env
    third = process_env(env, "logs", 3)
    assert third["LOGS_HTTP"] == f"127.0.0.1:{8102 + 2 * PORT_STEP}"
    assert third["METRICS_HTTP"] == "" and env["METRICS_HTTP"] == "127.0.0.1:9100"
