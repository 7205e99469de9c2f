"""Fixtures for end-to-end tests that need a populated platform, or their own persons in
the population register."""
import pytest

from tests.support.platform import Platform
from tests.support.register import RegisterFile
from tests.support.world import build_world


@pytest.fixture
def register_file(tmp_path):
    """This test's own population register: the demo's persons, to add to and change."""
    return RegisterFile(tmp_path / "population-register.yaml")


@pytest.fixture
def registered_platform(container_factory, amqp_uri, database_urls, tmp_path, register_file):
    """The whole platform, its consent service reading this test's register file."""
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        POPULATION_REGISTER=register_file.setting)
    platform.start()
    yield platform
    platform.close()


#: the populated platform's settings
POPULATED = dict(
    # one agency sends hundreds of probes: the per-agency rate limit must not shape results
    RATE_LIMIT_BURST=100000, RATE_LIMIT_PER_MINUTE=6000000,
    # a fresh school webhook per deleting probe, to a closed loopback port
    WEBHOOK_ALLOW_HTTP="true", WEBHOOK_ALLOW_LOOPBACK="true", WEBHOOKS_PER_AGENCY=1000)


@pytest.fixture
def populated_platform(container_factory, amqp_uri, database_urls, tmp_path, register_file):
    """The whole platform with the demo's stories and one of every object (World)."""
    # pupils beyond the demo's are added to this test's register
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        POPULATION_REGISTER=register_file.setting, **POPULATED)
    platform.start()
    try:
        yield platform, build_world(platform)
    finally:
        platform.close()


@pytest.fixture(scope="module")
def read_only_populated_platform(start_shared_platform, tmp_path_factory):
    """``populated_platform`` once for a module's tests that only read it."""
    register = RegisterFile(tmp_path_factory.mktemp("register") / "population-register.yaml")
    platform = start_shared_platform(POPULATION_REGISTER=register.setting, **POPULATED)
    return platform, build_world(platform)
