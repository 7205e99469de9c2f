"""Server-side sessions of the web client, and CSRF.

The browser gets one cookie, ``stafett_session``: a random opaque id (256 bits), HttpOnly,
Secure, SameSite=Lax, Path=/. Everything else stays on the server in ``web_sessions``
(gateway/models.py):

- the row is keyed by the SHA-256 of the id, so the table cannot be replayed as cookies;
- who is logged in (the verified identity claims, with a citizen's national identity
  number) and the ID token are sealed with AES-256-GCM, the row key as associated data, so
  a sealed blob moved to another row does not open;
- a session ends after ``SESSION_IDLE_MINUTES`` without a request and at the latest
  ``SESSION_MAX_HOURS`` after login; a new id is issued at login (no fixation), and logout
  deletes the row;
- each session has a CSRF synchronizer token that every form carries and every POST must
  match (``check_csrf``).

SameSite=Lax rather than Strict: the OpenID Connect provider sends the browser back to
``/auth/callback`` with a top-level GET from another site, and the pending login (state,
nonce, PKCE verifier) must be found then. Lax still keeps the cookie off cross-site POSTs.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from nameko.extensions import DependencyProvider
from sqlalchemy import delete
from sqlalchemy.orm import Session as DbSession

from gateway.models import WebSession
from stafett.clock import as_utc, utcnow
from stafett.crypto import Aead
from stafett.secrets import symmetric_key

COOKIE_NAME = "stafett_session"
KEY_FILE = "web-session.key"
ANONYMOUS, AUTHENTICATED = "anonymous", "authenticated"
#: the last-seen time is written at most this often (a read-mostly client writes little)
TOUCH_EVERY = timedelta(seconds=60)
#: a session before login (login form, pending OpenID Connect login) lives this long
ANONYMOUS_LIFETIME = timedelta(minutes=30)


def hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii", "replace")).hexdigest()


class Sealer:
    """AES-256-GCM for the session's contents, with the row key as associated data."""

    def __init__(self, key: bytes):
        self._aead = Aead(key, "the session key")

    @classmethod
    def from_config(cls, config) -> "Sealer":
        return cls(symmetric_key(config, "SESSION_KEY", KEY_FILE))

    def seal(self, data: dict, bound_to: str) -> str:
        return self._aead.seal_text(json.dumps(data, separators=(",", ":")), bound_to)

    def open(self, sealed: str, bound_to: str) -> dict:
        return json.loads(self._aead.open_text(sealed, bound_to))


@dataclass
class WebSessionData:
    """One loaded session: ``data`` is the opened seal (identity, name, pending login)."""
    id_hash: str
    csrf_token: str
    state: str
    provider: str | None
    data: dict = field(default_factory=dict)
    #: the cookie value, when this request created the session (to be set on the response)
    new_cookie: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.state == AUTHENTICATED and bool(self.data.get("identity"))

    @property
    def identity(self) -> dict | None:
        return self.data.get("identity") if self.authenticated else None


