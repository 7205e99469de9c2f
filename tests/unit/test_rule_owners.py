"""One owner per rule (issue 13): the consent service alone decides what consent covers
and whether a citizen's login is assured enough. The logs and handover services look its
decisions up (``stafett/coverage.py``, ``Actor.assured``) and keep no copy of either rule:
no function of their own named for coverage, no reading of a consent's status-bound scope
or validity dates, no reading of the ``acr``. This fails when a copy comes back."""
from __future__ import annotations

import ast
import re
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


# -- the web client follows the owners' can_* flags (issue 13, point 3) ------------------------

WEB = ROOT / "gateway" / "web"
#: a role (or the actor's kind) tested to decide what a page offers: the owner's view says
#: that with its can_* flags. Showing a role as text (``viewer_role|label("role")``) and
#: grouping by the part the owner names are not rules, and are not matched.
ROLE_TESTS = re.compile(
    r"""role\s*(?:==|!=)|role\s+(?:not\s+)?in(?=\s+[(\[A-Z"'])"""  # role == "…", role in (…)
    r"""|(?:["']|\b)(?:stafettholder|member|former|receiver|requester|guardian)["']?\s*"""
    r"""(?:==|!=)"""                                    # "receiver" == …
    r"""|\bis_(?:staff|holder|citizen|child)\b"""       # the old mirrors of role rules
    r"""|\b(?:STAFF|WRITER)_ROLES\b|\bme_id\b"""
    r"""|granted_by""")                                # who has approved: consent's rule


def role_tests(text: str) -> list[str]:
    return [m.group(0) for m in ROLE_TESTS.finditer(text)]


def test_the_web_scan_finds_a_role_rule():
    assert role_tests('{% if log.viewer_role == "stafettholder" %}') == ["role =="]
    assert role_tests("{% if is_staff %}") == ["is_staff"]
    assert role_tests('"can_write": role in WRITER_ROLES') == ["role in", "WRITER_ROLES"]
    assert role_tests('{% if me_id not in (c.granted_by or []) %}') == ["me_id", "granted_by"]
    assert role_tests('{{ p.role|label("role") }} {% if log.can_add_measure %}') == []


def test_no_template_or_view_model_repeats_a_role_rule():
    files = [*sorted((WEB / "templates").glob("*.html")), WEB / "viewmodels.py",
             WEB / "formdefs.py", *sorted((WEB / "routes").glob("*.py"))]
    found = {str(path.relative_to(ROOT)): role_tests(path.read_text(encoding="utf-8"))
             for path in files}
    assert {path: hits for path, hits in found.items() if hits} == {}
