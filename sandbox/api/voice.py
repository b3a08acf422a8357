"""Handler for ``POST /api/v1/voice/calls/initiate``.

Thin by design: pre-flight and the call lifecycle live in ``services/voice``. The one thing a
reader might get wrong: the reply only names the new interaction; the call plays out on the
tenant clock and callers poll ``GET /api/v1/interactions/{interactionId}``.
"""

from __future__ import annotations

from ..services import voice
from .render import ok, tenant


async def initiate_call(body: dict):
    return ok(voice.initiate_call(tenant(), body))
