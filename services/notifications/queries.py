"""The notifications service's read queries (pages of the inbox, webhooks, deliveries), in
the caller's session; the schemas dump what they return."""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select

from services.notifications import domain
from services.notifications.models import Delivery, Notification, Webhook
from stafett.paging import bounded, decode_position, newest_first, position_page


def _newest_first_page(session, query, model, limit: int, cursor: str | None) -> dict:
    limit = bounded(limit)
    query = newest_first(query, model.created_at, model.id, decode_position(cursor))
    return position_page(session.scalars(query.limit(limit + 1)).all(), limit,
                         lambda row: (row.created_at, row.id))


def inbox_page(session, person_id: str, limit: int, cursor: str | None,
               unread_only: bool) -> tuple[dict, int]:
    """One page of the person's inbox, newest first (withdrawn items are gone), and how
    many are unread in all."""
    mine = and_(Notification.person_id == person_id, Notification.channel == domain.INBOX,
                Notification.dropped_at.is_(None))
    query = select(Notification).where(mine)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    page = _newest_first_page(session, query, Notification, limit, cursor)
    unread = session.scalar(select(func.count()).select_from(Notification).where(
        mine, Notification.read_at.is_(None)))
    return page, unread


def inbox_item(session, actor, ref: str):
    """The actor's inbox item by its id, or by its event's id (an e-mail links to that)."""
    if actor is None or not actor.person_id or not isinstance(ref, str):
        return None
    return session.scalars(select(Notification).where(
        Notification.person_id == actor.person_id, Notification.channel == domain.INBOX,
        or_(Notification.id == ref, Notification.event_id == ref)).limit(1)).first()


def active_webhooks(session, agency: str) -> list[Webhook]:
    return session.scalars(select(Webhook).where(
        Webhook.agency == agency, Webhook.active.is_(True)).order_by(Webhook.created_at)).all()


def active_webhook_count(session, agency: str) -> int:
    return session.scalar(select(func.count()).select_from(Webhook).where(
        Webhook.agency == agency, Webhook.active.is_(True)))


def webhook_deliveries(session, webhook_id: str, limit: int, cursor: str | None) -> dict:
    return _newest_first_page(session, select(Delivery).where(Delivery.webhook_id == webhook_id),
                              Delivery, limit, cursor)


def deliveries(session, status: str | None, event_id: str | None, channel: str | None,
               limit: int) -> list[Delivery]:
    """Operations: by status, event or channel, most recently changed first."""
    query = select(Delivery)
    if status:
        query = query.where(Delivery.status == status)
    if event_id:
        query = query.where(Delivery.event_id == event_id)
    if channel:
        query = query.where(Delivery.channel == channel)
    return session.scalars(query.order_by(Delivery.updated_at.desc())
                           .limit(max(1, min(int(limit), 1000)))).all()
