"""Who is calling: the ``X-API-Key`` header names the tenant.

Open mode: any non-empty key opens its own tenant, built on first use from the seed world.
Strict mode: only keys issued through ``/_sandbox/admin/keys`` (admin key from settings) work.
Either way a key is at most ``MAX_KEY_LENGTH`` characters, and no new tenant opens once
``settings.max_tenants`` exist (a fuzzing script with random keys must not make a laptop swap).
The one thing a reader might get wrong: the registry reaches connexion's security hook through the
ASGI scope (``scope["sandbox"]``), not through a global, so two apps in one process (tests) never
share tenants.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from .clock import Clock, wall_now
from .errors import Unauthorized
from .ids import IdFactory
from .settings import Settings
from .store import Tenant, TenantState

SCOPE_KEY = "sandbox"
MAX_KEY_LENGTH = 256  # keys are names, not payloads: a 1 MB key made a 2.5 MB tenant


class TenantRegistry:
    def __init__(self, settings: Settings, build_world: Callable[[Tenant, Settings], None]):
        self.settings = settings
        self._build_world = build_world
        self._tenants: dict[str, Tenant] = {}
        self.issued_keys: dict[str, dict] = {}  # strict mode: key -> {label, createdAt}

    def _new_tenant(self, key: str) -> Tenant:
        """A freshly seeded tenant whose clock starts at ``settings.start_time`` in either mode.

        In real-time mode that is where the tenant's clock starts when the *tenant* is created (or
        reset), not where a clock started with the process would be by now: a tenant's seed world
        is dated from its start, so the same key and flags give the same tenant whenever it is
        first used. Without a start time (the CLI's real-time default) it is the wall clock."""
        settings = self.settings
        start = settings.start_time or wall_now()
        tenant = Tenant(key, TenantState(), Clock(start, settings.clock_mode, settings.speed),
                        IdFactory(settings.seed, key), journal_size=settings.journal_size)
        tenant.base_url = settings.base_url
        self._build_world(tenant, settings)
        return tenant

    def refusal(self, key: str | None) -> list[str] | None:
        """None when ``key`` opens a tenant (an existing one, or a new one the mode and the caps
        allow); else why not, as ``details`` lines (empty: simply not a key of this sandbox)."""
        if not key:
            return []
        if key in self._tenants:
            return None
        if len(key) > MAX_KEY_LENGTH:
            return [f"X-API-Key: must be at most {MAX_KEY_LENGTH} characters long"]
        if self.settings.strict and key not in self.issued_keys:
            return []
        if len(self._tenants) >= self.settings.max_tenants:
            return [f"X-API-Key: this sandbox already holds its maximum of {self.settings.max_tenants} "
                    "tenants (--max-tenants); use a key it knows, or restart it with a higher cap"]
        return None

    def admin_key_matches(self, key: str) -> bool:
        expected = self.settings.admin_key
        return bool(expected) and hmac.compare_digest(key.encode(), expected.encode())

    def lookup(self, key: str | None, create: bool = True) -> Tenant | None:
        """The tenant for a key, created on first use where the mode and the caps allow it; else None."""
        if not key:
            return None
        tenant = self._tenants.get(key)
        if tenant is not None:
            return tenant
        if not create or self.refusal(key) is not None:
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
    key = apikey.strip()
    tenant = registry.lookup(key)
    if tenant is None:
        refusal = registry.refusal(key)
        if refusal:  # say why a key that looks fine was turned away (the cap, its length)
            raise Unauthorized(refusal)
        return None
    return {"sub": tenant.key, "tenant": tenant}


def admin_key_info(apikey: str, required_scopes=None, request=None):
    """``X-Admin-Key`` check for ``/_sandbox/admin/*``; no admin key configured means no admin."""
    registry: TenantRegistry | None = request.scope.get(SCOPE_KEY) if request is not None else None
    if registry is None or not registry.admin_key_matches(apikey):
        return None
    return {"sub": "admin", "registry": registry}
