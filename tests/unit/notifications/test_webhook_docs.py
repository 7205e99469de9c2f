"""The verification recipe in docs/webhooks.md, run as written, against our signatures."""
from __future__ import annotations

import json

import pytest

from services.notifications.channels import Outgoing, WebhookChannel, sign
from tests.support.notifications import verification_recipe

RECIPE = verification_recipe()
verify, InvalidSignature = RECIPE["verify_stafett_signature"], RECIPE["InvalidSignature"]
SECRET = "whsec_test-secret"
BODY = b'{"id":"d-1","type":"log.measure_added","data":{"log_id":"l-1"}}'
T = 1_795_370_000


def test_a_signature_made_by_stafett_verifies():
    assert verify(SECRET, sign(SECRET, BODY, T), BODY, now=T + 10) == T


@pytest.mark.parametrize("secret, body", [("whsec_other", BODY),
                                          (SECRET, BODY.replace(b"l-1", b"l-2")),
                                          (SECRET, BODY + b" ")])
def test_another_secret_or_a_changed_body_does_not(secret, body):
    with pytest.raises(InvalidSignature):
        verify(secret, sign(SECRET, BODY, T), body, now=T)


@pytest.mark.parametrize("age, ok", [(0, True), (299, True), (300, True), (301, False),
                                     (-300, True), (-301, False), (3600, False)])
def test_the_replay_window_is_five_minutes_either_way(age, ok):
    header = sign(SECRET, BODY, T)
    if ok:
        assert verify(SECRET, header, BODY, now=T + age) == T
    else:
        with pytest.raises(InvalidSignature, match="replay window"):
            verify(SECRET, header, BODY, now=T + age)
    assert RECIPE["REPLAY_WINDOW_SECONDS"] == 300


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", f"t={T}", "v1=00", "garbage"])
def test_a_malformed_header_is_refused(header):
    with pytest.raises(InvalidSignature):
        verify(SECRET, header, BODY, now=T)


def test_a_timestamp_cannot_be_moved_without_the_secret():
    header = sign(SECRET, BODY, T)
    forged = header.replace(f"t={T}", f"t={T + 3600}")
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(SECRET, forged, BODY, now=T + 3600)


def test_any_of_several_v1_signatures_may_match():
    header = sign(SECRET, BODY, T) + ",v1=" + "0" * 64
    assert verify(SECRET, header, BODY, now=T) == T


def test_the_header_format_is_t_and_v1():
    header = sign(SECRET, BODY, T)
    t, v1 = header.split(",")
    assert t == f"t={T}" and v1.startswith("v1=") and len(v1) == 3 + 64


def test_the_channel_signs_exactly_the_bytes_it_sends():
    channel = WebhookChannel("https://stafett.example", clock=lambda: T)
    outgoing = Outgoing(delivery_id="d-1", event_id="e-1", event_type="log.measure_added",
                        kind="measure_assigned", context={"log_id": "l-1"},
                        occurred_at="2026-11-23T08:00:00+00:00", url="http://x", secret=SECRET)
    body = channel.body(outgoing)
    assert json.loads(body)["data"] == {"log_id": "l-1"}
    assert verify(SECRET, sign(SECRET, body, T), body, now=T) == T
