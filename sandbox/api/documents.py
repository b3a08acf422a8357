"""Handler for ``POST /api/v1/document-templates/send`` (docs §3.15, G32).

The one thing a reader might get wrong: the answer is immediate and always ``status: "pending"``;
viewing and signing happen later on the tenant clock (``simulation/documents.py``).
"""

from __future__ import annotations

from ..services import documents
from .render import ok, tenant


async def send_document(body):
    return ok(documents.send_document(tenant(), body))
