"""The logs service's error codes (``stafett.errors``): code -> English text for
developers, served on the gateway's ``/problems`` page."""
from stafett.errors import declare

CODES = declare("logs", {
    "entry.kind_not_allowed": "you cannot add that kind of entry",
    "entry.staff_only_visibility": "only staff can write staff-only entries",
    "evaluation.before_start": "evaluated_on must not be before the measure's start_date",
    "evaluation.in_future": "evaluated_on must not be after today",
    "evaluation.invalid": "the evaluation is not valid (see error_codes)",
    "fhir.not_allowed": "the FHIR export is for agency systems and staff",
    "log.already_open": "the child already has an open log",
    "log.closed": "the log is closed and read-only",
    "log.handover_service_only": "only the handover service applies handovers",
    "log.limit_reached": "the log has reached its limit of this kind of object",
    "log.not_found": "no such log, or none you may see",
    "log.nothing_to_change": "send at least one field to change",
    "log.read_only_access": "you may read the log but not change it",
    "log.receiver_not_covered": "consent no longer covers the receiving agency (applying a "
                                "handover)",
    "log.stafettholder_only": "only the stafettholder may do this",
    "log.staff_only": "only staff with a role in the log may do this",
    "measure.evaluate_by_before_start": "evaluate_by must be on or after start_date",
    "measure.invalid": "the measure is not valid (see error_codes)",
    "measure.not_found": "no such measure in this log",
    "measure.responsible_not_participant": "the responsible person must be an active "
                                           "participant of the log",
    "measure.stopped": "a stopped measure cannot be evaluated",
    "meeting.attendee_not_invited": "only invited participants can attend",
    "meeting.ends_before_start": "ends_at must be after starts_at",
    "meeting.invalid": "the meeting is not valid (see error_codes)",
    "meeting.invitee_not_participant": "every invited person must be an active participant",
    "meeting.not_started": "minutes can be recorded once the meeting has begun",
    "meeting.not_found": "no such meeting in this log",
    "participant.agency_not_covered": "consent does not cover that person's agency",
    "participant.already_in_log": "that person already takes part in the log",
    "participant.already_stafettholder": "that person already holds the stafettholder role",
    "participant.is_stafettholder": "hand the stafettholder role to someone else before "
                                    "removing them",
    "participant.not_active_staff": "the stafettholder must be active staff in the log",
    "participant.not_found": "no such participant in this log",
    "participant.not_removable": "only staff can be removed; guardians and the child take "
                                 "part while consent lasts",
    "proposal.already_answered": "the proposal is already accepted or declined",
    "proposal.not_found": "no such proposal in this log",
    "proposal.staff_add_directly": "staff add measures directly; proposals are for the child "
                                   "and guardians",
    "stafettholder.cannot_act": "the stafettholder must be staff who can act in the log: in "
                                "their active period, with consent covering their agency",
    "statistics.staff_only": "statistics are for staff",
})
