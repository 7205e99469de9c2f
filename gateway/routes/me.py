"""Who am I: the authenticated actor, as the consent service resolved the caller."""


def me(ctx):
    actor = ctx.actor
    return {"kind": actor.kind, "person_id": actor.person_id, "agency": actor.agency,
            "agency_type": actor.agency_type, "roles": list(actor.roles),
            "scopes": list(actor.scopes)}
