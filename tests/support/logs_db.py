"""A logs service database on SQLite for unit tests that run the service under nameko's
``worker_factory``: its tables, the kernel's (outbox, access records), and one open log."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from services.logs import domain
from services.logs.models import Base, Log
from stafett.db import make_engine
from stafett.events import kernel_metadata


def logs_engine(tmp_path, opened_at: datetime, log_id: str = "log-1", child_id: str = "c-1"):
    """A fresh database under ``tmp_path`` holding one open log (level 1, version 1); the
    caller adds its participants and consent."""
    engine = make_engine(f"sqlite:///{tmp_path}/logs.db")
    Base.metadata.create_all(engine)
    kernel_metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Log(id=log_id, child_id=child_id, status=domain.OPEN, level=1,
                        opened_at=opened_at, version=1, child_birth_date=date(2012, 1, 1)))
        session.commit()
    return engine
