"""Due work for SMS conversations: a persona's reply, the agent-mode batch window closing, the
built-in SMS agent's answer.

Handlers are thin: each hands its job to the service that owns the use case and reports what it
did as the job's effects. The one thing a reader might get wrong: the delivery receipt
(``sms.deliver``) is registered with the other conversation receipts in ``calls.py``; one kind
has exactly one handler, so it is not repeated here.
"""

from __future__ import annotations

from ..services import sms, sms_agent, sms_inbound
from . import handles



@handles(sms.DELIVER_JOB)
def sms_deliver(tenant, payload: dict):
    return sms.deliver(tenant, payload)


@handles(sms.PERSONA_JOB)
def sms_persona_reply(tenant, payload: dict):
    return sms_inbound.persona_reply(tenant, payload)


@handles(sms_agent.BATCH_JOB)
def sms_batch(tenant, payload: dict):
    return sms_agent.close_batch(tenant, payload)


@handles(sms_agent.REPLY_JOB)
def sms_agent_reply(tenant, payload: dict):
    return sms_agent.builtin_reply(tenant, payload)
