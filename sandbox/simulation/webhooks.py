"""The ``webhook.attempt`` job: one attempt of an outbox delivery comes due on the tenant clock.

Payload ``{deliveryId, attempt, trigger}`` (trigger: initial, retry, duplicate). The one thing a
reader might get wrong: the job only *starts* the HTTP call (an asyncio task of the sender) and
returns; the answer is recorded when it arrives, and the retry it may schedule is a new job.
"""

from __future__ import annotations

from .. import webhooks
from ..services.outbox import ATTEMPT_JOB
from . import handles


@handles(ATTEMPT_JOB)
def attempt(tenant, payload: dict) -> list[dict]:
    effects, _task = webhooks.start_attempt(tenant, payload["deliveryId"], payload["attempt"],
                                            payload.get("trigger", "initial"))
    return effects
