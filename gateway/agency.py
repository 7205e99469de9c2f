"""A gateway dedicated to one agency (``AGENCY_ORG_NUMBER``, deploy/k8s agency gateways).

Such a gateway gives one agency's staff and systems their own pods, limits and scaling
(docs/operations.md). It admits only that agency: a staff or system token naming another
organisation gets 403 before any service is asked, and so does a citizen, whose place is
the platform's shared gateway (a citizen has no agency, and an agency's host name is no
address to give a family). The shared gateway (no ``AGENCY_ORG_NUMBER``) admits everyone.
"""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from services.consent.identity_numbers import validate_org_number
from stafett.errors import Forbidden


class AgencyScope(DependencyProvider):
    """``self.agency_scope.admit(identity)``; a malformed number stops the gateway at start."""

    org_number: str | None = None

    def setup(self):
        number = str(self.container.config.get("AGENCY_ORG_NUMBER") or "").strip()
        # InvalidOrganisationNumber here fails the start: better than refusing everyone
        self.org_number = validate_org_number(number) if number else None

    def get_dependency(self, worker_ctx):
        return self

    def admit(self, identity: dict) -> None:
        if self.org_number is None:
            return
        if not identity.get("agency"):
            raise Forbidden("this gateway serves one agency's staff and systems only; "
                            "citizens use the platform's own address")
        if identity["agency"] != self.org_number:
            raise Forbidden("this gateway serves another agency; use your agency's own "
                            "address or the platform's")
