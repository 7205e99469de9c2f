"""The web client at HTTP level over the real platform: sessions, cookies, CSRF, errors.
(The browser tests do the same flows by clicking; these pin the protocol details.)"""
from __future__ import annotations

import re

import requests
from sqlalchemy import create_engine, text

from stafett.dev.demo import AGENCIES, EMMA, EMMA_MOTHER
from tests.browser.support import WebClient, text_of


def test_the_session_cookie_and_the_security_headers(seeded):
    web = WebClient(seeded.url())
    start = web.get("/")
    assert start.status_code == 200 and '<html lang="nb">' in start.text
    for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert flag in web.last_set_cookie.split("; ")
    assert start.headers["Cache-Control"] == "no-store"
    csp = start.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "form-action 'self'" in csp and "frame-ancestors 'none'" in csp
    assert start.headers["X-Frame-Options"] == "DENY"
    # no CDN: every script and stylesheet is our own, and served
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', start.text)
    assert assets and not re.search(r'(?:src|href)="(?:https?:)?//', start.text)
    for asset in assets:
        assert requests.get(seeded.url() + asset, timeout=10).status_code == 200


def test_login_rotates_the_session_and_logout_ends_it(seeded, database_urls):
    web = WebClient(seeded.url())
    web.get("/logg-inn")
    anonymous = web.cookie
    logged_in = web.login("guardian")
    assert logged_in.status_code == 303 and logged_in.headers["Location"] == "/"
    assert web.cookie != anonymous
    page = web.get("/")
    assert "Innlogget som Ingrid Solberg" in text_of(page.text)
    # nothing of the identity or any token in the page, the cookie or the table
    assert EMMA_MOTHER["national_id"] not in page.text and "eyJ" not in page.text
    engine = create_engine(database_urls["gateway"])
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM web_sessions")).all()
    engine.dispose()
    stored = repr(rows)
    assert EMMA_MOTHER["national_id"] not in stored and web.cookie not in stored
    assert "Ingrid" not in stored and "citizen-ingrid" not in stored

    old = web.cookie
    out = web.post("/logg-ut", csrf=web.csrf_token("/logger"))
    assert out.status_code == 303 and out.headers["Location"] == "/logg-inn?utlogget=1"
    assert "Max-Age=0" in web.last_set_cookie and web.cookie is None
    web.cookie = old
    again = web.get("/logger/" + "0" * 36)
    assert again.status_code == 303 and again.headers["Location"].startswith("/logg-inn?neste=")


def test_every_form_needs_the_sessions_csrf_token(seeded):
    web = WebClient(seeded.url())
    web.get("/logg-inn/dev")
    forged = web.post("/logg-inn/dev", {"persona": "teacher"}, csrf=None)
    assert forged.status_code == 403 and "Skjemaet kunne ikke sendes" in text_of(forged.text)
    assert web.post("/logg-inn/dev", {"persona": "teacher"}, csrf="feil").status_code == 403
    web.login("teacher")
    for path, data in (("/logg-ut", {}), ("/logger/ny", {"national_id": EMMA["national_id"]}),
                       ("/innboks/x/lest", {})):
        refused = web.post(path, data, csrf=None)
        assert refused.status_code == 403, path
    # another person's token does not do either
    other = WebClient(seeded.url())
    other.login("guardian")
    assert web.post("/logg-ut", csrf=other.csrf_token("/logger")).status_code == 403
    assert web.get("/logger").status_code == 200  # still logged in


def test_a_login_returns_to_the_page_that_asked_for_it_and_never_elsewhere(seeded):
    web = WebClient(seeded.url())
    asked = web.get("/samtykker")
    assert asked.status_code == 303 and asked.headers["Location"] == "/logg-inn?neste=/samtykker"
    assert web.login("guardian", "/samtykker").headers["Location"] == "/samtykker"
    for evil in ("https://evil.example/", "//evil.example", "/\\evil.example", "/api/v1/logs"):
        other = WebClient(seeded.url())
        assert other.login("guardian", evil).headers["Location"] == "/"


