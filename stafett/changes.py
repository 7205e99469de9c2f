"""Writing what a domain object changed as one compare-and-set.

A domain object applies its own transitions (attribute writes on a mapped row); the
session must not flush them blindly, because two workers (replicas, retries) may have
read the same row. ``compare_and_set`` writes the unflushed changes as one ``UPDATE ...
WHERE <primary key> AND <conditions>`` and reloads the row: True if it matched, False if
someone else changed it first (the row is then as they left it).
"""
from __future__ import annotations

from sqlalchemy import inspect, update


def pending_changes(obj) -> dict:
    """The column values ``obj`` was given since it was loaded or last written."""
    return {attr.key: attr.history.added[0] for attr in inspect(obj).attrs
            if attr.history.added}


def compare_and_set(session, obj, *conditions) -> bool:
    state = inspect(obj)
    mapper, changed = state.mapper, pending_changes(obj)
    for column in mapper.primary_key:
        changed.pop(mapper.get_property_by_column(column).key, None)
    session.expire(obj)  # drop the unflushed writes: the UPDATE below is the one write
    matched = 0
    if changed:
        keys = [mapper.get_property_by_column(c).class_attribute == v
                for c, v in zip(mapper.primary_key, state.identity)]
        matched = session.execute(update(mapper.class_).where(*keys, *conditions)
                                  .values(**changed)
                                  .execution_options(synchronize_session=False)).rowcount
    session.refresh(obj)
    return bool(matched)
