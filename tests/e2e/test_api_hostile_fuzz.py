"""Hostile input against every operation of /openapi.json, over real HTTP (issue 12, pt 6).

The sibling of test_api_fuzz.py (schemathesis: what the schemas allow and what they do
not); this one sends exactly the shapes an attacker sends, with hypothesis:

- bodies built from each operation's request schema, with real ids where a field names
  one, and in every string field (nested ones and list items too) text that must be
  refused (NUL, BEL, ESC, CR, C1, lone surrogates, bidi overrides and isolates) or kept
  (CRLF, emoji, right-to-left text, zero-width and very long text);
- numbers and structures in any field: nesting 33 to 5,000 deep, integers of 5,000
  digits, 1e400, NaN, Infinity, duplicate and NUL member names; whole bodies that are not
  UTF-8, not an object, or too large;
- path ids (real ones, or 5 KB, NUL, a lone surrogate's bytes, U+202E), query parameters
  (cursor, limit and the rest) and the If-Match and Idempotency-Key headers, long and odd.

Every answer must be below 500 and every error problem+json; afterwards no database holds
a NUL, a lone surrogate, a bidi control or a BEL anywhere. Bounded: ``HOSTILE_EXAMPLES``
requests per operation (default 8), derandomized, so a run repeats and takes well under
a minute on top of building the world.
"""
from __future__ import annotations

import json
import os
import time
from datetime import date, datetime, timezone
from urllib.parse import quote

import hypothesis
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, create_engine, select

from stafett.dev.demo import AGENCIES, EMMA
from stafett.fields import FORBIDDEN

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "8"))
PERSONAS = ("teacher", "guardian", "ppt", "school-system", "school-admin")
#: who may call an operation (so its body reaches the service's schema); others are drawn too
CALLERS = (("/consents/", "guardian"), ("/consents", "guardian"), ("/proposals", "guardian"),
           ("/accept", "ppt"), ("/decline", "ppt"), ("/webhooks", "school-admin"),
           ("/staff", "school-admin"), ("/preferences", "guardian"))
#: past this, each remaining operation gets 2 requests, so `make test` stays bounded on a
#: loaded machine (unloaded, all of it takes about 15 s)
BUDGET_SECONDS = 60

#: text a Text field refuses: C0 and C1 controls, lone surrogates, bidi controls
REFUSED = ["\x00", "a\x00b", "bjelle\x07", "\x1b[31mrødt", "ende\r", "\x85", "\x7f",
           "før \ud800 etter", "\udfff", "Emma \u202egnirps", "\u202a\u202c", "\u2066x\u2069",
           "\x0b\x0c", "tab\tog\x00null"]
#: odd text a Text field keeps (CRLF becomes LF)
KEPT = ["linje 1\r\nlinje 2", "😀 👨‍👩‍👧", "عربي", "שלום", "zero\u200bwidth", "\ufeffbom",
        "a" * 5000, "x" * 70, "' OR 1=1 --", "<script>alert(1)</script>", "../../etc/passwd",
        "%00", "\\u0000"]
#: JSON text to put where a value goes
RAW = ["[" * 33 + "]" * 33, "[" * 1000 + "]" * 1000, "{\"a\":" * 3000 + "1" + "}" * 3000,
       "1" + "0" * 5000, "-" + "9" * 30, "1e400", "-1e400", "NaN", "Infinity", "-Infinity",
       "1.5e308", '{"a": 1, "a": 2}', '{"\\u0000": 1}', '{"\\u202e": 1}', "123456789012345678901",
       '"\\ud800"', "true", "null", "[]", "{}"]
#: whole bodies
BODIES = [b"\xff\xfe\x00{", b"[1, 2]", b"\"text\"", b"{" * 70000, b"{\"a\": 1",
          b"{\"a\": 1} {\"b\": 2}", b"\xef\xbb\xbf{}", b"{}" + b" " * 60000]
#: path segments (already percent-encoded)
IDS = ["a" * 10000, "%00", "%ED%A0%80", "%E2%80%AE", "x%0Ay", "..", "%2e%2e%2f", "0" * 129,
       quote("ø") * 3]
#: query values
QUERY = ["A" * 5000, "%00", "9" * 5000, "-1", "0", "%ED%A0%80", "W1tbW1tb", "e30",
         "eyJwIjogMWU0MDB9", quote("٣"), "1e400", "%E2%80%AE"]
