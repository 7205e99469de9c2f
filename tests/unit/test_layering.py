"""The layers, read from the source with ``ast`` (nothing is imported).

- no import cycle anywhere in the repository (production code, tests, benchmarks; every
  import counts, at module level or in a function: a lazy import still makes the two
  modules depend on each other);
- the kernel (``stafett/``) imports no service and not the gateway; only its development
  tooling (``stafett/dev/``: the demo, the dev issuer, the dev stack) may;
- no service imports another service;
- the gateway's route functions (gateway/routes/, gateway/web/routes/) never reach
  gateway/service.py: the service is built from their table, not the other way round;
- the gateway imports no service code but the listed contracts (``GATEWAY_SERVICE_IMPORTS``),
  and production code reaches the dev tooling only behind ``DEV_ISSUER``
  (``DEV_TOOLING_IMPORTS``); both lists may only shrink.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("stafett", "services", "gateway")
#: everything else with Python in it: it may import anything, but never in a cycle
ELSEWHERE = ("tests", "bench", "scripts")
#: the kernel's development tooling: it drives the whole platform, so it may import anything
DEV_TOOLING = "stafett.dev"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(packages=PACKAGES) -> dict[str, Path]:
    modules = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.relative_to(ROOT).parts[:-1] and path.name != "__init__.py":
                # Alembic scripts are loaded by Alembic from files, not imported by name
                if path.parent.name == "versions" or path.name == "env.py":
                    continue
            modules[_module_name(path)] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported_names(tree: ast.AST, module: str, is_package: bool):
    """For each import statement in ``tree`` (minus TYPE_CHECKING blocks), the dotted names
    it may import: ``from pkg import x`` gives ``pkg.x`` (when x is a submodule) or ``pkg``."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield [alias.name]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            for alias in node.names:
                yield [f"{prefix}.{alias.name}", prefix]


def import_graph(packages=PACKAGES) -> dict[str, set[str]]:
    """module → the project modules it imports (the deepest module each name resolves to)."""
    modules = project_modules(packages)
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        targets = set()
        for names in _imported_names(tree, module, path.name == "__init__.py"):
            name = next((n for n in names if n in modules), names[-1])
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "services" and len(parts) > 1:
        return f"services.{parts[1]}"
    return parts[0]


def _edges(graph):
    return sorted((a, b) for a, targets in graph.items() for b in targets)


GRAPH = import_graph()
EVERYTHING = import_graph(PACKAGES + ELSEWHERE)


def test_the_graph_is_read():
    # the walk sees the imports it should (a broken walk would pass every rule below)
    assert "stafett.events" in GRAPH["services.logs.service"]
    assert "services.logs.domain" in GRAPH["services.logs.service"]
    assert "gateway.http" in GRAPH["gateway.service"]
    assert len(GRAPH) > 80


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_anywhere():
    assert "tests.unit.test_layering" in EVERYTHING and len(EVERYTHING) > len(GRAPH) + 100
    assert cycles(EVERYTHING) == []


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


ROUTE_PACKAGES = ("gateway.routes", "gateway.web.routes")


def test_no_route_module_reaches_the_gateway_service():
    route_modules = [m for m in GRAPH if m.startswith(ROUTE_PACKAGES)]
    assert "gateway.routes.logs" in route_modules and "gateway.web.routes.table" in route_modules
    assert [m for m in route_modules if "gateway.service" in reachable(GRAPH, m)] == []
    # the check can fail: the service itself reaches the table
    assert "gateway.routes.table" in reachable(GRAPH, "gateway.service")


def test_the_kernel_imports_no_service_and_not_the_gateway():
    offending = [(a, b) for a, b in _edges(GRAPH)
                 if _layer(a) == "stafett" and not _is_dev(a) and _layer(b) != "stafett"]
    assert offending == []


def test_no_service_imports_another_service():
    offending = [(a, b) for a, b in _edges(GRAPH)
                 if _layer(a).startswith("services.") and _layer(b).startswith("services.")
                 and _layer(a) != _layer(b)]
    assert offending == []


#: what the gateway still imports from the services (issue 13, point 4): the consent
#: service's number checks (an organisation number in configuration, a national id in a
#: token), the services' marshmallow contracts, from which /openapi.json is generated, and
#: their error-code registries, from which /problems is.
#: The list may only shrink: a new edge fails, and so does one that is gone from the code.
GATEWAY_SERVICE_IMPORTS = {
    ("gateway.agency", "services.consent.identity_numbers"),
    ("gateway.identity", "services.consent.identity_numbers"),
    # error codes are contracts too: /problems lists every service's registry
    ("gateway.problems", "services.consent.errors"),
    ("gateway.problems", "services.handover.errors"),
    ("gateway.problems", "services.logs.errors"),
    ("gateway.problems", "services.notifications.errors"),
    ("gateway.openapi", "services.consent.schemas"),
    ("gateway.openapi", "services.handover.schemas"),
    ("gateway.openapi", "services.logs.schemas"),
    ("gateway.openapi", "services.notifications.schemas"),
}


def test_the_gateway_imports_no_service_code_beyond_the_listed_contracts():
    imports = {(a, b) for a, b in _edges(GRAPH)
               if _layer(a) == "gateway" and _layer(b).startswith("services")}
    assert imports == GATEWAY_SERVICE_IMPORTS


#: production code that reaches into the dev tooling, each behind ``DEV_ISSUER`` (off by
#: default): the gateway trusts the dev issuer's keys, and its dev login mints a persona's
#: token. The list may only shrink.
DEV_TOOLING_IMPORTS = {
    ("gateway.access", "stafett.dev.issuer"),
    ("gateway.web.routes.login", "stafett.dev.demo"),
    ("gateway.web.routes.login", "stafett.dev.issuer"),
}


def _is_dev(module: str) -> bool:
    return module == DEV_TOOLING or module.startswith(DEV_TOOLING + ".")


def test_nothing_but_the_listed_dev_switches_imports_the_dev_tooling():
    imports = {(a, b) for a, b in _edges(GRAPH) if _is_dev(b) and not _is_dev(a)}
    assert imports == DEV_TOOLING_IMPORTS
