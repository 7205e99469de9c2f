"""The stafettlogg as one aggregate (cosmicpython's ``domain/model.py``).

``Log`` wraps the log's row and its participants (the ORM rows of models.py) and is the
only thing that changes them: every change is a method that checks its rules first
(domain.py's), then changes the rows, creates the new ones, counts one version bump and
raises its event. It needs no session: the unit of work (store.py) gives it what it
read, and afterwards stores the rows it created (``collect_rows``), emits its events
(``collect_events``) and applies its version bumps (``changes``, ``expected_version``)
under the row lock just before commit (versions.py). The unit tests drive it on plain
rows (tests/unit/logs/test_model.py).

Who may call a change (``domain.require_*``) is checked by the entrypoint first, in the
order the API promises (who before what: a 403 before a 404 before a 422 before a 412).
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Callable

from services.logs import domain, events
from services.logs.domain import (CLOSED, GUARDIAN, MEMBER, OPEN, STAFETTHOLDER, Limits,
                                  is_active)
from stafett.coverage import Covered
from services.logs.models import (AppliedHandover, Entry, Evaluation, LevelChange,
                                  Measure, Meeting, MeetingInvite, Participant, Proposal)
from services.logs.models import Log as LogRow
from stafett.clock import local_today
from stafett.errors import Conflict, NotFound, ValidationFailed, coded
from stafett.events import utcnow
from stafett.ids import new_id

NO_COVERAGE = Covered()


class Log:
    """One log: its row, its participants, and what a unit of work changed of them.

    ``coverage``: what consent covers today (stafett.coverage.Covered); ``count_measures``: how
    many measures the log holds, asked only when one is added (the cap); ``claim_lapse``:
    whether this unit of work is the one to record the holder's lapse (store.py: a
    conditional update, so a lapse is recorded once also with several replicas)."""

    def __init__(self, row: LogRow, participants=(), coverage: Covered = NO_COVERAGE,
                 today: date | None = None, limits: Limits = Limits(),
                 count_measures: Callable[[], int] = lambda: 0,
                 claim_lapse: Callable[[Participant], bool] = lambda holder: True):
        self.row, self.participants = row, list(participants)
        self.coverage, self.today, self.limits = coverage, today or date.today(), limits
        self._count_measures, self._measures = count_measures, None
        self._claim_lapse = claim_lapse
        self.changes = 0                       # version bumps owed, one per change
        self.expected_version: int | None = None  # If-Match, checked again at commit
        self._rows: list = []
        self._events: list[tuple[str, dict]] = []

    # -- what it is -------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def child_id(self) -> str:
        return self.row.child_id

    @property
    def is_open(self) -> bool:
        return self.row.status == OPEN

    @property
    def holder(self) -> Participant | None:
        """The participant holding the role, able to act or not (a lapse not yet
        recorded): whom the events name."""
        return domain.stafettholder_row(self.participants)

    def acting_holder(self) -> Participant | None:
        """The stafettholder who can act today, or None: the log has none."""
        return domain.current_stafettholder(self.participants, self.today, self.coverage)

    def participant(self, participant_id: str) -> Participant:
        found = next((p for p in self.participants if p.id == participant_id), None)
        if found is None:
            raise NotFound("no such participant in this log", code="participant.not_found")
        return found

    # -- what the unit of work takes from it ----------------------------------------------

    def collect_rows(self) -> list:
        rows, self._rows = self._rows, []
        return rows

    def collect_events(self) -> list[tuple[str, dict]]:
        raised, self._events = self._events, []
        return raised

    def collect_changes(self) -> tuple[int, int | None]:
        """The version bumps owed and the version they are conditional on (versions.py)."""
        owed, self.changes = (self.changes, self.expected_version), 0
        return owed

    def _add(self, row):
        self._rows.append(row)
        return row

    def _changed(self, event_type: str | None = None, data: dict | None = None) -> None:
        """One change: one version bump, and its event if it has one."""
        self.changes += 1
        if event_type is not None:
            self._events.append((event_type, data))

    def _tell(self, event_type: str, data: dict) -> None:
        """An event of something that does not change the log itself (its version)."""
        self._events.append((event_type, data))

    def expect_version(self, expected, required: bool = True) -> None:
        """If-Match on the log: checked now, and again under the row lock at commit.
        ``required`` False: a missing version is no condition at all."""
        if expected is None and not required:
            return
        domain.check_version(expected, self.row.version)
        self.expected_version = int(expected)

    def require_open(self) -> None:
        domain.require_open(self.row)

    def require_room_for_handover(self) -> None:
        """Room for those a handover adds, so applying it is never refused."""
        self.require_open()
        domain.check_room(len(self.participants), self.limits.participants, "participants",
                          needed=domain.HANDOVER_PARTICIPANTS)

    # -- the log ----------------------------------------------------------------------------

    @classmethod
    def open(cls, child_id: str, level: int, parties: dict, holder: dict, coverage: Covered,
             today: date) -> "Log":
        """A new log with ``holder`` (a staff member, consent's ``staff_member``) as its
        stafettholder, the child and its guardians (consent's ``child_parties``)."""
        row = LogRow(id=new_id(), child_id=child_id, status=OPEN,
                     child_birth_date=date.fromisoformat(parties["child"]["birth_date"]),
                     child_protected=bool(parties.get("protected")), level=level,
                     opened_at=utcnow(), version=1)
        log = cls(row, [], coverage, today)
        log._add(row)
        first = log._new_staff(holder, STAFETTHOLDER)
        for kind, role, person in [("child", domain.CHILD, parties["child"]),
                                   *[("guardian", GUARDIAN, g) for g in parties["guardians"]]]:
            log._new_family(kind, role, person["id"], person["name"], row.opened_at)
        log._add(LevelChange(id=new_id(), log_id=row.id, level=level, changed_at=row.opened_at,
                             changed_by=first.id))
        log._tell(events.OPENED, {"level": level, "stafettholder_person_id": holder["id"],
                                  "stafettholder_agency": holder["agency"]})
        return log

    def change_level(self, level: int, by: Participant) -> None:
        """The BTI level, kept in its history (an unchanged level is a change too)."""
        previous = self.row.level
        if level != previous:
            self.row.level = level
            self._add(LevelChange(id=new_id(), log_id=self.id, level=level,
                                  changed_at=utcnow(), changed_by=by.id))
            self._tell(events.LEVEL_CHANGED, {"from_level": previous, "to_level": level})
        self._changed()

    def close(self, reason: str) -> None:
        self.require_open()
        self.row.status, self.row.closed_at, self.row.close_reason = CLOSED, utcnow(), reason
        self._changed(events.CLOSED, {
            "participant_person_ids": sorted({p.person_id for p in self.participants
                                              if is_active(p, self.today)}),
            "stafettholder_person_id": events.person_id(self.holder)})

    def mark_protected(self, protected: bool) -> None:
        """The child's case has (or no longer has) a protective address code."""
        self.row.child_protected = bool(protected)

    # -- the stafettholder: exactly one who can act ---------------------------------------

    def require_may_pass_baton(self, viewer: domain.Viewer) -> None:
        domain.require_may_pass_baton(viewer, self.acting_holder())

    def set_stafettholder(self, participant_id: str) -> None:
        """Pass the role to a staff participant who can act; while the log has none, the
        lapse is recorded first."""
        self.require_open()
        target = self.participant(participant_id)
        if target.kind != "staff":
            raise ValidationFailed("the stafettholder must be active staff in the log",
                                   {"participant_id": ["not active staff in this log"]},
                                   code="participant.not_active_staff")
        domain.check_new_stafettholder(target, self.today, self.coverage)
        holder = self.acting_holder()
        if holder is None:
            self.lapse()
        self._move_baton(holder, target, MEMBER)

    def _move_baton(self, holder: Participant | None, target: Participant,
                    holder_becomes: str) -> None:
        """``holder`` None: the log had no stafettholder, and ``target`` takes the baton."""
        if holder is not None and holder.id == target.id:
            raise Conflict("that person already holds the stafettholder role",
                           code="participant.already_stafettholder")
        if holder is not None:
            holder.role = holder_becomes
        target.role = STAFETTHOLDER
        self._changed(events.STAFETTHOLDER_CHANGED, {
            "from_person_id": holder.person_id if holder else None,
            "to_person_id": target.person_id, "to_agency": target.agency})

    def lapse(self) -> bool:
        """If the stafettholder can no longer act: clear the role and tell the remaining
        staff and the guardians (log.stafettholder_lapsed), once."""
        holder = domain.lapsed_stafettholder(self.participants, self.today, self.coverage)
        if holder is None or not self.is_open:
            return False
        reason = domain.lapse_reason(holder, self.today, self.coverage)
        if not self._claim_lapse(holder):
            return False
        domain.clear_stafettholder(holder)
        self._changed(events.STAFETTHOLDER_LAPSED, {
            "from_person_id": holder.person_id, "from_agency": holder.agency,
            "reason": reason,
            **domain.told_of_lapse(self.participants, holder, self.today, self.coverage)})
        return True

    def hand_over(self, handover_id: str, to_person_id: str, receiving_person_ids,
                  grace_days: int, staff_member: Callable[[str], dict]) -> None:
        """Move the baton to the receiver (``staff_member``: consent's answer for a person
        not yet active in the log); the sender's role ends today, and reading goes on
        through the grace period only."""
        self.require_open()
        holder = self.holder  # None: the role had lapsed
        receiving = {}
        for person_id in dict.fromkeys([to_person_id, *receiving_person_ids]):
            existing = next((p for p in self.participants if p.person_id == person_id
                             and is_active(p, self.today)), None)
            staff = ({"agency": existing.agency, "agency_type": existing.agency_type}
                     if existing else staff_member(person_id))
            domain.check_receiving_covered(staff, self.coverage)
            receiving[person_id] = existing or self._new_staff(staff, MEMBER)
        self._move_baton(holder, receiving[to_person_id], domain.FORMER)
        if holder is not None:
            holder.active_until = self.today - timedelta(days=1)
            holder.read_only_until = (self.today + timedelta(days=int(grace_days))
                                      if int(grace_days) > 0 else None)
        self._add(AppliedHandover(handover_id=handover_id, log_id=self.id,
                                  from_person_id=events.person_id(holder) or "",  # "": none
                                  to_person_id=to_person_id, applied_at=utcnow()))

    # -- participants -----------------------------------------------------------------------

    def add_participant(self, data: dict, staff_member: Callable[[str], dict]) -> Participant:
        """A staff member (``staff_member``: consent's answer) whose agency consent covers."""
        self.require_open()
        staff = staff_member(data["person_id"])
        domain.check_new_participant(staff, self.coverage, self.participants, self.today)
        domain.check_room(len(self.participants), self.limits.participants, "participants")
        participant = self._new_staff(staff, MEMBER, data["active_until"])
        self._changed(events.PARTICIPANT_ADDED, events.participant_data(participant))
        return participant

    def remove_participant(self, participant_id: str, viewer: domain.Viewer,
                           expected_version) -> Participant:
        self.require_open()
        participant = self.participant(participant_id)  # a missing one: 404 first
        self.expect_version(expected_version)
        domain.check_removal(participant, viewer)
        participant.removed_at = utcnow()
        self._changed(events.PARTICIPANT_REMOVED, events.participant_data(participant))
        return participant

    def remove_guardians(self, person_ids, now) -> None:
        """Those who lost parental responsibility (population register): history kept,
        access gone, in an open log or a closed one."""
        for participant in self.participants:
            if (participant.kind == "guardian" and participant.removed_at is None
                    and participant.person_id in set(person_ids)):
                participant.removed_at = now
                self._changed(events.PARTICIPANT_REMOVED, events.participant_data(participant))

    def add_guardians(self, person_ids, names: dict, now) -> None:
        """New guardians join an open log (a closed one is not reopened to anyone);
        ``names``: those consent still names as guardians, by person id."""
        if not self.is_open:
            return
        present = {p.person_id for p in self.participants
                   if p.kind == "guardian" and p.removed_at is None}
        for person_id in sorted(set(person_ids) - present):
            if person_id not in names:
                continue  # no longer a guardian by the time we asked: nothing to add
            participant = self._new_family("guardian", GUARDIAN, person_id, names[person_id],
                                           now)
            self._changed(events.PARTICIPANT_ADDED, events.participant_data(participant))

    def _new_staff(self, staff: dict, role: str, active_until: date | None = None) -> Participant:
        return self._new_participant(Participant(
            id=new_id(), log_id=self.id, person_id=staff["id"], kind="staff", role=role,
            display_name=staff["name"], title=staff.get("title"), agency=staff["agency"],
            agency_type=staff["agency_type"], municipality=staff.get("municipality"),
            active_from=self.today, active_until=active_until, added_at=utcnow()))

    def _new_family(self, kind: str, role: str, person_id: str, name: str, now) -> Participant:
        return self._new_participant(Participant(
            id=new_id(), log_id=self.id, person_id=person_id, kind=kind, role=role,
            added_at=now, display_name=name, active_from=self.today))

    def _new_participant(self, participant: Participant) -> Participant:
        self.participants.append(participant)
        return self._add(participant)

    # -- measures and evaluations -----------------------------------------------------------

    def add_measure(self, data: dict, proposer: Participant, meeting_id: str | None = None,
                    proposal_id: str | None = None) -> Measure:
        self.require_open()
        responsible = domain.check_measure(data, self.participants, self.today)
        if self._measures is None:
            self._measures = self._count_measures()
        domain.check_room(self._measures, self.limits.measures, "measures")
        measure = self._add(Measure(id=new_id(), log_id=self.id, proposer_id=proposer.id,
                                    created_at=utcnow(), version=1, meeting_id=meeting_id,
                                    proposal_id=proposal_id, **data))
        self._measures += 1
        self._changed(events.MEASURE_ADDED, events.measure_data(measure, responsible, proposer,
                                                                self.holder))
        return measure

    def update_measure(self, measure: Measure, data: dict, expected_version) -> Measure:
        self.require_open()
        domain.check_version(expected_version, measure.version)
        domain.check_measure_fields({"start_date": measure.start_date, **data},
                                    self.participants, self.today)
        for field, value in data.items():
            setattr(measure, field, value)
        if "evaluate_by" in data:
            measure.evaluate_by_set_on = self.today
        measure.version += 1
        measure.updated_at = utcnow()
        self._changed(events.MEASURE_UPDATED, self._measure_event(measure))
        return measure

    def evaluate(self, measure: Measure, data: dict, evaluator: Participant) -> Evaluation:
        self.require_open()
        domain.check_evaluable(measure)
        domain.check_evaluation_date(measure, data["evaluated_on"] or self.today, local_today())
        evaluation = self._add(Evaluation(
            id=new_id(), measure_id=measure.id, outcome=data["outcome"], text=data["text"],
            child_view=data["child_view"], evaluator_id=evaluator.id,
            evaluated_on=data["evaluated_on"] or self.today, created_at=utcnow()))
        measure.version += 1
        self._changed(events.MEASURE_EVALUATED, {**self._measure_event(measure),
                                                 "evaluation_id": evaluation.id,
                                                 "outcome": evaluation.outcome})
        return evaluation

    def _measure_event(self, measure: Measure) -> dict:
        return events.measure_data(measure, self.participant(measure.responsible_id),
                                   self.participant(measure.proposer_id), self.holder)

    # -- meetings ---------------------------------------------------------------------------

    def schedule_meeting(self, data: dict, by: Participant) -> Meeting:
        """A meeting of active participants, ending (if it says when) after it starts."""
        self.require_open()
        errors = {}
        if data["ends_at"] and data["ends_at"] <= data["starts_at"]:
            errors["ends_at"] = [coded("meeting.ends_before_start", "must be after starts_at")]
        invited = [p for p in self.participants if p.id in set(data["invited"])
                   and is_active(p, self.today)]
        if len(invited) != len(set(data["invited"])):
            errors["invited"] = [coded("meeting.invitee_not_participant",
                                       "every invited person must be an active participant")]
        if errors:
            raise ValidationFailed("the meeting is not valid", errors, code="meeting.invalid")
        meeting = self._add(Meeting(
            id=new_id(), log_id=self.id, starts_at=data["starts_at"], ends_at=data["ends_at"],
            mode=data["mode"], place=data["place"], agenda=data["agenda"], created_by=by.id,
            created_at=utcnow(), version=1))
        for participant in invited:
            self._add(MeetingInvite(meeting_id=meeting.id, participant_id=participant.id))
        self._changed(events.MEETING_SCHEDULED, events.meeting_data(
            meeting, [p.person_id for p in invited], self.holder))
        return meeting

    def record_minutes(self, meeting: Meeting, invites, data: dict, expected_version,
                       by: Participant) -> None:
        """Minutes, attendance (of those invited), and decisions that become measures in
        the same step. The minutes change the meeting's version; each decision the log's."""
        self.require_open()
        domain.check_version(expected_version, meeting.version)
        domain.check_meeting_begun(meeting, utcnow())
        unknown = set(data["attended"]) - {i.participant_id for i in invites}
        if unknown:
            raise ValidationFailed("attendance names someone not invited",
                                   {"attended": ["only invited participants can attend"]},
                                   code="meeting.attendee_not_invited")
        for invite in invites:
            invite.attended = invite.participant_id in set(data["attended"])
        meeting.minutes, meeting.minuted_at = data["minutes"], utcnow()
        meeting.version += 1
        for index, decision in enumerate(data["decisions"]):
            try:
                self.add_measure(decision, proposer=by, meeting_id=meeting.id)
            except ValidationFailed as exc:
                raise ValidationFailed(exc.detail, {f"decisions.{index}": exc.errors},
                                       code=exc.code, error_codes={
                                           f"decisions.{index}.{field}": codes
                                           for field, codes in exc.error_codes.items()})
        self._tell(events.MEETING_MINUTED, {"meeting_id": meeting.id, "attendee_person_ids": sorted(
            self.participant(i).person_id for i in data["attended"])})

    # -- entries and proposals --------------------------------------------------------------

    def add_entry(self, data: dict, viewer: domain.Viewer) -> Entry:
        self.require_open()
        domain.check_entry(viewer, data["kind"], data["visibility"])
        entry = self._add(Entry(id=new_id(), log_id=self.id, kind=data["kind"],
                                visibility=data["visibility"], text=data["text"],
                                author_id=viewer.participant.id, created_at=utcnow()))
        self._changed(events.ENTRY_ADDED, {"entry_id": entry.id, "kind": entry.kind,
                                           "visibility": entry.visibility})
        return entry

    def propose(self, data: dict, viewer: domain.Viewer) -> Proposal:
        """The child and the guardians propose; the stafettholder answers."""
        self.require_open()
        domain.check_proposer(viewer)
        proposal = self._add(Proposal(id=new_id(), log_id=self.id,
                                      proposer_id=viewer.participant.id, status="proposed",
                                      created_at=utcnow(), **data))
        self._changed(events.PROPOSAL_MADE, {
            "proposal_id": proposal.id, "proposer_person_id": viewer.participant.person_id,
            "stafettholder_person_id": events.person_id(self.holder)})
        return proposal

    def accept_proposal(self, proposal: Proposal, data: dict, by: Participant) -> Measure:
        """It becomes a measure; the proposer stays its proposer."""
        self.require_open()
        domain.check_answerable(proposal)
        measure = self.add_measure({
            "title": proposal.title, "description": proposal.description,
            "goal": data.get("goal") or proposal.goal or proposal.title,
            "arena": proposal.arena, "responsible_id": data["responsible_id"],
            "start_date": data["start_date"], "evaluate_by": data["evaluate_by"],
            "status": "planned"}, proposer=self.participant(proposal.proposer_id),
            proposal_id=proposal.id)
        self._answer(proposal, "accepted", by, measure_id=measure.id)
        return measure

    def decline_proposal(self, proposal: Proposal, data: dict, by: Participant) -> None:
        self.require_open()
        domain.check_answerable(proposal)
        proposal.decline_reason = data["reason"]
        self._answer(proposal, "declined", by)

    def _answer(self, proposal: Proposal, decision: str, by: Participant,
                measure_id: str | None = None) -> None:
        proposal.status, proposal.answered_at = decision, utcnow()
        proposal.answered_by, proposal.measure_id = by.id, measure_id
        self._changed(events.PROPOSAL_ANSWERED, {
            "proposal_id": proposal.id, "decision": decision,
            "proposer_person_id": self.participant(proposal.proposer_id).person_id,
            "measure_id": measure_id})
