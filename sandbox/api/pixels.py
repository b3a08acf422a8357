"""Handler for ``POST /api/v1/pixels/fire`` (docs §3.23, G51).

The one thing a reader might get wrong: ``data.success`` is the platform's verdict and can be
``false`` inside a successful (200) envelope.
"""

from __future__ import annotations

from ..services import pixels
from .render import ok, tenant


async def fire_pixel(body):
    return ok(pixels.fire_pixel(tenant(), body))
