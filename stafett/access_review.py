"""Access records as people review them (docs/audit.md): the family's access log of a child,
a record's inclusion proof, and the agency auditor's review of its own staff.

Every service mixes in ``AccessLogEndpoints`` (with ``AuditEndpoints``), so each answers
for its own records; the gateway merges the four answers by time (gateway/routes/
access_log.py).

- ``child_access_log(child_id, ...)``: the records about one child, newest first. Who may
  see them is the logs service's rule, the one of a log's access log (the child's guardians,
  the child when it sees its own case, the stafettholder): each service asks it
  (``logs.access_log_scope``), which also says which of the service's subjects are the
  child's (its logs; handover records name the log, consent and notification records the
  child).
- ``access_record_proof(child_id, record_id)``: the record's content, exactly as hashed,
  and its RFC 9162 inclusion proof against the service's newest signed checkpoint;
  ``python -m stafett.audit.verify_inclusion`` checks both with the standard library.
- ``agency_access_log(...)``: for an agency auditor (Normen faktaark 15), every record of the
  auditor's own agency, filtered by person, child, period and outcome, each with the
  anomalies this service can see: ``denied``; ``bulk`` (more than ``AUDIT_BULK_READS``
  reads by one person within ``AUDIT_BULK_MINUTES`` in this service); and from the logs
  service ``outside_participation`` and ``after_consent_ended``.
"""
from __future__ import annotations

import base64
from bisect import bisect_left
from datetime import timedelta

from nameko.rpc import rpc
from sqlalchemy import select

from stafett.audit import RECORDED_ID, access_table, audited_work, leaf_content, purposes
from stafett.clock import as_utc, parse_utc
from stafett.errors import EXPECTED, BadRequest, Conflict, Forbidden, NotFound
from stafett.paging import bounded, decode_key, keyset_page
from stafett.tlog import inclusion_proof
from stafett.transparency import checkpoint_table, leaf_hashes

OUTCOMES = ("allowed", "denied", "rejected")
#: actions that read (what the bulk rate counts)
READS = ("read", "list", "search", "export_fhir", "resolve", "meeting_preparation")
ANOMALIES = ("denied", "bulk", "outside_participation", "after_consent_ended")


def family_item(service: str, row) -> dict:
    """A record as the family's list shows it (the gateway adds the names)."""
    code, why = purposes.explain(row)
    return {"ref": f"{service}:{row['id']}", "service": service, "id": row["id"],
            "at": as_utc(row["at"]).isoformat(), "actor_ref": row["actor_ref"],
            "actor_kind": row["actor_kind"], "agency": row["agency"], "role": row["role"],
            "action": row["action"], "object_type": row["object_type"],
            "outcome": row["outcome"], "purpose": code, "why": why,
            "protected": bool(row["protected"]), "key": row["seq"]}


def auditor_item(service: str, row, flags) -> dict:
    code, why = purposes.explain(row)
    return {**{k: row[k] for k in ("id", "actor_ref", "actor_kind", "agency", "role",
                                   "action", "object_type", "object_id", "subject_id",
                                   "outcome", "reason")},
            "ref": f"{service}:{row['id']}", "service": service,
            "at": as_utc(row["at"]).isoformat(), "purpose": code, "why": why,
            "protected": bool(row["protected"]), "anomalies": sorted(flags),
            "key": row["seq"]}


