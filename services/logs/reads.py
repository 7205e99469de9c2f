"""The logs service's reads beyond one log's lists: the actor's logs, the access log and an
agency's audit, a meeting's preparation, the statistics, the whole-log documents (FHIR,
handover summary), whether staff take part in a child's log. Each is recorded as one
access (stafett.audit); the rules of who may read are domain.py's, the pages lists.py's,
what each viewer sees views.py's."""
from __future__ import annotations

from nameko.rpc import rpc
from sqlalchemy import select

from services.logs import domain, lists, views
from services.logs.fhir import log_bundle
from services.logs.models import Log as LogRow, Participant
from services.logs.schemas import AccessRecordView, LogSummary, TimelineItem
from services.logs.stats import statistics_from_counts
from services.logs.summary import handover_summary
from stafett.actor import STAFF, SYSTEM
from stafett.audit import access_table, audited_work
from stafett.coverage import Covered
from stafett.errors import EXPECTED, NotFound
from stafett.events import as_utc
from stafett.paging import bounded, decode_key, keyset_page, newest_first, visible_page


def my_logs(store, limit: int, cursor: str | None) -> dict:
    """One page of the logs the actor has a role in, newest first, with the badges staff
    work from; for an agency system, the logs its agency takes part in."""
    actor, candidates = store.actor, _candidate_log_ids(store.actor)

    def fetch(after, n):
        if candidates is None:
            return []
        return store.db.scalars(newest_first(select(LogRow).where(LogRow.id.in_(candidates)),
                                             LogRow.opened_at, LogRow.id, after).limit(n)).all()

    with audited_work(store.db, actor, "list", "logs"):  # a bad cursor is recorded too
        result = visible_page(fetch, lambda log: _log_summary(store, log), limit, cursor,
                              lambda log: (log.opened_at, log.id))
    return {**result, "items": LogSummary(many=True).dump(result["items"])}


def _candidate_log_ids(actor):
    """The logs that may be the actor's (each is still authorized): those naming the
    person, or for an agency system those naming a staff member of its agency."""
    if actor is None:
        return None
    if actor.kind == SYSTEM:
        if not actor.agency:
            return None
        return select(Participant.log_id).where(Participant.kind == "staff",
                                                Participant.agency == actor.agency)
    if not actor.person_id:
        return None
    return select(Participant.log_id).where(Participant.person_id == actor.person_id)


def _log_summary(store, log: LogRow) -> dict | None:
    """The log's line in a list, or None if the actor may not see it."""
    try:
        viewer = domain.authorize(store.actor, store.participants(log.id),
                                  store.coverage(log.child_id), store.today,
                                  store.child_sees(log.child_id))
    except NotFound:
        return None
    return {"id": log.id, "child_id": log.child_id, "status": log.status,
            "level": log.level, "viewer_role": viewer.role,
            **lists.measure_badges(store.db, log.id, store.today)}


def takes_part(store, child_id: str) -> bool:
    """Whether the actor (staff) has a part in one of the child's logs, open or closed (a
    former stafettholder during the read-only days after a handover too). The consent
    service has checked that a consent covers the actor's agency, so this asks nothing
    back (no RPC cycle) and looks at participation only."""
    actor = store.actor
    if actor is None or actor.kind != STAFF:
        return False
    covered = Covered(frozenset({actor.agency}))
    mine = select(Participant.log_id).where(Participant.person_id == actor.person_id)
    for log in store.db.scalars(select(LogRow).where(LogRow.child_id == child_id,
                                                     LogRow.id.in_(mine))).all():
        try:
            domain.authorize(actor, store.participants(log.id), covered,
                             store.today, False)  # staff only
        except NotFound:
            continue
        return True
    return False


def access_log(work, limit: int, cursor: str | None) -> dict:
    """A log's access records, newest first, as the family and the stafettholder read them
    (work: the read's unit of work, store.LogWork, already recorded)."""
    # keyset on the chain's sequence: every read adds a record at the top
    result = keyset_page(_access_rows(work.store.db, access_table.c.subject_id == work.log.id,
                                      limit, cursor), bounded(limit), lambda r: r["seq"])
    people = {f"person:{p.person_id}": p for p in work.log.participants}
    result["items"] = AccessRecordView(many=True).dump([
        {"at": as_utc(r["at"]), "who": _who(r, people), "role": r["role"],
         "agency_type": people[r["actor_ref"]].agency_type
         if r["actor_ref"] in people else None,
         "action": r["action"], "outcome": r["outcome"],
         "protected": bool(r["protected"])} for r in result["items"]])
    return result


