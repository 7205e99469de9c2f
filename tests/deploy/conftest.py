"""Fixtures for the image and manifest tests (tests/support/deploy.py)."""
import shutil

import pytest

from tests.support.deploy import fresh_root, install


@pytest.fixture(scope="session")
def installed():
    """The wheel of the Dockerfile's build stage, installed as the image installs it."""
    root = fresh_root("stafett-image-")
    try:
        yield install(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
