"""Tenant lifecycle: reset, import, and strict-mode key issuance.

The one thing a reader might get wrong: import replaces the *whole* tenant (state, id counter, RNG
state, timeline and clock time), so that export → import → same requests gives the same bytes as
never having left; a partial import would make ids collide. So a document is checked completely
(``world.tenant_export``) before anything is built from it, and refused whole, every problem listed.
"""

from __future__ import annotations

from ..clock import iso
from ..errors import NotFound, ValidationFailed, refuse_if
from ..ids import secret_token
from ..world import tenant_export


def reset(registry, tenant) -> dict:
    fresh = registry.reset(tenant)
    return {"tenant": fresh.state.org_id, "now": iso(fresh.now()), "leads": len(fresh.state.leads)}


def import_state(tenant, body: dict) -> dict:
    """Replace the tenant by the export in ``body`` (or in the envelope GET answered), or change nothing."""
    document, problems = tenant_export.check(body, tenant)
    refuse_if(problems)
    try:
        tenant.import_(document)
    except ValueError as exc:  # a gap in the checks: still the caller's document, still nothing changed
        raise ValidationFailed([f"body: {exc}"])
    return {"tenant": tenant.state.org_id, "now": iso(tenant.now()), "leads": len(tenant.state.leads)}


def issue_key(registry, body: dict) -> dict:
    key = body.get("key") or secret_token()
    if key in registry.issued_keys:
        raise ValidationFailed(["key: already issued"])
    record = {"key": key, "label": body.get("label")}
    registry.issued_keys[key] = record
    return dict(record)


def list_keys(registry) -> list[dict]:
    # Keys are shown once at issuance; the list shows only a recognisable prefix.
    return [{"keyPrefix": key[:8], "label": rec.get("label")} for key, rec in registry.issued_keys.items()]


def revoke_key(registry, key: str) -> dict:
    if not registry.revoke(key):
        raise NotFound()
    return {"revoked": True}
