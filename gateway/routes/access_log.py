"""A child's access log across the four services, and the agency auditor's review (owner:
each service for its own records, stafett/access_review.py; who may see a child's is the
logs service's rule). The gateway asks each service for a page, merges them by time and
keeps one cursor per service in its own (docs/audit.md).

- the family: ``/children/{child}/access-log`` (who, when, what, why), one record as
  hashed (``.../{record}``, "record.json") and its inclusion proof (``.../{record}/proof``,
  "proof.json") for ``python -m stafett.audit.verify_inclusion``;
- the agency auditor: ``/audit/access-log`` with filters and anomalies, as CSV and as a
  FHIR R5 Bundle of IHE BALP ``AuditEvent``s (gateway/audit_export.py).
"""
from __future__ import annotations

import base64
import heapq
import json
import re
from collections import Counter
from itertools import islice

from gateway.audit_export import MAX_EXPORT, csv_text, fhir_bundle
from gateway.http import json_result
from stafett.errors import BadRequest
from stafett.paging import encode_key, not_ours
from werkzeug.wrappers import Response

SERVICES = ("consent", "logs", "handover", "notifications")
RECORD = re.compile(r"(consent|logs|handover|notifications):([A-Za-z0-9._:-]{1,36})")
#: a merged cursor: base64url of {"m": {service: the key to continue below, 0 when done}}
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,400}")
CITIZEN_ROLES = {"guardian": "Foresatt", "child": "Barnet", "recipient": "Mottaker"}
FILTERS = [
    {"name": "person", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "a staff member's person id"},
    {"name": "child", "in": "query", "required": False, "schema": {"type": "string"}},
    {"name": "since", "in": "query", "required": False,
     "schema": {"type": "string", "format": "date-time"}},
    {"name": "until", "in": "query", "required": False,
     "schema": {"type": "string", "format": "date-time"}},
    {"name": "outcome", "in": "query", "required": False,
     "schema": {"type": "string", "enum": ["allowed", "denied", "rejected"]}}]


def decode_cursor(cursor: str | None) -> dict:
    if not cursor:
        return {}
    if not _CURSOR.fullmatch(cursor):
        raise not_ours()
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        keys = data["m"]
        if set(keys) - set(SERVICES) or not all(
                type(v) is int and 0 <= v < 2 ** 63 for v in keys.values()):
            raise ValueError
        return keys
    except (ValueError, KeyError, TypeError, AttributeError):
        raise not_ours() from None


def encode_cursor(keys: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps({"m": keys}, separators=(",", ":"))
                                    .encode()).decode().rstrip("=")


def merged_page(fetchers: dict, limit: int, cursor: str | None) -> dict:
    """One page of newest-first records from several sources: ``fetchers[service](limit,
    service_cursor)`` gives that service's page (each item with ``at`` and ``key``, its
    keyset key). Items not shown are asked for again on the next page."""
    keys = decode_cursor(cursor)
    pages = {service: ({"items": [], "next_cursor": None} if keys.get(service) == 0 else
                       fetch(limit, encode_key(keys[service]) if keys.get(service) else None))
             for service, fetch in fetchers.items()}
    streams = [[(item["at"], service, n, item) for n, item in enumerate(page["items"])]
               for service, page in pages.items()]
    chosen = list(islice(heapq.merge(*streams, key=lambda t: t[0], reverse=True), limit))
    taken = Counter(service for _, service, _, _ in chosen)
    following = {}
    for service, page in pages.items():
        items, count = page["items"], taken[service]
        if count == len(items):
            following[service] = 0 if page["next_cursor"] is None else items[-1]["key"]
        elif count == 0:
            following[service] = keys.get(service) or items[0]["key"] + 1
        else:
            following[service] = items[count - 1]["key"]
    items = [{k: v for k, v in item.items() if k != "key"} for *_, item in chosen]
    more = any(following.values())
    return {"items": items, "next_cursor": encode_cursor(following) if more else None}


def who(item: dict, names: dict, me: str | None) -> dict:
    """Name, title and agency of the record's actor, as the family reads it (bokmål)."""
    if item["actor_ref"] == me:
        return {"who": "Deg", "title": None, "agency_name": None, "agency_type": None}
    known = names.get(item["actor_ref"])
    if known:
        return {"who": known["name"], "title": known.get("title"),
                "agency_name": known.get("agency_name"),
                "agency_type": known.get("agency_type")}
    if item["actor_kind"] == "citizen":
        return {"who": CITIZEN_ROLES.get(item["role"], "Innbygger"), "title": None,
                "agency_name": None, "agency_type": None}
    if item["actor_kind"] == "system":
        return {"who": "Fagsystem", "title": None, "agency_name": item["agency"],
                "agency_type": None}
    if item["outcome"] != "allowed":
        return {"who": "Noen som ikke er med i saken", "title": None, "agency_name": None,
                "agency_type": None}
    return {"who": "Stafett (systemet)", "title": None, "agency_name": None,
            "agency_type": None}


