"""Every route of the public API, in one table: what gateway/service.py makes nameko
entrypoints of and gateway/openapi.py documents (``operationId``: the function's name;
tag: its resource, the module under gateway/routes/). The web client's pages are
gateway/web/routes/table.py.

To add an endpoint: write ``def my_route(ctx, <path values>)`` in the resource's module
(gateway/routes/<resource>.py; ``ctx`` is gateway/context.py), then add one row here with
its contract. docs/architecture.md, "A map", has a worked example.
"""
from gateway.routes import (access_log, audit, consent, documents, handover, logs, me,
                            notifications)
from gateway.routes.route import api, http

API = (
    # -- who am I (me.py)
    api("GET", "/me", me.me,
        "The authenticated actor: kind, person, agency, roles and scopes",
        response="Me"),

    # -- children, consents, agencies and staff (consent.py; owner: the consent service)
    api("GET", "/children", consent.my_children,
        "Children of the logged-in guardian (or the youth themself)",
        response="Child", listing=True),
    api("POST", "/children", consent.register_child,
        "Register a child by its national id (staff; in the body only): name, birth date and "
        "guardians come from the population register; registering again refreshes them",
        request="ChildRegistration", response="Child", status=201),
    api("POST", "/children/search", consent.find_child,
        "Find a child by national id (in the body, never the URL)",
        request="ChildSearch", response="Child"),
    api("GET", "/children/<child_id>/consents", consent.list_consents,
        "The child's consents, current and past",
        response="Consent", listing=True),
    api("POST", "/children/<child_id>/consents", consent.grant_consent,
        "Grant consent (guardian or youth), or record a paper form (staff)",
        request="ConsentRequest", response="Consent", status=201, etag=True),
    api("GET", "/consents/<consent_id>", consent.get_consent,
        "One consent",
        response="Consent", etag=True),
    api("POST", "/consents/<consent_id>/approve", consent.approve_consent,
        "A further guardian consents (policy 'all')",
        response="Consent", if_match=True),
    api("POST", "/consents/<consent_id>/withdraw", consent.withdraw_consent,
        "Withdraw consent (If-Match optional: withdrawing is never harder than granting; a "
        "stale one is refused)",
        response="Consent", etag=True, query=(consent.IF_MATCH_OPTIONAL,)),
    api("GET", "/consents/<consent_id>/fhir", consent.consent_fhir,
        "The consent as a FHIR R5 Consent resource",
        media_type="application/fhir+json"),
    api("GET", "/agencies", consent.list_agencies,
        "The agencies of the municipality (staff)",
        response="Agency", listing=True),
    api("GET", "/agencies/<org_number>/staff", consent.list_staff,
        "Staff directory of an agency (staff)",
        response="Staff", listing=True),
    api("POST", "/agencies/<org_number>/staff", consent.provision_staff,
        "Pre-provision a staff member of one's own agency (agency administrator)",
        request="StaffRequest", response="Staff", status=201),

    # -- the stafettlogg (logs.py; owner: the logs service)
    api("GET", "/logs", logs.my_logs,
        "Logs the actor takes part in (an agency system: those its agency takes part in), "
        "newest first",
        scope=logs.READ, response="LogSummary", listing=True),
    api("POST", "/logs", logs.open_log,
        "Open a log (staff; becomes stafettholder)",
        request="OpenLog", response="LogStaffView", status=201, etag=True),
    api("GET", "/logs/<log_id>", logs.get_log,
        "Read a log, as the actor may see it: of its entries, measures (each with its latest 3 "
        "evaluations), meetings and proposals the newest 20, and in `lists` each list's total "
        "and the link to its next page",
        scope=logs.READ, response=logs.LOG_VIEWS, etag=True),
    api("PATCH", "/logs/<log_id>", logs.update_log,
        "Change the level (stafettholder)",
        request="LogUpdate", response="LogStaffView", if_match=True),
    api("POST", "/logs/<log_id>/close", logs.close_log,
        "Close the log with a reason (stafettholder)",
        request="CloseLog", response="LogStaffView", if_match=True),
    api("POST", "/logs/<log_id>/stafettholder", logs.set_stafettholder,
        "Pass the stafettholder role to another staff participant who can act (stafettholder; "
        "while the log has none, any staff participant who can act takes the baton)",
        request="StafettholderRequest", response="LogStaffView", if_match=True),
    api("POST", "/logs/<log_id>/participants", logs.add_participant,
        "Add a staff participant (stafettholder)",
        request="ParticipantRequest", response="Participant", status=201),
    api("DELETE", "/logs/<log_id>/participants/<participant_id>", logs.remove_participant,
        "End a participation (stafettholder; If-Match is the log's ETag)",
        response="Participant", if_match=True),
    api("GET", "/logs/<log_id>/measures", logs.list_measures,
        "The log's measures, newest first, each with its latest 3 evaluations",
        scope=logs.READ, response=logs.MEASURE_VIEWS, listing=True),
    api("POST", "/logs/<log_id>/measures", logs.add_measure,
        "Add a measure (staff participant)",
        request="MeasureRequest", response="Measure", status=201, etag=True),
    api("GET", "/logs/<log_id>/measures/<measure_id>", logs.get_measure,
        "One measure",
        scope=logs.READ, response=logs.MEASURE_VIEWS, etag=True),
    api("PATCH", "/logs/<log_id>/measures/<measure_id>", logs.update_measure,
        "Change a measure (staff participant)",
        request="MeasureUpdate", response="Measure", if_match=True),
    api("GET", "/logs/<log_id>/measures/<measure_id>/evaluations", logs.list_evaluations,
        "A measure's evaluations (green, yellow, red), the latest first",
        scope=logs.READ, response=logs.EVALUATION_VIEWS, listing=True),
    api("POST", "/logs/<log_id>/measures/<measure_id>/evaluations", logs.add_evaluation,
        "Evaluate a measure (staff participant)",
        request="EvaluationRequest", response="Evaluation", status=201),
    api("GET", "/logs/<log_id>/meetings", logs.list_meetings,
        "The log's meetings, the latest planned first",
        scope=logs.READ, response=logs.MEETING_VIEWS, listing=True),
    api("POST", "/logs/<log_id>/meetings", logs.schedule_meeting,
        "Schedule a meeting (staff participant)",
        request="MeetingRequest", response="Meeting", status=201, etag=True),
    api("POST", "/logs/<log_id>/meetings/<meeting_id>/minutes", logs.record_minutes,
        "Record the minutes and decisions of a meeting",
        request="MinutesRequest", response="Meeting", if_match=True),
    api("GET", "/logs/<log_id>/meetings/<meeting_id>/preparation", logs.meeting_preparation,
        "What to go through at a meeting: open measures, evaluations due, and the newest 50 "
        "changes since the previous meeting (more_changes_cursor continues the timeline, "
        "order=newest) (staff)"),
    api("GET", "/logs/<log_id>/entries", logs.list_entries,
        "Notes, bright spots and the child's voice, newest first",
        scope=logs.READ, response=logs.ENTRY_VIEWS, listing=True),
    api("POST", "/logs/<log_id>/entries", logs.add_entry,
        "Add an entry",
        request="EntryRequest", response=logs.ENTRY_VIEWS, status=201),
    api("GET", "/logs/<log_id>/proposals", logs.list_proposals,
        "Measures proposed by the child and guardians, newest first",
        response="Proposal", listing=True),
    api("POST", "/logs/<log_id>/proposals", logs.propose_measure,
        "Propose a measure (child or guardian)",
        request="ProposalRequest", response="Proposal", status=201),
    api("POST", "/logs/<log_id>/proposals/<proposal_id>/accept", logs.accept_proposal,
        "Make a proposal a measure (stafettholder; If-Match is the log's ETag)",
        request="ProposalAccept", response="Proposal", if_match=True, etag=False),
    api("POST", "/logs/<log_id>/proposals/<proposal_id>/decline", logs.decline_proposal,
        "Decline a proposal with a reason (stafettholder; If-Match is the log's ETag)",
        request="ProposalDecline", response="Proposal", if_match=True, etag=False),
    api("GET", "/logs/<log_id>/timeline", logs.timeline,
        "Everything that happened, oldest first (order=newest: the newest first)",
        scope=logs.READ, response="TimelineItem", listing=True, query=(logs.ORDER,)),
    api("GET", "/logs/<log_id>/access-log", logs.access_log,
        "Who read or changed the log, and who was refused (stafettholder, guardians, the child)",
        response="AccessRecord", listing=True),
    api("GET", "/logs/<log_id>/fhir", logs.log_fhir,
        "The log as a FHIR R5 Bundle (CarePlan, Goals, Observations)",
        scope=logs.READ, media_type="application/fhir+json"),
    api("GET", "/stats", logs.statistics,
        "Aggregate statistics in distinct children; figures below the threshold (5), and those "
        "that would give one back, are null (staff)"),

    # -- handovers (handover.py; owner: the handover service)
    api("GET", "/handovers", handover.list_handovers,
        "Incoming and outgoing handovers, newest first",
        response=handover.HANDOVER_VIEWS, listing=True, query=(handover.DIRECTION,)),
    api("POST", "/handovers", handover.request_handover,
        "Request a handover of a log to another agency (stafettholder)",
        request="HandoverRequest", response="Handover", status=201),
    api("GET", "/handovers/<handover_id>", handover.get_handover,
        "A handover; the receiver sees the summary, never the log",
        response=handover.HANDOVER_VIEWS, etag=True),
    api("POST", "/handovers/<handover_id>/accept", handover.accept_handover,
        "Accept, naming the new stafettholder (receiver)",
        request="HandoverAccept", response="Handover", if_match=True),
    api("POST", "/handovers/<handover_id>/decline", handover.decline_handover,
        "Decline with a reason (receiver)",
        request="HandoverDecline", response="Handover", if_match=True),
    api("POST", "/handovers/<handover_id>/cancel", handover.cancel_handover,
        "Cancel a request not yet accepted (requester)",
        request="HandoverCancel", response="Handover", if_match=True),

    # -- inbox, preferences, webhooks (notifications.py; owner: the notifications service)
    api("GET", "/notifications", notifications.inbox,
        "The actor's in-app inbox, newest first",
        response="InboxPage", paged=True, query=(notifications.UNREAD,)),
    api("POST", "/notifications/<notification_id>/read", notifications.mark_read,
        "Mark a notification read",
        response="Notification"),
    api("POST", "/notifications/<notification_id>/unread", notifications.mark_unread,
        "Mark a notification unread",
        response="Notification"),
    api("GET", "/me/preferences", notifications.get_preferences,
        "The actor's notification preferences",
        response="Preferences", etag=True),
    api("PUT", "/me/preferences", notifications.put_preferences,
        "Replace the actor's notification preferences",
        request="PreferencesRequest", response="Preferences", if_match=True),
    api("GET", "/webhooks", notifications.list_webhooks,
        "The agency's webhooks (agency admin or scope stafett:webhooks)",
        scope=notifications.WEBHOOKS, response="Webhook", listing=True),
    api("POST", "/webhooks", notifications.create_webhook,
        "Register a webhook; the signing secret is shown once",
        scope=notifications.WEBHOOKS, request="WebhookRequest", response="WebhookCreated",
        status=201),
    api("DELETE", "/webhooks/<webhook_id>", notifications.delete_webhook,
        "Delete a webhook",
        scope=notifications.WEBHOOKS, status=204),
    api("GET", "/webhooks/<webhook_id>/deliveries", notifications.webhook_deliveries,
        "Deliveries to a webhook, newest first",
        scope=notifications.WEBHOOKS, response="Delivery", listing=True),

    # -- a child's access log and the agency auditor's review (access_log.py; owner: each
    # service for its records, the logs service for who may see a child's: docs/audit.md)
    api("GET", "/children/<child_id>/access-log", access_log.child_access_log,
        "Who read or changed anything about the child, in all four services, why (bokmål) and "
        "with what outcome, newest first (the child's guardians, the child when it sees its "
        "own case, the stafettholder)",
        response="ChildAccessRecord", listing=True),
    api("GET", "/children/<child_id>/access-log/<record>", access_log.child_access_record,
        "One record of the child's access log exactly as its service hashed it (record.json "
        "for the verifier)",
        response="AccessRecordContent"),
    api("GET", "/children/<child_id>/access-log/<record>/proof",
        access_log.child_access_record_proof,
        "The record's RFC 9162 inclusion proof against its service's newest signed checkpoint "
        "(proof.json for python -m stafett.audit.verify_inclusion)",
        response="AccessRecordProof"),
    api("GET", "/audit/access-log", access_log.agency_access_log,
        "Every access by the agency's own staff in all four services, with anomalies (agency "
        "auditor)",
        response="AuditedAccess", listing=True, query=access_log.FILTERS),
    api("GET", "/audit/access-log/csv", access_log.agency_access_log_csv,
        "The auditor's selection as CSV (at most 10 000 records)",
        media_type="text/csv", query=access_log.FILTERS),
    api("GET", "/audit/access-log/fhir", access_log.agency_access_log_fhir,
        "The auditor's selection as a FHIR R5 Bundle of AuditEvents (IHE BALP)",
        media_type="application/fhir+json", query=access_log.FILTERS),

    # -- the access logs' checkpoints (audit.py; owner: each service's sequencer)
    api("GET", "/audit/checkpoint", audit.audit_checkpoints,
        "The newest signed checkpoint (C2SP tlog-checkpoint) of each service's access log, with"
        " the key that verifies it; a service without one yet is left out",
        response="AuditCheckpoints"),
    api("GET", "/audit/consistency", audit.audit_consistency,
        "An RFC 9162 consistency proof of one service's access log between two tree sizes",
        response="AuditConsistency", query=audit.CONSISTENCY),
)

#: the gateway's own documents (outside /api/v1, not in the OpenAPI document)
DOCUMENTS = (
    http("GET", "/openapi.json", documents.openapi),
    http("GET", "/api-docs", documents.api_docs),
    http("GET", "/api-docs/assets/<name>", documents.api_docs_asset),
    http("GET", "/problems", documents.problems),
)

ROUTES = API + DOCUMENTS
