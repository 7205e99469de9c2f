"""Logs service entrypoints and wiring only: each loads the log in a unit of work (store.py),
asks the log (model.Log) or the rules (domain.py) and dumps; the unit of work records the
access, stores, emits and applies the version. Other flows: handlers.py, reads.py."""
from __future__ import annotations

from pathlib import Path

from nameko.rpc import rpc
from nameko.timer import timer

from services.logs import domain, handlers, lists, reads, views
from services.logs.gauges import refresh_gauges
from services.logs.access_review import LogsAccessReview
from services.logs.schemas import (CloseLogIn, EntryIn, EvaluationIn, LogUpdateIn, MeasureIn,
                                   MeasureUpdateIn, MeetingIn, MinutesIn, OpenLogIn,
                                   ParticipantIn, ParticipantStaffView, ProposalAcceptIn,
                                   ProposalDeclineIn, ProposalIn, StafettholderIn, TimelineItem)
from services.logs.store import StartedAt, Store
from stafett.access_review import AccessLogEndpoints
from stafett.contracts import load
from stafett.db import Database
from stafett.errors import EXPECTED
from stafett.events import Outbox, reliable_event_handler
from stafett.gauges import ScrapeGauges
from stafett.paging import decode_key
from stafett.request_keys import once
from stafett.rpc import TimeoutRpcProxy
from stafett.service import ServiceBase
from stafett.transparency import AuditEndpoints

MIGRATIONS = Path(__file__).parent / "migrations"
#: how often the timer looks for stafettholders whose participation has ended
STAFETTHOLDER_CHECK_SECONDS = 600
#: who may (``_in_log``'s ``write`` or ``may``): checked once the actor's place is known
HOLDER, STAFF = domain.require_stafettholder, domain.require_staff_writer


