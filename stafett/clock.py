"""Time in the kernel: everything stored and compared is an aware UTC ``datetime``.

SQLite hands ``DateTime`` columns back naive (they were stored as UTC), and a timestamp in a
message may come without an offset; ``as_utc`` and ``parse_utc`` are the one place that
reads such a value as UTC.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

#: where the people using the platform live: what "today" means to them
LOCAL_ZONE = ZoneInfo("Europe/Oslo")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def local_today(now: datetime | None = None) -> date:
    """Today in Norway: from midnight to 01:00 or 02:00 Oslo time, ``date.today()`` on a
    server in UTC is still yesterday."""
    return (now or utcnow()).astimezone(LOCAL_ZONE).date()


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware datetime: a naive one is taken to be UTC (as it was stored),
    an aware one is kept as it is (same instant, its own offset)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def parse_utc(text: str) -> datetime:
    """An ISO 8601 timestamp; one without an offset is UTC. ``ValueError`` if it is none."""
    return as_utc(datetime.fromisoformat(str(text)))


def to_utc(moment: datetime) -> datetime:
    """An aware ``moment`` as the same instant in UTC; a naive one is refused
    (``ValueError``): which zone it meant cannot be known."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a timestamp column takes an aware datetime (naive: which zone?)")
    return moment.astimezone(timezone.utc)


def utc_wall_time(moment: datetime) -> datetime:
    """The naive UTC wall time of an aware ``moment`` (what SQLite stores)."""
    return to_utc(moment).replace(tzinfo=None)
