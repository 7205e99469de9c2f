"""The web client's message catalogue (gateway/web/messages.py): every declared error code a
web form can meet has a bokmål text; no English reaches a person."""
from __future__ import annotations

import re

from gateway.problems import declared
from gateway.web import messages
from gateway.web.forms import Field, Form, problem_text
from stafett.contracts import TEMPLATES
from stafett.errors import ValidationFailed

#: words that give an English text away (none of them is bokmål)
ENGLISH = re.compile(r"\b(the|must|not|only|cannot|please|invalid|field|send|no such)\b", re.I)


def test_every_declared_code_has_a_bokmal_text_or_a_reason_it_never_reaches_the_web():
    catalogue = {**messages.FIELD_MESSAGES, **messages.PROBLEM_MESSAGES}
    missing = sorted(set(declared()) - set(catalogue) - set(messages.NOT_IN_THE_WEB_CLIENT))
    assert missing == [], "give these a bokmål text in gateway/web/messages.py: " + \
        ", ".join(missing)


def test_the_catalogue_names_only_declared_codes():
    catalogue = {**messages.FIELD_MESSAGES, **messages.PROBLEM_MESSAGES,
                 **messages.NOT_IN_THE_WEB_CLIENT}
    assert sorted(set(catalogue) - set(declared())) == []
    assert not set(messages.NOT_IN_THE_WEB_CLIENT) & (
        set(messages.FIELD_MESSAGES) | set(messages.PROBLEM_MESSAGES))


def test_every_marshmallow_field_code_has_a_text():
    assert {code for _, code in TEMPLATES} <= set(messages.FIELD_MESSAGES)


def test_no_text_in_the_catalogue_is_english():
    english = {code: text for code, text in {**messages.FIELD_MESSAGES,
                                             **messages.PROBLEM_MESSAGES}.items()
               if ENGLISH.search(text)}
    assert english == {}


def test_every_code_a_form_meets_comes_out_in_bokmal():
    """Each catalogued code, as a field error and as a refusal, through the form."""
    for code in {**messages.FIELD_MESSAGES, **messages.PROBLEM_MESSAGES}:
        form = Form(Field("text", "Tekst"))
        form.take_service_errors(ValidationFailed("English detail", {"text": ["English"]},
                                                  code=code))
        [text] = form.errors["text"]
        assert not ENGLISH.search(text) and "English" not in text, (code, text)
        assert "{" not in text, (code, text)  # every parameter filled (or "?")
        refusal = ValidationFailed("English detail", code=code)
        assert "English" not in problem_text(refusal), code


def test_the_regular_expressions_over_english_are_gone():
    import gateway.web.forms as forms
    assert not hasattr(forms, "MESSAGES") and not hasattr(forms, "DETAILS")
    assert not hasattr(forms, "translate")
