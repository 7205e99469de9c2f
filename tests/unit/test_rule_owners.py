"""One owner per rule (issue 13): the consent service alone decides what consent covers
and whether a citizen's login is assured enough. The logs and handover services look its
decisions up (``stafett/coverage.py``, ``Actor.assured``) and keep no copy of either rule:
no function of their own named for coverage, no reading of a consent's status-bound scope
or validity dates, no reading of the ``acr``. This fails when a copy comes back."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASKERS = ("logs", "handover")
#: names a copy of the coverage rule has gone by
RULE_FUNCTIONS = frozenset({"covers", "coverage_from", "covers_receiver", "covers_sender",
                            "is_in_force", "covered_now", "no_longer_covered"})
#: a consent's record, which only its owner judges
CONSENT_FIELDS = frozenset({"scope_agencies", "scope_agency_types", "valid_from",
                            "valid_until"})


def copies(source: str) -> list[str]:
    """What in this module decides coverage or assurance itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                node.name in RULE_FUNCTIONS):
            found.append(f"def {node.name}")
        elif isinstance(node, ast.Attribute) and node.attr in CONSENT_FIELDS:
            found.append(f".{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr == "acr":
            found.append(".acr")
        elif isinstance(node, ast.Constant) and node.value in CONSENT_FIELDS | {"acr"}:
            found.append(repr(node.value))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                "idporten-loa" in node.value):
            found.append(repr(node.value))
    return found


def modules():
    for service in ASKERS:
        for path in sorted((ROOT / "services" / service).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_the_scan_finds_a_copy_of_either_rule():
    planted = '''
def covers(consents, agency, agency_type, today):
    return any(c["status"] == "active" and agency in c["scope_agencies"]
               and date.fromisoformat(c["valid_from"]) <= today for c in consents)

def coverage_from(rows, today):
    return [r for r in rows if r.valid_from <= today <= r.valid_until]

def part(actor):
    return actor.acr == "idporten-loa-high"
'''
    assert set(copies(planted)) == {"def covers", "def coverage_from", "'scope_agencies'",
                                    "'valid_from'", ".valid_from", ".valid_until", ".acr",
                                    "'idporten-loa-high'"}
    assert copies("coverage.covers(agency, agency_type, today)\nactor.assured") == []


def test_logs_and_handover_keep_no_copy_of_consent_s_rules():
    found = {str(path.relative_to(ROOT)): copies(path.read_text(encoding="utf-8"))
             for path in modules()}
    assert {path: hits for path, hits in found.items() if hits} == {}
    assert len(found) > 10  # the scan saw both services
