"""The gateway: authenticates, builds the actor, forwards to the owning service.

It holds no state and decides no data access: the service that owns the data does.
"""
from __future__ import annotations

import json
from pathlib import Path

from nameko.extensions import DependencyProvider
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from gateway.auth import TokenVerifier
from gateway.http import api, json_body, json_result
from gateway.identity import identity_from
from gateway.openapi import openapi_document
from stafett.actor import Actor, ActorContext
from stafett.devissuer import dev_issuer_configs
from stafett.errors import Unauthorized
from stafett.rpc import TimeoutRpcProxy
from stafett.service import ServiceBase


class Authenticator(DependencyProvider):
    """Verifies bearer tokens against the configured issuers (and the dev issuer if on)."""

    def setup(self):
        config = self.container.config
        issuers = list(config.get("ISSUERS") or [])
        if str(config.get("DEV_ISSUER", "false")).lower() == "true":
            issuers += dev_issuer_configs(config.get("DEV_ISSUER_DIR", "var"))
        self.verifier = TokenVerifier.from_config(issuers)
        self.max_body = int(config.get("MAX_BODY_BYTES", 65536))

    def get_dependency(self, worker_ctx):
        return self

    def identity(self, request) -> dict:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send a bearer token in the Authorization header")
        return identity_from(self.verifier.verify(token.strip()))


class GatewayService(ServiceBase):
    name = "gateway"

    auth = Authenticator()
    actor_context = ActorContext()
    consent = TimeoutRpcProxy("consent")
    logs = TimeoutRpcProxy("logs")
    handover = TimeoutRpcProxy("handover")
    notifications = TimeoutRpcProxy("notifications")

    def _authenticate(self, request) -> Actor:
        identity = self.auth.identity(request)
        actor = Actor.from_context(self.consent.resolve_actor(identity))
        self.actor_context.set(actor)
        return actor

    def _body(self, request) -> dict:
        return json_body(request, self.auth.max_body)

    # -- documents --------------------------------------------------------------------------

    @http("GET", "/openapi.json")
    def openapi(self, request):
        return Response(json.dumps(openapi_document()), content_type="application/json")

    @http("GET", "/")
    def index(self, request):
        page = (Path(__file__).parent / "templates" / "index.html").read_text(encoding="utf-8")
        return Response(page, content_type="text/html; charset=utf-8")

    # -- who am I ---------------------------------------------------------------------------

    @api("GET", "/me")
    def me(self, request):
        actor = self._authenticate(request)
        return {"kind": actor.kind, "person_id": actor.person_id, "agency": actor.agency,
                "agency_type": actor.agency_type, "roles": list(actor.roles),
                "scopes": list(actor.scopes)}

    # -- children and consent ---------------------------------------------------------------

    @api("GET", "/children")
    def my_children(self, request):
        self._authenticate(request)
        return {"items": self.consent.my_children()}

    @api("POST", "/children/search")
    def find_child(self, request):
        self._authenticate(request)
        return self.consent.find_child(self._body(request))

    @api("GET", "/children/<child_id>/consents")
    def list_consents(self, request, child_id):
        self._authenticate(request)
        return {"items": self.consent.list_consents(child_id)}

    @api("POST", "/children/<child_id>/consents")
    def grant_consent(self, request, child_id):
        self._authenticate(request)
        consent = self.consent.grant_consent(child_id, self._body(request))
        return json_result(consent, 201, {"Location": f"/api/v1/consents/{consent['id']}"})

    @api("POST", "/consents/<consent_id>/withdraw")
    def withdraw_consent(self, request, consent_id):
        self._authenticate(request)
        return self.consent.withdraw_consent(consent_id)

    @api("GET", "/agencies/<org_number>/staff")
    def list_staff(self, request, org_number):
        self._authenticate(request)
        return {"items": self.consent.list_staff(org_number)}

    # -- logs -------------------------------------------------------------------------------

    @api("GET", "/logs")
    def my_logs(self, request):
        self._authenticate(request)
        return {"items": self.logs.my_logs()}

    @api("POST", "/logs")
    def open_log(self, request):
        self._authenticate(request)
        log = self.logs.open_log(self._body(request))
        return json_result(log, 201, {"Location": f"/api/v1/logs/{log['id']}",
                                      "ETag": f'"{log["version"]}"'})

    @api("GET", "/logs/<log_id>")
    def get_log(self, request, log_id):
        self._authenticate(request)
        log = self.logs.get_log(log_id)
        return json_result(log, 200, {"ETag": f'"{log["version"]}"'})

    @api("POST", "/logs/<log_id>/participants")
    def add_participant(self, request, log_id):
        self._authenticate(request)
        return json_result(self.logs.add_participant(log_id, self._body(request)), 201)

    @api("POST", "/logs/<log_id>/measures")
    def add_measure(self, request, log_id):
        self._authenticate(request)
        measure = self.logs.add_measure(log_id, self._body(request))
        return json_result(measure, 201,
                           {"Location": f"/api/v1/logs/{log_id}/measures/{measure['id']}"})

    # -- handovers and notifications --------------------------------------------------------

    @api("GET", "/handovers")
    def list_handovers(self, request):
        self._authenticate(request)
        return {"items": self.handover.list_handovers()}

    @api("GET", "/notifications")
    def inbox(self, request):
        self._authenticate(request)
        return {"items": self.notifications.inbox()}

    @api("POST", "/notifications/<notification_id>/read")
    def mark_read(self, request, notification_id):
        self._authenticate(request)
        return self.notifications.mark_read(notification_id)