def _access_rows(session, condition, limit, cursor) -> list:
    """Access records matching ``condition``, newest first, below the cursor's key."""
    query = select(access_table).where(condition)
    after = decode_key(cursor)
    if after is not None:
        query = query.where(access_table.c.seq < after)
    return session.execute(query.order_by(access_table.c.seq.desc())
                           .limit(bounded(limit) + 1)).mappings().all()


def _who(record, people) -> str:
    person = people.get(record["actor_ref"])
    if person is not None:
        return person.display_name
    if record["actor_ref"].startswith("system:"):
        return "Fagsystem"
    return "Stafett"


def timeline(work, limit, cursor: str | None, newest_first: bool) -> dict:
    """One page of the log's story, oldest first (or newest first); a cursor we did not give
    out is refused (and recorded: work is the read's unit of work, store.LogWork)."""
    lists.check_timeline_cursor(work.log.id, cursor, newest_first)
    return lists.timeline_page(work.store.db, work.log.row, work.viewer, limit, cursor,
                               newest_first)


def meeting_preparation(work, meeting) -> dict:
    """For a meeting: the open measures, those whose evaluation is due by then, and what
    changed since the previous meeting (work: the read's unit of work, store.LogWork)."""
    db, log_id, today = work.store.db, work.log.id, work.store.today
    measures = [m for m in lists.all_measures(db, log_id)  # the cap bounds them
                if m.status in domain.OPEN_MEASURE_STATES]
    extras = lists.measure_extras(db, [m.id for m in measures])
    since = lists.previous_meeting_start(db, log_id, meeting)
    changes = lists.changes_since(db, work.log.row, work.viewer, since)
    prepared = views.preparation(measures, extras, meeting, since, work.log.participants, today)
    dump = lambda ms: [views.MEASURE_VIEWS["staff"]().dump(m) for m in ms]  # noqa: E731
    return {"meeting_id": meeting.id,
            "previous_meeting_at": since.isoformat() if since else None,
            "open_measures": dump(prepared["open_measures"]),
            "evaluations_due": dump(prepared["evaluations_due"]),
            "changes_since_last_meeting": TimelineItem(many=True).dump(changes["items"]),
            "more_changes_cursor": changes["next_cursor"]}


def page(found: dict, dump) -> dict:
    """A page of a log's list as the viewer sees it (``dump``: one row's view)."""
    return {"items": [dump(row) for row in found["items"]], "next_cursor": found["next_cursor"]}


def statistics(store) -> dict:
    """De-identified counts for planning: no log, child or person can be picked out."""
    domain.require_statistics_reader(store.actor)
    with audited_work(store.db, store.actor, "read", "statistics"):
        counts = lists.statistics_counts(store.db)  # counted in the database
    return statistics_from_counts(counts, int(store.config.get("STATS_MIN_COUNT", 5)))


def fhir(work) -> dict:
    """A whole-log document: every measure (at most LOG_MAX_MEASURES) with its latest
    evaluation, the participants (at most LOG_MAX_PARTICIPANTS + a handover's)."""
    db, log = work.store.db, work.log
    return log_bundle(log.row, log.participants, lists.all_measures(db, log.id),
                      lists.latest_evaluation_of_each(db, log.id), work.store.today)


def summary_for_handover(work) -> dict:
    """A whole-log document bounded like the FHIR export, with the newest 20 of the child's
    own words and of the proposals waiting for an answer."""
    db, log = work.store.db, work.log
    return handover_summary(log.row, log.participants, lists.all_measures(db, log.id),
                            lists.latest_evaluation_of_each(db, log.id),
                            lists.newest_child_voices(db, log.id),
                            lists.newest_open_proposals(db, log.id), work.store.today)


class NoticeEndpoints:
    """The entrypoint the notifications service asks, as the recipient, for their inbox."""

    @rpc(expected_exceptions=EXPECTED)
    def notice_details(self, refs: list) -> dict:
        return notice_details(self.store, refs)


def notice_details(store, refs: list) -> dict:
    """What the actor's notifications may say: per log they may read, the child's first
    name and the named measures, meetings and proposals. A log they may not read is left
    out (each read is recorded as an access, as any read of the log)."""
    details = {}
    for log_id, ids in views.refs_by_log(refs).items():
        try:
            with store.in_log(log_id, "read_notices") as work:
                details[log_id] = views.notice_details(
                    work.viewer, work.log.participants, lists.named(store.db, log_id, ids))
        except NotFound:
            continue
    return details
