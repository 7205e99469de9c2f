"""Tables of the gateway.

The gateway keeps no data of the domain: the services own that. It keeps what a web
client needs between two requests:

- ``web_sessions``: server-side sessions of the web client (gateway/web). The browser
  holds only a random opaque id in the ``stafett_session`` cookie; the row is found by
  the SHA-256 of that id, so a copy of the table cannot be replayed as cookies. Who is
  logged in (the verified identity claims, including a citizen's national identity
  number) and any token are sealed with AES-256-GCM bound to the row (``sealed``); the
  CSRF synchronizer token is per session.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from stafett.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class WebSession(Base):
    __tablename__ = "web_sessions"
    #: hex SHA-256 of the cookie value; the value itself is never stored
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    #: "anonymous" (before login: CSRF for the login form, OIDC state) or "authenticated"
    state: Mapped[str] = mapped_column(String(16))
    #: how the person logged in: "dev" or the name of an OpenID Connect provider
    provider: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: AES-256-GCM of a JSON object (identity, display name, tokens, pending login)
    sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: the absolute end of the session, whatever the activity
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class IdempotencyRecord(Base):
    """A creating POST sent with ``Idempotency-Key``: its body's hash and its response.

    A replay with the same key and body gets the stored response; the same key with a
    different body is refused (422). Keys are scoped to the caller and the route.
    """
    __tablename__ = "idempotency_keys"
    #: SHA-256 of (caller, method, path, key)
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    #: "in_progress" until the response is stored, then "done"; "retry" after a
    #: server-side failure (the next attempt is carried out under the same request key)
    state: Mapped[str] = mapped_column(String(12))
    #: while "in_progress": until when the attempt holds the key (a retry gets 409)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    status: Mapped[int | None] = mapped_column(nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    headers: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