def test_errors_are_pages_in_bokmal(seeded):
    web = WebClient(seeded.url())
    web.login("teacher")
    missing = web.get("/logger/" + "0" * 36)
    assert missing.status_code == 404 and "Fant ikke siden" in text_of(missing.text)
    assert missing.headers["Content-Type"].startswith("text/html")
    assert web.get("/static/../service.py").status_code == 404
    seeded.stop("handover")
    down = web.get("/overganger")
    assert down.status_code == 503 and down.headers["Retry-After"] == "5"
    assert "Tjenesten er midlertidig utilgjengelig, prøv igjen om litt" in text_of(down.text)
    assert "Traceback" not in down.text and "handover" not in down.text


def test_the_dev_persona_picker_is_only_there_when_the_dev_issuer_is_on(
        container_factory, amqp_uri, database_urls, tmp_path):
    from tests.support.platform import Platform

    platform = Platform(container_factory, amqp_uri, database_urls, tmp_path, DEV_ISSUER="false")
    platform.start(["consent", "gateway"])
    try:
        web = WebClient(platform.url())
        start = web.get("/")
        assert start.status_code == 200 and "Demo" not in text_of(start.text)
        assert "Ingen innlogging er satt opp" in text_of(start.text)
        assert web.get("/logg-inn/dev").status_code == 404
        assert web.post("/logg-inn/dev", {"persona": "teacher"}, csrf=None).status_code == 404
    finally:
        platform.close()


def test_the_api_still_answers_beside_the_web_client(seeded):
    api = seeded.client("teacher")
    assert api.get("/api/v1/logs").status_code == 200
    assert requests.get(seeded.url() + "/openapi.json", timeout=10).status_code == 200


def test_an_answer_from_a_page_the_log_has_moved_past_is_refused_in_bokmal(seeded):
    """The proposal page carries the log's version; if the log changed meanwhile, the
    answer is refused with a plain message and the proposal stays open (If-Match)."""
    stories = seeded.seed_stories()
    teacher = seeded.client("teacher")
    guardian = seeded.client("guardian")
    log_url = f"/api/v1/logs/{stories['emma']}"
    proposal = guardian.post(f"{log_url}/proposals", json={
        "title": "Lekser på biblioteket", "arena": "school"}).json()
    web = WebClient(seeded.url())
    web.login("teacher")
    page_url = f"/logger/{stories['emma']}/forslag/{proposal['id']}"
    form = web.get(page_url).text
    shown_version = re.search(r'name="version" value="(\d+)"', form).group(1)
    # meanwhile the log changes (its level)
    changed = teacher.patch(log_url, json={"level": 3}, headers=teacher.if_match(log_url))
    assert changed.status_code == 200, changed.text
    stale = web.post(page_url + "/avsla", {"reason": "Ikke nå", "version": shown_version},
                     csrf=web.csrf_token(page_url))
    assert stale.status_code == 422
    assert "Noen har endret dette mens du skrev" in text_of(stale.text)
    proposals = teacher.get(f"{log_url}/proposals").json()["items"]
    assert next(p for p in proposals if p["id"] == proposal["id"])["status"] == "proposed"
    fresh = web.post(page_url + "/avsla", {"reason": "Ikke nå", "version": re.search(
        r'name="version" value="(\d+)"', web.get(page_url).text).group(1)},
        csrf=web.csrf_token(page_url))
    assert fresh.status_code == 303


