"""Who is calling: the ``X-API-Key`` header names the tenant.

Open mode: any non-empty key opens its own tenant, built on first use from the seed world.
Strict mode: only keys issued through ``/_sandbox/admin/keys`` (admin key from settings) work.
The one thing a reader might get wrong: the registry reaches connexion's security hook through the
ASGI scope (``scope["sandbox"]``), not through a global, so two apps in one process (tests) never
share tenants.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from .clock import Clock, REALTIME, wall_now
from .ids import IdFactory
from .settings import Settings
from .store import Tenant, TenantState

SCOPE_KEY = "sandbox"


class TenantRegistry:
    def __init__(self, settings: Settings, build_world: Callable[[Tenant, Settings], None]):
        self.settings = settings
        self._build_world = build_world
        self._tenants: dict[str, Tenant] = {}
        self.issued_keys: dict[str, dict] = {}  # strict mode: key -> {label, createdAt}

    def _new_tenant(self, key: str) -> Tenant:
        settings = self.settings
        start = wall_now() if settings.clock_mode == REALTIME or settings.start_time is None \
            else settings.start_time
        tenant = Tenant(key, TenantState(), Clock(start, settings.clock_mode, settings.speed),
                        IdFactory(settings.seed, key), journal_size=settings.journal_size)
        tenant.base_url = settings.base_url
        self._build_world(tenant, settings)
        return tenant

    def lookup(self, key: str | None, create: bool = True) -> Tenant | None:
        """The tenant for a key, created on first use where the mode allows it; else None."""
        if not key:
            return None
        tenant = self._tenants.get(key)
        if tenant is not None:
            return tenant
        if self.settings.strict and key not in self.issued_keys:
            return None
        if not create:
            return None
        tenant = self._tenants[key] = self._new_tenant(key)
        return tenant

    def probe(self) -> None:
        """Build a tenant without keeping it (start-up check of the world)."""
        self._new_tenant("__probe__")

    def reset(self, tenant: Tenant) -> Tenant:
        """Replace a tenant by a freshly seeded one (same key, same clock mode)."""
        fresh = self._new_tenant(tenant.key)
        fresh.clock.set_mode(tenant.clock.mode, tenant.clock.speed)
        self._tenants[tenant.key] = fresh
        return fresh

    def revoke(self, key: str) -> bool:
        self._tenants.pop(key, None)
        return self.issued_keys.pop(key, None) is not None

    def tenants(self) -> list[Tenant]:
        return list(self._tenants.values())


def api_key_info(apikey: str, required_scopes=None, request=None):
    """connexion's ``x-apikeyInfoFunc``: a dict opens the request, None answers 401."""
    registry: TenantRegistry | None = request.scope.get(SCOPE_KEY) if request is not None else None
    if registry is None:
        return None
    tenant = registry.lookup(apikey.strip())
    if tenant is None:
        return None
    return {"sub": tenant.key, "tenant": tenant}


def admin_key_info(apikey: str, required_scopes=None, request=None):
    """``X-Admin-Key`` check for ``/_sandbox/admin/*``; no admin key configured means no admin."""
    registry: TenantRegistry | None = request.scope.get(SCOPE_KEY) if request is not None else None
    expected = registry.settings.admin_key if registry is not None else None
    if not expected or not hmac.compare_digest(apikey.encode(), expected.encode()):
        return None
    return {"sub": "admin", "registry": registry}
