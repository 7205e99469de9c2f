"""The kernel's metric helpers: error kinds, bounded labels, heartbeats, event lag."""
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from stafett import errors, metrics
from stafett.gauges import ScrapeGauges


@pytest.mark.parametrize("error, kind", [
    (errors.BadRequest, "invalid"), (errors.ValidationFailed, "invalid"),
    (errors.PayloadTooLarge, "invalid"), (errors.UnsupportedMediaType, "invalid"),
    (errors.Unauthorized, "refused"), (errors.Forbidden, "refused"),
    (errors.NotFound, "refused"), (errors.Conflict, "refused"),
    (errors.PreconditionFailed, "refused"), (errors.PreconditionRequired, "refused"),
    (errors.TooManyRequests, "refused"), (errors.MethodNotAllowed, "refused"),
    (errors.ServiceUnavailable, "failed"), (errors.StafettError, "failed"),
    (KeyError, "failed"), (RuntimeError, "failed"),
])
def test_every_error_has_a_kind(error, kind):
    assert metrics.error_kind(error) == kind


@pytest.mark.parametrize("value, label", [
    ("school", "school"), ("child_welfare", "child_welfare"), ("PPT", "ppt"),
    ("Solbakken skole", "other"), ("974760673", "other"), (None, "other"), ("", "other"),
    ("a" * 31, "other"), ("x-y", "other"),
])
def test_agency_type_labels_are_bounded_words(value, label):
    assert metrics.agency_type_label(value) == label


def test_probes_and_the_scrape_are_not_traffic():
    environ = {}
    metrics.label_request(environ, "school")
    before = REGISTRY.get_sample_value("stafett_http_requests_total", {
        "service": "unit", "route": "/x", "method": "OTHER", "code": "418",
        "agency_type": "school", "agency": "974760673"}) or 0
    metrics.observe_http("unit", "/x", "BREW", 418, environ, 0.01, agency="974760673")
    metrics.observe_http("unit", "/metrics", "GET", 200, environ, 0.01)
    assert REGISTRY.get_sample_value("stafett_http_requests_total", {
        "service": "unit", "route": "/x", "method": "OTHER", "code": "418",
        "agency_type": "school", "agency": "974760673"}) == before + 1
    assert REGISTRY.get_sample_value("stafett_http_requests_total", {
        "service": "unit", "route": "/metrics", "method": "GET", "code": "200",
        "agency_type": "school", "agency": ""}) is None


def test_a_heartbeat_and_its_interval():
    metrics.heartbeat("unit", "tick", interval=60, at=1234.0)
    labels = {"service": "unit", "timer": "tick"}
    assert REGISTRY.get_sample_value("stafett_timer_last_success_timestamp_seconds",
                                     labels) == 1234.0
    assert REGISTRY.get_sample_value("stafett_timer_interval_seconds", labels) == 60


def test_event_lag_is_the_age_of_the_event_on_arrival():
    labels = {"service": "unit", "handler": "on_lag"}
    count = REGISTRY.get_sample_value("stafett_event_lag_seconds_count", labels) or 0
    total = REGISTRY.get_sample_value("stafett_event_lag_seconds_sum", labels) or 0
    old = (datetime.now(timezone.utc) - timedelta(seconds=90)).isoformat()
    metrics.observe_event_lag("unit", "on_lag", {"occurred_at": old})
    metrics.observe_event_lag("unit", "on_lag", {"occurred_at": "not a time"})
    metrics.observe_event_lag("unit", "on_lag", {})
    assert REGISTRY.get_sample_value("stafett_event_lag_seconds_count", labels) == count + 1
    lag = REGISTRY.get_sample_value("stafett_event_lag_seconds_sum", labels) - total
    assert 90 <= lag < 120


class _Container:
    service_name = "unit-scrape"
    config = {"METRICS_REFRESH_SECONDS": 30}
    dependencies = ()


def test_scrape_gauges_are_computed_at_most_every_refresh_interval():
    from sqlalchemy import create_engine

    calls = []

    def count(session, service):
        calls.append(service)
        if len(calls) == 3:
            raise RuntimeError("database away")

    gauges = ScrapeGauges(count)
    gauges.container = _Container()
    gauges.min_interval = 30
    gauges._database = type("Db", (), {"engine": create_engine("sqlite://")})()
    gauges.refresh(now=100)
    gauges.refresh(now=120)          # within 30 s: the last values stand
    assert calls == ["unit-scrape"]
    gauges.refresh(now=131)
    assert len(calls) == 2
    errors_before = REGISTRY.get_sample_value("stafett_metrics_refresh_errors_total", {
        "service": "unit-scrape", "gauges": "count"}) or 0
    with pytest.raises(RuntimeError):
        gauges.refresh(now=200)
    assert REGISTRY.get_sample_value("stafett_metrics_refresh_errors_total", {
        "service": "unit-scrape", "gauges": "count"}) == errors_before + 1
    gauges.refresh(now=210)          # a failed refresh waits its interval too
    assert len(calls) == 3
    metrics._REFRESHERS.add(gauges)
    try:
        metrics.refresh_all()        # a scrape never fails for a gauge
    finally:
        metrics._REFRESHERS.discard(gauges)