def test_the_web_client_hides_a_case_from_those_with_no_part_in_it(seeded):
    """The pages ask the same services with the same actor as the API, so those without a
    part in Emma's case get the very page a missing object gives: nothing to tell apart."""
    stories = seeded.seed_stories()
    log_id = stories["emma"]
    teacher, guardian = seeded.client("teacher"), seeded.client("guardian")
    emma = next(c["id"] for c in guardian.get("/api/v1/children").json()["items"]
                if c["name"] == EMMA["name"])
    consent_id = guardian.get(f"/api/v1/children/{emma}/consents").json()["items"][0]["id"]
    proposal_id = guardian.post(f"/api/v1/logs/{log_id}/proposals", json={
        "title": "Lekser på biblioteket", "arena": "school"}).json()["id"]
    handover = teacher.post("/api/v1/handovers", json={
        "log_id": log_id, "to_agency": AGENCIES["ppt"]["org_number"], "transition": "other"})
    assert handover.status_code == 201, handover.text
    pages = [f"/logger/{log_id}", f"/logger/{log_id}/tidslinje", f"/logger/{log_id}/innsyn",
             f"/logger/{log_id}/forslag/{proposal_id}", f"/logger/{log_id}/tiltak/nytt",
             f"/samtykker/{consent_id}/trekk-tilbake", f"/overganger/{handover.json()['id']}"]
    missing = "00000000-0000-4000-8000-000000000000"
    for persona in ("teacher2", "child-welfare", "other-guardian"):
        web = WebClient(seeded.url())
        web.login(persona)
        for path in pages:
            seen = web.get(path)
            nowhere = web.get(re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", missing, path))
            assert (seen.status_code, text_of(seen.text)) == (
                404, text_of(nowhere.text)), (persona, path)
    # and the stafettholder does see them (the probe would catch a page that always 404s)
    web = WebClient(seeded.url())
    web.login("teacher")
    assert web.get(f"/logger/{log_id}").status_code == 200


def test_hostile_text_and_ids_in_the_web_client_are_refused_in_bokmal(seeded):
    """The pages call the services by RPC: what the services' text field refuses comes
    back as a message next to the field, in bokmål, with what was typed kept; a made-up
    id or cursor in the address is a page, never a 500 (issue 12, point 6)."""
    stories = seeded.seed_stories()
    log_id = stories["emma"]
    web = WebClient(seeded.url())
    web.login("teacher")
    form_url = f"/logger/{log_id}/innlegg/nytt"
    for text, shown in (("Ringte mor\x07", "usynlig kontrolltegn (tegnkode U+0007)"),
                        ("Emma \u202eslettet", "snur skriveretningen (tegnkode U+202E)"),
                        ("Null\x00tegn", "usynlig kontrolltegn (tegnkode U+0000)")):
        refused = web.post(form_url, {"kind": "note", "visibility": "all", "text": text},
                           csrf=web.csrf_token(form_url))
        assert refused.status_code == 422, refused.text[:300]
        page = text_of(refused.text)
        assert shown in page and "Tekst" in page
        assert 'aria-invalid="true"' in refused.text
    # a textarea's CRLF is a line break, stored as LF
    saved = web.post(form_url, {"kind": "note", "visibility": "all",
                                "text": "Første linje\r\nAndre linje"},
                     csrf=web.csrf_token(form_url))
    assert saved.status_code == 303, saved.text[:300]
    texts = [e["text"] for e in seeded.client("teacher").get(
        f"/api/v1/logs/{log_id}/entries").json()["items"]]
    assert "Første linje\nAndre linje" in texts
    assert not any("\x07" in t or "\u202e" in t or "\x00" in t for t in texts)
    # ids and cursors that are none of ours
    for path in ("/logger/" + "a" * 5000, "/logger/%00", f"/logger/{log_id}%ED%A0%80"):
        missing = web.get(path)
        assert missing.status_code == 404 and "Fant ikke siden" in text_of(missing.text)
    for cursor in ("A" * 5000, "%00", "W1tbW1tb"):
        bad = web.get(f"/logger/{log_id}/tidslinje?side={cursor}")
        assert bad.status_code == 400, bad.status_code
        assert "Noe var feil i forespørselen" in text_of(bad.text)


def test_a_version_field_that_is_none_of_ours_is_a_change_meanwhile(seeded):
    """The hidden version of a proposal page, tampered with (5,000 digits, a superscript
    digit int() refuses, a negative number): answered as a page that is out of date."""
    stories = seeded.seed_stories()
    guardian = seeded.client("guardian")
    proposal = guardian.post(f"/api/v1/logs/{stories['emma']}/proposals", json={
        "title": "Lekser på biblioteket", "arena": "school"}).json()
    web = WebClient(seeded.url())
    web.login("teacher")
    page_url = f"/logger/{stories['emma']}/forslag/{proposal['id']}"
    for version in ("9" * 5000, "²", "-3", "1e3"):
        stale = web.post(page_url + "/avsla", {"reason": "Ikke nå", "version": version},
                         csrf=web.csrf_token(page_url))
        assert stale.status_code == 422, (version[:10], stale.status_code)
        assert "Noen har endret dette mens du skrev" in text_of(stale.text)