#: header values (bytes: sent as given)
IF_MATCH = [b'"' + b"9" * 5000 + b'"', b"9" * 19, b"*", b'W/"x"', '"٣"'.encode(), b"\x7f",
            b'"1", "2"', b"a" * 8000, b'"0"']
IDEMPOTENCY = [b"k" * 201, b"k" * 8000, "nøkkel".encode(), b"a\x7fb", b"a  b", b"\x01"]


class Raw(str):
    """JSON text, put into a body as it is."""


def render(value) -> str:
    if isinstance(value, Raw):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return json.dumps(value)  # ASCII escapes: a lone surrogate travels as "\ud800"


class Bodies:
    """Bodies of a request schema, with hostile leaves."""

    def __init__(self, document: dict, world):
        self.schemas = document["components"]["schemas"]
        emma = world.stories["emma"]
        teacher = world.actors["teacher"].person_id
        self.ids = {"child_id": emma.child_id, "log_id": emma.log_id,
                    "participant_id": emma.participant_id, "responsible_id": teacher,
                    "person_id": world.actors["teacher2"].person_id,
                    "to_person_id": world.actors["ppt"].person_id,
                    "new_stafettholder_person_id": world.actors["ppt"].person_id,
                    "participant_person_ids": world.actors["ppt"].person_id,
                    "invited": teacher, "attended": teacher, "supersedes": emma.consent_id,
                    "agencies": AGENCIES["school"]["org_number"],
                    "to_agency": AGENCIES["ppt"]["org_number"],
                    "national_id": EMMA["national_id"], "reference": "ARK-2026/17",
                    "start": "22:00", "end": "07:00", "time_zone": "Europe/Oslo"}

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def body(self, draw, name: str, mode: str):
        return self.value(draw, {"$ref": f"#/components/schemas/{name}"}, "", mode, 0)

    def value(self, draw, schema: dict, name: str, mode: str, depth: int):
        schema = self.resolve(schema)
        if "anyOf" in schema:
            choices = [s for s in schema["anyOf"] if s.get("type") != "null"]
            schema = self.resolve(choices[0] if choices else schema["anyOf"][0])
        kind = schema.get("type", "object")
        if isinstance(kind, list):
            kind = next(k for k in kind if k != "null")
        if mode == "structure" and depth > 0 and draw(st.integers(0, 3)) == 0:
            return Raw(draw(st.sampled_from(RAW)))
        if kind == "object":
            properties = schema.get("properties", {})
            required = set(schema.get("required", ()))
            chosen = [p for p in properties
                      if p in required or draw(st.booleans())] if depth < 4 else []
            return {p: self.value(draw, properties[p], p, mode, depth + 1) for p in chosen}
        if kind == "array":
            size = draw(st.integers(1, 2))
            return [self.value(draw, schema.get("items", {}), name, mode, depth + 1)
                    for _ in range(size)]
        if kind == "string":
            if mode == "refused":  # in any field, an enum's too, now and then
                return draw(st.one_of(st.sampled_from(REFUSED),
                                      st.just(self.plain(schema, name))))
            if mode == "kept" and "enum" not in schema and name not in self.ids:
                return draw(st.one_of(st.sampled_from(KEPT),
                                      st.just(self.plain(schema, name))))
            return self.plain(schema, name)
        if kind in ("integer", "number"):
            if mode == "numbers":
                return Raw(draw(st.sampled_from(RAW[3:12])))
            return schema.get("minimum", 1)
        if kind == "boolean":
            return True
        return None

    def plain(self, schema: dict, name: str) -> str:
        if "enum" in schema:
            return schema["enum"][0]
        if name in self.ids:
            return self.ids[name]
        form = schema.get("format")
        if form == "date":
            return date.today().isoformat()
        if form == "date-time":
            return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        if form == "email":
            return "ingrid@example.no"
        if form == "url":
            return "http://127.0.0.1:9/fuzz"
        return "Skrevet av fuzz-testen"[: schema.get("maxLength", 200)]


def stored_text(database_urls: dict) -> list[tuple[str, str, str]]:
    """(database, table, value) of every string stored anywhere."""
    found = []
    for name, url in database_urls.items():
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                metadata = MetaData()
                metadata.reflect(connection)
                for table in metadata.sorted_tables:
                    for row in connection.execute(select(table)):
                        found += [(name, table.name, v) for v in row if isinstance(v, str)]
        finally:
            engine.dispose()
    return found


