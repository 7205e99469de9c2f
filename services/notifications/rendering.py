"""From a kind and its ids to what each channel carries: Jinja2 templates in bokmål.

``templates/<kind>/inbox.txt`` (title, blank line, body) and ``templates/<kind>/email.txt``
(subject, blank line, body; extends ``_email.txt``), one HTML alternative for every e-mail
(``email.html``, autoescaped), the daily digest (``digest/email.txt``) and the webhook body
(``webhook.json``). Templates get ids and links only; the meeting's .ics gets its times.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notifications import domain
from stafett.clock import parse_utc

TEMPLATES = Path(__file__).parent / "templates"
PREFERENCES_PATH = "/innstillinger/varsler"
INBOX_PATH = "/innboks"
ICS_SUMMARY = "Samarbeidsmøte (Stafett)"
ICS_DESCRIPTION = "Logg inn i Stafett for å se tid, sted og saksliste: {link}"
ICS_DEFAULT_DURATION = timedelta(hours=1)


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)),
                       autoescape=select_autoescape(enabled_extensions=("html",),
                                                    default_for_string=False),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=False)


def _split(rendered: str) -> tuple[str, str]:
    head, _, rest = rendered.strip().partition("\n")
    return head.strip(), rest.strip() + "\n"


@dataclass(frozen=True)
class InboxText:
    title: str
    body: str


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    ics: bytes | None = None


#: what an inbox text may name when the logs service answered for the recipient
NOTHING_ABOUT = {"child": None, "title": None, "evaluate_by": None, "starts_at": None}
MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
          "september", "oktober", "november", "desember")


def render_inbox(kind: str, about: dict | None = None) -> InboxText:
    """The inbox's title and text. ``about`` (``domain.about``): the child's first name,
    the measure's or proposal's title and dates, as the logs service tells the recipient;
    without it, the text names nothing."""
    about = {**NOTHING_ABOUT, **(about or {})}
    variables = {"child": about["child"], "title": about["title"],
                 "evaluate_by": norsk_date(about["evaluate_by"]),
                 "starts_at": norsk_time(about["starts_at"])}
    title, body = _split(environment().get_template(f"{kind}/inbox.txt").render(**variables))
    return InboxText(title, body.strip())


def told(item: dict, details: dict) -> dict:
    """An inbox item (``NotificationView``) with the texts it may have for its recipient now:
    rendered again when the logs service answered for the log it is about."""
    about = domain.about(domain.subject_of(item.get("link")), details)
    if about is None:
        return item
    text = render_inbox(item["kind"], about)
    return {**item, "title": text.title, "body": text.body}


def norsk_date(value: str | None) -> str | None:
    """2027-03-12 -> 12. mars 2027."""
    if not value:
        return None
    day = datetime.fromisoformat(value).date() if "T" in value else \
        datetime.strptime(value, "%Y-%m-%d").date()
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


def norsk_time(value: str | None) -> str | None:
    """An instant, in Norway: 12. mars 2027 kl. 14.00."""
    if not value:
        return None
    local = parse_utc(value).astimezone(domain.zone(None))
    return f"{norsk_date(local.date().isoformat())} kl. {local:%H.%M}"


def absolute(public_url: str, path: str) -> str:
    return public_url.rstrip("/") + path


def render_email(kind: str, context: dict, public_url: str,
                 inbox_ref: str | None = None) -> Email:
    """Content-free: the link goes to the inbox item (``inbox_ref``: the event's id), behind
    the login, which says what it is about; without one, to where it is shown."""
    if context.get("protected"):
        return render_protected()
    path = f"{INBOX_PATH}/{inbox_ref}" if inbox_ref else domain.link_path(kind, context)
    link = absolute(public_url, path)
    variables = {"link": link, "preferences_link": absolute(public_url, PREFERENCES_PATH)}
    subject, text = _split(environment().get_template(f"{kind}/email.txt").render(**variables))
    lead = _lead(kind, variables)
    html = environment().get_template("email.html").render(subject=subject, lead=lead,
                                                           **variables)
    ics = render_ics(context, link) if kind in domain.CALENDAR_KINDS else None
    return Email(subject, text, html, ics)


def render_protected() -> Email:
    """The e-mail about a child in a protected case (a protective address code): the same
    fixed text whatever happened, no link (a host names a municipality), no calendar."""
    subject, text = _split(environment().get_template("protected/email.txt").render())
    html = environment().get_template("protected/email.html").render(subject=subject)
    return Email(subject, text, html)


def _lead(kind: str, variables: dict) -> str:
    template = environment().get_template(f"{kind}/email.txt")
    block = template.blocks["lead"]
    return "".join(block(template.new_context(variables))).strip()


def render_digest(count: int, public_url: str) -> Email:
    variables = {"count": count, "link": absolute(public_url, "/varsler"),
                 "preferences_link": absolute(public_url, PREFERENCES_PATH)}
    subject, text = _split(environment().get_template("digest/email.txt").render(**variables))
    lead = text.split("\n\n")[1].strip()
    html = environment().get_template("email.html").render(subject=subject, lead=lead,
                                                           **variables)
    return Email(subject, text, html)


def webhook_ids(context: dict) -> dict:
    """Ids only: no dates, no decisions, nothing else."""
    return {k: v for k, v in sorted(context.items()) if k.endswith("_id")}


def render_webhook(*, delivery_id: str, event_id: str, event_type: str, kind: str,
                   occurred_at: str, context: dict,
                   public_url: str) -> bytes:
    body = environment().get_template("webhook.json").render(
        delivery_id=delivery_id, event_id=event_id, event_type=event_type, kind=kind,
        occurred_at=occurred_at, ids=webhook_ids(context),
        link=absolute(public_url, domain.api_path(kind, context)))
    # compact, canonical bytes: what the signature covers is exactly what is sent
    return json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()


def render_ics(context: dict, link: str) -> bytes | None:
    """An RFC 5545 VEVENT: the meeting's times, a fixed summary and the link; no names,
    no agenda, no place (those are behind the login)."""
    from icalendar import Calendar, Event

    if not context.get("starts_at") or not context.get("meeting_id"):
        return None
    starts = parse_utc(context["starts_at"])
    ends = parse_utc(context["ends_at"]) if context.get("ends_at") else starts + ICS_DEFAULT_DURATION
    calendar = Calendar()
    calendar.add("prodid", "-//Stafett//Varsler//NB")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{context['meeting_id']}@stafett")
    event.add("dtstamp", datetime.now(timezone.utc).replace(microsecond=0))
    event.add("dtstart", starts.astimezone(timezone.utc))
    event.add("dtend", ends.astimezone(timezone.utc))
    event.add("summary", ICS_SUMMARY)
    event.add("description", ICS_DESCRIPTION.format(link=link))
    event.add("url", link)
    event.add("sequence", 0)
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical()
