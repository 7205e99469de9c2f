"""From the services' answers to what a page shows (names for ids, plain texts, order).

No access decisions here: every object came from the service that owns it, already cut
to what this viewer may see, with what they may do in it (its ``can_*`` flags, which the
pages follow: no role rule is repeated here or in a template). This only joins ids to the
names in the same answer.
"""
from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote, urlsplit

from gateway.web.labels import LABELS, label, norsk_date, norsk_datetime, outcome
from gateway.web.pages import safe_next
from stafett.clock import parse_utc, utcnow

#: the order participants are listed in (presentation only)
ROLE_ORDER = ("stafettholder", "member", "former", "guardian", "child")

#: fixed confirmations after a redirect (``?melding=<code>``): no free text in URLs
MESSAGES = {
    "logg": "Loggen er opprettet.",
    "tiltak": "Tiltaket er lagt til.",
    "vurdering": "Vurderingen er lagret.",
    "mote": "Møtet er avtalt.",
    "referat": "Referatet er lagret.",
    "referat-tiltak": "Referatet er lagret, og vedtakene er blitt tiltak.",
    "innlegg": "Innlegget er lagret.",
    "stemme": "Takk! Det du skrev, står nå i loggen.",
    "forslag": "Forslaget er sendt. Svaret kommer her i loggen.",
    "forslag-godtatt": "Forslaget er godtatt og er blitt et tiltak.",
    "forslag-avslatt": "Du har svart nei til forslaget.",
    "deltaker": "Deltakeren er lagt til.",
    "stafettpinne": "Du er nå stafettholder for loggen.",
    "stafettpinne-gitt": "Stafettpinnen er gitt videre. Du er nå deltaker i loggen.",
    "lukket": "Loggen er lukket.",
    "niva": "BTI-nivået er endret.",
    "deltaker-fjernet": "Deltakeren er fjernet fra loggen.",
    "tiltak-endret": "Tiltaket er endret.",
    "varsler": "Innstillingene for varsler er lagret.",
    "webhook-slettet": "Webhooken er slettet.",
    "ansatt": "Den ansatte er lagt til.",
    "overgang": "Forespørselen om overgang er sendt.",
    "overgang-godtatt": "Du har godtatt overgangen. Loggen flyttes til dere.",
    "overgang-avslatt": "Du har avslått overgangen.",
    "overgang-avbrutt": "Overgangen er avbrutt.",
    "overgang-samtykke": "Takk. Samtykket er gitt, og virksomheten kan nå ta imot loggen.",
    "samtykke-venter": "Samtykket er registrert. Det gjelder når den andre foresatte også har "
                       "godkjent det under Samtykker.",
    "overgang-nei": "Du har sagt nei. Loggen blir der den er, og den som ba om overgangen, "
                    "har fått beskjed.",
    "samtykke": "Samtykket er registrert.",
    "samtykke-trukket": "Samtykket er trukket tilbake.",
    "samtykke-godkjent": "Du har godkjent samtykket.",
    "lest": "Varselet er merket som lest.",
}


def message(code: str | None) -> str | None:
    return MESSAGES.get(code or "")


#: a confirmation's kind -> the anchor of what was made on the log's page
MADE = {"tiltak": "tiltak", "mote": "mote", "innlegg": "innlegg", "stemme": "innlegg",
        "forslag": "forslag"}
#: the link under a confirmation, by the anchor's kind
MADE_LINKS = {"tiltak": "Gå til tiltaket", "mote": "Gå til møtet",
              "innlegg": "Gå til innlegget", "forslag": "Gå til forslaget"}
ANCHOR = re.compile(r"(tiltak|mote|innlegg|forslag)-[A-Za-z0-9-]{1,36}")


def made_anchor(done: str, result) -> str | None:
    kind = MADE.get(done)
    made_id = result.get("id") if isinstance(result, dict) else None
    return f"{kind}-{made_id}" if kind and isinstance(made_id, str) else None


def confirmed(log_id: str, done: str, anchor: str | None) -> str:
    """Back to the log after a form: the confirmation, and the item that was made."""
    if anchor and ANCHOR.fullmatch(anchor):
        return f"/logger/{log_id}?melding={done}&ny={anchor}#{anchor}"
    return f"/logger/{log_id}?melding={done}"


def made_link(anchor: str | None) -> dict | None:
    """The link to what was made, under the confirmation (only an anchor of ours)."""
    if not anchor or not ANCHOR.fullmatch(anchor):
        return None
    return {"href": f"#{anchor}", "text": MADE_LINKS[anchor.split("-", 1)[0]]}


#: the web pages that list the rest of a log's lists (the log's page shows the newest 20)
LIST_PAGES = {"entries": "innlegg", "measures": "tiltak", "meetings": "moter",
              "proposals": "forslag"}


def page_link(path: str, cursor: str | None) -> str | None:
    """A link to the page after ``cursor`` (None: there is none)."""
    return f"{path}?side={quote(cursor, safe='')}" if cursor else None


