"""Handler plumbing shared by every area: who the tenant is, and the success envelope.

The one thing a reader might get wrong: ``ok`` serialises the body *right here*, inside the
handler, before any other request can run (services never await). That is what lets services
hand out their live records instead of deep copies — a copy of a 50-lead page cost two thirds
of the request — without any later mutation showing up in a response.
"""

from __future__ import annotations

import json

import orjson
from connexion.context import context
from connexion.lifecycle import ConnexionResponse

from ..domain.interactions import FrozenTranscript
from ..store import Tenant


def tenant() -> Tenant:
    """The tenant named by this request's ``X-API-Key`` (set by ``tenancy.api_key_info``)."""
    return context["token_info"]["tenant"]


def _as_fragment(value):
    if isinstance(value, FrozenTranscript):
        return orjson.Fragment(value.raw)  # written verbatim: the bytes are already JSON
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _as_list(value):
    if isinstance(value, FrozenTranscript):
        return json.loads(value.raw)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def encode(document) -> bytes:
    """orjson (a 50-lead page: 0.10 ms instead of 0.46 ms with the json module), except for what
    it refuses: integers beyond 64 bits, which free-form fields (``customFields`` ...) accept."""
    try:
        return orjson.dumps(document, default=_as_fragment)
    except TypeError:
        return json.dumps(document, default=_as_list, separators=(",", ":"), ensure_ascii=False).encode()


def ok(data) -> ConnexionResponse:
    body = encode({"success": True, "data": data})
    return ConnexionResponse(status_code=200, mimetype="application/json", content_type="application/json",
                             body=body)
