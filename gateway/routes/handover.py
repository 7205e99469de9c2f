"""Handovers between institutions (owner: the handover service)."""
from gateway.http import json_result
from gateway.idempotency import idempotent

HANDOVER_VIEWS = ("Handover", "HandoverCitizenView")
DIRECTION = {"name": "direction", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["incoming", "outgoing"]}}


def _with_etag(handover: dict):
    """The handover, with its version as the ETag for the next action (If-Match)."""
    headers = {"ETag": f'"{handover["version"]}"'} if "version" in handover else None
    return json_result(handover, 200, headers)


def list_handovers(ctx):
    ctx.authenticate()
    return ctx.handover.list_handovers(ctx.request.args.get("direction") or None,
                                       **ctx.paging())


@idempotent
def request_handover(ctx):
    ctx.authenticate()
    handover = ctx.handover.request_handover(ctx.body())
    return json_result(handover, 201, {"Location": f"/api/v1/handovers/{handover['id']}"})


def get_handover(ctx, handover_id):
    ctx.authenticate()
    return _with_etag(ctx.handover.get_handover(handover_id))


def accept_handover(ctx, handover_id):
    ctx.authenticate()
    return _with_etag(ctx.handover.accept_handover(
        handover_id, ctx.body(), ctx.required_if_match()))


def decline_handover(ctx, handover_id):
    ctx.authenticate()
    return _with_etag(ctx.handover.decline_handover(
        handover_id, ctx.body(), ctx.required_if_match()))


def cancel_handover(ctx, handover_id):
    ctx.authenticate()
    return _with_etag(ctx.handover.cancel_handover(
        handover_id, ctx.body(), ctx.required_if_match()))
