"""Control-plane handlers of the auto-dialer area (``paths/dialer.yaml``): dry run and queue view.

Thin like the public ones: parse, call one service, render. The one thing a reader might get
wrong: both are reads — a dry run places nothing and records no attempt, so asking never changes
the answer.
"""

from __future__ import annotations

from ..api.render import ok, tenant
from ..services import dialer


async def check_dialer(lead_id: str):
    return ok(dialer.check_lead(tenant(), lead_id))


async def get_dialer_queue(limit: int = 100, campaign_id: str | None = None):
    return ok(dialer.queue_view(tenant(), limit, campaign_id))
