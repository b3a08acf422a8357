"""Outbound webhooks at run time: glue between the outbox's records and the async sender.

``start_attempt`` is what a ``webhook.attempt`` job does (and what replay / test events do at once):
check the job is not stale, apply strict mode's per-minute cap, mark the attempt in flight, and hand
the request to the sender, whose completion records the answer through ``outbox.finish_attempt``.
``settle`` is what ``POST /_sandbox/clock/advance`` awaits so a test sees the effect of an advance at
once, retries included.

The one thing a reader might get wrong: ``start_attempt`` is synchronous and returns before any byte
is sent; the job's effect dict is updated in place when the answer arrives, which is why an
advance's ``ran`` shows final statuses (it awaited the sends) while a real-time tick shows ``sending``.
During an advance (``tenant.busy``, which yields to other tenants) the send is only handed to the
sender when the advance ends, and no answer is recorded before: the same as when an advance never
yielded, so the result does not depend on where it did.
"""

from __future__ import annotations

import asyncio

from .. import simulation
from ..services import outbox
from .sender import WebhookSender, current

__all__ = ["WebhookSender", "current", "settle", "start_attempt", "wait_for"]

CAP_DEFER_SECONDS = 60


def start_attempt(tenant, delivery_id: str, number: int, trigger: str) -> tuple[list[dict], asyncio.Task | None]:
    """(effects for the job's ``ran`` entry, the send task or None)."""
    delivery, why = outbox.due_attempt(tenant, delivery_id, number, trigger)
    if delivery is None:
        return [{"deliveryId": delivery_id, "attempt": number, "skipped": why}], None
    sender = current()
    if sender is not None and not sender.admit(tenant):
        outbox.defer(tenant, delivery, number, trigger, CAP_DEFER_SECONDS)
        cap = sender.policy["deliveriesPerMinute"]
        return [{"deliveryId": delivery_id, "attempt": number,
                 "deferred": f"strict mode cap of {cap} deliveries per minute reached; "
                             f"next try at {delivery['nextAttemptAt']}"}], None
    attempt = outbox.begin_attempt(tenant, delivery, number, trigger)
    effect = {"deliveryId": delivery_id, "event": delivery["event"], "attempt": number, "trigger": trigger,
              "url": delivery["url"], "status": "sending"}

    def done(result: dict) -> None:
        effect["status"] = outbox.finish_attempt(tenant, delivery, attempt, result)
        effect["responseStatus"] = result.get("responseStatus")
        if result.get("error"):
            effect["error"] = result["error"]

    if sender is None:
        done({"error": "the webhook sender is not running (no event loop is serving this app)"})
        return [effect], None
    busy = tenant.busy
    if busy is not None:  # a job of a yielding advance: the request leaves when the advance is over
        busy.later.append(lambda: sender.send(tenant, attempt["request"], delivery["timeoutSeconds"], done))
        return [effect], None
    return [effect], sender.send(tenant, attempt["request"], delivery["timeoutSeconds"], done)


async def settle(tenant, ran: list | None = None) -> None:
    """Await the tenant's in-flight sends; run the retries and duplicates they made due (appending
    to ``ran``) and await those too — bounded by the sends' timeouts (at most 130 s in all)."""
    sender = current()
    if sender is None:
        return

    def run_newly_due() -> None:
        happened = simulation.run_due(tenant, tenant.now())
        if ran is not None:
            ran.extend(happened)

    await sender.settle(tenant, run_newly_due)


async def wait_for(task: asyncio.Task | None, timeout: float) -> None:
    """Await one send (replay, test event), at most its timeout plus a margin."""
    if task is not None:
        await asyncio.wait({task}, timeout=timeout + 5)
