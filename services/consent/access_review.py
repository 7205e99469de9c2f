"""The consent service's part of the access log review (stafett/access_review.py): who may
see a child's access log is the logs service's rule, and the names of the staff in it are
the consent service's (it registers them)."""
from __future__ import annotations

from nameko.rpc import rpc

from stafett.errors import EXPECTED


class ConsentAccessReview:
    """Mixed into ``ConsentService`` before ``DomainService``."""

    def _access_scope(self, child_id: str) -> dict:
        return self.logs.access_log_scope(child_id)  # the logs service's rule

    @rpc(expected_exceptions=EXPECTED)
    def access_log_names(self, child_id: str, refs: list) -> dict:
        """Names for the child's access log (the gateway asks with the page's actors): staff
        by name, title and agency; citizens are shown by their role, never named here."""
        self._access_scope(child_id)  # the logs service's rule, as for the records
        result = self.store.staff_names(refs if isinstance(refs, list) else [])
        self.db.rollback()
        return result
