"""The HTTP contract over a real broker: Idempotency-Key, If-Match, cursors, and hostile
input (deep JSON, huge numbers, long headers and ids, control characters)."""
import json
from datetime import date, timedelta

import requests
from sqlalchemy import MetaData, create_engine, select

from stafett.dev.demo import AGENCIES, EMMA


def consented_emma(platform):
    platform.seed()
    guardian = platform.client("guardian")
    emma = next(c["id"] for c in guardian.get("/api/v1/children").json()["items"]
                if c["name"] == EMMA["name"])
    guardian.post(f"/api/v1/children/{emma}/consents", json={
        "scope": {"agencies": [AGENCIES["school"]["org_number"]]}, "purpose": "Samarbeid"})
    return emma


def test_a_replayed_creating_post_returns_the_same_response_and_creates_once(platform):
    emma = consented_emma(platform)
    teacher = platform.client("teacher")
    first = teacher.post("/api/v1/logs", json={"child_id": emma},
                         headers={"Idempotency-Key": "open-emma-1"})
    again = teacher.post("/api/v1/logs", json={"child_id": emma},
                         headers={"Idempotency-Key": "open-emma-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(teacher.get("/api/v1/logs").json()["items"]) == 1

    other_body = teacher.post("/api/v1/logs", json={"child_id": emma, "level": 3},
                              headers={"Idempotency-Key": "open-emma-1"})
    assert other_body.status_code == 422 and "Idempotency-Key" in other_body.json()["errors"]

    # without a key, the same request is a second attempt and the rule applies
    assert teacher.post("/api/v1/logs", json={"child_id": emma}).status_code == 409
    # keys belong to their caller: another person's identical key is theirs alone
    nurse = platform.client("nurse")
    assert nurse.post("/api/v1/logs", json={"child_id": emma},
                      headers={"Idempotency-Key": "open-emma-1"}).status_code == 404


def test_a_refused_first_attempt_is_replayed_as_refused(platform):
    emma = consented_emma(platform)
    teacher = platform.client("teacher")
    log = teacher.post("/api/v1/logs", json={"child_id": emma}).json()
    body = {"title": "x", "goal": "y", "responsible_id": "nobody", "arena": "school",
            "start_date": date.today().isoformat(),
            "evaluate_by": (date.today() + timedelta(days=7)).isoformat()}
    first = teacher.post(f"/api/v1/logs/{log['id']}/measures", json=body,
                         headers={"Idempotency-Key": "m-1"})
    again = teacher.post(f"/api/v1/logs/{log['id']}/measures", json=body,
                         headers={"Idempotency-Key": "m-1"})
    assert first.status_code == again.status_code == 422
    assert again.headers["Content-Type"] == "application/problem+json"
    assert again.json() == first.json()


# -- hostile input: a clear refusal, never a 500, nothing stored (issue 12, point 6) --------

def problem(response, status: int, detail_has: str = ""):
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"] == "application/problem+json"
    assert detail_has in response.json()["detail"], response.json()
    return response.json()


def raw_post(platform, persona, path, body: bytes, **headers):
    token = platform.token(persona)
    return requests.post(platform.url() + path, data=body, timeout=30, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers})


def stored_strings(database_url: str) -> list[str]:
    """Every string in every table of a database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            metadata = MetaData()
            metadata.reflect(connection)
            return [value for table in metadata.sorted_tables
                    for row in connection.execute(select(table))
                    for value in row if isinstance(value, str)]
    finally:
        engine.dispose()


def test_hostile_bodies_headers_and_ids_are_refused_clearly_and_nothing_is_stored(
        platform, database_urls):
    emma = consented_emma(platform)
    teacher = platform.client("teacher")
    log = teacher.post("/api/v1/logs", json={"child_id": emma}).json()
    entries = f"/api/v1/logs/{log['id']}/entries"

    # JSON nested 1,000 deep (json.loads would recurse), and one level over the limit
    deep = b'{"kind": "note", "text": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    problem(raw_post(platform, "teacher", entries, deep), 400, "nests deeper than 32")
    over = b'{"text": ' + b"[" * 32 + b"]" * 32 + b"}"
    problem(raw_post(platform, "teacher", entries, over), 400, "nests deeper than 32")
    # brackets inside strings are text, not nesting
    inside = json.dumps({"kind": "note", "text": "[" * 2000 + '\\"{' * 100}).encode()
    assert raw_post(platform, "teacher", entries, inside).status_code == 201
    # numbers: 5,000 digits, an overflowing float, NaN and Infinity
    patch_url = platform.url() + f"/api/v1/logs/{log['id']}"
    for body, detail in ((b'{"level": 1' + b"0" * 5000 + b"}", "more than 20 digits"),
                         (b'{"level": 1e400}', "too large"), (b'{"level": NaN}', "NaN"),
                         (b'{"level": -Infinity}', "-Infinity")):
        problem(requests.patch(patch_url, data=body, timeout=30, headers={
            "Authorization": f"Bearer {platform.token('teacher')}",
            "Content-Type": "application/json", "If-Match": '"1"'}), 400, detail)
    # member names: twice in one object, a control character in one; a body not UTF-8
    problem(raw_post(platform, "teacher", entries, b'{"kind": "note", "kind": "x"}'), 400,
            "appears twice")
    problem(raw_post(platform, "teacher", entries, b'{"te\\u0000xt": "x"}'), 400,
            "control character")
    problem(raw_post(platform, "teacher", entries, b'{"text": "\xff\xfe"}'), 400, "not UTF-8")

    # text fields: 422 naming the field and the character; CRLF is stored as LF
    for text, code in (("før \ud800 etter", "U+D800"), ("a\x00b", "U+0000"),
                       ("bjelle\x07", "U+0007"), ("Emma \u202eslettet", "U+202E"),
                       ("\u2066isolert\u2069", "U+2066")):
        body = json.dumps({"kind": "note", "text": text}).encode()  # \ud800 stays escaped
        refused = problem(raw_post(platform, "teacher", entries, body), 422)
        assert code in refused["errors"]["text"][0], refused
    crlf = teacher.post(entries, json={"kind": "note", "text": "linje 1\r\nlinje 2"})
    assert crlf.status_code == 201 and crlf.json()["text"] == "linje 1\nlinje 2"

    # headers: If-Match of 5,000 digits or non-ASCII digits, Idempotency-Key too long
    for tag in ('"' + "9" * 5000 + '"', '"\u0663"', "9" * 19):
        problem(teacher.patch(f"/api/v1/logs/{log['id']}", json={"level": 2},
                              headers={"If-Match": tag.encode("utf-8")}), 400,
                "If-Match must be an ETag we gave out")
    for key in ("k" * 201, "nøkkel", "a\x7fb"):
        problem(teacher.post(entries, json={"kind": "note", "text": "x"},
                             headers={"Idempotency-Key": key.encode("utf-8")}), 400,
                "Idempotency-Key must be 1 to 200 visible ASCII characters")
    # query: cursors and limits that are not ours
    for query in ("cursor=" + "A" * 5000, "cursor=%00", "cursor=W1tbW1tb",
                  "limit=" + "9" * 5000, "limit=%D9%A3", "limit=0"):
        assert teacher.get(f"/api/v1/logs?{query}").status_code == 400, query
        assert teacher.get(f"/api/v1/logs/{log['id']}/timeline?{query}").status_code == 400
    # ids in the path: 5 KB, NUL, a lone surrogate's bytes: missing, as problem+json
    for bad in ("a" * 5000, "%00", "%ED%A0%80", "x%0Ay"):
        problem(teacher.get(f"/api/v1/logs/{bad}"), 404)
        problem(teacher.post(f"/api/v1/logs/{bad}/entries", json={"kind": "note",
                                                                   "text": "x"}), 404)

    # nothing of it was stored anywhere
    listed = teacher.get(entries).json()["items"]
    assert {e["text"][:3] for e in listed} == {"[[[", "lin"}
    for name, url in database_urls.items():
        for value in stored_strings(url):
            assert "\x00" not in value and "\u202e" not in value and "\x07" not in value, (
                name, value[:80])
