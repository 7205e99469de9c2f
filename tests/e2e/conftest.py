"""Fixtures for end-to-end tests that need a populated platform."""
import pytest

from tests.support.platform import Platform
from tests.support.world import build_world


@pytest.fixture
def populated_platform(container_factory, amqp_uri, database_urls, tmp_path):
    """The whole platform with the demo's stories and one of every object (World)."""
    # one agency sends hundreds of probes: the per-agency rate limit must not shape results
    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path,
                        RATE_LIMIT_BURST=100000, RATE_LIMIT_PER_MINUTE=6000000,
                        # a fresh school webhook per deleting probe, to a closed loopback port
                        WEBHOOK_ALLOW_HTTP="true", WEBHOOK_ALLOW_LOOPBACK="true",
                        WEBHOOKS_PER_AGENCY=1000)
    platform.start()
    try:
        yield platform, build_world(platform)
    finally:
        platform.close()
