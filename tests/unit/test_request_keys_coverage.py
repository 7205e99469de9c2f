"""Every RPC entrypoint of every service is classified: state-changing ones are ``@once``
(stafett.request_keys), the rest are named here with the reason they need no record.
Removing ``@once`` from one entrypoint, or adding an unclassified one, fails this test."""
import pytest

from stafett.run import service_class

#: entrypoints that change nothing (reads; their access records are records of a read)
READS = {
    "consent": {"list_agencies", "my_children", "find_child", "list_staff", "staff_member",
                "child_parties", "coverage", "list_consents", "get_consent", "consent_fhir",
                "access_log_names"},
    "logs": {"get_log", "my_logs", "list_measures", "get_measure", "list_evaluations",
             "list_meetings", "get_meeting", "meeting_preparation", "list_entries",
             "list_proposals", "get_proposal", "timeline", "access_log", "access_log_scope",
             "access_log_child",
             "statistics", "log_fhir", "takes_part", "handover_context", "handover_summary",
             "notice_details"},
    "handover": {"list_handovers", "get_handover"},
    "notifications": {"inbox", "inbox_page", "get_preferences", "list_webhooks",
                      "webhook_deliveries", "list_deliveries"},
}
#: entrypoints that write only under a natural unique key, so a repeat finds the first
#: row and changes nothing: called on every request, a record each would be a write each
NATURAL = {
    "consent": {"resolve_citizen",   # mirrors a child under its unique number
                "resolve_actor",     # registers staff once under their unique subject
                # begin resumes a rotation under way, step re-seals whatever is still under
                # the old key, retire removes a key no row needs: each converges, repeated
                "rotate_number_keys"},
    # rebuilds the consent projection from the consent service's current state: a repeat
    # changes nothing, and one request may need it twice (after each of its changes)
    "logs": {"refresh_consent"},
}

SERVICES = ("consent", "logs", "handover", "notifications")
#: every service's reads of its access log's checkpoints (stafett/transparency.py) and of its
#: records (stafett/access_review.py)
AUDIT_READS = {"audit_checkpoint", "audit_consistency", "child_access_log",
               "access_record_proof", "agency_access_log"}


def rpc_entrypoints(service_cls) -> dict:
    from nameko.rpc import Rpc

    found = {}
    for name in dir(service_cls):
        method = getattr(service_cls, name, None)
        if any(isinstance(e, Rpc) for e in getattr(method, "nameko_entrypoints", ())):
            found[name] = method
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_state_changing_rpc_records_its_request_key(service):
    entrypoints = rpc_entrypoints(service_class(service))
    exempt = READS.get(service, set()) | NATURAL.get(service, set()) | AUDIT_READS
    assert exempt <= set(entrypoints), f"classified but gone: {exempt - set(entrypoints)}"
    unrecorded = sorted(name for name, method in entrypoints.items()
                        if name not in exempt and not getattr(method, "stafett_once", False))
    assert unrecorded == [], f"state-changing RPCs without @once: {unrecorded}"
    needless = sorted(name for name in exempt if getattr(entrypoints[name], "stafett_once",
                                                         False))
    assert needless == [], f"classified as needing no record, yet @once: {needless}"


def test_the_classification_covers_the_known_writers():
    """A sample of writers that must be recorded (a guard against moving one to READS)."""
    writers = {"logs": {"add_measure", "add_entry", "open_log", "apply_handover"},
               "handover": {"request_handover", "accept_handover"},
               "consent": {"grant_consent", "withdraw_consent", "register_child"},
               "notifications": {"create_webhook", "update_preferences"}}
    for service, names in writers.items():
        entrypoints = rpc_entrypoints(service_class(service))
        assert all(getattr(entrypoints[n], "stafett_once", False) for n in names), service