def log_items(log: dict, items: dict[str, list]) -> dict[str, list]:
    """Items of the log's lists (any of ``entries``, ``measures``, ``meetings``,
    ``proposals``) with the names of the people they name, from the log's participants."""
    people = {p["id"]: p for p in log.get("participants", [])}

    def name(participant_id):
        person = people.get(participant_id)
        return person["display_name"] if person else "Tidligere deltaker"

    titles = {m["id"]: m["title"] for m in log.get("measures", []) + items.get("measures", [])}
    shown = {}
    if "measures" in items:
        shown["measures"] = [{
            **m, "responsible_name": name(m.get("responsible_id")),
            "proposed_by": proposed_by(m.get("proposer_role")),
            "evaluations": [{**e, "evaluator_name": name(e.get("evaluator_id"))}
                            for e in m.get("evaluations", [])],
            "evaluation_total": m.get("evaluation_total", len(m.get("evaluations", []))),
            "more_evaluations": page_link(f"/logger/{log['id']}/tiltak/{m['id']}/vurderinger",
                                          m.get("evaluations_next_cursor")),
            "outcome_code": m.get("latest_outcome")} for m in items["measures"]]
    if "proposals" in items:
        shown["proposals"] = [{**p, "proposer_name": name(p.get("proposer_id")),
                               "measure_title": titles.get(p.get("measure_id"))}
                              for p in items["proposals"]]
    if "meetings" in items:
        shown["meetings"] = [{**m, "invited_names": [name(i) for i in m.get("invited", [])],
                              "attended_names": [name(i) for i in m.get("attended", [])],
                              "begun": has_begun(m)}
                             for m in items["meetings"]]
    if "entries" in items:
        shown["entries"] = [{**e, "author_name": name(e.get("author_id"))}
                            for e in items["entries"]]
    if "evaluations" in items:
        shown["evaluations"] = [{**e, "evaluator_name": name(e.get("evaluator_id"))}
                                for e in items["evaluations"]]
    return shown


def log_page(log: dict, timeline: list[dict]) -> dict:
    people = {p["id"]: p for p in log.get("participants", [])}
    is_open = log.get("status") == "open"
    audience = log.get("audience")
    child = next((p for p in people.values() if p["kind"] == "child"), None)
    # the stafettholder who can act, as the logs service says (null: the log has none)
    holder = people.get(log.get("stafettholder_id") or "")
    shown = log_items(log, {kind: log.get(kind, []) for kind in LIST_PAGES})
    measures, proposals = shown["measures"], shown["proposals"]
    meetings, entries = shown["meetings"], shown["entries"]
    # notes only staff see: left out when the page is printed (static/stafett.css)
    staff_only = {e["id"] for e in entries if e.get("visibility") == "staff"}
    # each list holds the newest 20 the service embeds; "Vis flere" goes on from there
    more = {kind: {"href": page_link(f"/logger/{log['id']}/{path}", info.get("next_cursor")),
                   "total": info.get("total"), "shown": len(log.get(kind, []))}
            for kind, path in LIST_PAGES.items()
            for info in [(log.get("lists") or {}).get(kind) or {}]}
    return {
        **log, "child_name": child["display_name"] if child else "barnet",
        "holder_name": holder["display_name"] if holder else None,
        "no_holder": is_open and holder is None, "is_open": is_open,
        # whose words the page uses, as the logs service says whose view this is
        "for_staff": audience == "staff", "for_family": audience in ("guardian", "child"),
        "for_child": audience == "child",
        "participants": sorted(people.values(), key=lambda p: (
            ROLE_ORDER.index(p["role"]) if p["role"] in ROLE_ORDER else 9,
            p["display_name"])),
        "proposals": proposals, "meetings": meetings,
        "entries": entries, "timeline": [
            {**timeline_item(i), "staff_only": i.get("object_id") in staff_only}
            for i in timeline],
        "overdue_count": sum(1 for m in measures if m.get("overdue")), "more": more,
        "measures": sorted(measures, key=urgency),
        "needs_action": needs_action(log, measures, proposals),
    }


def urgency(measure: dict) -> int:
    """Overdue first, then red, yellow, the rest (a stable sort keeps the newest first)."""
    if measure.get("overdue"):
        return 0
    return {"red": 1, "yellow": 2}.get(measure.get("outcome_code") or "", 3)


def needs_action(log: dict, measures: list[dict], proposals: list[dict]) -> list[dict]:
    """What needs action first, each with a link to the item on the page: measures whose
    evaluation is overdue, measures that do not work (red), proposals waiting for an
    answer (to the form for one who answers them: the log's ``can_answer_proposals``)."""
    items = [{"href": f"#tiltak-{m['id']}", "kind": "overdue",
              "text": f"«{m['title']}» skulle vært vurdert innen {norsk_date(m['evaluate_by'])}"}
             for m in measures if m.get("overdue")]
    items += [{"href": f"#tiltak-{m['id']}", "kind": "red",
               "text": f"«{m['title']}» virker ikke (rødt)"}
              for m in measures if m.get("outcome_code") == "red" and not m.get("overdue")]
    answers = bool(log.get("can_answer_proposals"))
    items += [{"href": f"/logger/{log['id']}/forslag/{p['id']}" if answers
               else f"#forslag-{p['id']}", "kind": "proposal",
               "text": f"Forslaget «{p['title']}» venter på svar"}
              for p in proposals if p.get("status") == "proposed"]
    return items


