"""Control-plane handlers of the calls area (``paths/calls.yaml``): simulate an inbound call.

Thin like the public ones: parse, call one service, render. The one thing a reader might get
wrong: the reply names the new interaction at once; the call itself plays out on the tenant clock.
"""

from __future__ import annotations

from ..api.render import ok, tenant
from ..services import inbound_calls


async def simulate_inbound_call(body: dict):
    return ok(inbound_calls.receive_call(tenant(), body["from"], body["to"]))
