"""Control-plane handlers of the webhooks area (``paths/webhooks.yaml``): deliveries, replay, test
events, fault switches, the built-in sink, the listener's long poll and results, and strict mode's
webhook policy.

Thin like the others. The one thing a reader might get wrong: replay and test events send *now*
and await the answer (that is their point), unlike every event, which only queues a delivery and
leaves on the clock; the listener's poll awaits only a wake-up, never domain work (each look at
the state is one synchronous ``listener.collect``); and the sink handlers use no key, so they
must never touch a tenant.
"""

from __future__ import annotations

import asyncio

from connexion import request

from .. import simulation, webhooks
from ..api.render import ok, tenant
from ..clock import stopwatch
from ..errors import ValidationFailed
from ..services import events, listener, outbox
from ..tenancy import SCOPE_KEY

_BODILESS = (204, 205, 304)
_EVENT_NAMES = events.EVENT_NAMES  # the poll's ``events`` parameter shadows the module there


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
    if delivery["kind"] == outbox.LISTEN_KIND:
        listener.replay(current, delivery)  # the listener's next poll takes it; nothing to await here
        return ok(outbox.get_delivery(current, delivery_id))
    _effects, task = webhooks.start_attempt(current, delivery_id, number, "replay")
    await webhooks.wait_for(task, delivery["timeoutSeconds"])
    await simulation.wait_idle(current)  # an advance of this tenant began meanwhile: after it
    return ok(outbox.get_delivery(current, delivery_id))


async def send_test_webhook(body):
    current = tenant()
    delivery = events.queue_test_event(current, body)
    outbox.unschedule(current, delivery["deliveryId"])  # sent now, not when the clock says
    _effects, task = webhooks.start_attempt(current, delivery["deliveryId"], 1, "initial")
    await webhooks.wait_for(task, delivery["timeoutSeconds"])
    await simulation.wait_idle(current)  # an advance of this tenant began meanwhile: after it
    return ok(outbox.get_delivery(current, delivery["deliveryId"]))


async def get_webhook_faults():
    return ok(outbox.get_faults(tenant()))


async def put_webhook_faults(body):
    return ok(outbox.set_faults(tenant(), body))


async def listen_for_webhooks(after=None, wait_seconds=25, events=None):
    current = tenant()
    registry = request.scope[SCOPE_KEY]
    hub = listener.connect(current, listener.parse_events(events, _EVENT_NAMES))
    try:
        deadline = stopwatch() + wait_seconds
        while True:
            # Looked up again each time: a reset or an import during the wait replaces the tenant.
            current = registry.lookup(current.key, create=False) or current
            if current.busy is not None:  # woken by an event of an advance still running: after it
                await simulation.wait_idle(current)
                continue
            batch = listener.collect(current, hub, after)
            remaining = deadline - stopwatch()
            if batch["deliveries"] or remaining <= 0:
                return ok(batch)
            woken = hub.waiter()
            try:  # an event wakes it; the recheck catches retries the clock made due
                await asyncio.wait({woken}, timeout=min(remaining, listener.RECHECK_SECONDS))
            finally:
                hub.forget(woken)
    finally:
        listener.disconnect(hub)


async def report_listen_result(delivery_id, body):
    return ok(listener.record_result(tenant(), delivery_id, body))


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
