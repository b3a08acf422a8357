"""``GET /_sandbox/health`` (liveness) and ``GET /_sandbox/ready`` (the store answers), no key."""

from __future__ import annotations

import json

from connexion import request
from connexion.lifecycle import ConnexionResponse

from ..api.envelope import error_body
from ..api.render import ok
from ..durable import StoreError
from ..tenancy import SCOPE_KEY


async def get_health():
    return ok({"status": "ok"})


async def get_ready():
    store = getattr(request.scope[SCOPE_KEY], "durable_store", None)
    kind = "memory" if store is None or not store.durable else store.url.split(":", 1)[0]
    try:
        if store is not None:
            await store.ping()
    except StoreError as exc:
        body = json.dumps(error_body("STORE_UNAVAILABLE", "the state store does not answer", [str(exc)]))
        return ConnexionResponse(status_code=503, mimetype="application/json", content_type="application/json",
                                 body=body)
    return ok({"status": "ready", "store": kind})
