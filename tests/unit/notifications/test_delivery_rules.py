"""Delivery rules: quiet hours, the daily digest, backoff, outcomes, and reminders."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.notifications import domain
from services.notifications.delivery import Settings
from services.notifications.domain import MeasureFacts, MeetingFacts, Preferences
from stafett.events import Backoff

OSLO = ZoneInfo("Europe/Oslo")


def oslo(*args) -> datetime:
    return datetime(*args, tzinfo=OSLO).astimezone(timezone.utc)


# -- quiet hours -------------------------------------------------------------------------------

NIGHT = Preferences(email="a@example.org", quiet_start="21:00", quiet_end="07:00")
LUNCH = Preferences(email="a@example.org", quiet_start="11:30", quiet_end="12:30")


@pytest.mark.parametrize("prefs, now, quiet", [
    (NIGHT, oslo(2026, 11, 23, 20, 59), False), (NIGHT, oslo(2026, 11, 23, 21, 0), True),
    (NIGHT, oslo(2026, 11, 24, 3, 0), True), (NIGHT, oslo(2026, 11, 24, 7, 0), False),
    (LUNCH, oslo(2026, 11, 23, 11, 45), True), (LUNCH, oslo(2026, 11, 23, 12, 30), False),
    (Preferences(), oslo(2026, 11, 23, 3, 0), False),
    (Preferences(quiet_start="08:00", quiet_end="08:00"), oslo(2026, 11, 23, 8, 0), False)])
def test_quiet_hours(prefs, now, quiet):
    assert domain.in_quiet_hours(now, prefs) is quiet


def test_email_in_quiet_hours_waits_for_their_end_in_the_persons_time_zone():
    assert domain.email_send_time(oslo(2026, 11, 23, 22, 10), NIGHT) == oslo(2026, 11, 24, 7, 0)
    assert domain.email_send_time(oslo(2026, 11, 24, 2, 0), NIGHT) == oslo(2026, 11, 24, 7, 0)
    now = oslo(2026, 11, 23, 15, 0)
    assert domain.email_send_time(now, NIGHT) == now
    london = Preferences(quiet_start="21:00", quiet_end="07:00", time_zone="Europe/London")
    assert domain.email_send_time(oslo(2026, 11, 23, 22, 30), london) == datetime(
        2026, 11, 24, 7, 0, tzinfo=timezone.utc)


def test_the_end_of_quiet_hours_across_the_change_to_summer_time():
    # the night of 29 March 2026 has no 02:00–03:00 in Oslo; 07:00 is 05:00 UTC
    assert domain.email_send_time(oslo(2026, 3, 28, 23, 0), NIGHT) == datetime(
        2026, 3, 29, 5, 0, tzinfo=timezone.utc)


def test_the_next_digest_is_the_chosen_hour_today_or_tomorrow():
    prefs = Preferences(digest_daily=True, digest_hour=7)
    assert domain.next_digest_time(oslo(2026, 11, 23, 6, 59), prefs) == oslo(2026, 11, 23, 7)
    assert domain.next_digest_time(oslo(2026, 11, 23, 7, 0), prefs) == oslo(2026, 11, 24, 7)
    assert domain.next_digest_time(oslo(2026, 11, 23, 23, 0), prefs) == oslo(2026, 11, 24, 7)


def test_email_needs_an_address_and_the_channel_on():
    assert Preferences(email="a@example.org").wants_email
    assert not Preferences(email=None).wants_email
    assert not Preferences(email="a@example.org", email_enabled=False).wants_email


def test_an_unknown_time_zone_falls_back_on_oslo():
    assert domain.zone("Mars/Olympus") == OSLO and domain.zone(None) == OSLO
    assert not domain.valid_time_zone("Mars/Olympus") and domain.valid_time_zone("UTC")


# -- retries ------------------------------------------------------------------------------------

def test_the_default_backoff_doubles_up_to_its_cap_and_ends_after_eight_attempts():
    retry = Settings().retry
    assert [retry.delay_after(a) for a in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, None, None]
    assert Settings.from_config({}).retry == retry


NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)


def test_after_a_failure():
    retry = Backoff(base=30, cap=3600, budget=math.inf, max_attempts=3)
    assert domain.after_failure(False, NOW, retry.delay_after(1)) == (
        "failed-temporary", NOW + timedelta(seconds=30))
    assert domain.after_failure(False, NOW, retry.delay_after(2)) == (
        "failed-temporary", NOW + timedelta(seconds=60))
    assert domain.after_failure(False, NOW, retry.delay_after(3)) == ("failed-permanent", None)
    assert domain.after_failure(True, NOW, retry.delay_after(1)) == ("failed-permanent", None)


@pytest.mark.parametrize("status, outcome", [
    (200, "delivered"), (202, "delivered"), (204, "delivered"),
    (301, "failed-permanent"), (400, "failed-permanent"), (401, "failed-permanent"),
    (404, "failed-permanent"), (410, "failed-permanent"),
    (408, "failed-temporary"), (425, "failed-temporary"), (429, "failed-temporary"),
    (500, "failed-temporary"), (503, "failed-temporary")])
def test_webhook_answers(status, outcome):
    assert domain.http_outcome(status) == outcome


@pytest.mark.parametrize("code, outcome", [(550, "failed-permanent"), (554, "failed-permanent"),
                                           (421, "failed-temporary"), (451, "failed-temporary"),
                                           (None, "failed-temporary")])
def test_smtp_answers(code, outcome):
    assert domain.smtp_outcome(code) == outcome


# -- reminders ----------------------------------------------------------------------------------

TODAY = date(2026, 11, 23)


def measure(evaluate_by, status="active", evaluated_for=None, measure_id="m-1"):
    return MeasureFacts(measure_id, "log-1", "child-1", evaluate_by, status, "p-resp", "974760673",
                        "p-holder", evaluated_for)


def kinds(reminders):
    return [(r.kind, r.object_id, r.due, set(r.notice.person_ids)) for r in reminders]


def test_an_evaluation_within_the_days_ahead_reminds_the_responsible_person():
    soon = TODAY + timedelta(days=3)
    assert kinds(domain.due_reminders(TODAY, 3, [measure(soon)], [])) == [
        ("evaluation_due", "m-1", soon, {"p-resp"})]
    assert domain.due_reminders(TODAY, 2, [measure(soon)], []) == []
    assert kinds(domain.due_reminders(TODAY, 3, [measure(TODAY)], [])) == [
        ("evaluation_due", "m-1", TODAY, {"p-resp"})]


def test_an_overdue_evaluation_reminds_the_responsible_person_and_the_stafettholder():
    late = TODAY - timedelta(days=1)
    [reminder] = domain.due_reminders(TODAY, 3, [measure(late)], [])
    assert (reminder.kind, set(reminder.notice.person_ids), reminder.notice.agencies) == (
        "evaluation_overdue", {"p-resp", "p-holder"}, ("974760673",))
    assert reminder.notice.context["measure_id"] == "m-1"


@pytest.mark.parametrize("m", [
    measure(TODAY - timedelta(days=1), status="completed"),
    measure(TODAY - timedelta(days=1), status="cancelled"),
    measure(TODAY - timedelta(days=1), evaluated_for=TODAY - timedelta(days=1)),
    measure(None)])
def test_no_reminder_for_closed_evaluated_or_undated_measures(m):
    assert domain.due_reminders(TODAY, 3, [m], []) == []


def test_a_new_deadline_after_an_evaluation_is_reminded_again():
    m = measure(TODAY + timedelta(days=1), evaluated_for=TODAY - timedelta(days=30))
    assert [r.kind for r in domain.due_reminders(TODAY, 3, [m], [])] == ["evaluation_due"]


def test_a_meeting_tomorrow_in_oslo_reminds_the_invited():
    tomorrow_late = oslo(2026, 11, 24, 23, 30)   # still 24 November in Oslo, 22:30 UTC
    day_after = oslo(2026, 11, 25, 0, 30)        # 24 November in UTC, 25th in Oslo
    meetings = [MeetingFacts("mt-1", "log-1", "c", tomorrow_late, None, ("p-a", "p-b")),
                MeetingFacts("mt-2", "log-1", "c", day_after, None, ("p-a",))]
    assert kinds(domain.due_reminders(TODAY, 3, [], meetings, OSLO)) == [
        ("meeting_tomorrow", "mt-1", TODAY + timedelta(days=1), {"p-a", "p-b"})]


def test_a_reminder_has_a_stable_event_id_per_kind_object_and_date():
    [a] = domain.due_reminders(TODAY, 3, [measure(TODAY)], [])
    [b] = domain.due_reminders(TODAY, 3, [measure(TODAY)], [])
    [c] = domain.due_reminders(TODAY, 3, [measure(TODAY + timedelta(days=1))], [])
    assert a.event_id == b.event_id != c.event_id


# -- who manages webhooks -----------------------------------------------------------------------------

def test_who_manages_an_agencys_webhooks():
    from stafett.actor import Actor

    assert domain.webhook_agency(Actor(kind="system", agency="1",
                                       scopes=("stafett:webhooks",))) == "1"
    assert domain.webhook_agency(Actor(kind="system", agency="1",
                                       scopes=("stafett:logs.read",))) is None
    assert domain.webhook_agency(Actor(kind="staff", person_id="p", agency="1",
                                       roles=("staff", "agency_admin"))) == "1"
    assert domain.webhook_agency(Actor(kind="staff", person_id="p", agency="1",
                                       roles=("staff",))) is None
    assert domain.webhook_agency(Actor(kind="citizen", person_id="p")) is None
    assert domain.webhook_agency(None) is None
