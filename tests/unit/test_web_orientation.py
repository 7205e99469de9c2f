"""The log page's orientation (issue 18, point 4) on plain answers: what needs action
first and where it links, the measures by urgency, and the confirmations' links (only
anchors of ours)."""
from __future__ import annotations

from gateway.web import viewmodels as vm


def measure(id_, overdue=False, outcome=None, title=None):
    return {"id": id_, "title": title or id_, "overdue": overdue, "latest_outcome": outcome,
            "evaluate_by": "2027-03-12", "responsible_id": "p1"}


LOG = {"id": "log-1", "status": "open", "can_answer_proposals": True,
       "participants": [{"id": "p1", "kind": "staff", "role": "stafettholder",
                         "display_name": "Lise Aarseth"}],
       "measures": [measure("new"), measure("yellow", outcome="yellow"),
                    measure("red", outcome="red"), measure("late", overdue=True)],
       "proposals": [{"id": "pr1", "title": "Lekser på skolen", "status": "proposed"},
                     {"id": "pr2", "title": "Svart", "status": "declined"}]}


def test_what_needs_action_first_links_to_each_item():
    page = vm.log_page(LOG, [])
    assert [m["id"] for m in page["measures"]] == ["late", "red", "yellow", "new"]
    assert [(i["kind"], i["href"]) for i in page["needs_action"]] == [
        ("overdue", "#tiltak-late"), ("red", "#tiltak-red"),
        ("proposal", "/logger/log-1/forslag/pr1")]
    assert page["needs_action"][0]["text"] == "«late» skulle vært vurdert innen 12. mars 2027"
    family = vm.log_page({**LOG, "can_answer_proposals": False}, [])  # the logs service says
    assert family["needs_action"][-1]["href"] == "#forslag-pr1"


def test_a_confirmation_links_to_what_was_made_and_to_nothing_else():
    assert vm.confirmed("log-1", "tiltak", vm.made_anchor("tiltak", {"id": "m-1"})) == \
        "/logger/log-1?melding=tiltak&ny=tiltak-m-1#tiltak-m-1"
    assert vm.made_link("tiltak-m-1") == {"href": "#tiltak-m-1", "text": "Gå til tiltaket"}
    assert vm.made_link("javascript:alert(1)") is None
    assert vm.made_link("tiltak-m-1\"><script>") is None
    assert vm.confirmed("log-1", "referat", None) == "/logger/log-1?melding=referat"
    assert vm.local_link("https://x/logger/l#tiltak-m-1") == "/logger/l#tiltak-m-1"
    assert vm.local_link("https://x/logger/l#\"><b>") == "/logger/l"
