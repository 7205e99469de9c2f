"""docs/security.md stays true: its scope table is the routes' own scope declarations."""
import re
from collections import defaultdict
from pathlib import Path

from gateway.openapi import openapi_document
from gateway.routes.route import api_routes
from gateway.routes.table import ROUTES

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_the_scope_table_lists_exactly_the_routes_open_to_agency_systems():
    declared = defaultdict(set)
    for method, path, _, route in api_routes(ROUTES):
        if route.scope:
            declared[route.scope].add(f"{method} {path}")
    documented = {}
    for scope, operations in re.findall(r"^\| `(stafett:[\w.]+)` \| (.+) \|$",
                                        DOC.read_text(encoding="utf-8"), re.M):
        documented[scope] = set(re.findall(r"`([A-Z]+ [^`]+)`", operations))
    assert documented == dict(declared)


def test_the_openapi_document_names_each_operations_scope():
    scopes = {(method.upper(), path): operation.get("x-agency-system-scope")
              for path, operations in openapi_document(ROUTES)["paths"].items()
              for method, operation in operations.items()}
    assert scopes == {(m, p): e.scope for m, p, _, e in api_routes(ROUTES)}
