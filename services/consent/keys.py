"""Rotation of the national-id keys, in steps the service takes while it runs.

``begin``: a new key becomes current (the old ones stay active), unless a rotation is
already under way, which then goes on. New rows are sealed with the new key from the next
call of every process that shares the keyring (it is stat'ed on every use).
``step``: one batch of rows still under an old key is re-sealed and re-indexed under the
current key, each row in one UPDATE (ciphertext, index and key id together), the batch in
one transaction; rows another replica is re-sealing are skipped (PostgreSQL
``FOR UPDATE SKIP LOCKED``). ``retire``: when no row is left under an old key, the old keys
lose their material. Lookups try every active key's index, so a person is found before,
during and after (``tests/unit/consent/test_key_rotation.py``).
"""
from __future__ import annotations

from sqlalchemy import func, or_, select

from services.consent.models import Person
from services.consent.protection import PARTS, NumberProtector
from stafett.errors import Conflict, ValidationFailed
from stafett.secrets import FIRST_KEY_ID, KeyringError


def person_by_number(session, numbers: NumberProtector, number: str) -> Person | None:
    """The person with this number, whichever active key its row is under."""
    return session.scalar(select(Person).where(
        Person.nin_index.in_(numbers.blind_indexes(number))))


def _under_old_keys(current: str):
    return Person.nin_ciphertext.is_not(None), or_(Person.nin_key_id.is_(None),
                                                   Person.nin_key_id != current)


def remaining(session, numbers: NumberProtector) -> int:
    return session.scalar(select(func.count()).select_from(Person).where(
        *_under_old_keys(numbers.current_key_id)))


def status(session, numbers: NumberProtector) -> dict:
    ring = numbers.keyring()
    return {"current": ring.current, "active": sorted(ring.active, key=int),
            "retired": list(ring.retired), "remaining": remaining(session, numbers)}


def begin(session, numbers: NumberProtector) -> dict:
    keys = numbers.keys
    ring = keys.keyring()
    started = not ring.rotating
    if started:
        try:
            keys.save(ring.with_new_key(PARTS))
        except (KeyringError, OSError) as exc:
            raise Conflict(f"cannot add a key: {exc}", code="number_keys.cannot_add") from None
    return {**status(session, numbers), "started": started}


def step(session, numbers: NumberProtector, batch_size: int) -> dict:
    """Re-seal one batch; commits."""
    ring = numbers.keyring()
    rows = session.scalars(select(Person).where(*_under_old_keys(ring.current))
                           .order_by(Person.id).limit(batch_size)
                           .with_for_update(skip_locked=True)).all()
    for person in rows:
        try:
            number = numbers.decrypt(person.nin_ciphertext, person.id,
                                     person.nin_key_id or FIRST_KEY_ID)
        except KeyringError as exc:
            raise Conflict(f"a row is under key {person.nin_key_id!r}, which the keyring "
                           f"cannot open ({exc}): restore that key first",
                           code="number_keys.key_missing") from None
        person.nin_key_id, person.nin_ciphertext, person.nin_index = \
            numbers.protect(number, person.id)
    session.commit()
    return {**status(session, numbers), "resealed": len(rows)}


def retire(session, numbers: NumberProtector) -> dict:
    """Retire every key but the current one, once no row needs them."""
    left = remaining(session, numbers)
    if left:
        raise Conflict(f"{left} rows are still under an old key: step on before retiring",
                       code="number_keys.rows_under_old_key")
    keys = numbers.keys
    ring = keys.keyring()
    if not ring.rotating:
        return {**status(session, numbers), "retired_now": []}
    done = ring.retire_all_but_current()
    try:
        keys.save(done)
    except (KeyringError, OSError) as exc:
        # from configuration, or a read-only mount (a Kubernetes Secret): the operator
        # removes the old keys where the keyring comes from
        return {**status(session, numbers), "retired_now": [],
                "remove_yourself": [k for k in ring.active if k != ring.current],
                "detail": f"the keyring cannot be written here ({exc}): remove these keys "
                          "where it comes from"}
    removed = keys.remove_legacy_files() if FIRST_KEY_ID in done.retired else []
    return {**status(session, numbers),
            "retired_now": [k for k in ring.active if k != ring.current],
            "removed_files": removed}


def action(name: str, batch_size: int = 500):
    """The step ``name`` of a rotation as ``(session, numbers) -> dict``: ``status``,
    ``begin`` (a new current key), ``step`` (re-seal one batch of at most ``batch_size``
    rows), ``retire`` (the old keys, once no row needs them)."""
    actions = {"status": status, "begin": begin, "retire": retire,
               "step": lambda session, numbers: step(session, numbers, batch_size)}
    if name not in actions or not isinstance(batch_size, int) or not 1 <= batch_size <= 10000:
        raise ValidationFailed("unknown action or batch size",
                               {"action": [f"one of {sorted(actions)}"],
                                "batch_size": ["1 to 10000"]},
                               code="number_keys.unknown_action")
    return actions[name]
