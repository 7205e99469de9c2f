"""Handovers between institutions (owner: the handover service)."""
from gateway.http import json_result, versioned
from gateway.idempotency import idempotent

HANDOVER_VIEWS = ("Handover", "HandoverCitizenView")
DIRECTION = {"name": "direction", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["incoming", "outgoing"]}}


def list_handovers(ctx):
    return ctx.handover.list_handovers(ctx.request.args.get("direction") or None,
                                       **ctx.paging())


@idempotent
def request_handover(ctx):
    handover = ctx.handover.request_handover(ctx.body())
    return json_result(handover, 201, {"Location": f"/api/v1/handovers/{handover['id']}"})


def get_handover(ctx, handover_id):
    return versioned(ctx.handover.get_handover(handover_id))


def accept_handover(ctx, handover_id):
    return versioned(ctx.handover.accept_handover(
        handover_id, ctx.body(), ctx.required_if_match()))


def decline_handover(ctx, handover_id):
    return versioned(ctx.handover.decline_handover(
        handover_id, ctx.body(), ctx.required_if_match()))


def cancel_handover(ctx, handover_id):
    return versioned(ctx.handover.cancel_handover(
        handover_id, ctx.body(), ctx.required_if_match()))
