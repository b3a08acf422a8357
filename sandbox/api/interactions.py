"""Handlers for ``/api/v1/interactions``: one interaction, or a lead's history (newest first).

Thin by design: the use cases live in ``services/interactions``. The one thing a reader might get
wrong: an interaction of another tenant is simply not found (404), never forbidden.
"""

from __future__ import annotations

from ..services import interactions
from .render import ok, tenant


async def get_interaction(interaction_id: str):
    return ok(interactions.get_interaction(tenant(), interaction_id))


async def list_lead_interactions(lead_id: str):
    return ok(interactions.list_lead_interactions(tenant(), lead_id))
