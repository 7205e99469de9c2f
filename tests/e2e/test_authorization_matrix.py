"""The authorization matrix: every API endpoint × role × own or foreign object, over real
HTTP through the gateway and the broker, compared cell by cell with the table in
docs/authorization.md (zero differences).

Probes never change what a later probe sees: writes are sent with a body no schema accepts
and a stale ``If-Match``, so an allowed caller gets 422/412/409 and a denied one 403/404
(the services decide access before they look at the body or the version). The one write
without either, deleting a webhook, gets a fresh webhook for every probe.

A denial for a foreign object (403 or 404), and every 404 for an own object, must be
indistinguishable from the answer for an id that does not exist at all: same status,
headers and problem document. A list a role may read never names a foreign object. Every
probe also carries headers claiming to be the stafettholder or the platform itself; the
gateway must ignore them, also for a caller with no token at all (the `anonymous` column).
"""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest

from sqlalchemy import create_engine, select

from gateway.routes.route import api_routes
from gateway.routes.table import ROUTES
from stafett.actor import SYSTEM_ACTOR
from stafett.audit import access_table
from stafett.dev.demo import AGENCIES, PERSONAS
from tests.support.platform import Platform
from tests.support.world import Story, World, school_webhook

DOC = Path(__file__).resolve().parents[2] / "docs" / "authorization.md"

#: matrix column → (persona, extra token claims); the order is the table's
ROLES = {
    "teacher": ("teacher", {}),            # school staff, participant and stafettholder
    "teacher2": ("teacher2", {}),          # school staff, not a participant
    "ppt": ("ppt", {}),                    # PPT, a participant
    "child-welfare": ("child-welfare", {}),  # not covered by the consent
    "nav": ("nav", {}),                    # not covered by the consent
    "guardian": ("guardian", {}),          # Emma's mother
    "other-guardian": ("other-guardian", {}),  # Jonas's mother: another child's guardian
    "child": ("child", {}),                # Emma, 13
    "young-child": ("young-child", {}),    # Jonas, 5: under the configured age
    "system": ("school-system", {}),       # the school's system, scope stafett:logs.read
    "system-no-scope": ("school-system", {"scope": "openid"}),
    "auditor": ("auditor", {}),            # the school's agency auditor
    "admin": ("school-admin", {}),         # the school's agency administrator
    "anonymous": (None, {}),               # no token, only the spoofed headers
}

#: whose log is "own" for a role (all others: Emma's); Sara's log is foreign to every role
OWN_STORY = {"other-guardian": "jonas", "young-child": "jonas"}
FOREIGN_STORY = "sara"

NAV = AGENCIES["nav"]["org_number"]
#: every write carries a stale If-Match, so 428 (If-Match missing) is never an allowance
ALLOWED = {200, 201, 204, 409, 412, 422}
#: a body no request schema accepts, and a version no object has
INVALID_BODY = {"__not_a_field__": True}
STALE = {"If-Match": '"999999"'}
#: headers claiming the stafettholder's identity, or the platform's own (which may do all)
SPOOF_AS_HOLDER = ("X-Actor", "X-Forwarded-User", "X-Person-Id", "X-Remote-User")
SPOOF_AS_PLATFORM = ("nameko-actor", "nameko.actor", "X-Stafett-Actor", "X-Service-Actor")
#: response headers that may differ between two identical answers
VOLATILE_HEADERS = {"date", "x-request-id", "x-call-id"}
#: writes whose body names the object: a valid body, refused with 409 when allowed
#: (every child in the world already has an open log, every log an open handover)
BODY_OBJECT = {("POST", "/logs"): lambda s: {"child_id": s.child_id, "level": 1},
               ("POST", "/handovers"): lambda s: {"log_id": s.log_id, "to_agency": NAV,
                                                  "transition": "other"}}
#: writes that must run for real (they are harmless and take no body)
NO_BODY = {("POST", "/notifications/{notification_id}/read"),
           ("POST", "/notifications/{notification_id}/unread")}


def outcome(response) -> str:
    if response.status_code in ALLOWED:
        return "✓"
    return str(response.status_code)