class SessionStore:
    """The sessions, over one worker's database session."""

    def __init__(self, db: DbSession, sealer: Sealer, idle: timedelta, absolute: timedelta,
                 clock=utcnow):
        self.db, self.sealer, self.idle, self.absolute = db, sealer, idle, absolute
        self.clock = clock

    def load(self, cookie_value: str | None) -> WebSessionData | None:
        """The live session for this cookie, or None (unknown, idle too long, or too old:
        an expired row is deleted)."""
        if not cookie_value or len(cookie_value) > 128:
            return None
        key = hash_id(cookie_value)
        row = self.db.get(WebSession, key)
        if row is None:
            self.db.rollback()
            return None
        now = self.clock()
        if now >= as_utc(row.expires_at) or now - as_utc(row.last_seen_at) >= self.idle:
            self.db.delete(row)
            self.db.commit()
            return None
        try:
            data = self.sealer.open(row.sealed, key) if row.sealed else {}
        except (InvalidTag, ValueError):  # a different key, or a tampered row: not ours
            self.db.delete(row)
            self.db.commit()
            return None
        if now - as_utc(row.last_seen_at) >= TOUCH_EVERY:
            row.last_seen_at = now
        session = WebSessionData(row.id_hash, row.csrf_token, row.state, row.provider, data)
        # end the transaction now: the connection goes back to the pool while the page
        # waits for the services (SQLite has one connection per process)
        self.db.commit()
        return session

    def create(self, state: str, data: dict, provider: str | None = None) -> WebSessionData:
        """A new session with a fresh id (the caller sets ``new_cookie`` on the response)."""
        now = self.clock()
        cookie_value = secrets.token_urlsafe(32)
        key = hash_id(cookie_value)
        lifetime = self.absolute if state == AUTHENTICATED else min(self.absolute,
                                                                    ANONYMOUS_LIFETIME)
        row = WebSession(id_hash=key, csrf_token=secrets.token_urlsafe(32), state=state,
                         provider=provider, sealed=self.sealer.seal(data, key),
                         created_at=now, last_seen_at=now, expires_at=now + lifetime)
        self.db.add(row)
        self._sweep(now)
        self.db.commit()
        return WebSessionData(key, row.csrf_token, state, provider, data, new_cookie=cookie_value)

    def update(self, session: WebSessionData, data: dict) -> None:
        row = self.db.get(WebSession, session.id_hash)
        if row is not None:
            row.sealed = self.sealer.seal(data, session.id_hash)
            self.db.commit()
        session.data = data

    def login(self, previous: WebSessionData | None, identity: dict, display_name: str,
              provider: str, tokens: dict | None = None) -> WebSessionData:
        """Rotate: the session before login is deleted, a new id carries the login."""
        if previous is not None:
            self.delete(previous)
        return self.create(AUTHENTICATED, {"identity": identity, "name": display_name,
                                           "tokens": tokens or {}}, provider)

    def delete(self, session: WebSessionData) -> None:
        self.db.execute(delete(WebSession).where(WebSession.id_hash == session.id_hash))
        self.db.commit()

    def _sweep(self, now: datetime) -> None:
        """Expired rows go when someone logs in or starts a session (no timer needed)."""
        self.db.execute(delete(WebSession).where(WebSession.expires_at <= now))
        self.db.execute(delete(WebSession).where(WebSession.last_seen_at <= now - self.idle))


def csrf_ok(session: WebSessionData | None, submitted: str | None) -> bool:
    return (session is not None and bool(submitted)
            and hmac.compare_digest(session.csrf_token.encode(), str(submitted).encode()))


def cookie_header(value: str, secure: bool = True, same_site: str = "Lax") -> str:
    parts = [f"{COOKIE_NAME}={value}", "Path=/", "HttpOnly", f"SameSite={same_site}"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def clear_cookie_header(secure: bool = True, same_site: str = "Lax") -> str:
    return cookie_header("", secure, same_site) + "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"


class WebSessions(DependencyProvider):
    """``self.web_sessions``: settings and the sealer; ``.store(self.db)`` per request."""

    def setup(self):
        config = self.container.config
        self.sealer = Sealer.from_config(config)
        self.idle = timedelta(minutes=float(config.get("SESSION_IDLE_MINUTES", 30)))
        self.absolute = timedelta(hours=float(config.get("SESSION_MAX_HOURS", 10)))
        # Secure is always set: browsers keep Secure cookies from http://127.0.0.1 and
        # http://localhost too, so development needs no exception.
        self.secure = True
        same_site = str(config.get("SESSION_SAMESITE", "Lax")).capitalize()
        if same_site not in ("Lax", "Strict"):
            raise ValueError("SESSION_SAMESITE must be Lax or Strict")
        self.same_site = same_site

    def get_dependency(self, worker_ctx):
        return self

    def store(self, db: DbSession) -> SessionStore:
        return SessionStore(db, self.sealer, self.idle, self.absolute)

    def cookie(self, value: str) -> str:
        return cookie_header(value, self.secure, self.same_site)

    def clear_cookie(self) -> str:
        return clear_cookie_header(self.secure, self.same_site)
