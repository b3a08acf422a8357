"""Handlers for ``GET /api/v1/campaigns`` (docs §3.11; pagination and filters per G27/G28).

The one thing a reader might get wrong: the query flags arrive as the strings ``"true"``/``"false"``
and are checked by the service, not here, so the handler passes every parameter through untouched.
"""

from __future__ import annotations

from ..services import catalog
from .render import ok, tenant


async def list_campaigns(page=None, limit=None, active=None, client_id=None, offer_id=None,
                         include_archived=None, search=None):
    return ok(catalog.list_campaigns(tenant(), page=page, limit=limit, active=active, client_id=client_id,
                                     offer_id=offer_id, include_archived=include_archived, search=search))
