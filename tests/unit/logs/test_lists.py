"""The lists of a log read a page at a time in the database (services/logs/lists.py), on
the migrated schema: SQLite by default, PostgreSQL with ``--database postgres``.

The rows are test_views.py's: the view built from what the database gives each viewer is
the view test_views.py checks by hand; the timeline tests are the ones the in-memory
timeline had, now walked page by page through the merge of one keyset read per kind.
"""
from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from services.logs import domain, lists, stats, views
from services.logs.models import (Entry, Evaluation, LevelChange, Log, Measure, Meeting,
                                  MeetingInvite, Participant, Proposal)
from stafett.errors import BadRequest
from tests.support.databases import migrated_engine
from tests.unit.logs.test_views import (CHILD_VIEWER, ENTRIES, EVALUATIONS, GUARDIAN, INVITES,
                                        LEVELS, LOG, MEASURES, MEETINGS, PARTICIPANTS,
                                        PROPOSALS, STAFF, TODAY, VIEWERS, at, entry,
                                        evaluation, recent_of)



@pytest.fixture
def engine(request, tmp_path, database_backend):
    with migrated_engine(request, tmp_path, "logs", database_backend) as engine:
        yield engine


def rows(model, namespaces):
    return [model(**vars(ns)) for ns in namespaces]


@pytest.fixture
def db(engine):
    """test_views.py's log, written to the database."""
    with Session(engine) as session:
        session.add(Log(**vars(LOG)))
        session.flush()
        for model, namespaces in ((Participant, PARTICIPANTS), (Measure, MEASURES),
                                  (Evaluation, EVALUATIONS), (Meeting, MEETINGS),
                                  (MeetingInvite, INVITES), (Entry, ENTRIES),
                                  (Proposal, PROPOSALS), (LevelChange, LEVELS)):
            session.add_all(rows(model, namespaces))
            session.flush()
        session.commit()
    with Session(engine) as session:
        yield session


def ids(items) -> list[str]:
    return [item.id for item in items]


def walk(read_page, limit: int, between=None) -> list[list]:
    """Every page of a list; ``between(n)`` runs after page ``n`` (a change meanwhile)."""
    pages, cursor = [], None
    for n in range(1000):
        page = read_page(limit, cursor)
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(page["items"]) == limit  # only the last page may be short
        if between:
            between(n)
    raise AssertionError("the list did not end")


# -- what a log's view embeds -------------------------------------------------------------

@pytest.mark.parametrize("name", ["staff", "guardian", "child"])
def test_the_view_from_the_database_is_the_view_checked_by_hand(db, name):
    viewer = VIEWERS[name]
    read, expected = lists.recent(db, "log-1", viewer), recent_of(viewer)
    for kind in ("entries", "measures", "meetings", "proposals", "levels"):
        assert ids(read[kind]) == ids(expected[kind]), kind
    assert {k: ids(v) for k, v in read["evaluations"].items()} == {
        k: ids(v) for k, v in expected["evaluations"].items() if v}
    assert views.log_view(viewer, LOG, PARTICIPANTS, read, TODAY) == views.log_view(
        viewer, LOG, PARTICIPANTS, expected, TODAY)


def test_what_the_family_may_not_see_is_left_out_in_the_query(db):
    for viewer in (STAFF, GUARDIAN, CHILD_VIEWER):
        expected_entries = [e.id for e in ENTRIES if domain.entry_visible(e, viewer)]
        expected_proposals = [p.id for p in PROPOSALS if domain.proposal_visible(p, viewer)]
        assert sorted(ids(db.scalars(select(Entry).where(
            lists.entries_seen_by(viewer))))) == sorted(expected_entries)
        assert sorted(ids(db.scalars(select(Proposal).where(
            lists.proposals_seen_by(viewer))))) == sorted(expected_proposals)


