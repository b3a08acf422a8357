"""Handlers for ``GET /api/v1/clients`` and ``GET /api/v1/clients/{clientId}`` (docs §3.12–3.13).

The one thing a reader might get wrong: a client id of another tenant is simply unknown here (404),
because each tenant's store holds only its own clients.
"""

from __future__ import annotations

from ..services import catalog
from .render import ok, tenant


async def list_clients(page=None, limit=None, active=None, search=None):
    return ok(catalog.list_clients(tenant(), page=page, limit=limit, active=active, search=search))


async def get_client(client_id):
    return ok(catalog.get_client(tenant(), client_id))
