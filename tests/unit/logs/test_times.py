"""Meeting times and evaluate-by dates, typed in Oslo time in the web client, through the
logs service's contract and tables (SQLite and PostgreSQL) and back to the text a person
reads, around both changes of daylight saving time in 2027.

The reported fault: a meeting typed for 14:00 showed "kl. 15.00" in winter and 09:00 in June
showed 11:00, because SQLite stored the Oslo wall time without its offset and read it as UTC.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway.web import formdefs
from gateway.web.forms import Field, Form, local_datetime
from gateway.web.labels import TIME_ZONE, norsk_date, norsk_datetime, oslo_today
from services.logs import lists, views
from services.logs.models import Log, Measure, Meeting, Participant
from services.logs.schemas import MeetingIn
from stafett.contracts import load
from tests.support.databases import migrated_engine
from tests.unit.logs.test_views import LOG, PARTICIPANTS, STAFF, at


#: (date typed, time typed, what the log page says, the instant in UTC)
TYPED = [
    ("27.03.2027", "14:00", "27. mars 2027 kl. 14.00", "2027-03-27 13:00:00"),
    ("28.03.2027", "01:30", "28. mars 2027 kl. 01.30", "2027-03-28 00:30:00"),
    ("28.03.2027", "03:00", "28. mars 2027 kl. 03.00", "2027-03-28 01:00:00"),
    ("28.03.2027", "14:00", "28. mars 2027 kl. 14.00", "2027-03-28 12:00:00"),
    ("15.06.2027", "09:00", "15. juni 2027 kl. 09.00", "2027-06-15 07:00:00"),
    ("31.10.2027", "01:30", "31. oktober 2027 kl. 01.30", "2027-10-30 23:30:00"),
    # the hour that comes twice: a meeting at 02:30 that night is the first 02:30
    ("31.10.2027", "02:30", "31. oktober 2027 kl. 02.30", "2027-10-31 00:30:00"),
    ("31.10.2027", "03:00", "31. oktober 2027 kl. 03.00", "2027-10-31 02:00:00"),
    ("31.10.2027", "14:00", "31. oktober 2027 kl. 14.00", "2027-10-31 13:00:00"),
    ("03.12.2027", "14:00", "3. desember 2027 kl. 14.00", "2027-12-03 13:00:00"),
]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    with migrated_engine(request, tmp_path, "logs", request.param) as engine:
        yield engine


def stored_utc(session, meeting_id: str) -> str:
    if session.bind.dialect.name == "sqlite":
        value = session.execute(text("SELECT starts_at FROM meetings WHERE id = :id"),
                                {"id": meeting_id}).scalar_one()
        return str(value)[:19]
    return session.execute(text(
        "SELECT to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM meetings "
        "WHERE id = :id"), {"id": meeting_id}).scalar_one()


def sent_by(sender: str, day: str, clock: str) -> str:
    """What reaches the logs service: the web client sends the UTC instant; an agency
    system in Norway may as well send Oslo time with its offset (+01:00 or +02:00)."""
    instant = local_datetime(day, clock, TIME_ZONE)
    if sender == "web":
        return instant
    return datetime.fromisoformat(instant).astimezone(TIME_ZONE).isoformat()


@pytest.mark.parametrize("sender", ["web", "api"])
def test_a_meeting_typed_in_oslo_time_is_shown_as_typed_across_both_changes(engine, sender):
    with Session(engine) as session:
        session.add(Log(**vars(LOG)))
        for n, (day, clock, _, _) in enumerate(TYPED):
            data = load(MeetingIn(), {"starts_at": sent_by(sender, day, clock),
                                      "mode": "in_person", "invited": ["p-holder"]})
            session.add(Meeting(id=f"mt-{n:02d}", log_id="log-1", starts_at=data["starts_at"],
                                ends_at=None, mode="in_person", place=None, agenda="",
                                created_by="p-holder", created_at=at(1, 6), version=1))
        session.commit()
    with Session(engine) as session:
        page = lists.meetings_page(session, "log-1", 50)
        shown = {m.id: norsk_datetime(views.dump_meeting(STAFF, m, [])["starts_at"])
                 for m in page["items"]}
        for n, (_, _, expected, utc) in enumerate(TYPED):
            assert stored_utc(session, f"mt-{n:02d}") == utc, TYPED[n]
            assert shown[f"mt-{n:02d}"] == expected, TYPED[n]


def test_evaluate_by_dates_on_the_change_days_stay_the_days_typed(engine):
    with Session(engine) as session:
        session.add(Log(**vars(LOG)))
        session.flush()
        session.add_all(Participant(**vars(p)) for p in PARTICIPANTS)
        session.flush()
        for n, typed in enumerate(("28.03.2027", "31.10.2027")):
            form = Form(Field("evaluate_by", "Vurderes innen", kind="date"))
            form.values["evaluate_by"] = typed
            session.add(Measure(id=f"m-{n}", log_id="log-1", title="Tiltak", goal="Mål",
                                arena="school", responsible_id="p-holder",
                                proposer_id="p-holder", start_date=date(2027, 3, 1),
                                evaluate_by=date.fromisoformat(form.date("evaluate_by")),
                                status="active", created_at=at(1, 6),
                                version=1))
        session.commit()
    with Session(engine) as session:
        shown = [norsk_date(session.get(Measure, f"m-{n}").evaluate_by) for n in (0, 1)]
    assert shown == ["28. mars 2027", "31. oktober 2027"]


# -- the web form: the hour that does not exist ---------------------------------------------

def test_a_time_in_the_spring_gap_is_refused_with_a_message_in_bokmal():
    form = formdefs.meeting_form({"participants": []})
    form.values.update({"day": "28.03.2027", "starts": "02:30", "mode": "in_person"})
    with pytest.raises(Exception) as refused:
        formdefs.meeting_payload(form)
    form.take_service_errors(refused.value, {"starts_at": "starts", "ends_at": "ends"})
    assert form.errors == {"starts": [
        "Klokkeslettet finnes ikke denne dagen: klokka stilles fram fra 02.00 til 03.00 "
        "natt til 28. mars. Velg et annet klokkeslett."]}


def test_the_client_sends_the_utc_instant_and_the_autumn_hour_twice_is_the_first():
    assert local_datetime("31.10.2027", "02:30", TIME_ZONE) == "2027-10-31T00:30:00+00:00"
    assert local_datetime("31.10.2027", "03:00", TIME_ZONE) == "2027-10-31T02:00:00+00:00"
    assert local_datetime("28.03.2027", "03:00", TIME_ZONE) == "2027-03-28T01:00:00+00:00"
    assert local_datetime("28.03.2027", "01:59", TIME_ZONE) == "2027-03-28T00:59:00+00:00"
    assert local_datetime("15.06.2027", "09:00", TIME_ZONE) == "2027-06-15T07:00:00+00:00"


def test_a_forms_default_date_is_todays_date_in_norway():
    utc = timezone.utc
    # 00:30 in Oslo is still the day before in UTC, in winter (+01:00) and summer (+02:00)
    assert oslo_today(datetime(2027, 3, 27, 23, 30, tzinfo=utc)) == date(2027, 3, 28)
    assert oslo_today(datetime(2027, 10, 30, 22, 30, tzinfo=utc)) == date(2027, 10, 31)
    assert oslo_today(datetime(2027, 10, 31, 22, 59, tzinfo=utc)) == date(2027, 10, 31)
    assert oslo_today(datetime(2027, 10, 31, 23, 0, tzinfo=utc)) == date(2027, 11, 1)
    assert formdefs.evaluation_form().values["evaluated_on"] == oslo_today().isoformat()
