"""The lists of a log, read one page at a time in the database (keyset cursors).

Every list that grows with use is paged here, by the service that owns it: a page loads
only its own rows (``limit + 1``), whatever the list's length, and what a viewer may not
see is left out in the query, so a page is never short because of hidden rows. The
orders (newest first, what a reader of a growing list wants), all on indexed keys
(migration 0004):

| list | order (largest first) | who sees what |
|---|---|---|
| entries | ``created_at``, ``id`` | the family: not the staff-only ones |
| measures | ``created_at``, ``id`` | everyone with a role |
| evaluations of a measure | ``evaluated_on``, ``created_at``, ``id`` | everyone with a role |
| meetings | ``starts_at``, ``id`` (the latest planned first) | everyone with a role |
| proposals | ``created_at``, ``id`` | the child: its own |
| timeline | ``at``, kind, row id (oldest or newest first) | as above |

A cursor is bound to its list and owner (``entries:<log id>``): another list's, another
log's or another order's is refused as one we did not give out. It holds a position, never
looked up, so it tells nothing about the rows it names.

Database access only: views.py turns the rows into what each viewer sees.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timezone

from sqlalchemy import and_, func, not_, select, true
from sqlalchemy.orm import aliased

from services.logs import domain
from services.logs.models import (Entry, Evaluation, LevelChange, Log, Measure, Meeting,
                                  MeetingInvite, Participant, Proposal)
from services.logs.stats import FAMILY, NOT_EVALUATED, UNKNOWN, ChildCounts
from stafett.events import as_utc
from stafett.paging import Keyset, bounded, merged_page, utc_key

#: what GET /logs/{id} embeds of each list: the newest this many, with the total and the
#: cursor to the next page
RECENT = 20
#: the latest evaluations embedded in each measure (the rest: the measure's evaluations)
EVALUATIONS_SHOWN = 3
#: the latest level changes in a log's view (the rest: the timeline)
LEVELS_SHOWN = 20

ENTRIES = Keyset(Entry.created_at, Entry.id)
MEASURES = Keyset(Measure.created_at, Measure.id)
MEETINGS = Keyset(Meeting.starts_at, Meeting.id)
PROPOSALS = Keyset(Proposal.created_at, Proposal.id)
EVALUATIONS = Keyset(Evaluation.evaluated_on, Evaluation.created_at, Evaluation.id)
#: newest first by evaluation: the first is the latest (domain.latest_outcome)
EVALUATION_ORDER = (Evaluation.evaluated_on.desc(), Evaluation.created_at.desc(),
                    Evaluation.id.desc())


def scope(kind: str, owner_id: str) -> str:
    return f"{kind}:{owner_id}"


def api_path(log_id: str, kind: str, cursor: str | None, limit: int = RECENT) -> str | None:
    """The public API's link to the next page of a log's list (None at the end)."""
    if cursor is None:
        return None
    return f"/api/v1/logs/{log_id}/{kind}?limit={limit}&cursor={cursor}"


# -- what a viewer may see, as conditions (the same rules as domain.entry_visible and
#    domain.proposal_visible, which tests/unit/logs/test_lists.py holds them to) ----------

def entries_seen_by(viewer: domain.Viewer):
    return true() if viewer.is_staff else Entry.visibility == "all"


def proposals_seen_by(viewer: domain.Viewer):
    if viewer.role == domain.CHILD:
        return Proposal.proposer_id == viewer.participant.id
    return true()


def _entries(log_id, viewer):
    return select(Entry).where(Entry.log_id == log_id, entries_seen_by(viewer))


def _proposals(log_id, viewer):
    return select(Proposal).where(Proposal.log_id == log_id, proposals_seen_by(viewer))


def _measures(log_id):
    return select(Measure).where(Measure.log_id == log_id)


def _meetings(log_id):
    return select(Meeting).where(Meeting.log_id == log_id)


def _key(*names):
    return lambda row: tuple(getattr(row, name) for name in names)


# -- the pages --------------------------------------------------------------------------

def entries_page(session, log_id: str, viewer, limit=None, cursor=None) -> dict:
    return ENTRIES.read(session, _entries(log_id, viewer), limit, cursor,
                        scope("entries", log_id), _key("created_at", "id"))


def proposals_page(session, log_id: str, viewer, limit=None, cursor=None) -> dict:
    return PROPOSALS.read(session, _proposals(log_id, viewer), limit, cursor,
                          scope("proposals", log_id), _key("created_at", "id"))


def measures_page(session, log_id: str, limit=None, cursor=None) -> dict:
    """A page of measures; ``evaluations[measure_id]`` holds each one's latest
    evaluations and ``evaluation_totals`` their counts."""
    result = MEASURES.read(session, _measures(log_id), limit, cursor,
                           scope("measures", log_id), _key("created_at", "id"))
    return {**result, **measure_extras(session, [m.id for m in result["items"]])}


def meetings_page(session, log_id: str, limit=None, cursor=None) -> dict:
    """A page of meetings; ``invites[meeting_id]`` holds each one's invitations (at most
    50 a meeting, schemas.MeetingIn)."""
    result = MEETINGS.read(session, _meetings(log_id), limit, cursor,
                           scope("meetings", log_id), _key("starts_at", "id"))
    return {**result, "invites": invites_of(session, [m.id for m in result["items"]])}


def evaluations_page(session, measure_id: str, limit=None, cursor=None) -> dict:
    return EVALUATIONS.read(session, select(Evaluation).where(
        Evaluation.measure_id == measure_id), limit, cursor, scope("evaluations", measure_id),
        _key("evaluated_on", "created_at", "id"))


def check_cursor(keyset: Keyset, kind: str, owner_id: str, cursor: str | None) -> None:
    """Refuse a cursor we did not give out for this list (before any work is done)."""
    keyset.decode(cursor, scope(kind, owner_id))


CURSOR_CHECKS = {"entries": ENTRIES, "measures": MEASURES, "meetings": MEETINGS,
                 "proposals": PROPOSALS, "evaluations": EVALUATIONS}


# -- what a page of measures or meetings carries with it ---------------------------------

def measure_extras(session, measure_ids: list[str], shown: int = EVALUATIONS_SHOWN) -> dict:
    """Each measure's ``shown`` latest evaluations (newest first, so the first is the
    latest: latest_outcome and is_overdue need no more) and how many it has."""
    if not measure_ids:
        return {"evaluations": {}, "evaluation_totals": {}, "evaluation_cursors": {}}
    latest = latest_evaluations(session, Evaluation.measure_id.in_(measure_ids), shown)
    totals = dict(session.execute(
        select(Evaluation.measure_id, func.count()).where(
            Evaluation.measure_id.in_(measure_ids)).group_by(Evaluation.measure_id)).all())
    cursors = {mid: EVALUATIONS.encode(_key("evaluated_on", "created_at", "id")(rows[-1]),
                                       scope("evaluations", mid))
               for mid, rows in latest.items() if totals.get(mid, 0) > len(rows)}
    return {"evaluations": latest, "evaluation_totals": totals, "evaluation_cursors": cursors}


def latest_evaluations(session, condition, shown: int) -> dict[str, list]:
    """The ``shown`` latest evaluations of each measure matching ``condition``, newest
    first (one query, a window per measure)."""
    rank = func.row_number().over(partition_by=Evaluation.measure_id,
                                  order_by=EVALUATION_ORDER).label("rank")
    ranked = select(Evaluation, rank).where(condition).subquery()
    row = aliased(Evaluation, ranked)
    found = defaultdict(list)
    for evaluation in session.scalars(select(row).where(ranked.c.rank <= shown).order_by(
            ranked.c.measure_id, ranked.c.rank)):
        found[evaluation.measure_id].append(evaluation)
    return dict(found)


def invites_of(session, meeting_ids: list[str]) -> dict[str, list]:
    found = defaultdict(list)
    if meeting_ids:
        for invite in session.scalars(select(MeetingInvite).where(
                MeetingInvite.meeting_id.in_(meeting_ids))):
            found[invite.meeting_id].append(invite)
    return dict(found)


# -- what GET /logs/{id} embeds ----------------------------------------------------------

def totals(session, log_id: str, viewer) -> dict[str, int]:
    """How many items of each list the viewer may see (one query, nothing loaded)."""
    def count(query):
        return select(func.count()).select_from(query.subquery()).scalar_subquery()

    row = session.execute(select(
        count(_entries(log_id, viewer)).label("entries"),
        count(_measures(log_id)).label("measures"),
        count(_meetings(log_id)).label("meetings"),
        count(_proposals(log_id, viewer)).label("proposals"))).one()
    return dict(row._mapping)


def recent(session, log_id: str, viewer, shown: int = RECENT) -> dict:
    """The first page (``shown`` items) of each of the log's lists, their totals and the
    cursors to the pages after them: what the log's view embeds."""
    entries = entries_page(session, log_id, viewer, shown)
    measures = measures_page(session, log_id, shown)
    meetings = meetings_page(session, log_id, shown)
    proposals = proposals_page(session, log_id, viewer, shown)
    counted = totals(session, log_id, viewer)
    pages = {"entries": entries, "measures": measures, "meetings": meetings,
             "proposals": proposals}
    return {**{kind: page["items"] for kind, page in pages.items()},
            "evaluations": measures["evaluations"],
            "evaluation_totals": measures["evaluation_totals"],
            "evaluation_cursors": measures["evaluation_cursors"],
            "invites": meetings["invites"],
            "levels": latest_levels(session, log_id),
            "lists": {kind: {"total": counted[kind], "next_cursor": page["next_cursor"],
                             "next": api_path(log_id, kind, page["next_cursor"], shown)}
                      for kind, page in pages.items()}}


