"""Handler plumbing shared by every area: who the tenant is, and the success envelope.

The one thing a reader might get wrong: records are stored in their public shape, so rendering is
wrapping, not mapping; a handler must still never hand out a stored dict that a later request
could mutate while it is being serialised — services return copies where that matters.
"""

from __future__ import annotations

from connexion.context import context

from ..store import Tenant


def tenant() -> Tenant:
    """The tenant named by this request's ``X-API-Key`` (set by ``tenancy.api_key_info``)."""
    return context["token_info"]["tenant"]


def ok(data) -> tuple[dict, int]:
    return {"success": True, "data": data}, 200
