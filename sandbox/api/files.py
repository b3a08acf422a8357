"""Handlers for ``POST /api/v1/files`` and ``GET /api/v1/files/{leadId}[/{fileKey}]`` (§3.16–3.18).

The one thing a reader might get wrong: the two reads differ on an unknown lead — the list answers
an empty list (G35), the single file 404 — and that rule lives in ``services.files``, not here.
"""

from __future__ import annotations

from ..services import files
from .render import ok, tenant


async def upsert_file(body):
    return ok(files.upsert_file(tenant(), body))


async def list_lead_files(lead_id):
    return ok(files.list_lead_files(tenant(), lead_id))


async def get_lead_file(lead_id, file_key):
    return ok(files.get_lead_file(tenant(), lead_id, file_key))
