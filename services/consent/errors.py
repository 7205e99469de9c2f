"""The consent service's error codes (``stafett.errors``): code -> English text for
developers, served on the gateway's ``/problems`` page. A raise site names one of these
(``raise Conflict(..., code="consent.not_pending")``); clients decide by the code."""
from stafett.errors import declare

CODES = declare("consent", {
    "agency.admin_only": "only an administrator of this agency may register its staff",
    "agency.not_found": "no such agency",
    "child.field_from_register": "this field comes from the population register; send only "
                                 "national_id",
    "child.not_found": "no such child, or none you may see",
    "child.register_fields": "register a child by its national identity number only",
    "child.registration_race": "the child was being registered at the same moment; try again",
    "citizen.pid_not_resolved": "national identity numbers travel only in resolve_citizen",
    "citizen.purpose_unknown": "unknown purpose for resolving a national identity number",
    "consent.already_ended": "the consent is already withdrawn, expired or superseded",
    "consent.digital_changed_by_givers": "a consent given digitally is changed or withdrawn "
                                         "only by those who gave it",
    "consent.ends_before_start": "valid_until must be after valid_from",
    "consent.guardians_consent": "under the youth age the guardians consent, not the child",
    "consent.not_found": "no such consent, or none you may see",
    "consent.not_pending": "the consent is not waiting for approval",
    "consent.paper_changed_by_recording_agency": "a paper form recorded by another agency is "
                                                 "changed by that agency or those who consent",
    "consent.paper_required": "staff record consent from a signed paper form (paper)",
    "consent.paper_signatories": "the paper form is not signed by exactly those who consent",
    "consent.period_overlaps": "the child already has a consent for this period; withdraw it "
                               "or name it in supersedes",
    "consent.scope_empty": "the scope names no agency and no agency type",
    "consent.scope_misses_own_agency": "staff record consent only for their own agency",
    "consent.scope_unknown_agency": "the scope names an unknown agency",
    "consent.starts_in_past": "valid_from must not be in the past",
    "consent.supersedes_not_open": "supersedes must name an open consent of this child",
    "consent.too_long": "valid_until is too far after valid_from; error_params: max_days",
    "consent.validity_period": "the validity period is not allowed (see error_codes)",
    "consent.youth_consents_alone": "from the youth age the youth consents alone",
    "login.assurance_too_low": "this needs a login at a higher assurance level",
    "national_id.invalid": "not a valid national identity number (11 digits, check digits)",
    "national_id.not_a_child": "that national identity number is not a child's",
    "number_keys.cannot_add": "a new national-id key cannot be added to the keyring",
    "number_keys.key_missing": "a row is under a key the keyring lacks: restore that key first",
    "number_keys.operations_only": "key rotation is for operations (the platform's actor)",
    "number_keys.rows_under_old_key": "rows are still under an old key: step on before "
                                      "retiring",
    "number_keys.unknown_action": "unknown key rotation action or batch size",
    "org_number.invalid": "not a valid organisation number (9 digits, check digit)",
    "platform.internal_admin_only": "only an internal administrator may do this",
    "register.child_not_listed": "the population register no longer lists this child",
    "register.incomplete_answer": "the population register gave an incomplete answer; try "
                                  "again later",
    "register.person_unknown": "the population register has no person with that number",
    "register.unavailable": "the population register is not answering; nothing was "
                            "registered, try again later",
    "staff.not_found": "no such staff member",
})
