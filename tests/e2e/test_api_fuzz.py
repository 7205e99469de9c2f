"""schemathesis against /openapi.json, with authenticated personas, over real HTTP.

Every operation in the document gets generated requests, both valid (positive) and
invalid (negative) by its schema, with path parameters either generated or taken from
the world's real objects (so requests also reach the services' rules, not only 404).
Every response must be below 500, of a status and content type the document declares,
conform to the declared schema, and every error is problem+json. The run is bounded
(``FUZZ_EXAMPLES`` per operation, persona and mode) and derandomized, so it repeats.
"""
from __future__ import annotations

import os
import time

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_headers_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from gateway.openapi import openapi_document
from gateway.routes.table import ROUTES

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
#: past this many seconds (a loaded runner), each remaining operation gets two examples:
#: every operation is still called by every persona in both modes, only fewer times
BUDGET_SECONDS = 90
#: who calls: staff (stafettholder), a guardian, the child, an agency system
PERSONAS = ("teacher", "guardian", "child", "school-system")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.mark.timeout(600)
def test_no_generated_request_breaks_the_contract(populated_platform):
    platform, world = populated_platform
    schema = schemathesis.openapi.from_dict(openapi_document(ROUTES))
    base_url = platform.url() + "/api/v1"
    ids = world.path_ids()
    tokens = {persona: platform.token(persona) for persona in PERSONAS}
    failures, calls = [], {"n": 0}
    started = time.monotonic()

    for result in schema.get_all_operations():
        operation = result.ok()
        names = [p.strip("{}") for p in operation.path.split("/") if p.startswith("{")]
        for persona in PERSONAS:
            for mode in (schemathesis.GenerationMode.POSITIVE,
                         schemathesis.GenerationMode.NEGATIVE):
                strategies = [operation.as_strategy(mode)]
                if names:
                    strategies.append(operation.as_strategy(
                        mode, path_parameters={name: ids[name] for name in names}))

                over_budget = time.monotonic() - started > BUDGET_SECONDS

                @settings(max_examples=2 if over_budget else EXAMPLES, deadline=None,
                          database=None, derandomize=True, suppress_health_check=list(HealthCheck),
                          phases=[hypothesis.Phase.generate])
                @given(case=st.one_of(strategies))
                def exercise(case):
                    headers = {"Authorization": f"Bearer {tokens[persona]}"}
                    try:
                        response = case.call(base_url=base_url, headers=headers, timeout=30)
                    except (UnicodeEncodeError, ValueError):
                        return  # a header value HTTP cannot carry: nothing was sent
                    calls["n"] += 1
                    where = f"{persona} {case.method} {case.formatted_path} ({mode.value})"
                    if response.status_code >= 400:
                        content_type = response.headers.get("content-type", [""])[0]
                        assert content_type == "application/problem+json", (
                            where, response.text[:300])
                    case.validate_response(response, checks=CHECKS, headers=headers)

                try:
                    exercise()
                except (Exception, BaseExceptionGroup) as error:  # collect all, fail once
                    failures.append(f"{persona} {operation.method.upper()} "
                                    f"{operation.path} ({mode.value}): "
                                    f"{str(error).strip()[:600]}")
    assert calls["n"] > 0
    assert not failures, f"{len(failures)} failures in {calls['n']} requests:\n" + (
        "\n\n".join(failures))


@pytest.fixture(autouse=True)
def _quiet_hypothesis_output(monkeypatch):
    # failures are collected into one report above; hypothesis's own prints add noise
    monkeypatch.setenv("HYPOTHESIS_NO_PLUGINS", "1")
