"""Three channels behind one interface: ``channel.send(outgoing) -> Outcome``.

- ``InboxChannel`` writes the in-app notification in the caller's transaction (the only
  channel with a title and a body, because it is behind the login).
- ``EmailChannel`` sends over SMTP: a fixed bokmål text and a link, an HTML alternative,
  and for meetings an iCalendar attachment. "Delivered" means the SMTP server accepted the
  message (250 after DATA); what happens after that is outside our view.
- ``WebhookChannel`` POSTs ids and a link to an agency system, signed with HMAC-SHA256
  over ``f"{timestamp}.{body}"`` (see docs/webhooks.md), to a public address only
  (``targets.py``), checked after resolving the name at every attempt and connected to as
  checked. 2xx is delivered; 408, 425, 429, 5xx, timeouts, connection and TLS failures and
  DNS failures are worth retrying; an inward address and other answers (redirects
  included: they are not followed) are permanent.

Errors recorded on a delivery are codes, never an address or a body; a webhook's are
neutral categories only (``timeout``, ``refused``, ``tls``, ``http_<status>``,
``blocked_address``, ``dns``), which the agency sees.
"""
from __future__ import annotations

import hmac
import re
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from hashlib import sha256
from typing import Protocol

import certifi
import eventlet
import urllib3

from services.notifications import domain, rendering
from services.notifications.models import Notification
from services.notifications.targets import Blocked, Target, TargetPolicy, Unresolvable
from stafett.events import utcnow
from stafett.ids import new_id

SIGNATURE_HEADER = "Stafett-Signature"
EVENT_ID_HEADER = "Stafett-Event-Id"
DELIVERY_ID_HEADER = "Stafett-Delivery-Id"
EVENT_TYPE_HEADER = "Stafett-Event-Type"
USER_AGENT = "Stafett-Webhooks/1"


@dataclass(frozen=True)
class Outgoing:
    """One delivery as a channel sees it."""

    delivery_id: str
    event_id: str
    event_type: str
    kind: str
    context: dict
    occurred_at: str = ""
    person_id: str | None = None
    address: str | None = None                  # e-mail
    url: str | None = None                      # webhook
    secret: str | None = None                   # webhook
    agency: str | None = None
    digest_count: int = 0                       # e-mail digest of this many deliveries


@dataclass(frozen=True)
class Outcome:
    status: str                                 # delivered | failed-temporary | failed-permanent
    error: str | None = None
    detail: dict = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        return self.status == domain.DELIVERED


class Channel(Protocol):
    name: str

    def send(self, outgoing: Outgoing) -> Outcome: ...


class InboxChannel:
    name = domain.INBOX

    def __init__(self, session):
        self.session = session

    def send(self, outgoing: Outgoing) -> Outcome:
        text = rendering.render_inbox(outgoing.kind)
        self.session.add(Notification(
            id=new_id(), event_id=outgoing.event_id, person_id=outgoing.person_id,
            channel=domain.INBOX, kind=outgoing.kind, title=text.title, body=text.body,
            link=domain.link_path(outgoing.kind, outgoing.context),
            log_id=outgoing.context.get("log_id"), child_id=outgoing.context.get("child_id"),
            agency=outgoing.agency, created_at=utcnow()))
        return Outcome(domain.DELIVERED)


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 1025
    sender: str = "Stafett <ikke-svar@stafett.example>"
    # the sender of e-mails about a protected case: nothing naming a municipality
    protected_sender: str = "Stafett <ikke-svar@stafett.example>"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