@pytest.mark.timeout(600)  # a budget (BUDGET_SECONDS) keeps it short; a loaded runner is slow
def test_hostile_input_to_every_operation_never_gets_a_500_or_stores_a_nul(
        populated_platform, database_urls):
    platform, world = populated_platform
    base = platform.url()
    document = requests.get(base + "/openapi.json", timeout=30).json()
    bodies = Bodies(document, world)
    ids = world.path_ids()
    sessions = {persona: requests.Session() for persona in PERSONAS}
    tokens = {persona: platform.token(persona) for persona in PERSONAS}
    started, failures, sent = time.monotonic(), [], {"n": 0, "statuses": {}}
    operations = [(path, method, operation) for path, methods in document["paths"].items()
                  for method, operation in methods.items()]
    assert len(operations) > 50

    for path, method, operation in operations:
        params = operation.get("parameters", [])
        request_schema = (operation.get("requestBody", {}).get("content", {})
                          .get("application/json", {}).get("schema", {}).get("$ref", ""))

        caller = next((who for part, who in CALLERS if part in path), "teacher")

        over_budget = time.monotonic() - started > BUDGET_SECONDS

        @settings(max_examples=2 if over_budget else EXAMPLES, deadline=None, database=None,
                  derandomize=True,
                  suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.generate])
        @given(data=st.data())
        def exercise(data):
            draw = data.draw
            persona = caller if draw(st.integers(0, 3)) else draw(st.sampled_from(PERSONAS))
            url = base + "/api/v1" + path
            for param in params:
                if param["in"] == "path":
                    name = param["name"]
                    real = quote(ids[name], safe="")
                    value = real if draw(st.integers(0, 3)) else draw(st.sampled_from(IDS))
                    url = url.replace("{" + name + "}", value)
            query = [f"{p['name']}={draw(st.sampled_from(QUERY))}" for p in params
                     if p["in"] == "query" and draw(st.booleans())]
            if query:
                url += "?" + "&".join(query)
            headers = {"Authorization": f"Bearer {tokens[persona]}"}
            names = {p["name"] for p in params if p["in"] == "header"}
            if "If-Match" in names:
                headers["If-Match"] = draw(st.one_of(st.sampled_from(IF_MATCH),
                                                     st.sampled_from([b'"1"', b'"2"', b'"3"'])))
            if "Idempotency-Key" in names and draw(st.booleans()):
                headers["Idempotency-Key"] = draw(st.sampled_from(IDEMPOTENCY))
            body = None
            if method in ("post", "put", "patch"):
                headers["Content-Type"] = "application/json"
                mode = draw(st.sampled_from(["refused", "kept", "numbers", "structure",
                                             "whole"]))
                if mode == "whole" or not request_schema:
                    body = draw(st.sampled_from(BODIES + [b"{}"]))
                else:
                    body = render(bodies.body(draw, request_schema.rsplit("/", 1)[1],
                                              mode)).encode("utf-8")
            response = sessions[persona].request(method.upper(), url, data=body,
                                                 headers=headers, timeout=30)
            sent["n"] += 1
            sent["statuses"][response.status_code] = (
                sent["statuses"].get(response.status_code, 0) + 1)
            where = f"{persona} {method.upper()} {url[len(base):][:120]} body={body!r:.160}"
            assert response.status_code < 500, (where, response.text[:300])
            if response.status_code >= 400:
                assert response.headers.get("Content-Type") == "application/problem+json", (
                    where, response.status_code, response.text[:200])

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as error:  # collect all, fail once
            failures.append(f"{method.upper()} {path}: {str(error).strip()[:700]}")

    assert sent["n"] >= len(operations) * 2, sent
    # the services were reached, not only the gateway's own refusals
    assert any(400 <= s < 500 and s not in (400, 404) for s in sent["statuses"]), sent
    assert any(s < 300 for s in sent["statuses"]), sent
    assert not failures, f"{len(failures)} of {len(operations)} operations failed:\n" + (
        "\n\n".join(failures))
    stored = [(db, table, value[:80]) for db, table, value in stored_text(database_urls)
              if FORBIDDEN.search(value.replace("\t", "").replace("\n", ""))]
    assert stored == [], f"stored what no text field may hold: {stored[:10]}"
