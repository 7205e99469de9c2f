"""Meeting times in the notifications service around both changes of daylight saving time in
2027, on SQLite and PostgreSQL: the meeting an event announces (in Oslo time, as the logs
service sends it) is projected into the service's own table, the reminder goes out the day
before in Oslo time, and the .ics attached to the invitation and to the reminder carries
the instant that was typed. E-mail and inbox texts carry no time at all (content-free: the
time is behind the login and in the calendar file), and stay so.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy.orm import Session

from services.notifications import domain, rendering, store
from stafett.events import Envelope
from tests.support.databases import migrated_engine

OSLO = ZoneInfo("Europe/Oslo")
UTC = timezone.utc
PUBLIC = "https://stafett.example"

#: the meeting in Oslo time, the day before it in Oslo, the instant in UTC
MEETINGS = [
    (datetime(2027, 3, 28, 0, 30, tzinfo=OSLO), date(2027, 3, 27),
     datetime(2027, 3, 27, 23, 30, tzinfo=UTC)),
    (datetime(2027, 3, 28, 3, 0, tzinfo=OSLO), date(2027, 3, 27),
     datetime(2027, 3, 28, 1, 0, tzinfo=UTC)),
    (datetime(2027, 3, 29, 0, 30, tzinfo=OSLO), date(2027, 3, 28),
     datetime(2027, 3, 28, 22, 30, tzinfo=UTC)),
    (datetime(2027, 10, 31, 2, 30, tzinfo=OSLO), date(2027, 10, 30),
     datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
    (datetime(2027, 10, 31, 2, 30, fold=1, tzinfo=OSLO), date(2027, 10, 30),
     datetime(2027, 10, 31, 1, 30, tzinfo=UTC)),
    (datetime(2027, 11, 1, 0, 30, tzinfo=OSLO), date(2027, 10, 31),
     datetime(2027, 10, 31, 23, 30, tzinfo=UTC)),
]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    with migrated_engine(request, tmp_path, "notifications", request.param) as engine:
        yield engine


def announce(session, n: int, starts: datetime) -> Envelope:
    event = Envelope(type="log.meeting_scheduled", source="logs", log_id=f"log-{n}",
                     child_id=f"child-{n}", occurred_at="2027-01-01T12:00:00+00:00",
                     data={"meeting_id": f"meeting-{n}", "starts_at": starts.isoformat(),
                           "ends_at": (starts.astimezone(UTC) + timedelta(hours=1)).isoformat(),
                           "invited_person_ids": [f"person-{n}"],
                           "stafettholder_person_id": "holder"})
    store.apply(session, event)
    return event


def ics_times(email) -> tuple[datetime, datetime]:
    [vevent] = Calendar.from_ical(email.ics).walk("VEVENT")
    return vevent.decoded("dtstart"), vevent.decoded("dtend")


def reminders_on(session, today: date) -> list:
    window = datetime.combine(today, time(0), tzinfo=OSLO)
    measures, meetings = store.reminder_candidates(session, today, 3, window)
    return [r for r in domain.due_reminders(today, 3, measures, meetings, OSLO)
            if r.kind == domain.MEETING_TOMORROW]


@pytest.mark.parametrize("n", range(len(MEETINGS)))
def test_the_reminder_comes_the_day_before_in_oslo_with_the_instant_typed(engine, n):
    starts, day_before, utc = MEETINGS[n]
    with Session(engine) as session:
        event = announce(session, n, starts)
        session.commit()
    # the invitation: from the event itself
    invitation = rendering.render_email(domain.MEETING_INVITED, {
        k: event.data.get(k) for k in ("meeting_id", "starts_at", "ends_at")}
        | {"log_id": event.log_id}, PUBLIC)
    assert ics_times(invitation) == (utc, utc + timedelta(hours=1))
    # the reminder: from what the service stored, read back on another day
    with Session(engine) as session:
        assert reminders_on(session, day_before - timedelta(days=1)) == []
        [reminder] = reminders_on(session, day_before)
        assert reminders_on(session, day_before + timedelta(days=1)) == []
    assert reminder.notice.person_ids == (f"person-{n}",) or list(
        reminder.notice.person_ids) == [f"person-{n}"]
    email = rendering.render_email(reminder.kind, reminder.notice.context, PUBLIC)
    assert ics_times(email) == (utc, utc + timedelta(hours=1))
    assert email.subject == "Påminnelse: samarbeidsmøte i morgen"
    # no time in the texts a stranger might read over a shoulder
    for text in (email.text, email.html, invitation.text, invitation.html):
        assert not re.search(r"\bkl\.|\d{1,2}[.:]\d{2}\b", text), text
