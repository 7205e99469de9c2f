"""Every text field is ``stafett.fields.Text`` (issue 12, point 6), and what it refuses.

The walk imports every module of the tree and looks at every marshmallow schema it
defines, into lists, tuples, dicts and nested fields; a second pass reads the source for
``fields.String`` / ``fields.Str`` anywhere (e.g. ``Schema.from_dict``), so a text field
added as a plain ``String`` fails here, naming the schema and field.
"""
from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest
from marshmallow import Schema, ValidationError, fields

from stafett.fields import Email, Text, Url

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("stafett", "gateway", "services")
#: string fields of marshmallow that are text, and the kernel's field to use instead
PLAIN = {"String": "Text", "Str": "Text", "Email": "Email", "Url": "Url", "URL": "Url"}


def tree_modules():
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            if ".migrations" in info.name:
                continue  # alembic scripts run when imported
            yield info.name


def all_schemas():
    for name in tree_modules():
        importlib.import_module(name)
    seen, stack = set(), list(Schema.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        stack.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in PACKAGES:
            yield cls


def inner_fields(field):
    yield field
    if isinstance(field, fields.List):
        yield from inner_fields(field.inner)
    elif isinstance(field, fields.Tuple):
        for item in field.tuple_fields:
            yield from inner_fields(item)
    elif isinstance(field, fields.Dict):
        for item in (field.key_field, field.value_field):
            if item is not None:
                yield from inner_fields(item)


def test_every_string_field_of_every_schema_is_the_kernels_text_field():
    schemas = list(all_schemas())
    assert len(schemas) > 40  # the walk found the services' schemas
    plain = []
    for schema in schemas:
        for name, declared in schema._declared_fields.items():
            for field in inner_fields(declared):
                if isinstance(field, fields.String) and not isinstance(field, Text):
                    plain.append(f"{schema.__module__}.{schema.__name__}.{name}: "
                                 f"{type(field).__name__}")
    assert plain == [], "use stafett.fields.Text (or Email, Url):\n" + "\n".join(plain)


def test_no_source_file_names_a_plain_string_field():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (isinstance(node, ast.Attribute) and node.attr in PLAIN
                        and isinstance(node.value, ast.Name) and node.value.id == "fields"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: fields.{node.attr}"
                                 f" (use stafett.fields.{PLAIN[node.attr]})")
                if (isinstance(node, ast.ImportFrom) and node.module == "marshmallow.fields"
                        and any(alias.name in PLAIN for alias in node.names)):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports a plain "
                                 "string field from marshmallow.fields")
    # the kernel's own definitions subclass them, and only there
    found = [f for f in found if not f.startswith("stafett/fields.py")]
    assert found == [], "\n".join(found)


class Sample(Schema):
    text = Text()
    email = Email()
    url = Url(schemes={"https"}, require_tld=False)


def load(**data):
    return Sample().load(data)


@pytest.mark.parametrize("value", [
    "Emma trives på skolen", "linje 1\nlinje 2\tmed tab", "", "ÆØÅ æøå", "😀 👨‍👩‍👧",
    "عربي نص", "שלום", "\u200fmerke\u200e og \u061c",  # RTL scripts and the harmless marks
])
def test_text_keeps_what_people_write(value):
    assert load(text=value) == {"text": value}


def test_text_turns_crlf_into_lf():
    assert load(text="Første linje\r\nandre\r\n") == {"text": "Første linje\nandre\n"}


@pytest.mark.parametrize("value, code, kind", [
    ("a\x00b", "U+0000", "control"), ("bjelle\x07", "U+0007", "control"),
    ("ende\r", "U+000D", "control"), ("esc\x1b[31m", "U+001B", "control"),
    ("del\x7f", "U+007F", "control"), ("nel\x85", "U+0085", "control"),
    ("\x0b", "U+000B", "control"), ("\x0c", "U+000C", "control"),
    ("lone \ud800", "U+D800", "surrogate"), ("\udfff low", "U+DFFF", "surrogate"),
    ("Emma \u202egnirps", "U+202E", "direction"), ("\u202a", "U+202A", "direction"),
    ("\u202d", "U+202D", "direction"), ("\u2066iso\u2069", "U+2066", "direction"),
    ("x\u2069", "U+2069", "direction"),
])
def test_text_refuses_control_characters_surrogates_and_direction_controls(value, code, kind):
    with pytest.raises(ValidationError) as refused:
        load(text=value)
    [message] = refused.value.messages["text"]
    assert code in message and kind in message


def test_email_and_url_keep_their_own_rules_after_the_text_rules():
    assert load(email="ingrid@example.no", url="https://fag.example/hook") == {
        "email": "ingrid@example.no", "url": "https://fag.example/hook"}
    with pytest.raises(ValidationError) as refused:
        load(email="ingrid\x00@example.no", url="https://fag.example/\x00")
    assert "U+0000" in refused.value.messages["email"][0]
    assert "U+0000" in refused.value.messages["url"][0]
    with pytest.raises(ValidationError) as refused:
        load(email="not an address")
    assert "email" in refused.value.messages