class EmailChannel:
    name = domain.EMAIL

    def __init__(self, smtp: SmtpSettings, public_url: str):
        self.smtp = smtp
        self.public_url = public_url

    def compose(self, outgoing: Outgoing) -> EmailMessage:
        if outgoing.digest_count:
            email = rendering.render_digest(outgoing.digest_count, self.public_url)
        else:
            email = rendering.render_email(outgoing.kind, outgoing.context, self.public_url,
                                           outgoing.event_id)
        sender = (self.smtp.protected_sender if outgoing.context.get("protected")
                  else self.smtp.sender)
        message = EmailMessage()
        message["Subject"] = email.subject
        message["From"] = sender
        message["To"] = outgoing.address
        message["Date"] = format_datetime(utcnow())
        domain_part = sender.rsplit("@", 1)[-1].strip(">").strip() or "stafett"
        message["Message-ID"] = make_msgid(idstring=outgoing.delivery_id[:8],
                                           domain=domain_part)
        message["Auto-Submitted"] = "auto-generated"
        message["X-Stafett-Delivery"] = outgoing.delivery_id
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        if email.ics:
            message.add_attachment(email.ics, maintype="text", subtype="calendar",
                                   filename="samarbeidsmote.ics",
                                   params={"method": "PUBLISH", "charset": "utf-8"})
        return message

    def send(self, outgoing: Outgoing) -> Outcome:
        if not outgoing.address:
            return Outcome(domain.FAILED_PERMANENT, "no e-mail address")
        message = self.compose(outgoing)
        try:
            with eventlet.Timeout(self.smtp.timeout * 3):
                with smtplib.SMTP(self.smtp.host, self.smtp.port,
                                  timeout=self.smtp.timeout) as smtp:
                    if self.smtp.starttls:
                        smtp.starttls()
                    if self.smtp.username:
                        smtp.login(self.smtp.username, self.smtp.password or "")
                    smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code = min(code for code, _ in exc.recipients.values())
            return Outcome(domain.smtp_outcome(code), f"SMTP recipient refused ({code})")
        except smtplib.SMTPResponseException as exc:
            return Outcome(domain.smtp_outcome(exc.smtp_code), f"SMTP {exc.smtp_code}")
        except eventlet.Timeout:
            return Outcome(domain.FAILED_TEMPORARY, "SMTP timeout")
        except (OSError, smtplib.SMTPException) as exc:
            return Outcome(domain.FAILED_TEMPORARY, f"SMTP {type(exc).__name__}")
        return Outcome(domain.DELIVERED)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Stafett-Signature`` header value: ``t=<unix>,v1=<hex HMAC-SHA256>``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


#: what ``last_error`` may say about a webhook delivery: a category, never exception text,
#: an address or a port (see docs/webhooks.md, "What a failed delivery tells")
TIMEOUT, REFUSED, TLS, BLOCKED, DNS = "timeout", "refused", "tls", "blocked_address", "dns"
INTERNAL_ERROR = "internal_error"       # a fault in Stafett; the details are in its log


def http_category(status: int) -> str:
    return f"http_{status}"


def neutral_error(text: str | None) -> str | None:
    """A webhook delivery's ``last_error`` as its agency may see it.

    Rows written before the categories said ``HTTP 503``, ``HTTP ConnectionError``,
    ``HTTP SSLError``, ``timeout after 10 s`` or ``error KeyError``: they are shown as the
    category they meant, so old rows tell no more than new ones. Other words the platform
    sets itself (``webhook deleted``) pass unchanged."""
    if not text:
        return text
    status = re.fullmatch(r"HTTP (\d{3})", text)
    if status:
        return http_category(int(status.group(1)))
    if text.startswith("timeout after"):
        return TIMEOUT
    if text.startswith("HTTP "):
        name = text[len("HTTP "):]
        return TLS if "SSL" in name else TIMEOUT if "Timeout" in name else REFUSED
    if text.startswith("error "):
        return INTERNAL_ERROR
    return text


