"""The notifications service's tables, for its unit tests."""
import pytest

import stafett.audit  # noqa: F401  (registers access_log in kernel_metadata)
from services.notifications.models import Base
from stafett.events import kernel_metadata
from tests.support.databases import created_engine


@pytest.fixture
def engine(tmp_path):
    """SQLite with the service's and the kernel's tables (test_times.py has its own:
    migrated, on SQLite and PostgreSQL)."""
    with created_engine(tmp_path, "notifications", Base.metadata, kernel_metadata) as engine:
        yield engine
