"""Control-plane handlers for SMS conversations (paths in ``paths/sms.yaml``).

Thin like the public ones: parse, call one service, render. The one thing a reader might get
wrong: ``receiveInboundSms`` plays the *provider* calling the service's inbound webhook, so it
answers 200 even for a redelivery it drops (``duplicate: true``), as the real webhook must.
"""

from __future__ import annotations

from ..api.render import ok, tenant
from ..services import sms, sms_agent, sms_inbound


async def receive_inbound_sms(body):
    return ok(sms_inbound.receive(tenant(), body))


async def list_sms_messages(lead_id=None, number=None, status=None, direction=None, limit=sms.LIST_LIMIT):
    return ok(sms.list_messages(tenant(), lead_id=lead_id, number=number, status=status, direction=direction,
                                limit=limit))


async def set_agent_mode(interaction_id, body):
    return ok(sms_agent.set_agent_mode(tenant(), interaction_id, body["enabled"]))
