"""Tenant lifecycle: reset, import, and strict-mode key issuance.

The one thing a reader might get wrong: import replaces the *whole* tenant (state, id counter, RNG
state, timeline and clock time), so that export → import → same requests gives the same bytes as
never having left; a partial import would make ids collide.
"""

from __future__ import annotations

from ..clock import iso
from ..errors import NotFound, ValidationFailed
from ..ids import secret_token


def reset(registry, tenant) -> dict:
    fresh = registry.reset(tenant)
    return {"tenant": fresh.state.org_id, "now": iso(fresh.now()), "leads": len(fresh.state.leads)}


def import_state(tenant, document: dict) -> dict:
    if document.get("success") is True and isinstance(document.get("data"), dict):
        document = document["data"]  # the envelope exactly as GET /_sandbox/state answered it
    try:
        tenant.import_(document)
    except ValueError as exc:
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
