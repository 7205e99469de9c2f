"""The gateway's HTTP metrics over real HTTP: every answer counted with its route and exact
status (a path that matches no route as ``unmatched``), and a gateway that serves one agency
(AGENCY_ORG_NUMBER) names that agency on its own metrics."""
import requests
from prometheus_client.parser import text_string_to_metric_families

from stafett.dev.demo import AGENCIES


def http_samples(base_url: str) -> dict:
    text = requests.get(base_url + "/metrics", timeout=30).text
    return {(s.labels["route"], s.labels["method"], s.labels["code"], s.labels["agency"]): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == "stafett_http_requests_total" and s.labels["service"] == "gateway"}


def test_a_per_agency_gateway_names_its_agency_on_its_metrics(container_factory, amqp_uri,
                                                              database_urls, tmp_path):
    from tests.support.platform import Platform

    school = AGENCIES["school"]["org_number"]
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        AGENCY_ORG_NUMBER=school)
    platform.start(["gateway"])
    try:
        base = platform.url()
        before = http_samples(base)
        assert requests.get(base + "/openapi.json", timeout=30).status_code == 200
        assert requests.get(base + "/no/such/page", timeout=30).status_code == 404
        assert requests.delete(base + "/openapi.json", timeout=30).status_code == 405
        after = http_samples(base)
    finally:
        platform.close()

    def counted(key):
        return after.get(key, 0) - before.get(key, 0)

    assert counted(("/openapi.json", "GET", "200", school)) == 1
    assert counted(("unmatched", "GET", "404", school)) == 1
    assert counted(("unmatched", "DELETE", "405", school)) == 1
