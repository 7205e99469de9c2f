"""The gateway is its route tables (gateway/routes/table.py, gateway/web/routes/table.py):
the nameko entrypoints and the OpenAPI document are both made from them, each route is a
plain function of its path values, and no route module holds a class to mix into the
service."""
from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from werkzeug.routing import Map, Rule

from gateway.openapi import openapi_document
from gateway.routes.route import API, HTTP, PAGE, api_routes
from gateway.routes.table import API as API_TABLE
from gateway.service import ROUTES, GatewayService
from gateway.web.routes.table import PAGES
from stafett.service import ServiceBase

ROOT = Path(__file__).resolve().parents[2]
ROUTE_DIRS = (ROOT / "gateway" / "routes", ROOT / "gateway" / "web" / "routes")


def operations(document) -> dict:
    return {(method.upper(), path): operation
            for path, methods in document["paths"].items()
            for method, operation in methods.items()}


def test_the_table_and_the_openapi_document_agree():
    document = operations(openapi_document(ROUTES))
    table = {(method, path): route for method, path, _, route in api_routes(ROUTES)}
    assert set(document) == set(table) and len(table) == len(API_TABLE) > 50
    for key, route in table.items():
        operation = document[key]
        assert operation["operationId"] == route.fn.__name__, key
        assert operation["tags"] == list(route.tags) and route.tags, key
        assert route.tags == (route.fn.__module__.rpartition(".")[2],), key
        assert operation["summary"] == route.contract.summary, key
        assert operation.get("x-agency-system-scope") == route.scope, key


def test_operation_ids_and_service_methods_are_unique():
    names = [route.name for route in ROUTES]
    assert len(names) == len(set(names))
    ids = [op["operationId"] for op in operations(openapi_document(ROUTES)).values()]
    assert len(ids) == len(set(ids)) == len(API_TABLE)


def test_every_entrypoint_of_the_gateway_is_a_row_of_a_table():
    own = {name for name, method in inspect.getmembers(ServiceBase)
           if getattr(method, "nameko_entrypoints", None)}
    served = {}
    for name, method in inspect.getmembers(GatewayService):
        entrypoints = getattr(method, "nameko_entrypoints", ())
        if entrypoints and name not in own and name != "on_consent_event":
            served[name] = method.route
            (entrypoint,) = entrypoints
            assert (entrypoint.method, entrypoint.url) == (method.route.method,
                                                           method.route.url), name
    assert served == {route.name: route for route in ROUTES}
    assert {route.kind for route in ROUTES} == {API, HTTP, PAGE}
    assert set(PAGES) <= set(ROUTES)


def _path_values(path: str) -> set[str]:
    return set(re.findall(r"<(?:[a-z]+:)?(\w+)>", path))


def test_each_route_is_a_function_of_its_context_and_path_values():
    for route in ROUTES:
        parameters = list(inspect.signature(route.fn).parameters)
        assert parameters[0] == "ctx", route.name
        assert set(parameters[1:]) == _path_values(route.path), route.name
        Map([Rule(route.url, methods=route.method.split(","))])  # a rule werkzeug takes


def test_no_route_module_defines_a_class_or_touches_a_worker():
    modules = [path for folder in ROUTE_DIRS for path in sorted(folder.glob("*.py"))
               if path.name != "route.py"]  # the table's row type
    assert len(modules) >= 12
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = [node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
        assert classes == [], f"{path.relative_to(ROOT)} defines {classes}: write functions"
        selves = [node.lineno for node in ast.walk(tree)
                  if isinstance(node, ast.Name) and node.id == "self"]
        assert selves == [], f"{path.relative_to(ROOT)} uses self on lines {selves}"
    bases = [cls for cls in GatewayService.__mro__ if cls.__module__.startswith("gateway.")]
    assert bases == [GatewayService]


def test_the_check_on_path_values_can_fail():
    assert _path_values("/logs/<log_id>/measures/<measure_id>") == {"log_id", "measure_id"}
    assert _path_values("/static/<path:filename>") == {"filename"}


def test_only_the_documents_and_the_login_pages_are_served_unauthenticated():
    public = {(route.kind, route.fn.__module__) for route in ROUTES if route.public}
    assert public == {(HTTP, "gateway.routes.documents"), (PAGE, "gateway.web.routes.login")}
    assert all(route.public for route in ROUTES if route.kind == HTTP)