class WebhookChannel:
    """POSTs to the addresses ``TargetPolicy.vet`` checked, never to a name resolved again.

    Each attempt resolves the URL's host once, refuses it if any address is inward
    (``blocked_address``, permanent), and opens its connection to a checked address through
    a urllib3 connection pool made for that address: the TLS handshake still sends the host
    name (SNI, ``server_hostname``) and verifies the certificate against it, and the
    ``Host`` header carries it, so the receiver sees an ordinary request to its name.
    Redirects are not followed; the answer's body is not read.
    """

    name = domain.WEBHOOK

    def __init__(self, public_url: str, timeout: float = 10.0, clock=time.time,
                 policy: TargetPolicy | None = None, ca_bundle: str | None = None):
        self.public_url = public_url
        self.timeout = timeout
        self.clock = clock
        self.policy = policy or TargetPolicy()
        self.ca_bundle = ca_bundle or certifi.where()
        self._tls: ssl.SSLContext | None = None

    @property
    def tls(self) -> ssl.SSLContext:
        """Verifying, TLS 1.2 at least, trusting ``ca_bundle``. Made here, from the (green)
        ``ssl`` module as it is now, rather than by urllib3 from the class it imported:
        a library imported before eventlet's patching would otherwise recurse."""
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=self.ca_bundle)
        return self._tls

    def body(self, outgoing: Outgoing) -> bytes:
        return rendering.render_webhook(
            delivery_id=outgoing.delivery_id, event_id=outgoing.event_id,
            event_type=outgoing.event_type, kind=outgoing.kind,
            occurred_at=outgoing.occurred_at, context=outgoing.context,
            public_url=self.public_url)

    def send(self, outgoing: Outgoing) -> Outcome:
        body = self.body(outgoing)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   SIGNATURE_HEADER: sign(outgoing.secret or "", body, int(self.clock())),
                   EVENT_ID_HEADER: outgoing.event_id,
                   DELIVERY_ID_HEADER: outgoing.delivery_id,
                   EVENT_TYPE_HEADER: outgoing.event_type}
        try:
            with eventlet.Timeout(self.timeout):
                target = Target.parse(outgoing.url or "")
                addresses = self.policy.vet(target)
                status = self._post(target, addresses, body, headers)
        except Blocked:
            return Outcome(domain.FAILED_PERMANENT, BLOCKED)
        except ValueError:      # a stored URL that no longer parses: nothing to retry
            return Outcome(domain.FAILED_PERMANENT, BLOCKED)
        except Unresolvable:
            return Outcome(domain.FAILED_TEMPORARY, DNS)
        except eventlet.Timeout:
            return Outcome(domain.FAILED_TEMPORARY, TIMEOUT)
        except urllib3.exceptions.SSLError:
            return Outcome(domain.FAILED_TEMPORARY, TLS)
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ProtocolError):
            return Outcome(domain.FAILED_TEMPORARY, REFUSED)
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            return Outcome(domain.FAILED_TEMPORARY, TIMEOUT)
        except (urllib3.exceptions.HTTPError, OSError):
            return Outcome(domain.FAILED_TEMPORARY, REFUSED)
        outcome = domain.http_outcome(status)
        return Outcome(outcome, None if outcome == domain.DELIVERED else http_category(status))

    def _post(self, target: Target, addresses: list, body: bytes, headers: dict) -> int:
        """The status of the first address that takes the connection (tried in the
        resolver's order, like the C library's ``connect`` loop)."""
        last: Exception | None = None
        for address in addresses:
            pool = self._pool(target, address)
            try:
                response = pool.urlopen(
                    "POST", target.path, body=body,
                    headers={**headers, "Host": target.host_header}, retries=False,
                    redirect=False, assert_same_host=False, preload_content=False)
                status = response.status
                response.release_conn()
                return status
            except (urllib3.exceptions.NewConnectionError,
                    urllib3.exceptions.ConnectTimeoutError) as exc:
                last = exc      # this address did not take the connection: the next one
            finally:
                pool.close()
        raise last or urllib3.exceptions.NewConnectionError(None, "no address")

    def _pool(self, target: Target, address) -> urllib3.HTTPConnectionPool:
        timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
        if target.scheme == "http":
            return urllib3.HTTPConnectionPool(str(address), target.port, timeout=timeout,
                                              retries=False, maxsize=1)
        return urllib3.HTTPSConnectionPool(
            str(address), target.port, timeout=timeout, retries=False, maxsize=1,
            cert_reqs="CERT_REQUIRED", ssl_context=self.tls,
            # SNI and certificate verification for the name, the socket to the address
            server_hostname=None if target.address is not None else target.host)
