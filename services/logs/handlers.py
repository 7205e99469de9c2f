"""The logs service's flows beyond one entrypoint's unit of work on one log: opening a
log, applying a handover, the stafettholder's lapse (the timer and consent's changes),
and the population register's changes of guardianship and protection. Each loads
(store.py), asks the log (model.Log), and lets the store save and emit what it did.
"""
from __future__ import annotations

import logging

from services.logs import domain, model
from services.logs.models import AppliedHandover, ConsentProjection
from services.logs.versions import save_versions
from stafett.audit import audited_work
from stafett.errors import ServiceUnavailable
from stafett.events import Envelope, first_delivery, reliable_event_handler, utcnow

logger = logging.getLogger(__name__)
#: consent states after which a late event changes nothing
ENDED = ("withdrawn", "superseded", "expired", "ended")


def open_log(store, data: dict) -> dict:
    """A new log for a child whose consent covers the actor's agency, with the actor as
    its stafettholder and the child and its guardians as participants."""
    actor, child_id = store.actor, data["child_id"]
    with audited_work(store.db, actor, "open", "log", subject_id=child_id) as audit:
        has_open = store.has_open_log(child_id)
        coverage = store.coverage(child_id)
        domain.check_can_open(actor, coverage, has_open)
        parties = store.child_parties(child_id)
        me = store.staff_member(actor.person_id)
        log = model.Log.open(child_id, data["level"], parties, me, coverage, store.today)
        audit.protected = log.row.child_protected
        store.save(log)
        audit.object_id = audit.subject_id = log.id
        audit.role = domain.STAFETTHOLDER
    return store.view(log.id)


def apply_handover(store, log_id: str, handover_id: str, new_stafettholder_person_id: str,
                   receiving_person_ids: list[str], grace_days: int) -> dict:
    """Move the baton to the receiver; idempotent by handover id."""
    domain.require_handover_service(store.actor)
    if store.db.get(AppliedHandover, handover_id) is not None:
        return {"applied": True, "already_applied": True}
    with audited_work(store.db, store.actor, "apply_handover", "log", log_id,
                      subject_id=log_id, role="system") as audit:
        row = store.log_row(log_id)
        audit.protected = bool(row.child_protected)
        domain.require_open(row)
        # the owner's answer now, not the projection's: consent may have ended between
        # acceptance and this application
        store.sync_projection(row.child_id)
        log = store.aggregate(row, coverage=store.coverage(row.child_id))
        store.versions_before_commit(audit, [log])
        log.hand_over(handover_id, new_stafettholder_person_id, receiving_person_ids,
                      grace_days, store.staff_member)
        store.save(log)
    return {"applied": True, "already_applied": False}


# -- the stafettholder's lapse ----------------------------------------------------------------

def check_stafettholders(store) -> dict:
    """Every open log whose holder can no longer act records the lapse, one log per
    transaction; a log whose consent cannot be checked now is checked next round."""
    lapsed = 0
    for row in store.logs_with_a_holder():
        try:
            coverage = store.coverage(row.child_id)
        except ServiceUnavailable:
            logger.warning("consent unreachable; the holder is checked next round",
                           extra={"log_id": row.id})
            continue
        log = store.aggregate(row, coverage=coverage)
        lapsed += log.lapse()
        store.save(log)
        save_now(store, [log])
    store.db.commit()
    return {"lapsed": lapsed}


def save_now(store, logs) -> None:
    """Apply the logs' versions and commit (a handler's unit of work: no access record)."""
    save_versions(store.db, logs)
    store.db.commit()


def lapses_of_child(store, child_id: str, verified: bool = False) -> None:
    """Right after the child's consent projection changed: a holder whose agency it no
    longer covers lapses at once. Before recording a lapse the projection is checked with
    the consent service (unless ``verified``: just synced), so a replacing consent whose
    event is still on its way is counted: who is told depends on it."""
    rows = store.logs_of(child_id, open_only=True)
    participants = {row.id: store.participants(row.id) for row in rows}
    coverage = store.projected_coverage(child_id)
    if not verified and any(domain.lapsed_stafettholder(participants[row.id], store.today,
                                                        coverage) for row in rows):
        try:
            store.sync_projection(child_id)
            coverage = store.projected_coverage(child_id)
        except ServiceUnavailable:
            logger.warning("consent unreachable; the lapse is judged on the projection")
    logs = [store.aggregate(row, participants[row.id], coverage) for row in rows]
    for log in logs:
        log.lapse()
        store.save(log)
    save_versions(store.db, logs)  # the caller commits


# -- consent's events ---------------------------------------------------------------------------

def refresh_consent(store, child_id: str) -> None:
    store.sync_projection(child_id)
    lapses_of_child(store, child_id, verified=True)
    store.db.commit()


def consent_projection(event_type: str):
    """The service's handler (an entrypoint) of one type of consent event that changes
    the projection. Its consumer, ``on_<type>`` (``on_consent_granted``), is the name the
    service binds it to, so its queue and its deliveries keep their names."""
    consumer = "on_" + event_type.replace(".", "_")

    @reliable_event_handler("consent", event_type)
    def entrypoint(service, payload: dict) -> None:
        project_consent(service.store, payload, consumer)

    entrypoint.__name__ = entrypoint.__qualname__ = consumer
    return entrypoint


def project_consent(store, payload: dict, consumer: str) -> None:
    event = Envelope.from_dict(payload)
    if not first_delivery(store.db, f"logs.{consumer}", event.event_id):
        return
    row = store.db.get(ConsentProjection, event.data["consent_id"])
    if row is not None and row.status in ENDED and event.data["status"] not in ENDED:
        store.db.commit()  # an old event after the consent ended changes nothing
        return
    store.upsert_projection(event.child_id, event.data)
    store.db.flush()
    lapses_of_child(store, event.child_id)
    store.db.commit()


def guardianship_changed(store, payload: dict) -> None:
    """A removed guardian stops being a participant of every log of the child at once (an
    open log's and a closed one's); a new guardian joins the child's open logs; the case's
    protection follows."""
    event = Envelope.from_dict(payload)
    if not first_delivery(store.db, "logs.on_guardianship_changed", event.event_id):
        return
    data, now = event.data or {}, utcnow()
    rows = store.logs_of(event.child_id)
    added = set(data.get("added_guardian_ids") or [])
    names = {}
    if added and any(row.status == domain.OPEN for row in rows):
        parties = store.child_parties(event.child_id)  # names: only by RPC
        names = {g["id"]: g["name"] for g in parties["guardians"]}
    logs = [store.aggregate(row) for row in rows]
    for log in logs:
        log.mark_protected(data.get("protected"))
        log.remove_guardians(data.get("removed_guardian_ids") or [], now)
        log.add_guardians(added, names, now)
        store.save(log)
    save_now(store, logs)


def protection_changed(store, payload: dict) -> None:
    event = Envelope.from_dict(payload)
    if not first_delivery(store.db, "logs.on_protection_changed", event.event_id):
        return
    for row in store.logs_of(event.child_id):
        model.Log(row).mark_protected((event.data or {}).get("protected"))
    store.db.commit()
