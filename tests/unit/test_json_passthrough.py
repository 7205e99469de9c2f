"""Issue 19, point 3: the gateway sends a service's JSON text as the body, as it is; it
neither decodes nor encodes it again (``stafett.web.preencoded`` → ``json_result``)."""
from __future__ import annotations

import json

from gateway.http import json_result
from stafett.web import JSON_BODY, body_text, preencoded

VIEW = {"id": "log-1", "version": 7, "title": "Skolehverdag for Åse", "items": [1, 2.5, None]}


def test_a_preencoded_result_is_sent_byte_for_byte_with_its_version_beside_it():
    sent = preencoded(VIEW, "version", "absent")
    assert sent == {JSON_BODY: json.dumps(VIEW, ensure_ascii=False), "version": 7}
    response = json_result(sent, 200, {"ETag": '"7"'})
    assert response.get_data() == sent[JSON_BODY].encode("utf-8")
    assert response.headers["ETag"] == '"7"' and response.mimetype == "application/json"
    assert json.loads(response.get_data()) == VIEW


def test_the_text_is_taken_as_it_is_not_read():
    # what the service made is what leaves: the gateway does not parse it (nor re-order it)
    assert body_text({JSON_BODY: '{"b": 1, "a": 2}'}) == '{"b": 1, "a": 2}'


def test_any_other_result_is_encoded_as_before():
    assert json.loads(json_result(VIEW).get_data()) == VIEW
    assert json.loads(body_text({JSON_BODY: 3, "x": 1})) == {JSON_BODY: 3, "x": 1}
    assert body_text([1, 2]) == "[1, 2]"
