"""From the services' answers to what a page shows (names for ids, plain texts, order).

No access decisions here: every object came from the service that owns it, already cut
to what this viewer may see. This only joins ids to the names in the same answer.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from gateway.web.labels import LABELS, label, norsk_datetime, outcome
from gateway.web.pages import safe_next

STAFF_ROLES = ("stafettholder", "member", "former", "system")
WRITER_ROLES = ("stafettholder", "member")

#: fixed confirmations after a redirect (``?melding=<code>``): no free text in URLs
MESSAGES = {
    "logg": "Loggen er opprettet.",
    "tiltak": "Tiltaket er lagt til.",
    "vurdering": "Vurderingen er lagret.",
    "mote": "Møtet er avtalt.",
    "referat": "Referatet er lagret.",
    "innlegg": "Innlegget er lagret.",
    "stemme": "Takk! Det du skrev, står nå i loggen.",
    "forslag": "Forslaget er sendt. Svaret kommer her i loggen.",
    "forslag-godtatt": "Forslaget er godtatt og er blitt et tiltak.",
    "forslag-avslatt": "Du har svart nei til forslaget.",
    "deltaker": "Deltakeren er lagt til.",
    "overgang": "Forespørselen om overgang er sendt.",
    "overgang-godtatt": "Du har godtatt overgangen. Loggen flyttes til dere.",
    "overgang-avslatt": "Du har avslått overgangen.",
    "overgang-avbrutt": "Overgangen er avbrutt.",
    "samtykke": "Samtykket er registrert.",
    "samtykke-trukket": "Samtykket er trukket tilbake.",
    "samtykke-godkjent": "Du har godkjent samtykket.",
    "lest": "Varselet er merket som lest.",
}


def message(code: str | None) -> str | None:
    return MESSAGES.get(code or "")


def log_page(log: dict, timeline: list[dict]) -> dict:
    people = {p["id"]: p for p in log.get("participants", [])}
    role = log.get("viewer_role")
    is_open = log.get("status") == "open"

    def name(participant_id):
        person = people.get(participant_id)
        return person["display_name"] if person else "Tidligere deltaker"

    child = next((p for p in people.values() if p["kind"] == "child"), None)
    holder = next((p for p in people.values() if p["role"] == "stafettholder"), None)
    measures = []
    titles = {}
    for m in log.get("measures", []):
        titles[m["id"]] = m["title"]
        evaluations = sorted(m.get("evaluations", []),
                             key=lambda e: e.get("evaluated_on") or "", reverse=True)
        measures.append({**m, "responsible_name": name(m.get("responsible_id")),
                         "proposed_by": proposed_by(m.get("proposer_role")),
                         "evaluations": [{**e, "evaluator_name": name(e.get("evaluator_id"))}
                                         for e in evaluations],
                         "outcome_code": m.get("latest_outcome")})
    proposals = [{**p, "proposer_name": name(p.get("proposer_id")),
                  "measure_title": titles.get(p.get("measure_id"))}
                 for p in log.get("proposals", [])]
    meetings = [{**m, "invited_names": [name(i) for i in m.get("invited", [])],
                 "attended_names": [name(i) for i in m.get("attended", [])]}
                for m in log.get("meetings", [])]
    entries = [{**e, "author_name": name(e.get("author_id"))}
               for e in sorted(log.get("entries", []), key=lambda e: e.get("created_at") or "",
                               reverse=True)]
    return {
        **log, "child_name": child["display_name"] if child else "barnet",
        "holder_name": holder["display_name"] if holder else None,
        "is_staff": role in STAFF_ROLES, "is_citizen": role in ("guardian", "child"),
        "is_child": role == "child", "is_holder": role == "stafettholder" and is_open,
        "can_write": role in WRITER_ROLES and is_open, "is_open": is_open,
        "can_propose": role in ("guardian", "child") and is_open,
        "sees_access_log": role in ("guardian", "child", "stafettholder"),
        "participants": sorted(people.values(), key=lambda p: (
            ("stafettholder", "member", "former", "guardian", "child").index(p["role"])
            if p["role"] in ("stafettholder", "member", "former", "guardian", "child") else 9,
            p["display_name"])),
        "measures": measures, "proposals": proposals, "meetings": meetings,
        "entries": entries, "timeline": [timeline_item(i) for i in timeline],
        "overdue_count": sum(1 for m in measures if m.get("overdue")),
    }


def proposed_by(role: str | None) -> str | None:
    return {"child": "Foreslått av barnet", "guardian": "Foreslått av en foresatt"}.get(role or "")


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
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


def agency_names(agencies: list[dict]) -> dict[str, str]:
    return {a["org_number"]: a["name"] for a in agencies}


def consent_scope_text(consent: dict, names: dict[str, str]) -> list[str]:
    scope = consent.get("scope") or {}
    return ([label(t, "agency_type") for t in scope.get("agency_types", [])]
            + [names.get(o, "Ukjent virksomhet") for o in scope.get("agencies", [])])