def add_entries(db, count: int, first_minute: int = 0, prefix: str = "n"):
    """``count`` entries in March, two a minute (ties broken by id), every third staff-only,
    by the mother unless staff-only."""
    for n in range(count):
        staff_only = n % 3 == 0
        db.add(Entry(id=f"{prefix}-{first_minute * 2 + n:04d}", log_id="log-1", kind="note",
                     visibility="staff" if staff_only else "all", text=f"innlegg {n}",
                     author_id="p-holder" if staff_only else "p-mother",
                     created_at=at(3, 20) + timedelta(minutes=first_minute + n // 2)))
    db.commit()


def test_the_view_embeds_the_newest_and_links_to_the_rest(db):
    add_entries(db, 45)  # with the five above: 50 for staff, 33 for the family
    for viewer, total in ((STAFF, 50), (GUARDIAN, 33)):
        read = lists.recent(db, "log-1", viewer)
        info = read["lists"]["entries"]
        assert len(read["entries"]) == lists.RECENT and info["total"] == total
        assert info["next"] == (f"/api/v1/logs/log-1/entries?limit={lists.RECENT}"
                                f"&cursor={info['next_cursor']}")
        rest = walk(lambda limit, cursor: lists.entries_page(db, "log-1", viewer, limit,
                                                             cursor or info["next_cursor"]),
                    7)
        everything = ids(read["entries"]) + [e.id for page in rest for e in page]
        whole = lists.entries_page(db, "log-1", viewer, 200)
        assert whole["next_cursor"] is None and everything == ids(whole["items"])
        assert len(everything) == total
    assert all(info["next"] is None for kind, info in lists.recent(
        db, "log-1", STAFF)["lists"].items() if kind != "entries")


# -- keyset pages -------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [1, 2, 7, 16, 50])
def test_entries_page_newest_first_every_one_once_never_short(db, limit):
    add_entries(db, 45)
    for viewer in (STAFF, GUARDIAN, CHILD_VIEWER):
        pages = walk(lambda n, cursor: lists.entries_page(db, "log-1", viewer, n, cursor),
                     limit)
        walked = [e for page in pages for e in page]
        expected = sorted((e for e in db.scalars(select(Entry)) if domain.entry_visible(
            e, viewer)), key=lambda e: (e.created_at, e.id), reverse=True)
        assert ids(walked) == ids(expected)
        assert len(set(ids(walked))) == len(walked)


def test_entries_added_between_pages_neither_repeat_nor_shift_a_page(db):
    add_entries(db, 30)
    before = ids(lists.entries_page(db, "log-1", GUARDIAN, 200)["items"])

    def meanwhile(n):  # newer entries on top while the reader is on page n
        add_entries(db, 4, first_minute=100 + 10 * n, prefix=f"new{n}")

    pages = walk(lambda limit, cursor: lists.entries_page(db, "log-1", GUARDIAN, limit,
                                                          cursor), 3, between=meanwhile)
    assert [e.id for page in pages for e in page] == before


def loading(session) -> list:
    """The rows the session loads from now on (every object, as it is loaded)."""
    loaded = []
    event.listen(session, "loaded_as_persistent", lambda _, obj: loaded.append(obj))
    return loaded


def test_a_page_loads_only_its_own_rows(engine, db):
    add_entries(db, 300)
    with Session(engine) as session:
        loaded = loading(session)
        page = lists.entries_page(session, "log-1", STAFF, 1)
        assert len(page["items"]) == 1 and page["next_cursor"]
        assert len(loaded) == 2  # the page and the one that says there is more
    with Session(engine) as session:
        loaded = loading(session)
        read = lists.recent(session, "log-1", STAFF)
        assert read["lists"]["entries"]["total"] == 305
        assert len([o for o in loaded if isinstance(o, Entry)]) == lists.RECENT + 1


def test_proposals_page_gives_the_child_its_own(db):
    for n in range(9):
        db.add(Proposal(id=f"pr-{n:02d}", log_id="log-1",
                        proposer_id=("p-child", "p-mother", "p-father")[n % 3],
                        title=f"forslag {n}", description="", goal="", arena="home",
                        status="proposed", created_at=at(3, 1, 8) + timedelta(hours=n)))
    db.commit()
    for viewer, expected in ((CHILD_VIEWER, 5), (GUARDIAN, 12)):
        walked = [p for page in walk(lambda limit, cursor: lists.proposals_page(
            db, "log-1", viewer, limit, cursor), 2) for p in page]
        assert len(walked) == expected
        assert all(domain.proposal_visible(p, viewer) for p in walked)
        moments = [p.created_at for p in walked]
        assert moments == sorted(moments, reverse=True)


def test_measures_and_meetings_page_with_what_they_carry(db):
    pages = walk(lambda limit, cursor: lists.measures_page(db, "log-1", limit, cursor), 2)
    assert [ids(p) for p in pages] == [["m-sleep", "m-football"], ["m-reading"]]
    last = lists.measures_page(db, "log-1", 2, lists.measures_page(db, "log-1", 2)[
        "next_cursor"])
    assert ids(last["evaluations"]["m-reading"]) == ["ev-2", "ev-1"]
    meetings = lists.meetings_page(db, "log-1", 1)
    assert ids(meetings["items"]) == ["mt-2"]  # the latest planned first
    assert sorted(i.participant_id for i in meetings["invites"]["mt-2"]) == [
        "p-child", "p-holder"]
    assert set(meetings["invites"]) == {"mt-2"}  # only the page's


def test_a_measure_carries_its_latest_evaluations_and_a_cursor_to_the_rest(db):
    for n in range(10):
        db.add(Evaluation(id=f"ev-x{n}", measure_id="m-sleep", outcome="green", text="",
                          evaluator_id="p-holder", evaluated_on=date(2025, 2, 20 - n % 4),
                          created_at=at(2, 20, 9) + timedelta(minutes=n)))
    db.commit()
    extras = lists.measure_extras(db, ["m-sleep", "m-reading", "m-football"])
    latest = extras["evaluations"]["m-sleep"]
    assert len(latest) == lists.EVALUATIONS_SHOWN
    assert extras["evaluation_totals"] == {"m-sleep": 10, "m-reading": 2, "m-football": 1}
    assert set(extras["evaluation_cursors"]) == {"m-sleep"}
    whole = lists.evaluations_page(db, "m-sleep", 200)["items"]
    key = lambda e: (e.evaluated_on, e.created_at, e.id)  # noqa: E731
    assert ids(whole) == ids(sorted(whole, key=key, reverse=True))
    rest = [e for page in walk(lambda limit, cursor: lists.evaluations_page(
        db, "m-sleep", limit, cursor or extras["evaluation_cursors"]["m-sleep"]), 3)
        for e in page]
    assert ids(latest) + ids(rest) == ids(whole)


# -- cursors ------------------------------------------------------------------------------

def forged(cursor: str, **changes) -> str:
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw.update(changes)
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


def test_a_cursor_is_for_its_own_list_and_log_only(db):
    add_entries(db, 10)
    cursor = lists.entries_page(db, "log-1", STAFF, 2)["next_cursor"]
    measures_cursor = lists.measures_page(db, "log-1", 1)["next_cursor"]
    refused = [
        lambda: lists.entries_page(db, "log-2", STAFF, 2, cursor),      # another log's
        lambda: lists.proposals_page(db, "log-1", STAFF, 2, cursor),    # another list's
        lambda: lists.entries_page(db, "log-1", STAFF, 2, measures_cursor),
        lambda: lists.evaluations_page(db, "m-sleep", 2, cursor),
        lambda: lists.timeline_page(db, LOG, STAFF, 2, cursor),
        lambda: lists.entries_page(db, "log-1", STAFF, 2, "garbage"),
        # the key's parts must be of their columns' types: nothing else reaches the query
        lambda: lists.entries_page(db, "log-1", STAFF, 2, forged(cursor, k=["x", "y"])),
        lambda: lists.entries_page(db, "log-1", STAFF, 2, forged(cursor, k=[1, 2])),
        lambda: lists.entries_page(db, "log-1", STAFF, 2, forged(cursor, k=[])),
        lambda: lists.entries_page(db, "log-1", STAFF, 2, forged(
            cursor, k=["2025-03-01T00:00:00+00:00", "x" * 500])),
    ]
    for read in refused:
        with pytest.raises(BadRequest):
            read()
    newest = lists.timeline_page(db, LOG, STAFF, 2, None, newest_first=True)["next_cursor"]
    with pytest.raises(BadRequest):  # a timeline cursor is for the order it was given in
        lists.timeline_page(db, LOG, STAFF, 2, newest)
    assert len(lists.entries_page(db, "log-1", STAFF, 2, cursor)["items"]) == 2


# -- the timeline -------------------------------------------------------------------------

CLOSED_LOG = SimpleNamespace(**{**vars(LOG), "status": "closed", "closed_at": at(3, 9, 15),
                                "close_reason": "ferdig"})

STAFF_TIMELINE = [
    ("log_opened", "log-1"),                    # 01-06 08:00
    ("participant_added", "p-holder"),          # 01-06 09:00
    ("participant_added", "p-former"),          # 01-07 09:00
    ("participant_added", "p-nurse"),           # 01-08 09:00
    ("participant_added", "p-removed"),         # 01-09 09:00
    ("measure_added", "m-reading"),             # 01-10 10:00
    ("measure_added", "m-football"),            # 01-12 10:00
    ("entry_note", "e-note-all"),               # 01-15 18:00
    ("entry_note", "e-note-staff"),             # 01-16 15:00
    ("proposal_made", "pr-child"),              # 01-17 19:00
    ("entry_child_voice", "e-voice"),           # 01-18 16:00
    ("entry_child_voice", "e-voice-staff"),     # 01-19 13:00
    ("measure_added", "m-sleep"),               # 01-20 10:00, same moment: by kind
    ("proposal_accepted", "pr-child"),          # 01-20 10:00
    ("meeting_scheduled", "mt-1"),              # 01-25 09:00
    ("proposal_made", "pr-child-2"),            # 02-01 19:00
    ("level_changed", "lv-2"),                  # 02-03 11:00
    ("measure_evaluated", "m-reading"),         # 02-03 14:00 (ev-1)
    ("meeting_minuted", "mt-1"),                # 02-04 09:00
    ("proposal_declined", "pr-child-2"),        # 02-05 10:00
    ("measure_evaluated", "m-football"),        # 02-10 14:00 (ev-3)
    ("participant_removed", "p-removed"),       # 02-14 10:00
    ("entry_bright_spot", "e-bright"),          # 02-20 13:00
    ("proposal_made", "pr-mother"),             # 02-25 20:00
    ("measure_evaluated", "m-reading"),         # 03-03 14:00 (ev-2)
    ("meeting_scheduled", "mt-2"),              # 03-05 09:00
    ("log_closed", "log-1"),                    # 03-09 15:00
]


def timeline(db, viewer, log=CLOSED_LOG, limit=4, newest_first=False) -> list[dict]:
    pages = walk(lambda n, cursor: lists.timeline_page(db, log, viewer, n, cursor,
                                                       newest_first), limit)
    return [item for page in pages for item in page]


def kinds_and_ids(items):
    return [(i["kind"], i["object_id"]) for i in items]


@pytest.mark.parametrize("limit", [1, 4, 5, 26, 27, 200])
def test_timeline_for_staff_is_complete_and_chronological_page_by_page(db, limit):
    items = timeline(db, STAFF, limit=limit)
    assert kinds_and_ids(items) == STAFF_TIMELINE
    moments = [i["at"] for i in items]
    assert moments == sorted(moments)
    backwards = timeline(db, STAFF, limit=limit, newest_first=True)
    assert kinds_and_ids(backwards) == STAFF_TIMELINE[::-1]


def test_timeline_contains_every_kind(db):
    kinds = {i["kind"] for i in timeline(db, STAFF)}
    assert kinds == {"log_opened", "level_changed", "participant_added",
                     "participant_removed", "measure_added", "measure_evaluated",
                     "meeting_scheduled", "meeting_minuted", "entry_note",
                     "entry_child_voice", "entry_bright_spot", "proposal_made",
                     "proposal_accepted", "proposal_declined", "log_closed"}


def test_timeline_item_values(db):
    items = timeline(db, STAFF)
    assert items[0] == {"at": at(1, 6, 8), "kind": "log_opened", "object_id": "log-1",
                        "title": None, "detail": None}
    level = next(i for i in items if i["kind"] == "level_changed")
    assert level["detail"] == "2"
    evaluated = [i for i in items if i["kind"] == "measure_evaluated"]
    assert [(i["title"], i["detail"]) for i in evaluated] == [
        ("Lesetrening", "yellow"), ("Fotball på fritida", "red"), ("Lesetrening", "green")]
    scheduled = next(i for i in items if i["object_id"] == "mt-2")
    assert scheduled["detail"] == "2025-03-17T10:00:00+00:00"
    added = next(i for i in items if i["object_id"] == "p-nurse")
    assert (added["title"], added["detail"]) == ("Nina Helsesøster", "member")
    note = next(i for i in items if i["object_id"] == "e-note-all")
    assert note["detail"] == "tekst e-note-all"
    assert all(i["at"].utcoffset() == timedelta(0) for i in items)


def test_timeline_only_staff_additions_are_items(db):
    added = {i["object_id"] for i in timeline(db, STAFF) if i["kind"] == "participant_added"}
    assert added == {"p-holder", "p-nurse", "p-former", "p-removed"}


@pytest.mark.parametrize("name", ["guardian", "child"])
def test_timeline_hides_staff_only_entries_from_citizens(db, name):
    items = timeline(db, VIEWERS[name], limit=3)
    found = {i["object_id"] for i in items}
    assert "e-note-staff" not in found and "e-voice-staff" not in found
    assert {"e-note-all", "e-voice", "e-bright"} <= found
    assert all("tekst e-note-staff" != i["detail"] for i in items)


def test_timeline_guardian_is_the_staff_timeline_minus_staff_entries(db):
    expected = [k for k in STAFF_TIMELINE if k[1] not in ("e-note-staff", "e-voice-staff")]
    assert kinds_and_ids(timeline(db, GUARDIAN)) == expected


def test_timeline_child_sees_only_its_own_proposals(db):
    expected = [k for k in STAFF_TIMELINE
                if k[1] not in ("e-note-staff", "e-voice-staff", "pr-mother")]
    assert kinds_and_ids(timeline(db, CHILD_VIEWER)) == expected


def test_timeline_open_log_has_no_closing_item(db):
    kinds = [i["kind"] for i in timeline(db, STAFF, LOG)]
    assert "log_closed" not in kinds
    assert kinds[0] == "log_opened"


def test_a_timeline_page_reads_at_most_a_page_per_kind(engine, db):
    add_entries(db, 200)
    with Session(engine) as session:
        loaded = loading(session)
        statements = []
        event.listen(engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *args: statements.append(statement))
        page = lists.timeline_page(session, CLOSED_LOG, STAFF, 5, None, newest_first=True)
        assert [i["kind"] for i in page["items"]] == ["entry_note"] * 5  # March 20, the newest
        assert loaded == []  # columns only, never whole rows
        # one read of at most a page for each of the 13 kinds kept in tables
        assert len(statements) == 13 and all("LIMIT" in s for s in statements)


def test_timeline_pages_stay_right_while_the_log_grows(db):
    before = kinds_and_ids(timeline(db, STAFF, LOG, limit=200, newest_first=True))

    def meanwhile(n):
        add_entries(db, 2, first_minute=500 + 5 * n, prefix=f"new{n}")

    pages = walk(lambda limit, cursor: lists.timeline_page(db, LOG, STAFF, limit, cursor,
                                                           True), 4, between=meanwhile)
    assert kinds_and_ids([i for page in pages for i in page]) == before


def test_changes_since_the_previous_meeting_newest_first(db):
    upcoming = next(m for m in MEETINGS if m.id == "mt-2")
    since = lists.previous_meeting_start(db, "log-1", upcoming)
    assert since == at(2, 3, 10)
    assert lists.previous_meeting_start(db, "log-1", MEETINGS[0]) is None
    changes = lists.changes_since(db, CLOSED_LOG, STAFF, since)
    expected = [k for k, i in zip(STAFF_TIMELINE, timeline(db, STAFF)) if i["at"] > since]
    assert kinds_and_ids(changes["items"]) == expected[::-1]
    assert changes["next_cursor"] is None
    few = lists.changes_since(db, CLOSED_LOG, STAFF, since, shown=3)
    assert kinds_and_ids(few["items"]) == expected[::-1][:3]
    following = lists.timeline_page(db, CLOSED_LOG, STAFF, 3, few["next_cursor"], True)
    assert kinds_and_ids(following["items"]) == expected[::-1][3:6]


# -- counted in the database --------------------------------------------------------------

@pytest.mark.parametrize("today", [date(2025, 2, 9), date(2025, 3, 2), TODAY,
                                   date(2025, 4, 2)])
def test_the_badges_are_the_domains_rules_counted_in_the_database(db, today):
    extra = [evaluation("ev-old", "m-sleep", "red", date(2025, 1, 25), at(1, 25, 12))]
    db.add_all(rows(Evaluation, extra))
    db.commit()
    every = EVALUATIONS + extra

    def of(m):
        return [e for e in every if e.measure_id == m.id]

    assert lists.measure_badges(db, "log-1", today) == {
        "open_measures": sum(m.status in domain.OPEN_MEASURE_STATES for m in MEASURES),
        "overdue_measures": sum(domain.is_overdue(m, of(m), today) for m in MEASURES),
        "red_measures": sum(domain.latest_outcome(of(m)) == "red" for m in MEASURES)}
    assert lists.measure_badges(db, "no-such-log", today) == {
        "open_measures": 0, "overdue_measures": 0, "red_measures": 0}


def test_statistics_counted_in_the_database_match_the_rows(db):
    people = {p.id: p for p in PARTICIPANTS}
    counts = lists.statistics_counts(db)
    assert stats.statistics_from_counts(counts, 1) == stats.measure_statistics(
        MEASURES, EVALUATIONS, people, {LOG.id: LOG.child_id}, 1)
    assert counts.cells == {
        ("health_station", "Bergen", "school", "green"): 1,     # reading: the nurse's
        ("family", "unknown", "home", "not_evaluated"): 1,      # sleep: the mother's
        ("school", "Bergen", "leisure", "red"): 1}              # football: the holder's
    assert counts.groups == {("health_station", "Bergen"): 1, ("family", "unknown"): 1,
                             ("school", "Bergen"): 1}


def test_statistics_count_each_child_once_in_the_database(db):
    """Six more measures in the same child's log, in the holder's leisure/red cell and
    elsewhere: still one child per cell and per margin; another child's log makes two."""
    holder = next(m for m in MEASURES if m.id == "m-football")
    extra = [Measure(**{**vars(holder), "id": f"m-more-{n}", "arena": arena,
                        "created_at": at(3, 1) + timedelta(minutes=n)})
             for n, arena in enumerate(["leisure"] * 4 + ["home"] * 2)]
    db.add(Log(**{**vars(LOG), "id": "log-2", "child_id": "child-2"}))
    db.flush()
    db.add_all(extra + [Measure(**{**vars(holder), "id": "m-other", "log_id": "log-2",
                                   "arena": "home"})])
    db.commit()
    counts = lists.statistics_counts(db)
    school = ("school", "Bergen")
    assert counts.cells[(*school, "leisure", "red")] == 1
    assert counts.cells[(*school, "leisure", "not_evaluated")] == 1
    assert counts.cells[(*school, "home", "not_evaluated")] == 2
    assert counts.arenas[(*school, "leisure")] == 1
    assert counts.outcomes[(*school, "not_evaluated")] == 2
    assert counts.groups[school] == 2
    people = {p.id: p for p in PARTICIPANTS}
    every = MEASURES + [SimpleNamespace(**{c.key: getattr(m, c.key)
                                           for c in Measure.__table__.columns})
                        for m in extra] + [SimpleNamespace(**{**vars(holder), "id": "m-other",
                                                              "log_id": "log-2",
                                                              "arena": "home"})]
    assert stats.statistics_from_counts(counts, 1) == stats.measure_statistics(
        every, EVALUATIONS, people, {"log-1": "child-1", "log-2": "child-2"}, 1)


def test_whole_log_documents_read_the_latest_evaluation_and_the_newest_voices(db):
    latest = {e.measure_id: e.id for e in lists.latest_evaluation_of_each(db, "log-1")}
    assert latest == {"m-reading": "ev-2", "m-football": "ev-3"}
    for n in range(lists.RECENT + 5):
        db.add(Entry(**vars(entry(f"v-{n:02d}", "child_voice", "all", "p-child",
                                  at(3, 1) + timedelta(hours=n)))))
    db.commit()
    voices = lists.newest_child_voices(db, "log-1")
    assert len(voices) == lists.RECENT
    assert ids(voices) == [f"v-{n:02d}" for n in range(5, lists.RECENT + 5)]  # oldest first
    assert ids(lists.newest_open_proposals(db, "log-1")) == ["pr-mother"]
    assert ids(lists.all_measures(db, "log-1")) == ["m-reading", "m-football", "m-sleep"]
