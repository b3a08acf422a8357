"""Control-plane handlers of the webhooks area (``paths/webhooks.yaml``): deliveries, replay, test
events, fault switches, the built-in sink and strict mode's webhook policy.

Thin like the others. The one thing a reader might get wrong: replay and test events send *now*
and await the answer (that is their point), unlike every event, which only queues a delivery and
leaves on the clock; and the sink handlers use no key, so they must never touch a tenant.
"""

from __future__ import annotations

import asyncio

from connexion import request

from .. import webhooks
from ..api.render import ok, tenant
from ..errors import ValidationFailed
from ..services import events, outbox

_BODILESS = (204, 205, 304)


def _sender() -> webhooks.WebhookSender:
    sender = webhooks.current()
    if sender is None:  # only when the app runs without its lifespan
        raise ValidationFailed(["webhooks: the webhook sender is not running in this app"])
    return sender


async def list_webhook_deliveries(event=None, status=None, lead_id=None, campaign_id=None, kind=None, limit=50):
    return ok(outbox.list_deliveries(tenant(), event=event, status=status, lead_id=lead_id,
                                     campaign_id=campaign_id, kind=kind, limit=limit))


async def get_webhook_delivery(delivery_id):
    return ok(outbox.get_delivery(tenant(), delivery_id))


async def replay_webhook_delivery(delivery_id):
    current = tenant()
    delivery, number = outbox.replay(current, delivery_id)
    _effects, task = webhooks.start_attempt(current, delivery_id, number, "replay")
    await webhooks.wait_for(task, delivery["timeoutSeconds"])
    return ok(outbox.get_delivery(current, delivery_id))


async def send_test_webhook(body):
    current = tenant()
    delivery = events.queue_test_event(current, body)
    outbox.unschedule(current, delivery["deliveryId"])  # sent now, not when the clock says
    _effects, task = webhooks.start_attempt(current, delivery["deliveryId"], 1, "initial")
    await webhooks.wait_for(task, delivery["timeoutSeconds"])
    return ok(outbox.get_delivery(current, delivery["deliveryId"]))


async def get_webhook_faults():
    return ok(outbox.get_faults(tenant()))


async def put_webhook_faults(body):
    return ok(outbox.set_faults(tenant(), body))


async def receive_sink(name, status=200, delay_ms=0):
    if status in _BODILESS:
        raise ValidationFailed([f"status: {status} cannot carry a body; choose another"])
    raw = await request.body()
    entry = _sender().sinks.record(name, request.method, dict(request.headers), raw,
                                   request.url.query)
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    if 200 <= status < 300:
        return {"success": True, "data": {"name": name, "seq": entry["seq"]}}, status
    return {"success": False, "error": {"code": "SINK_FORCED_STATUS",
                                        "message": f"Status {status} forced by ?status="}}, status


async def read_sink(name):
    return ok(_sender().sinks.read(name))


async def clear_sink(name):
    return ok(_sender().sinks.clear(name))


async def get_webhook_policy():
    sender = _sender()
    return ok(dict(sender.policy, strict=sender.strict))


async def put_webhook_policy(body):
    sender = _sender()
    sender.policy.update({k: body[k] for k in ("allowPrivateTargets", "deliveriesPerMinute") if k in body})
    return ok(dict(sender.policy, strict=sender.strict))
