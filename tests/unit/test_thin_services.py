"""Issue 13, point 1: a service's ``service.py`` holds entrypoints and wiring only, at most
300 lines; the rules are its domain objects'."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 300


@pytest.mark.parametrize("service", ["handover", "notifications", "consent", "logs"])
def test_service_py_is_thin(service):
    lines = len((ROOT / "services" / service / "service.py").read_text().splitlines())
    assert lines <= LIMIT, f"services/{service}/service.py has {lines} lines (> {LIMIT})"