# each call written out, for the broker-access scan (tests/unit/test_broker_access.py)
def _child_fetchers(ctx, child_id: str) -> dict:
    return {
        "consent": lambda n, c: ctx.consent.child_access_log(child_id, n, c),
        "logs": lambda n, c: ctx.logs.child_access_log(child_id, n, c),
        "handover": lambda n, c: ctx.handover.child_access_log(child_id, n, c),
        "notifications": lambda n, c: ctx.notifications.child_access_log(child_id, n, c)}


def _auditor_fetchers(ctx, filters: dict) -> dict:
    return {
        "consent": lambda n, c: ctx.consent.agency_access_log(n, c, **filters),
        "logs": lambda n, c: ctx.logs.agency_access_log(n, c, **filters),
        "handover": lambda n, c: ctx.handover.agency_access_log(n, c, **filters),
        "notifications": lambda n, c: ctx.notifications.agency_access_log(n, c, **filters)}


def _proof_of(ctx, service: str, child_id: str, record_id: str) -> dict:
    return {"consent": lambda: ctx.consent.access_record_proof(child_id, record_id),
            "logs": lambda: ctx.logs.access_record_proof(child_id, record_id),
            "handover": lambda: ctx.handover.access_record_proof(child_id, record_id),
            "notifications": lambda: ctx.notifications.access_record_proof(
                child_id, record_id)}[service]()


def child_access_page(ctx, child_id: str, limit: int, cursor) -> dict:
    """The merged page with names (the API's and the web client's)."""
    # the logs service first: it decides, and records the read, before any other answers;
    # names: the log's participants as the log shows them, staff as registered
    fetchers, names = _child_fetchers(ctx, child_id), {}
    of_logs = fetchers.pop("logs")

    def logs(limit, cursor):  # first, and it names the log's participants
        page = of_logs(limit, cursor)
        names.update(page.pop("names", {}))
        return page
    result = merged_page({"logs": logs, **fetchers}, limit, cursor)
    refs = sorted({i["actor_ref"] for i in result["items"]
                   if i["actor_ref"].startswith("person:")})
    if refs:  # staff by the name and agency they are registered with
        names.update(ctx.consent.access_log_names(child_id, refs))
    actor = getattr(ctx, "actor", None)
    me = actor.ref if actor is not None else None
    result["items"] = [{**item, **who(item, names, me)} for item in result["items"]]
    return result


def record_proof(ctx, child_id: str, record: str) -> dict:
    # a ref that is none of ours still goes to a service, which decides on the child
    # first: refused or missing, the answer is the same as for a real record
    match = RECORD.fullmatch(record)
    service, record_id = match.groups() if match else ("logs", record)
    return _proof_of(ctx, service, child_id, record_id)


def child_access_log(ctx, child_id):
    return child_access_page(ctx, child_id, **ctx.paging())


def child_access_record(ctx, child_id, record):
    return record_proof(ctx, child_id, record)["record"]


def child_access_record_proof(ctx, child_id, record):
    return record_proof(ctx, child_id, record)


# -- the agency auditor ----------------------------------------------------------------------

def _filters(ctx) -> dict:
    filters = {name: ctx.request.args.get(name) or None
               for name in ("person", "child", "since", "until", "outcome")}
    if any(value is not None and len(value) > 64 for value in filters.values()):
        raise BadRequest("a filter is at most 64 characters")
    return filters


def agency_access_log(ctx):
    return merged_page(_auditor_fetchers(ctx, _filters(ctx)), **ctx.paging())


def _export(ctx) -> list[dict]:
    fetchers, records, cursor = _auditor_fetchers(ctx, _filters(ctx)), [], None
    while len(records) < MAX_EXPORT:
        page = merged_page(fetchers, 200, cursor)
        records += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return records[:MAX_EXPORT]


def agency_access_log_csv(ctx):
    return Response(csv_text(_export(ctx)), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="tilgangslogg.csv"'})


def agency_access_log_fhir(ctx):
    return json_result(fhir_bundle(_export(ctx)), content_type="application/fhir+json")