def _id_filter(value, name: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not RECORDED_ID.fullmatch(value):
        raise BadRequest(f"{name} is an id")
    return value


def _time_filter(value, name: str):
    if value in (None, ""):
        return None
    try:
        return parse_utc(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} is a time (ISO 8601)") from None


def bulk_reads(rows, window: timedelta, threshold: int, history) -> set[str]:
    """Ids of the read records in ``rows`` that are the (threshold+1)th or later read by the
    same actor within ``window``; ``history(actor_ref, since, until)`` gives that actor's
    read times, sorted."""
    flagged: set[str] = set()
    reads = [r for r in rows if r["action"] in READS and r["actor_ref"].startswith("person:")]
    for actor in {r["actor_ref"] for r in reads}:
        mine = [r for r in reads if r["actor_ref"] == actor]
        times = history(actor, min(as_utc(r["at"]) for r in mine) - window,
                        max(as_utc(r["at"]) for r in mine))
        for r in mine:
            at = as_utc(r["at"])
            inside = bisect_left(times, at + timedelta(microseconds=1)) - bisect_left(
                times, at - window)
            if inside > threshold:
                flagged.add(r["id"])
    return flagged


class AccessLogEndpoints:
    """Mixed into each service; a service may refine the three hooks below."""

    def _access_scope(self, child_id: str) -> dict:
        """``{"child_id", "log_ids", "role"}`` if the actor may see the child's access log,
        else NotFound/Forbidden: the logs service decides (``logs.access_log_scope``, each
        service's call written out for the broker-access scan; the logs service locally)."""
        raise NotImplementedError("a service asks the logs service: logs.access_log_scope")

    def _access_subjects(self, scope: dict) -> list[str]:
        """The ``subject_id`` values of this service's records about the child."""
        return [scope["child_id"]]

    def _child_subjects(self, child_id: str) -> list[str]:
        """The same for the auditor's child filter (no scope: the agency bounds it)."""
        return [child_id]

    def _access_names(self, scope: dict, items: list) -> dict:
        """Names this service knows for the page's actors (the logs service: the
        participants, as the log shows them)."""
        return {}

    def _audit_flags(self, rows) -> dict[str, set]:
        """Further anomalies by record id (the logs service: participation, consent)."""
        return {}

    # -- the family ------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def child_access_log(self, child_id: str, limit: int = 50,
                         cursor: str | None = None) -> dict:
        """The records about the child, newest first (keyset on ``seq``)."""
        if not isinstance(child_id, str) or not RECORDED_ID.fullmatch(child_id):
            raise NotFound("no such child", code="access_log.not_allowed")
        scope = self._access_scope(child_id)
        after = decode_key(cursor)
        query = select(access_table).where(
            access_table.c.subject_id.in_(self._access_subjects(scope)))
        if after is not None:
            query = query.where(access_table.c.seq < after)
        rows = self.db.execute(query.order_by(access_table.c.seq.desc())
                               .limit(bounded(limit) + 1)).mappings().all()
        result = keyset_page(rows, bounded(limit), lambda r: r["seq"])
        result["items"] = [family_item(self.name, r) for r in result["items"]]
        result["names"] = self._access_names(scope, result["items"])
        self.db.rollback()
        return result

    @rpc(expected_exceptions=EXPECTED)
    def access_record_proof(self, child_id: str, record_id: str) -> dict:
        """One record about the child, as hashed, with its inclusion proof (RFC 9162
        2.1.3) against this service's newest signed checkpoint."""
        if not isinstance(child_id, str) or not RECORDED_ID.fullmatch(child_id):
            raise NotFound("no such child", code="access_log.not_allowed")
        scope = self._access_scope(child_id)
        row = None
        if isinstance(record_id, str) and RECORDED_ID.fullmatch(record_id):
            row = self.db.execute(select(access_table).where(
                access_table.c.id == record_id,
                access_table.c.subject_id.in_(self._access_subjects(scope)))).mappings().first()
        if row is None:
            raise NotFound("no such record in the child's access log",
                           code="access_log.record_not_found")
        newest = self.db.execute(select(checkpoint_table).order_by(
            checkpoint_table.c.tree_size.desc()).limit(1)).mappings().first()
        index = row["leaf_index"]
        if index is None or newest is None or newest["tree_size"] <= index:
            raise Conflict("the record is not in a signed checkpoint yet; ask again in a few "
                           "seconds", code="access_log.not_sealed")
        size = newest["tree_size"]
        path = inclusion_proof(leaf_hashes(self.db.connection(), size), index, size)
        key = self.audit_log.key
        self.db.rollback()
        return {"service": self.name, "record": leaf_content(row), "leaf_index": index,
                "tree_size": size,
                "root_hash": base64.b64encode(bytes.fromhex(newest["root_hash"])).decode(),
                "inclusion_path": [base64.b64encode(h).decode() for h in path],
                "checkpoint": newest["note"],
                "verifier_key": key.verifier if key is not None else None}

    # -- the agency auditor ----------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def agency_access_log(self, limit: int = 50, cursor: str | None = None,
                          person: str | None = None, child: str | None = None,
                          since: str | None = None, until: str | None = None,
                          outcome: str | None = None) -> dict:
        """Every record of the auditor's own agency, newest first, with its anomalies.
        The auditor's reading is itself recorded (purpose "audit")."""
        actor = self.actor
        with audited_work(self.db, actor, "audit", "access_log", purpose="audit"):
            if actor is None or actor.kind != "staff" or "auditor" not in actor.roles \
                    or not actor.agency:
                raise Forbidden("only an agency auditor may read the agency's access records",
                                code="access_log.auditor_only")
            table = access_table
            conditions = [table.c.agency == actor.agency]
            person = _id_filter(person, "person")
            if person:
                conditions.append(table.c.actor_ref == f"person:{person}")
            child = _id_filter(child, "child")
            if child:
                conditions.append(table.c.subject_id.in_(self._child_subjects(child)))
            start, end = _time_filter(since, "since"), _time_filter(until, "until")
            if start is not None:
                conditions.append(table.c.at >= start)
            if end is not None:
                conditions.append(table.c.at < end)
            if outcome not in (None, ""):
                if outcome not in OUTCOMES:
                    raise BadRequest(f"outcome is one of {', '.join(OUTCOMES)}")
                conditions.append(table.c.outcome == outcome)
            after = decode_key(cursor)
            if after is not None:
                conditions.append(table.c.seq < after)
            rows = self.db.execute(select(table).where(*conditions)
                                   .order_by(table.c.seq.desc())
                                   .limit(bounded(limit) + 1)).mappings().all()
            result = keyset_page(rows, bounded(limit), lambda r: r["seq"])
        rows = result["items"]
        flags = {r["id"]: ({"denied"} if r["outcome"] == "denied" else set()) for r in rows}
        window = timedelta(minutes=float(self.config.get("AUDIT_BULK_MINUTES", 10)))
        for found in bulk_reads(rows, window, int(self.config.get("AUDIT_BULK_READS", 100)),
                                self._read_times):
            flags[found].add("bulk")
        for record_id, more in self._audit_flags(rows).items():
            flags[record_id] |= set(more)
        result["items"] = [auditor_item(self.name, r, flags[r["id"]]) for r in rows]
        return result

    def _read_times(self, actor_ref: str, since, until) -> list:
        table = access_table
        return sorted(as_utc(at) for at in self.db.scalars(select(table.c.at).where(
            table.c.actor_ref == actor_ref, table.c.action.in_(READS),
            table.c.at >= since, table.c.at <= until)))