def has_begun(meeting: dict, now: datetime | None = None) -> bool:
    """Minutes are written once the meeting has begun (the logs service checks it too)."""
    starts = meeting.get("starts_at")
    return bool(starts) and parse_utc(starts) <= (now or utcnow())


def proposed_by(role: str | None) -> str | None:
    return {"child": "Foreslått av barnet", "guardian": "Foreslått av en foresatt"}.get(role or "")


def access_record(item: dict) -> dict:
    """A record of the child's access log as the page shows it: who, what and why."""
    service, action = item["service"], item["action"]
    what = label(f"{service}.{action}.{item['object_type']}", "access_what")
    if what == label(None, "access_what") and service == "logs":
        what = label(action, "access_action")
    where = ", ".join(x for x in (item.get("title"), item.get("agency_name")) if x)
    return {**item, "what": what, "where": where,
            "service_text": label(service, "access_service")}


def timeline_item(item: dict) -> dict:
    kind, detail = item.get("kind", ""), item.get("detail")
    text = item.get("title") or ""
    if kind == "measure_evaluated":
        text = f"{text}: {outcome(detail)['text']}" if text else outcome(detail)["text"]
    elif kind == "level_changed" and detail is not None:
        try:
            text = label(int(detail), "level")
        except ValueError:
            text = ""
    elif kind == "meeting_scheduled" and detail:
        text = norsk_datetime(detail)
    elif kind == "participant_added" and detail:
        text = f"{text} ({label(detail, 'role').lower()})"
    elif kind.startswith("entry_") and detail:
        text = detail if len(detail) <= 140 else detail[:137].rstrip() + " …"
    return {"at": item.get("at"), "what": LABELS["timeline"].get(kind, "Hendelse"),
            "text": text, "kind": kind}


def local_link(link: str | None) -> str | None:
    """A notification's link as a path of our own pages (the host in it may differ)."""
    if not link:
        return None
    parts = urlsplit(link)
    path = safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))
    # the item on the page (#tiltak-<id>, #mote-<id>): an anchor of ours, nothing else
    anchor = parts.fragment if re.fullmatch(r"[a-z]{1,10}-[A-Za-z0-9-]{1,36}",
                                            parts.fragment or "") else ""
    return path + f"#{anchor}" if path and anchor else path


def agency_names(agencies: list[dict]) -> dict[str, str]:
    return {a["org_number"]: a["name"] for a in agencies}


def consent_scope_text(consent: dict, names: dict[str, str]) -> list[str]:
    scope = consent.get("scope") or {}
    return ([label(t, "agency_type") for t in scope.get("agency_types", [])]
            + [names.get(o, "Ukjent virksomhet") for o in scope.get("agencies", [])])


def read_only(log: dict) -> dict:
    """A log page to print: every ``can_*`` flag off, so no action shows."""
    return {**{k: (False if k.startswith("can_") else v) for k, v in log.items()},
            "printing": True}


def print_log(log: dict, lists: dict[str, list], internal: bool) -> dict:
    """The whole log to print: every item of each list (``lists``), everything expanded,
    no actions; notes only staff see are left out unless ``internal``."""
    entries = [e for e in lists["entries"] if internal or e.get("visibility") != "staff"]
    shown = log_page({**log, **lists, "entries": entries, "lists": {}}, [])
    return read_only(shown)


def preparation(log: dict, prepared: dict, meeting: dict, entries: list[dict]) -> dict:
    """The meeting preparation view: what changed since the previous meeting, the open
    measures (those due for evaluation first) and the child's latest own words (``entries``:
    the log's, newest first). Changes that are notes only staff see are marked, so that
    printing leaves them out unless chosen."""
    voice = next((e for e in entries if e.get("kind") == "child_voice"), None)
    staff_only = {e["id"] for e in entries if e.get("visibility") == "staff"}
    shown = log_page({**log, "lists": {}}, [])
    due = {m["id"] for m in prepared.get("evaluations_due", [])}
    measures = log_items(log, {"measures": prepared.get("open_measures", [])})["measures"]
    measures.sort(key=lambda m: (m["id"] not in due, m.get("evaluate_by") or ""))
    people = {p["id"]: p["display_name"] for p in log.get("participants", [])}
    return {
        "log": read_only(shown),
        "meeting": {**meeting, "starts_label": norsk_datetime(meeting.get("starts_at")),
                    "invited_names": [people.get(i, "Tidligere deltaker")
                                      for i in meeting.get("invited", [])]},
        "previous_meeting_at": prepared.get("previous_meeting_at"),
        "changes": [{**timeline_item(i), "staff_only": i.get("object_id") in staff_only}
                    for i in prepared.get("changes_since_last_meeting", [])],
        "more_changes": bool(prepared.get("more_changes_cursor")),
        "measures": measures, "due": due,
        "voice": ({**voice, "author_name": people.get(voice.get("author_id"), "Barnet")}
                  if voice else None),
    }