def latest_levels(session, log_id: str, shown: int = LEVELS_SHOWN) -> list:
    """The latest level changes, oldest first."""
    return list(reversed(session.scalars(select(LevelChange).where(
        LevelChange.log_id == log_id).order_by(LevelChange.changed_at.desc(),
                                               LevelChange.id.desc()).limit(shown)).all()))


# -- whole-log documents: bounded by the caps on measures and participants ---------------

def all_measures(session, log_id: str) -> list:
    """Every measure of the log, oldest first: at most ``LOG_MAX_MEASURES`` (domain.Limits),
    for the FHIR export, the handover summary and a meeting's preparation."""
    return list(session.scalars(_measures(log_id).order_by(Measure.start_date,
                                                           Measure.created_at, Measure.id)))


def latest_evaluation_of_each(session, log_id: str) -> list:
    """The latest evaluation of each measure of the log (one per measure)."""
    found = latest_evaluations(session, Evaluation.measure_id.in_(
        select(Measure.id).where(Measure.log_id == log_id)), 1)
    return [rows[0] for rows in found.values()]


def newest_child_voices(session, log_id: str, shown: int = RECENT) -> list:
    """The child's own words shared with everyone, the newest ``shown``, oldest first."""
    rows = session.scalars(ENTRIES.ordered(select(Entry).where(
        Entry.log_id == log_id, Entry.kind == "child_voice", Entry.visibility == "all"))
        .limit(shown)).all()
    return list(reversed(rows))


