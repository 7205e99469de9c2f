"""What a viewer is shown of a handover (the schemas dump it)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.handover import domain
from services.handover.schemas import HandoverCitizenView, HandoverView
from stafett.clock import as_utc


def handover_view(handover, role: str, *, now: datetime, grace_days: int,
                  child: Callable[[], dict | None], with_summary: bool = True,
                  with_child: bool = False) -> dict:
    """Those who consent see where it goes, never the summary; staff see the summary while
    ``domain.shows_summary`` says so, and the child (``child()``, asked only then)."""
    schema = HandoverCitizenView() if role == domain.CONSENTING_PARTY else HandoverView()
    view = {name: getattr(handover, name) for name in schema.fields
            if hasattr(type(handover), name)}
    view = {k: as_utc(v) if isinstance(v, datetime) else v for k, v in view.items()}
    view["viewer_role"] = role
    view.update(domain.permissions(role, handover))  # each view keeps the flags it declares
    if role != domain.CONSENTING_PARTY:
        shown = with_summary and domain.shows_summary(role, handover, now, grace_days)
        view["summary"] = handover.summary if shown else None
        view["child"] = child() if shown and with_child else None
    return schema.dump(view)


def child_view(parties: dict | None, role: str | None, handover) -> dict | None:
    """The child's name and birth date from the owner's answer; in a protected case no
    name before the receiver has a part in the log."""
    if parties is None:
        return None
    child = parties["child"]
    if not domain.shows_child_name(role, handover, bool(parties.get("protected"))):
        child = {**child, "name": None}
    return child
