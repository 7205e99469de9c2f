"""The handover service's error codes (``stafett.errors``): code -> English text for
developers, served on the gateway's ``/problems`` page. The handover itself decides by
the codes the logs service answers with (``log.closed``, ``log.receiver_not_covered``),
never by their text."""
from stafett.errors import declare

CODES = declare("handover", {
    "handover.already_open": "the log already has an open handover; it must be completed, "
                             "declined, cancelled or expire first",
    "handover.changed_meanwhile": "the handover changed meanwhile; read it again",
    "handover.consent_ended": "consent no longer covers the receiving agency; those who "
                              "consent must consent before it can be accepted",
    "handover.consenting_party_only": "only those who consent for the child (the guardians, "
                                      "or the youth) may refuse consent",
    "handover.invalid_transition": "the handover's state does not allow this transition",
    "handover.move_same_municipality": "a move goes to an agency in another municipality",
    "handover.not_applicable": "the handover is not accepted, so it is not to be applied",
    "handover.not_cancellable": "the handover can no longer be cancelled (the receiver may "
                                "have taken it)",
    "handover.not_waiting_for_consent": "the handover no longer waits for consent",
    "handover.not_found": "no such handover, or none you may see",
    "handover.person_not_receiver_staff": "the named person is not staff of the receiving "
                                          "agency",
    "handover.receiver_is_sender": "a log cannot be handed over to its own agency",
    "handover.receiver_only": "only the receiving agency may accept or decline a handover",
    "handover.receiver_unknown": "no agency with this organisation number",
    "handover.receiver_wrong_type": "this kind of handover goes to another type of agency",
    "handover.requester_only": "only the one who requested the handover may cancel it",
    "handover.stafettholder_only": "only the stafettholder may hand the log over",
})