def newest_open_proposals(session, log_id: str, shown: int = RECENT) -> list:
    """Proposals waiting for an answer, the newest ``shown``, oldest first."""
    rows = session.scalars(PROPOSALS.ordered(select(Proposal).where(
        Proposal.log_id == log_id, Proposal.status == "proposed")).limit(shown)).all()
    return list(reversed(rows))


# -- badges for a list of logs, counted in the database -----------------------------------

def _latest_outcome_of_measure():
    return (select(Evaluation.outcome).where(Evaluation.measure_id == Measure.id)
            .order_by(*EVALUATION_ORDER).limit(1).correlate(Measure).scalar_subquery())


def _overdue(today: date):
    """domain.is_overdue as a condition: open, past evaluate_by, and no evaluation since
    the cycle began (start_date, or the day evaluate_by was last moved)."""
    cycle_start = func.coalesce(Measure.evaluate_by_set_on, Measure.start_date)
    evaluated_since = select(Evaluation.id).where(
        Evaluation.measure_id == Measure.id,
        Evaluation.evaluated_on >= cycle_start).correlate(Measure).exists()
    return and_(Measure.status.in_(domain.OPEN_MEASURE_STATES), Measure.evaluate_by < today,
                not_(evaluated_since))


def measure_badges(session, log_id: str, today: date) -> dict[str, int]:
    """Open, overdue and red measures of a log (the badges staff work from), counted in
    the database: a list of logs loads no measure."""
    def count(condition):
        return select(func.count()).select_from(Measure).where(
            Measure.log_id == log_id, condition).scalar_subquery()

    row = session.execute(select(
        count(Measure.status.in_(domain.OPEN_MEASURE_STATES)).label("open_measures"),
        count(_overdue(today)).label("overdue_measures"),
        count(_latest_outcome_of_measure() == "red").label("red_measures"))).one()
    return dict(row._mapping)


