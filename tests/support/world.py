"""A populated platform for the authorization matrix and the API fuzzing: the demo's three
stories (Emma, Jonas, Sara) with one of every object, so every path parameter has a real id.

Emma's log (Solbakken skole; PPT and the health nurse take part) is the matrix's "own"
object for most roles; Jonas's log (kindergarten) is "own" for his mother and for Jonas;
Sara's log (the health nurse alone) is "foreign" to every role in the matrix.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from stafett.actor import Actor
from stafett.dev.demo import AGENCIES, PERSONAS, identity_of, resolve_identity
from stafett.dev.issuer import dev_issuer_url
from tests.support.platform import Platform, wait_for


@dataclass
class Story:
    """One child's ids: every object a path parameter can name."""
    child_id: str
    log_id: str
    measure_id: str = ""
    meeting_id: str = ""
    proposal_id: str = ""
    participant_id: str = ""
    consent_id: str = ""
    handover_id: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class World:
    stories: dict[str, Story]
    actors: dict[str, Actor]
    #: a notification in the inbox of a person outside every story's matrix roles
    foreign_notification_id: str
    foreign_webhook_id: str
    own_agency: str = AGENCIES["school"]["org_number"]
    foreign_agency: str = AGENCIES["health_station"]["org_number"]

    def path_ids(self) -> dict:
        """A value for every path parameter of the API: Emma's objects, the school, and
        the webhook and notification of others; an access record ref of the right form
        (``record``) that names no record."""
        emma = self.stories["emma"]
        return {"log_id": emma.log_id, "measure_id": emma.measure_id,
                "meeting_id": emma.meeting_id, "proposal_id": emma.proposal_id,
                "participant_id": emma.participant_id, "child_id": emma.child_id,
                "consent_id": emma.consent_id, "handover_id": emma.handover_id,
                "org_number": self.own_agency, "webhook_id": self.foreign_webhook_id,
                "notification_id": self.foreign_notification_id,
                "record": f"logs:{emma.measure_id}"}


def actor(platform: Platform, persona: str) -> Actor:
    with platform.rpc() as rpc:
        return Actor.from_context(resolve_identity(rpc, identity_of(persona, dev_issuer_url)))


def _consent_of(platform, guardian: Actor, child_id: str) -> str:
    with platform.rpc(guardian) as rpc:
        consents = rpc.consent.list_consents(child_id)
    return next(c["id"] for c in consents if c["status"] == "active")


def build_world(platform: Platform) -> World:
    """Seed the demo, then add what the stories lack: a meeting, a pending proposal and a
    handover for each child, an agency webhook for the school and the health station."""
    seeded = platform.seed()
    told = platform.seed_stories()
    children = {c["name"].split()[0].lower(): c["id"] for c in seeded["children"]}
    actors = {name: actor(platform, name) for name, p in PERSONAS.items()
              if p["issuer_kind"] != "system"}

    holders = {"emma": "teacher", "jonas": "kindergarten-teacher", "sara": "nurse"}
    proposers = {"emma": "guardian", "jonas": "other-guardian", "sara": "youth"}
    consenters = {"emma": "guardian", "jonas": "other-guardian", "sara": "youth"}
    handovers = {"emma": (AGENCIES["ppt"]["org_number"], "other"),
                 "jonas": (AGENCIES["school"]["org_number"], "kindergarten_to_school"),
                 "sara": (AGENCIES["kindergarten"]["org_number"], "other")}
    stories = {}
    for name, log_id in told.items():
        story = Story(child_id=children[name], log_id=log_id)
        with platform.rpc(actors[holders[name]]) as rpc:
            log = rpc.logs.get_log(log_id)
            story.measure_id = rpc.logs.list_measures(log_id)["items"][0]["id"]
            meetings = rpc.logs.list_meetings(log_id)["items"]
            story.meeting_id = meetings[0]["id"] if meetings else rpc.logs.schedule_meeting(
                log_id, {"starts_at": "2027-01-12T14:00:00+01:00",
                         "ends_at": "2027-01-12T15:00:00+01:00", "mode": "video",
                         "agenda": "Hvordan går det?",
                         "invited": [p["id"] for p in log["participants"]]})["id"]
            me = log["viewer_participant_id"]
            story.participant_id = next(p["id"] for p in log["participants"] if p["id"] != me)
            to_agency, transition = handovers[name]
            story.handover_id = rpc.handover.request_handover(
                {"log_id": log_id, "to_agency": to_agency, "transition": transition,
                 "note": "Overføring for tilgangsmatrisen"})["id"]
        with platform.rpc(actors[proposers[name]]) as rpc:
            story.proposal_id = rpc.logs.propose_measure(log_id, {
                "title": "Et lite forslag", "goal": "Prøve noe nytt", "arena": "home"})["id"]
        story.consent_id = _consent_of(platform, actors[consenters[name]], story.child_id)
        stories[name] = story

    _a_notification_for_everyone(platform, actors)
    nurse = actors["nurse"]
    with platform.rpc(nurse) as rpc:
        wait_for(lambda: rpc.notifications.inbox_page(1, None, False)["items"],
                 timeout=20, message="a notification for the health nurse")
        foreign_notification = rpc.notifications.inbox_page(1, None, False)["items"][0]["id"]
    health_admin = Actor(kind="staff", person_id=nurse.person_id,
                         agency=AGENCIES["health_station"]["org_number"],
                         agency_type="health_station", roles=("staff", "agency_admin"))
    with platform.rpc(health_admin) as rpc:
        foreign_webhook = rpc.notifications.create_webhook(
            {"url": "http://127.0.0.1:9/helsestasjon", "description": "helsestasjonen"})["id"]
    return World(stories=stories, actors=actors,
                 foreign_notification_id=foreign_notification,
                 foreign_webhook_id=foreign_webhook)


def _a_notification_for_everyone(platform: Platform, actors: dict[str, Actor]) -> None:
    """One inbox notification per person, written into the notifications service's own
    database as it would after an event: events reach only a log's participants, and the
    matrix needs an own notification for every role."""
    from datetime import datetime, timezone
    from uuid import uuid4

    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from services.notifications.models import Notification

    engine = create_engine(platform.database_urls["notifications"])
    try:
        with Session(engine) as session, session.begin():
            for name, person in actors.items():
                session.add(Notification(
                    id=str(uuid4()), event_id=str(uuid4()), person_id=person.person_id,
                    channel="inbox", kind="log.meeting_scheduled", title="Nytt møte",
                    body="Det er satt opp et nytt møte.", link="/", log_id=None,
                    created_at=datetime.now(timezone.utc)))
    finally:
        engine.dispose()


def school_webhook(platform: Platform, world: World) -> str:
    """A fresh webhook of the school (so a probe that deletes one never changes another's)."""
    admin = world.actors["school-admin"]
    with platform.rpc(admin) as rpc:
        return rpc.notifications.create_webhook(
            {"url": "http://127.0.0.1:9/skole", "description": "skolens fagsystem"})["id"]