class LogsService(LogsAccessReview, AccessLogEndpoints, AuditEndpoints, reads.NoticeEndpoints,
                  ServiceBase):
    name = "logs"
    db = Database(MIGRATIONS)
    gauges = ScrapeGauges(refresh_gauges)
    events = Outbox()
    consent = TimeoutRpcProxy("consent")
    started_at = StartedAt()
    store = property(Store)  # the worker's storage and units of work

    def _in_log(self, log_id: str, action: str, *args, **kwargs):
        return self.store.in_log(log_id, action, *args, **kwargs)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def open_log(self, payload) -> dict:
        domain.require_staff(self.actor)  # before validation
        return handlers.open_log(self.store, load(OpenLogIn(), payload))

    @rpc(expected_exceptions=EXPECTED)
    def get_log(self, log_id, encoded=False) -> dict:
        with self._in_log(log_id, "read") as work:  # the view is read in the access's work
            recent = lists.recent(self.db, log_id, work.viewer)
        return work.view(recent, encoded)  # encoded: JSON text for the gateway

    @rpc(expected_exceptions=EXPECTED)
    def my_logs(self, limit=50, cursor=None) -> dict:
        return reads.my_logs(self.store, limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def update_log(self, log_id, payload, expected_version=None) -> dict:
        with self._in_log(log_id, "change_level", write=HOLDER) as work:
            work.log.expect_version(expected_version)
            work.log.change_level(load(LogUpdateIn(), payload)["level"], work.me)
        return work.view()

    @rpc(expected_exceptions=EXPECTED)
    @once
    def close_log(self, log_id, payload, expected_version=None) -> dict:
        with self._in_log(log_id, "close", write=HOLDER) as work:
            work.log.expect_version(expected_version)
            work.log.close(load(CloseLogIn(), payload)["reason"])
        return work.view()

    @rpc(expected_exceptions=EXPECTED)
    @once
    def set_stafettholder(self, log_id, payload, expected_version=None) -> dict:
        with self._in_log(log_id, "change_stafettholder", write=True) as work:
            work.log.require_may_pass_baton(work.viewer)  # none: anyone who can act
            work.log.expect_version(expected_version)
            work.log.set_stafettholder(load(StafettholderIn(), payload)["participant_id"])
        return work.view()

    @rpc(expected_exceptions=EXPECTED)
    @once
    def add_participant(self, log_id, payload) -> dict:
        with self._in_log(log_id, "add_participant", "participant", write=HOLDER) as work:
            participant = work.log.add_participant(load(ParticipantIn(), payload),
                                                   self.consent.staff_member)
        return ParticipantStaffView().dump(participant)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def remove_participant(self, log_id, participant_id, expected_version=None) -> dict:
        with self._in_log(log_id, "remove_participant", "participant", participant_id,
                          write=HOLDER) as work:
            participant = work.log.remove_participant(participant_id, work.viewer, expected_version)
        return ParticipantStaffView().dump(participant)

    @rpc(expected_exceptions=EXPECTED)
    def list_measures(self, log_id, limit=None, cursor=None) -> dict:
        with self._in_log(log_id, "read", "measures") as work:  # each with its latest evaluations
            page = lists.measures_page(self.db, log_id, limit, cursor)
        return reads.page(page, lambda measure: work.dump_measure(measure, page))

    @rpc(expected_exceptions=EXPECTED)
    def get_measure(self, log_id, measure_id) -> dict:
        with self._in_log(log_id, "read", "measure", measure_id) as work:
            measure = work.measure(measure_id)
        return work.dump_measure(measure)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def add_measure(self, log_id, payload) -> dict:
        with self._in_log(log_id, "add_measure", "measure", write=STAFF) as work:
            measure = work.log.add_measure(load(MeasureIn(), payload), work.me)
        return work.dump_measure(measure)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def update_measure(self, log_id, measure_id, payload, expected_version=None) -> dict:
        with self._in_log(log_id, "update_measure", "measure", measure_id, write=STAFF) as work:
            measure = work.measure(measure_id)  # a missing one: 404 before the body
            work.log.update_measure(measure, load(MeasureUpdateIn(), payload), expected_version)
        return work.dump_measure(measure)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def add_evaluation(self, log_id, measure_id, payload) -> dict:
        with self._in_log(log_id, "evaluate", "measure", measure_id, write=STAFF) as work:
            measure = work.measure(measure_id)  # a missing one: 404 before the body
            evaluation = work.log.evaluate(measure, load(EvaluationIn(), payload), work.me)
        return views.dump_evaluation(work.viewer, evaluation)

    @rpc(expected_exceptions=EXPECTED)
    def list_evaluations(self, log_id, measure_id, limit=None, cursor=None) -> dict:
        with self._in_log(log_id, "read", "measure", measure_id) as work:
            measure = work.measure(measure_id)  # a foreign one: like a missing one
            page = lists.evaluations_page(self.db, measure.id, limit, cursor)
        return reads.page(page, lambda evaluation: views.dump_evaluation(work.viewer, evaluation))

    @rpc(expected_exceptions=EXPECTED)
    def list_meetings(self, log_id, limit=None, cursor=None) -> dict:
        with self._in_log(log_id, "read", "meetings") as work:
            page = lists.meetings_page(self.db, log_id, limit, cursor)
        return reads.page(page, lambda m: work.dump_meeting(m, page["invites"].get(m.id, [])))

    @rpc(expected_exceptions=EXPECTED)
    def get_meeting(self, log_id, meeting_id) -> dict:
        with self._in_log(log_id, "read", "meeting", meeting_id) as work:
            meeting = work.meeting(meeting_id)
        return work.dump_meeting(meeting)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def schedule_meeting(self, log_id, payload) -> dict:
        with self._in_log(log_id, "schedule_meeting", "meeting", write=STAFF) as work:
            meeting = work.log.schedule_meeting(load(MeetingIn(), payload), work.me)
        return work.dump_meeting(meeting)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def record_minutes(self, log_id, meeting_id, payload, expected_version=None) -> dict:
        with self._in_log(log_id, "record_minutes", "meeting", meeting_id, write=STAFF) as work:
            meeting = work.meeting(meeting_id)  # a missing one: 404 before the body
            work.log.record_minutes(meeting, work.invites(meeting.id), load(MinutesIn(), payload),
                                    expected_version, work.me)
        return work.dump_meeting(meeting)

    @rpc(expected_exceptions=EXPECTED)
    def meeting_preparation(self, log_id, meeting_id) -> dict:
        with self._in_log(log_id, "prepare_meeting", "meeting", meeting_id, may=STAFF) as work:
            meeting = work.meeting(meeting_id)
        return reads.meeting_preparation(work, meeting)

    @rpc(expected_exceptions=EXPECTED)
    def list_entries(self, log_id, limit=None, cursor=None) -> dict:
        with self._in_log(log_id, "read", "entries") as work:  # those the viewer may see
            page = lists.entries_page(self.db, log_id, work.viewer, limit, cursor)
        return reads.page(page, lambda entry: views.dump_entry(work.viewer, entry))

    @rpc(expected_exceptions=EXPECTED)
    @once
    def add_entry(self, log_id, payload) -> dict:
        with self._in_log(log_id, "add_entry", "entry", write=True) as work:
            entry = work.log.add_entry(load(EntryIn(), payload), work.viewer)
        return views.dump_entry(work.viewer, entry)

    @rpc(expected_exceptions=EXPECTED)
    def list_proposals(self, log_id, limit=None, cursor=None) -> dict:
        with self._in_log(log_id, "read", "proposals") as work:  # the child: its own
            page = lists.proposals_page(self.db, log_id, work.viewer, limit, cursor)
        return reads.page(page, work.dump_proposal)

    @rpc(expected_exceptions=EXPECTED)
    def get_proposal(self, log_id, proposal_id) -> dict:
        with self._in_log(log_id, "read", "proposal", proposal_id) as work:
            proposal = work.visible_proposal(proposal_id)
        return work.dump_proposal(proposal)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def propose_measure(self, log_id, payload) -> dict:
        with self._in_log(log_id, "propose", "proposal", write=True) as work:
            proposal = work.log.propose(load(ProposalIn(), payload), work.viewer)
        return work.dump_proposal(proposal)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def accept_proposal(self, log_id, proposal_id, payload, expected_version=None) -> dict:
        with self._in_log(log_id, "accept_proposal", "proposal", proposal_id, write=HOLDER) as work:
            proposal = work.proposal_to_answer(proposal_id, expected_version)
            work.log.accept_proposal(proposal, load(ProposalAcceptIn(), payload), work.me)
        return work.dump_proposal(proposal)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def decline_proposal(self, log_id, proposal_id, payload, expected_version=None) -> dict:
        with self._in_log(log_id, "decline_proposal", "proposal", proposal_id,
                          write=HOLDER) as work:
            proposal = work.proposal_to_answer(proposal_id, expected_version)
            work.log.decline_proposal(proposal, load(ProposalDeclineIn(), payload), work.me)
        return work.dump_proposal(proposal)

    @rpc(expected_exceptions=EXPECTED)
    def timeline(self, log_id, limit=50, cursor=None, newest_first=False) -> dict:
        with self._in_log(log_id, "read", "timeline") as work:  # oldest first, unless asked
            page = reads.timeline(work, limit, cursor, bool(newest_first))
        return {**page, "items": TimelineItem(many=True).dump(page["items"])}

    @rpc(expected_exceptions=EXPECTED)
    def access_log(self, log_id, limit=50, cursor=None) -> dict:
        with self._in_log(log_id, "read", "access_log",
                          may=domain.require_may_read_access_log) as work:
            decode_key(cursor)  # a cursor we did not give out: refused, and recorded
        return reads.access_log(work, limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def statistics(self) -> dict:
        return reads.statistics(self.store)

    @rpc(expected_exceptions=EXPECTED)
    def log_fhir(self, log_id) -> dict:
        with self._in_log(log_id, "export_fhir", may=domain.require_fhir_reader) as work:
            pass
        return reads.fhir(work)

    @rpc(expected_exceptions=EXPECTED)
    def takes_part(self, child_id) -> bool:
        return reads.takes_part(self.store, child_id)

    @rpc(expected_exceptions=EXPECTED)
    def handover_context(self, log_id) -> dict:
        with self._in_log(log_id, "prepare_handover", may=HOLDER) as work:
            work.log.require_room_for_handover()
        return work.handover_context()

    @rpc(expected_exceptions=EXPECTED)
    def handover_summary(self, log_id) -> dict:
        with self._in_log(log_id, "compile_handover_summary", may=HOLDER) as work:
            pass
        return reads.summary_for_handover(work)

    @rpc(expected_exceptions=EXPECTED)
    @once
    def apply_handover(self, log_id, handover_id, new_stafettholder_person_id,
                       receiving_person_ids, grace_days) -> dict:
        return handlers.apply_handover(self.store, log_id, handover_id, new_stafettholder_person_id,
                                       receiving_person_ids, grace_days)

    @timer(interval=STAFETTHOLDER_CHECK_SECONDS)
    def check_stafettholders(self) -> dict:
        return handlers.check_stafettholders(self.store)

    @rpc(expected_exceptions=EXPECTED)
    def refresh_consent(self, child_id) -> None:
        handlers.refresh_consent(self.store, child_id)

    # consent's events feed its projection (store.py); a holder it no longer covers lapses
    on_consent_granted = handlers.consent_projection("consent.granted")
    on_consent_withdrawn = handlers.consent_projection("consent.withdrawn")
    on_consent_superseded = handlers.consent_projection("consent.superseded")
    on_consent_expired = handlers.consent_projection("consent.expired")

    @reliable_event_handler("consent", "consent.guardianship_changed")
    def on_guardianship_changed(self, payload) -> None:
        handlers.guardianship_changed(self.store, payload)

    @reliable_event_handler("consent", "consent.protection_changed")
    def on_protection_changed(self, payload) -> None:
        handlers.protection_changed(self.store, payload)
