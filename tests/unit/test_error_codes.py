"""Error codes (issue 13): every code a raise site names is declared, by exactly one owner,
and listed on /problems; clients decide by code (tests/unit/handover/test_service.py,
tests/unit/test_web_messages.py), never by the English text."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gateway.problems import declared, problems_page
from stafett import errors

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("stafett", "gateway", "services")
ERROR_CLASSES = {cls.__name__ for cls in (errors.StafettError, *errors.StafettError.__subclasses__())}
#: registries: the owner's module -> owner
REGISTRIES = {"stafett/errors.py": "kernel", "gateway/errors.py": "gateway",
              **{f"services/{svc}/errors.py": svc
                 for svc in ("consent", "handover", "logs", "notifications")}}
#: raise sites that pass on a code named elsewhere (not a literal here): a re-raise, the
#: helpers whose callers name the code (scanned as CODE_HELPERS), the text field's table
PASSED_ON = {("services/logs/model.py", "exc.code"), ("services/logs/store.py", "code"),
             ("gateway/auth.py", "code"), ("stafett/fields.py", "TEXT_CODES[key]")}
#: a service's typed errors name their code; only these may rely on the generic one
GENERIC_ALLOWED = {"PreconditionFailed", "PreconditionRequired"}
#: keyword helpers that take a code for a raise inside them
CODE_HELPERS = {"_one", "_reject"}


def _name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def raise_sites():
    """(path, line, class or helper, code or None, code expression) of every call."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            source = path.read_text(encoding="utf-8")
            for node in ast.walk(ast.parse(source)):
                if not isinstance(node, ast.Call):
                    continue
                name = _name(node)
                if name == "coded":
                    first = node.args[0]
                    yield relative, node.lineno, name, (
                        first.value if isinstance(first, ast.Constant) else None), \
                        ast.get_source_segment(source, first)
                elif name in ERROR_CLASSES or name in CODE_HELPERS:
                    code = next((k.value for k in node.keywords if k.arg == "code"), None)
                    if name in CODE_HELPERS and code is None:
                        continue
                    literal = code.value if isinstance(code, ast.Constant) else None
                    yield relative, node.lineno, name, literal, (
                        None if code is None else ast.get_source_segment(source, code))


SITES = list(raise_sites())


def test_the_scan_sees_the_raise_sites():
    named = [site for site in SITES if site[3]]
    assert len(named) > 120, len(named)
    assert ("services/logs/domain.py", "log.closed") in {(s[0], s[3]) for s in named}


def test_every_code_raised_anywhere_is_declared():
    registry = declared()
    undeclared = [f"{path}:{line}: {name}(code={code})"
                  for path, line, name, code, _ in SITES if code and code not in registry]
    assert undeclared == [], "\n".join(undeclared)


def test_a_code_is_a_literal_so_this_scan_can_check_it():
    dynamic = [f"{path}:{line}: {name}(code={expression})"
               for path, line, name, code, expression in SITES
               if expression is not None and code is None
               and (path, expression) not in PASSED_ON and name != "coded"]
    dynamic += [f"{path}:{line}: coded({expression}, ...)"
                for path, line, name, code, expression in SITES
                if name == "coded" and not code and (path, expression) not in PASSED_ON]
    assert dynamic == [], "\n".join(dynamic)


def test_the_codes_passed_on_are_declared_too():
    from gateway.auth import _reject
    from stafett.fields import TEXT_CODES
    passed = [*TEXT_CODES.values(), _reject("malformed token").code]
    assert [code for code in passed if code not in declared()] == []


def test_every_service_raise_site_names_its_code():
    generic = [f"{path}:{line}: {name}(...) names no code"
               for path, line, name, code, expression in SITES
               if path.startswith("services/") and expression is None
               and name in ERROR_CLASSES and name not in GENERIC_ALLOWED]
    assert generic == [], "\n".join(generic)


def _declared_in(path: str) -> list[str]:
    """The string keys of the dict literal passed to ``declare`` in a registry module."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    keys = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node) == "declare":
            keys += [k.value for k in node.args[1].keys]
    return keys


def test_every_code_is_declared_by_exactly_one_owner():
    owners: dict[str, list[str]] = {}
    for path, owner in REGISTRIES.items():
        for code in _declared_in(path):
            owners.setdefault(code, []).append(owner)
    assert {c: o for c, o in owners.items() if len(o) != 1} == {}
    # and the registry loaded at run time is exactly what the modules declare
    assert {code: [owner] for code, (owner, _) in declared().items()} == owners


def test_a_second_owner_for_a_code_is_refused_at_import():
    with pytest.raises(errors.DuplicateCode, match="log.closed is declared by logs"):
        errors.declare("handover", {"log.closed": "a copy"})
    assert errors.REGISTRY["log.closed"][0] == "logs"


def test_codes_have_the_object_reason_form():
    assert [c for c in declared() if not re.fullmatch(r"[a-z_]+\.[a-z_]+", c)] == []


def test_every_declared_code_is_on_the_problems_page():
    page = problems_page()
    missing = [code for code in declared() if f'<dt id="{code}">' not in page]
    assert missing == []
    assert declared()["log.closed"][1] in page