class Prober:
    def __init__(self, platform: Platform, world: World):
        self.platform, self.world = platform, world
        self.clients = {role: platform.client(persona, **claims)
                        for role, (persona, claims) in ROLES.items()}
        self.inbox, self.records = {}, {}
        # every probe also claims, in headers, to come from the stafettholder or from the
        # platform itself: ignored, or the denials in the table would turn into allows
        holder = world.actors["teacher"].to_context()
        platform_actor = SYSTEM_ACTOR.to_context()
        self.spoofed = {**{header: holder for header in SPOOF_AS_HOLDER},
                        **{header: platform_actor for header in SPOOF_AS_PLATFORM}}
        self.foreign_ids = self.objects_of(world.stories[FOREIGN_STORY]) | {
            world.foreign_notification_id, world.foreign_webhook_id}

    @staticmethod
    def objects_of(story: Story) -> set[str]:
        return {story.child_id, story.log_id, story.measure_id, story.meeting_id,
                story.proposal_id, story.participant_id, story.consent_id, story.handover_id}

    def own_notification(self, role) -> str | None:
        if ROLES[role][0] is None:
            return str(uuid.uuid4())  # no inbox without a token: any id answers 401
        if role not in self.inbox:
            items = self.clients[role].get("/api/v1/notifications").json().get("items", [])
            self.inbox[role] = items[0]["id"] if items else None
        return self.inbox[role]

    def ids(self, role: str, which: str, method: str, path: str) -> dict | None:
        """The path parameters naming the role's own or a foreign object (None: n/a)."""
        story = self.world.stories[FOREIGN_STORY if which == "foreign"
                                   else OWN_STORY.get(role, "emma")]
        ids = {"log_id": story.log_id, "measure_id": story.measure_id,
               "meeting_id": story.meeting_id, "proposal_id": story.proposal_id,
               "participant_id": story.participant_id, "child_id": story.child_id,
               "consent_id": story.consent_id, "handover_id": story.handover_id}
        own_agency = self.role_agency(role) or self.world.own_agency
        ids["org_number"] = (self.world.foreign_agency if which == "foreign" else own_agency)
        if "{notification_id}" in path:
            ids["notification_id"] = (self.world.foreign_notification_id if which == "foreign"
                                      else self.own_notification(role))
            if ids["notification_id"] is None:
                return None
        if "{record}" in path:  # a record of the child's access log, in a checkpoint
            ids["record"] = self.record_of(story)
        if "{webhook_id}" in path:
            ids["webhook_id"] = (self.world.foreign_webhook_id if which == "foreign"
                                 else school_webhook(self.platform, self.world))
        return ids

    def record_of(self, story: Story) -> str:
        """The ref of the oldest sealed access record of the story's log (logs service)."""
        if story.log_id not in self.records:
            engine = create_engine(self.platform.database_urls["logs"])
            with engine.connect() as connection:
                self.records[story.log_id] = "logs:" + connection.scalar(
                    select(access_table.c.id).where(
                        access_table.c.subject_id == story.log_id,
                        access_table.c.leaf_index.is_not(None))
                    .order_by(access_table.c.leaf_index).limit(1))
            engine.dispose()
        return self.records[story.log_id]

    def role_agency(self, role) -> str | None:
        if ROLES[role][0] is None:
            return None
        persona = PERSONAS[ROLES[role][0]]
        if persona["issuer_kind"] == "system":
            return persona["consumer"]["ID"].split(":")[1]
        return persona.get("agency")

    def request(self, role, method, path, ids, which, story=None):
        url = "/api/v1" + path.format(**ids) if ids else "/api/v1" + path
        session = self.clients[role].session
        kwargs = {"headers": {**STALE, **self.spoofed}, "timeout": 30}
        if (method, path) in BODY_OBJECT:
            story = story or self.world.stories[FOREIGN_STORY if which == "foreign"
                                                else OWN_STORY.get(role, "emma")]
            kwargs["json"] = BODY_OBJECT[(method, path)](story)
        elif method in ("POST", "PATCH", "PUT") and (method, path) not in NO_BODY:
            kwargs["json"] = INVALID_BODY
        return session.request(method, self.platform.url() + url, **kwargs)

    def probe(self, role, method, path, which) -> str:
        ids = self.ids(role, which, method, path) if "{" in path or (
            method, path) in BODY_OBJECT else {}
        if ids is None:
            return "—"
        response = self.request(role, method, path, ids, which)
        result = outcome(response)
        assert response.status_code < 500, (role, method, path, response.text)
        assert response.status_code == 204 or response.headers["Content-Type"].startswith(
            "application/problem+json" if response.status_code >= 400
            else ("application/", "text/csv")), (
            role, method, path, response.headers["Content-Type"])
        if (which == "foreign" and result in ("403", "404")) or (
                which == "own" and result == "404"):
            # a participant may know the object behind an own 403 (not the stafettholder)
            self.assert_like_nonexistent(role, method, path, ids, response)
        if result == "✓" and which != "foreign" and response.status_code != 204:
            named = {i for i in self.foreign_ids if i in response.text}
            assert not named, f"{role} {method} {path} names foreign objects: {named}"
        return result

    def assert_like_nonexistent(self, role, method, path, ids, response):
        """A denied object answers exactly like an object that does not exist: the same
        status, headers and problem document, byte for byte."""
        missing = {name: str(uuid.uuid4()) for name in ids}
        if "org_number" in ids:
            missing["org_number"] = "999999999"
        nowhere = self.request(role, method, path, missing, "foreign",
                               story=Story(child_id=str(uuid.uuid4()),
                                           log_id=str(uuid.uuid4())))
        assert (response.status_code, response.content, headers_of(response)) == (
            nowhere.status_code, nowhere.content, headers_of(nowhere)), (
            f"{role} {method} {path}: the denial can be told from a missing object: "
            f"{response.status_code} {response.text} {headers_of(response)} vs "
            f"{nowhere.status_code} {nowhere.text} {headers_of(nowhere)}")


    def probe_mixed(self, role: str, method: str, path: str) -> None:
        """The role's own log (or consent, webhook) with a foreign object beneath it: the
        inner object is looked up within the outer one, never on its own."""
        own = self.ids(role, "own", method, path)
        foreign = self.ids(role, "foreign", method, path)
        inner = [name for name in own if name not in ("log_id", "org_number")]
        mixed = {**own, **{name: foreign[name] for name in inner}}
        missing = {**own, **{name: str(uuid.uuid4()) for name in inner}}
        response = self.request(role, method, path, mixed, "own")
        nowhere = self.request(role, method, path, missing, "own")
        assert response.status_code == 404, (role, method, path, response.text)
        assert (response.content, headers_of(response)) == (
            nowhere.content, headers_of(nowhere)), (role, method, path, response.text,
                                                    nowhere.text)