def statistics_counts(session) -> ChildCounts:
    """Distinct children by (agency type, municipality) of the responsible person, arena
    and latest outcome of a measure, and the margins, counted in the database (stats.py
    turns them into the suppressed table)."""
    per_measure = select(
        func.coalesce(Participant.agency_type, FAMILY).label("agency_type"),
        func.coalesce(Participant.municipality, UNKNOWN).label("municipality"),
        Measure.arena.label("arena"),
        func.coalesce(_latest_outcome_of_measure(), NOT_EVALUATED).label("outcome"),
        Log.child_id.label("child_id")).select_from(Measure).join(
        Log, Log.id == Measure.log_id).outerjoin(
        Participant, Participant.id == Measure.responsible_id).subquery()

    def children(*names):
        keys = [per_measure.c[name] for name in names]
        grouped = select(*keys, func.count(per_measure.c.child_id.distinct())).group_by(*keys)
        return {tuple(row[:-1]): row[-1] for row in session.execute(grouped)}

    group = ("agency_type", "municipality")
    return ChildCounts(cells=children(*group, "arena", "outcome"),
                       arenas=children(*group, "arena"), outcomes=children(*group, "outcome"),
                       groups=children(*group))


# -- the timeline: a k-way merge of one keyset read per kind of event ---------------------

def timeline_page(session, log: Log, viewer, limit=None, cursor=None,
                  newest_first: bool = False) -> dict:
    """One page of everything that happened, oldest first (or newest first), as this
    viewer may see it. Each kind of event is its own keyset read (at, kind, row id) of at
    most ``limit + 1`` rows; the page is their merge, so a page costs 13 small reads (the
    opening and closing come with the log) whatever the log's length."""
    order = "newest" if newest_first else "oldest"
    streams = [_constant(_opened(log), newest_first)]
    if log.closed_at:
        streams.append(_constant(_closed(log), newest_first))
    streams += [_stream(session, newest_first, *spec) for spec in _kinds(log.id, viewer)]
    keyset = Keyset(Log.opened_at, "", Log.id, descending=newest_first)
    return merged_page(streams, keyset, bounded(limit), cursor,
                       scope(f"timeline-{order}", log.id))


#: what a meeting's preparation shows of the changes since the previous meeting
CHANGES_SHOWN = 50


def previous_meeting_start(session, log_id: str, meeting):
    """When the latest meeting before this one started (None: this is the first)."""
    found = session.scalar(select(func.max(Meeting.starts_at)).where(
        Meeting.log_id == log_id, Meeting.starts_at < meeting.starts_at))
    return as_utc(found) if found is not None else None


def changes_since(session, log: Log, viewer, since, shown: int = CHANGES_SHOWN) -> dict:
    """What happened since ``since`` (None: ever), newest first: the first ``shown``, and
    a cursor for the newest-first timeline while older ones since then remain."""
    page = timeline_page(session, log, viewer, shown, None, newest_first=True)
    items = [i for i in page["items"] if since is None or i["at"] > since]
    more = page["next_cursor"] if len(items) == len(page["items"]) else None
    return {"items": items, "next_cursor": more}


def check_timeline_cursor(log_id: str, cursor: str | None, newest_first: bool) -> None:
    order = "newest" if newest_first else "oldest"
    Keyset(Log.opened_at, "", Log.id).decode(cursor, scope(f"timeline-{order}", log_id))


def _item(at, kind, object_id, title=None, detail=None) -> dict:
    return {"at": as_utc(at), "kind": kind, "object_id": object_id, "title": title,
            "detail": detail}


def _opened(log):
    return ((as_utc(log.opened_at), "log_opened", log.id),
            _item(log.opened_at, "log_opened", log.id))


def _closed(log):
    return ((as_utc(log.closed_at), "log_closed", log.id),
            _item(log.closed_at, "log_closed", log.id))


def _constant(pair, descending: bool):
    def fetch(after, n):
        key = pair[0]
        if after is None or (key < utc_key(after) if descending else key > utc_key(after)):
            return [pair][:n]
        return []
    return fetch


def _stream(session, descending: bool, kind, at, row_id, query, item):
    """One kind of event: rows of ``query`` keyed (``at``, kind, ``row_id``)."""
    keyset = Keyset(at, kind, row_id, descending=descending)

    def fetch(after, n):
        rows = session.execute(keyset.ordered(query.where(at.is_not(None)), after)
                               .limit(n)).all()
        return [((as_utc(row.at), kind, row.row_id), item(row)) for row in rows]
    return fetch


