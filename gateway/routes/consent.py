"""Children, consent, agencies and the staff directory (owner: the consent service)."""
from gateway.http import json_result, versioned
from gateway.idempotency import idempotent

#: withdrawing takes If-Match, but never needs it (never harder than granting)
IF_MATCH_OPTIONAL = {"name": "If-Match", "in": "header", "required": False,
                     "schema": {"type": "string"}}


def my_children(ctx):
    return ctx.listing(ctx.consent.my_children())


@idempotent
def register_child(ctx):
    # the number travels in one call only; the registration itself goes by person id
    resolved = ctx.consent.resolve_citizen("register", ctx.body())
    child = ctx.consent.register_child(resolved["person_id"])
    return json_result(child, 201, {"Location": f"/api/v1/children/{child['id']}"})


def find_child(ctx):
    resolved = ctx.consent.resolve_citizen("search", ctx.body())
    return ctx.consent.find_child(resolved["person_id"])


def list_consents(ctx, child_id):
    return ctx.listing(ctx.consent.list_consents(child_id))


@idempotent
def grant_consent(ctx, child_id):
    consent = ctx.consent.grant_consent(child_id, ctx.body())
    return versioned(consent, 201, {"Location": f"/api/v1/consents/{consent['id']}"})


def get_consent(ctx, consent_id):
    return versioned(ctx.consent.get_consent(consent_id))


def approve_consent(ctx, consent_id):
    return versioned(ctx.consent.approve_consent(consent_id, ctx.if_match()))


def withdraw_consent(ctx, consent_id):
    return versioned(ctx.consent.withdraw_consent(consent_id, ctx.if_match()))


def consent_fhir(ctx, consent_id):
    return json_result(ctx.consent.consent_fhir(consent_id),
                       content_type="application/fhir+json")


def list_agencies(ctx):
    return ctx.listing(ctx.consent.list_agencies())


def list_staff(ctx, org_number):
    return ctx.listing(ctx.consent.list_staff(org_number))


@idempotent
def provision_staff(ctx, org_number):
    # the new colleague logs in through the administrator's identity provider;
    # the consent service checks the administrator role and agency
    body = {**ctx.body(), "agency": org_number, "issuer": ctx.identity["issuer"]}
    return json_result(ctx.consent.provision_staff(body), 201)
