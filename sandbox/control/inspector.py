"""Control-plane handlers the inspector page reads (``paths/inspector.yaml``): a lead's timeline and
the pending work of the clock. The page itself is static (``sandbox/inspector``).

Thin like the others: parse, call one service, render. The one thing a reader might get wrong:
both are reads of the caller's own tenant, and neither changes anything — not even the journal when
the inspector asks (it marks its reads, see ``sandbox.inspector``).
"""

from __future__ import annotations

from ..api.render import ok, tenant
from ..services import inspection


async def get_lead_timeline(lead_id: str):
    return ok(inspection.lead_timeline(tenant(), lead_id))


async def get_pending_work(limit: int = 20):
    return ok(inspection.pending_work(tenant(), limit))
