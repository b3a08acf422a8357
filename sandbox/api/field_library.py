"""Handlers for ``GET /api/v1/field-library`` and ``GET /api/v1/field-library/{key}`` (§3.19–3.20).

The one thing a reader might get wrong: the list is not paginated (the whole library comes back),
and a bad ``category`` or ``active`` value is a 400 even though the docs list no 400 body (G36).
"""

from __future__ import annotations

from ..services import catalog
from .render import ok, tenant


async def list_field_library(category=None, active=None, search=None):
    return ok(catalog.list_field_library(tenant(), category=category, active=active, search=search))


async def get_field_library_entry(key):
    return ok(catalog.get_field_entry(tenant(), key))