def _utc_iso(moment) -> str:
    return as_utc(moment).astimezone(timezone.utc).isoformat()


def _kinds(log_id: str, viewer):
    """(kind, at column, row id column, query, row → item) for every kind of event."""
    first_level = (select(LevelChange.id).where(LevelChange.log_id == log_id)
                   .order_by(LevelChange.changed_at, LevelChange.id).limit(1).scalar_subquery())
    kinds = [
        ("level_changed", LevelChange.changed_at, LevelChange.id,
         select(LevelChange.changed_at.label("at"), LevelChange.id.label("row_id"),
                LevelChange.level).where(LevelChange.log_id == log_id,
                                         LevelChange.id != first_level),
         lambda r: _item(r.at, "level_changed", r.row_id, None, str(r.level))),
        ("participant_added", Participant.added_at, Participant.id,
         select(Participant.added_at.label("at"), Participant.id.label("row_id"),
                Participant.display_name, Participant.role).where(
             Participant.log_id == log_id, Participant.kind == "staff"),
         lambda r: _item(r.at, "participant_added", r.row_id, r.display_name, r.role)),
        ("participant_removed", Participant.removed_at, Participant.id,
         select(Participant.removed_at.label("at"), Participant.id.label("row_id"),
                Participant.display_name).where(Participant.log_id == log_id),
         lambda r: _item(r.at, "participant_removed", r.row_id, r.display_name)),
        ("measure_added", Measure.created_at, Measure.id,
         select(Measure.created_at.label("at"), Measure.id.label("row_id"), Measure.title,
                Measure.status).where(Measure.log_id == log_id),
         lambda r: _item(r.at, "measure_added", r.row_id, r.title, r.status)),
        ("measure_evaluated", Evaluation.created_at, Evaluation.id,
         select(Evaluation.created_at.label("at"), Evaluation.id.label("row_id"),
                Evaluation.measure_id, Evaluation.outcome, Measure.title).join(
             Measure, Measure.id == Evaluation.measure_id).where(Measure.log_id == log_id),
         lambda r: _item(r.at, "measure_evaluated", r.measure_id, r.title, r.outcome)),
        ("meeting_scheduled", Meeting.created_at, Meeting.id,
         select(Meeting.created_at.label("at"), Meeting.id.label("row_id"),
                Meeting.starts_at).where(Meeting.log_id == log_id),
         lambda r: _item(r.at, "meeting_scheduled", r.row_id, None, _utc_iso(r.starts_at))),
        ("meeting_minuted", Meeting.minuted_at, Meeting.id,
         select(Meeting.minuted_at.label("at"), Meeting.id.label("row_id")).where(
             Meeting.log_id == log_id),
         lambda r: _item(r.at, "meeting_minuted", r.row_id)),
    ]
    for entry_kind in domain.ENTRY_KINDS:
        kinds.append((
            f"entry_{entry_kind}", Entry.created_at, Entry.id,
            select(Entry.created_at.label("at"), Entry.id.label("row_id"), Entry.text).where(
                Entry.log_id == log_id, Entry.kind == entry_kind, entries_seen_by(viewer)),
            lambda r, k=entry_kind: _item(r.at, f"entry_{k}", r.row_id, None, r.text)))
    proposal = (Proposal.id.label("row_id"), Proposal.title)
    kinds.append((
        "proposal_made", Proposal.created_at, Proposal.id,
        select(Proposal.created_at.label("at"), *proposal).where(
            Proposal.log_id == log_id, proposals_seen_by(viewer)),
        lambda r: _item(r.at, "proposal_made", r.row_id, r.title)))
    for status in ("accepted", "declined"):
        kinds.append((
            f"proposal_{status}", Proposal.answered_at, Proposal.id,
            select(Proposal.answered_at.label("at"), *proposal).where(
                Proposal.log_id == log_id, Proposal.status == status,
                proposals_seen_by(viewer)),
            lambda r, s=status: _item(r.at, f"proposal_{s}", r.row_id, r.title)))
    return kinds


def named(session, log_id: str, ids: dict[str, list[str]]) -> dict[str, list]:
    """The log's measures, meetings and proposals with these ids (a notification's
    subjects), nothing of another log."""
    kinds = {"measures": Measure, "meetings": Meeting, "proposals": Proposal}
    return {kind: session.scalars(select(model).where(
        model.log_id == log_id, model.id.in_(ids.get(kind) or [""]))).all()
        for kind, model in kinds.items()}
