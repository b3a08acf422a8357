"""Handler for ``POST /api/v1/sms/send``.

Thin by design: resolution chains and threading live in ``services/sms``. The one thing a reader
might get wrong: ``status`` in the reply is always ``sent``; delivery happens later on the clock.
"""

from __future__ import annotations

from ..services import sms
from .render import ok, tenant


async def send_sms(body: dict):
    return ok(sms.send_sms(tenant(), body))
