"""A gateway dedicated to one agency (AGENCY_ORG_NUMBER) admits that agency only, over HTTP.

Staff and systems of another agency, and citizens, get 403 problem+json before any service
is asked; the agency's own staff and systems are served as on the shared gateway. The same
refusal is proven against a gateway started from the Kubernetes manifests in
tests/deploy/test_manifests_start.py.
"""
import pytest
import requests

from services.consent.identity_numbers import InvalidOrganisationNumber
from stafett.dev.demo import AGENCIES
from stafett.run import service_class
from tests.support.platform import Platform, entrypoint_calls

SCHOOL = AGENCIES["school"]["org_number"]




@pytest.fixture
def school_gateway(container_factory, amqp_uri, database_urls, tmp_path):
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        AGENCY_ORG_NUMBER=SCHOOL)
    platform.start()
    platform.seed()
    yield platform
    platform.close()


def assert_refused(response: requests.Response, detail: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "access.forbidden"
    assert problem["type"].endswith("/problems#access.forbidden")
    assert problem["detail"] == detail


OTHER_AGENCY = ("this gateway serves another agency; use your agency's own address or the "
                "platform's")
CITIZENS = ("this gateway serves one agency's staff and systems only; citizens use the "
            "platform's own address")


def test_an_agency_gateway_serves_its_agency_and_refuses_everyone_else_before_any_service(
        school_gateway):
    teacher = school_gateway.client("teacher").get("/api/v1/me")
    assert teacher.status_code == 200, teacher.text
    assert teacher.json()["agency"] == SCHOOL
    system = school_gateway.client("school-system").get("/api/v1/logs")
    assert system.status_code == 200, system.text

    resolved_before = entrypoint_calls("consent", "resolve_actor")
    for persona in ("nav", "ppt", "child-welfare"):
        for path in ("/api/v1/me", "/api/v1/logs"):
            assert_refused(school_gateway.client(persona).get(path), OTHER_AGENCY)
    ppt = AGENCIES["ppt"]["org_number"]
    ppt_system = school_gateway.client(
        "school-system", consumer={"authority": "iso6523-actorid-upis", "ID": f"0192:{ppt}"})
    assert_refused(ppt_system.get("/api/v1/logs"), OTHER_AGENCY)
    for persona in ("guardian", "youth"):
        assert_refused(school_gateway.client(persona).get("/api/v1/me"), CITIZENS)
    assert entrypoint_calls("consent", "resolve_actor") == resolved_before
    # the platform's own gateway (no AGENCY_ORG_NUMBER) serves them all: the shared
    # gateway of the manifests in tests/deploy/test_manifests_start.py, and every other test


def test_a_malformed_agency_number_stops_the_gateway_at_start(
        container_factory, amqp_uri, database_urls, tmp_path):
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        AGENCY_ORG_NUMBER="974000000")  # wrong check digit
    container = container_factory(service_class("gateway"), platform.config("gateway"))
    with pytest.raises(InvalidOrganisationNumber):
        container.start()
