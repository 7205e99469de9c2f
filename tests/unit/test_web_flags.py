"""The web client offers what the owner's view says the viewer may do (its ``can_*``
flags), whatever the role it names: the log's, a consent's and a handover's pages."""
from __future__ import annotations

import pytest

from gateway.web import formdefs as fd
from gateway.web import viewmodels as vm
from gateway.web.pages import ENV

LINKS = {"can_add_measure": "/tiltak/nytt", "can_schedule_meeting": "/moter/nytt",
         "can_add_participant": "/deltakere/ny", "can_pass_baton": "/overgang",
         "can_propose": "/forslag/nytt", "can_read_access_log": "/innsyn"}


def log_html(role: str, audience: str, **flags) -> str:
    view = {"id": "log-1", "child_id": "c-1", "status": "open", "level": 1,
            "viewer_role": role, "audience": audience, "viewer_participant_id": "p-1",
            "stafettholder_id": "p-1", "version": 3,
            "participants": [{"id": "p-1", "kind": "staff", "role": role,
                              "display_name": "Kari"},
                             {"id": "p-c", "kind": "child", "role": "child",
                              "display_name": "Emma"}],
            "measures": [], "meetings": [], "entries": [], "proposals": [], "lists": {},
            **flags}
    return ENV.get_template("log.html").render(
        log=vm.log_page(view, []), baton=fd.take_baton_form(3), csrf_token="t", title="x")


@pytest.mark.parametrize("flag, link", sorted(LINKS.items()))
def test_an_action_is_offered_by_its_flag_alone(flag, link):
    # the stafettholder's role with no flags: nothing offered; any role with the flag: offered
    assert f"/logger/log-1{link}" not in log_html("stafettholder", "staff")
    assert f"/logger/log-1{link}" in log_html("member", "staff", **{flag: True})


def test_the_entry_forms_follow_the_flag_and_the_audience():
    staff = log_html("member", "staff", can_add_entry=True)
    assert "/innlegg/nytt" in staff and "/min-stemme" not in staff
    family = log_html("guardian", "guardian", can_add_entry=True)
    assert "/min-stemme" in family and "/innlegg/nytt" not in family
    assert "/min-stemme" not in log_html("guardian", "guardian")


def test_the_family_s_own_words_are_the_kinds_the_logs_service_allows():
    child = fd.voice_form({"audience": "child", "entry_kinds": ["child_voice", "bright_spot"]})
    assert [kind for kind, _ in child["kind"].choices] == ["child_voice", "bright_spot"]
    assert child.values["kind"] == "child_voice"
    guardian = fd.voice_form({"audience": "guardian", "entry_kinds": ["note", "bright_spot"]})
    assert [kind for kind, _ in guardian["kind"].choices] == ["note", "bright_spot"]
    assert fd.voice_form(None)["kind"].choices == []


def consents_html(child: dict, consent: dict) -> str:
    groups = [{"child": child, "is_self": False,
               "consents": [{"id": "k-1", "status": "active", "valid_from": "2026-01-01",
                             "valid_until": "2026-12-31", "scope_text": ["Skole"],
                             "purpose": "Samarbeid", "consenting_party": "guardians",
                             "method": "digital", **consent}]}]
    return ENV.get_template("consents.html").render(groups=groups, for_family=True,
                                                    csrf_token="t", title="Samtykker")


def test_a_child_who_does_not_consent_is_offered_neither_change_nor_withdrawal():
    """The 13-year-old sees its consent; the consent service says it decides nothing."""
    seen = consents_html({"id": "c-1", "name": "Emma", "can_consent": False},
                         {"can_withdraw": False, "can_approve": False})
    assert "Endre samtykket" not in seen and "trekk-tilbake" not in seen
    assert "godkjenn" not in seen
    guardian = consents_html({"id": "c-1", "name": "Emma", "can_consent": True},
                             {"can_withdraw": True, "can_approve": True})
    assert "Endre samtykket" in guardian and "trekk-tilbake" in guardian
    assert "/samtykker/k-1/godkjenn" in guardian


def handover_html(**flags) -> str:
    handover = {"id": "h-1", "transition": "other", "from_agency": "1", "to_agency": "2",
                "status": "awaiting_acceptance", "created_at": "2026-03-01T10:00:00+00:00",
                "viewer_role": "receiver", "version": 2, **flags}
    return ENV.get_template("handover.html").render(
        handover=handover, agencies={}, csrf_token="t", title="x",
        accept=fd.accept_handover_form([], 2), decline=fd.decline_form(fd.HANDOVER_DECLINE_HINT, 2))


def test_a_handover_offers_accepting_and_cancelling_by_their_flags():
    assert "/overganger/h-1/godta" not in handover_html()
    assert "/overganger/h-1/godta" in handover_html(can_accept=True)
    assert "/overganger/h-1/avbryt" not in handover_html()
    assert "/overganger/h-1/avbryt" in handover_html(can_cancel=True)
