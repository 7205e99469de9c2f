"""Every page of the web client, in one table (the API's is gateway/routes/table.py).

A page is a plain function ``def web_log(ctx, log_id)`` in the module of its area
(gateway/web/routes/<area>.py); ``ctx`` is gateway/web/context.py's ``WebContext``.
gateway/service.py makes a nameko entrypoint of each row (gateway/web/pages.py's
``PageEntrypoint``: HTML errors; a service's 404 or 403 is the one not-found page).

URLs are Norwegian (docs/web.md has the table).
"""
from gateway.routes.route import page
from gateway.web.routes import (admin, consent, handovers, inbox, log_actions, log_print,
                                login, logs, settings)

PAGES = (
    # -- start, login, logout, static files (login.py)
    page("GET", "/", login.web_start, public=True),
    page("GET", "/logg-inn", login.web_login, public=True),
    page("GET", "/logg-inn/dev", login.web_dev_personas, public=True),
    page("POST", "/logg-inn/dev", login.web_dev_login, public=True),
    page("GET", "/logg-inn/<provider>", login.web_oidc_start, public=True),
    page("GET", "/auth/callback", login.web_oidc_callback, public=True),
    page("POST", "/logg-ut", login.web_logout, public=True),
    page("GET", "/fant-ikke-siden", login.web_not_found, public=True, serves_unknown_paths=True),
    page("GET", "/static/<path:filename>", login.web_static, public=True),

    # -- Mine logger and a log's pages (logs.py; owner: the logs service)
    page("GET", "/logger", logs.web_logs),
    page("GET,POST", "/logger/ny", logs.web_new_log),
    page("GET", "/logger/<log_id>", logs.web_log),
    page("POST", "/logger/<log_id>/stafettpinne", logs.web_take_baton),
    page("GET", "/logger/<log_id>/innlegg", logs.web_entries),
    page("GET", "/logger/<log_id>/tiltak", logs.web_measures),
    page("GET", "/logger/<log_id>/moter", logs.web_meetings),
    page("GET", "/logger/<log_id>/forslag", logs.web_proposals),
    page("GET", "/logger/<log_id>/tiltak/<measure_id>/vurderinger", logs.web_evaluations),
    page("GET", "/logger/<log_id>/tidslinje", logs.web_timeline),
    page("GET", "/logger/<log_id>/innsyn", logs.web_access_log),
    page("GET", "/logger/<log_id>/innsyn/<record>/<part>", logs.web_access_record),
    page("GET,POST", "/logger/<log_id>/tiltak/nytt", logs.web_new_measure),
    page("GET,POST", "/logger/<log_id>/tiltak/<measure_id>/vurdering", logs.web_new_evaluation),
    page("GET,POST", "/logger/<log_id>/moter/nytt", logs.web_new_meeting),
    page("GET,POST", "/logger/<log_id>/moter/<meeting_id>/referat", logs.web_minutes),
    page("GET,POST", "/logger/<log_id>/innlegg/nytt", logs.web_new_entry),
    page("GET,POST", "/logger/<log_id>/min-stemme", logs.web_my_voice),
    page("GET,POST", "/logger/<log_id>/forslag/nytt", logs.web_new_proposal),
    page("GET,POST", "/logger/<log_id>/deltakere/ny", logs.web_new_participant),
    page("GET", "/logger/<log_id>/forslag/<proposal_id>", logs.web_proposal),
    page("POST", "/logger/<log_id>/forslag/<proposal_id>/godta", logs.web_accept_proposal),
    page("POST", "/logger/<log_id>/forslag/<proposal_id>/avsla", logs.web_decline_proposal),

    # -- the stafettholder's and staff's actions, print and preparation (log_actions.py,
    #    log_print.py; owner: the logs service)
    page("GET,POST", "/logger/<log_id>/lukk", log_actions.web_close_log),
    page("GET,POST", "/logger/<log_id>/niva", log_actions.web_change_level),
    page("GET,POST", "/logger/<log_id>/gi-stafettpinnen", log_actions.web_pass_baton),
    page("GET,POST", "/logger/<log_id>/deltakere/<participant_id>/fjern",
         log_actions.web_remove_participant),
    page("GET,POST", "/logger/<log_id>/tiltak/<measure_id>/endre", log_actions.web_edit_measure),
    page("GET", "/logger/<log_id>/utskrift", log_print.web_print_log),
    page("GET", "/logger/<log_id>/moter/<meeting_id>/forberedelse",
         log_print.web_meeting_preparation),

    # -- handovers (handovers.py; owner: the handover service)
    page("GET,POST", "/logger/<log_id>/overgang", handovers.web_new_handover),
    page("GET", "/overganger", handovers.web_handovers),
    page("GET", "/overganger/<handover_id>", handovers.web_handover),
    page("POST", "/overganger/<handover_id>/godta", handovers.web_accept_handover),
    page("POST", "/overganger/<handover_id>/avsla", handovers.web_decline_handover),
    page("POST", "/overganger/<handover_id>/avbryt", handovers.web_cancel_handover),
    page("POST", "/overganger/<handover_id>/samtykke", handovers.web_consent_to_handover),
    page("POST", "/overganger/<handover_id>/nei", handovers.web_refuse_handover),

    # -- the inbox (inbox.py; owner: the notifications service)
    page("GET", "/innboks", inbox.web_inbox),
    page("GET", "/innboks/<ref>", inbox.web_open_notification),
    page("POST", "/innboks/<notification_id>/lest", inbox.web_mark_read),

    # -- consent (consent.py; owner: the consent service)
    page("GET", "/samtykker", consent.web_consents),
    page("GET,POST", "/samtykker/<child_id>/nytt", consent.web_new_consent),
    page("GET,POST", "/samtykker/<consent_id>/trekk-tilbake", consent.web_withdraw_consent),
    page("POST", "/samtykker/<consent_id>/godkjenn", consent.web_approve_consent),

    # -- a person's settings (settings.py; owner: the notifications service)
    page("GET,POST", "/innstillinger/varsler", settings.web_preferences),

    # -- agency leaders and administrators (admin.py; owners: logs, notifications, consent)
    page("GET", "/statistikk", admin.web_statistics),
    page("GET,POST", "/virksomhet/webhooker", admin.web_webhooks),
    page("GET,POST", "/virksomhet/webhooker/<webhook_id>/slett", admin.web_delete_webhook),
    page("GET,POST", "/virksomhet/ansatte", admin.web_staff),
)