def headers_of(response) -> dict:
    return {name.lower(): value for name, value in response.headers.items()
            if name.lower() not in VOLATILE_HEADERS}


def rows() -> list[tuple[str, str, str]]:
    """(method, path, object) for every route: own and foreign where a path or body names
    an object, a single row otherwise."""
    result = []
    for method, path, _, _ in api_routes(ROUTES):
        if "{" in path or (method, path) in BODY_OBJECT:
            result += [(method, path, "own"), (method, path, "foreign")]
        else:
            result.append((method, path, "—"))
    return result


def render(matrix: dict) -> str:
    header = "| Endpoint | Object | " + " | ".join(ROLES) + " |"
    lines = [header, "|" + "---|" * (len(ROLES) + 2)]
    for (method, path, which) in rows():
        cells = [matrix[(method, path, which, role)] for role in ROLES]
        lines.append(f"| `{method} {path}` | {which} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def documented() -> dict:
    """The table in docs/authorization.md, as {(method, path, object, role): cell}."""
    table = {}
    columns = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| Endpoint |"):
            columns = [c.strip() for c in line.strip("|").split("|")][2:]
            continue
        match = re.match(r"\| `(\w+) (\S+)` \| (\S+) \|(.*)\|$", line)
        if match and columns:
            method, path, which, rest = match.groups()
            cells = [c.strip() for c in rest.split("|")]
            for role, cell in zip(columns, cells, strict=True):
                assert (method, path, which, role) not in table, f"two rows for {line}"
                table[(method, path, which, role)] = cell
    return table


@pytest.fixture
def prober(populated_platform):
    platform, world = populated_platform
    return Prober(platform, world)


@pytest.mark.timeout(600)  # every route, role and object: minutes on a loaded runner
def test_every_endpoint_role_and_object_is_as_documented(prober):
    observed = {}
    for method, path, which in rows():
        for role in ROLES:
            observed[(method, path, which, role)] = prober.probe(role, method, path, which)
    if os.environ.get("AUTHZ_MATRIX_OUT"):  # to review a change of policy: write, then read
        Path(os.environ["AUTHZ_MATRIX_OUT"]).write_text(render(observed), encoding="utf-8")
    # an own log with a foreign object beneath it, for those who may act in the own log
    for method, path, _, _ in api_routes(ROUTES):
        if path.startswith("/logs/{log_id}/") and path.count("{") > 1:
            for role in ("teacher", "guardian", "child", "system"):
                if observed[(method, path, "own", role)] == "✓":
                    prober.probe_mixed(role, method, path)
    expected = documented()
    differences = [f"{m} {p} [{w}] {r}: documented {expected.get((m, p, w, r), 'nothing')}, "
                   f"observed {cell}" for (m, p, w, r), cell in observed.items()
                   if expected.get((m, p, w, r)) != cell]
    stale = [key for key in expected if key not in observed]
    assert not differences and not stale, "\n".join(differences + [f"not an endpoint: {s}"
                                                                   for s in stale])
