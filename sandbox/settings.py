"""The one place that reads configuration: command-line flags and their ``SANDBOX_*`` env twins.

Precedence: flag > environment variable > default. The one thing a reader might get wrong: the
*defaults differ by entry point* — the CLI starts a real-time clock (a developer sees calls finish
by themselves), while ``Settings()`` built in tests is manual (time moves only when told). Either
way a manual clock without a start time starts at ``DEFAULT_START``; only a real-time one without
one starts at the wall clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from .clock import MANUAL, parse_clock_instant, parse_instant

DEFAULT_START = "2026-01-15T15:00:00Z"  # a Thursday, 10:00 in New York: inside calling hours


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    seed: int = 42
    fixture: Path | None = None          # a YAML world replacing the generated seed world
    clock_mode: str = MANUAL             # manual | realtime
    speed: float = 1.0                   # real-time clock speed-up
    # Where each new tenant's clock starts, in either mode (a real-time one runs from there); None:
    # the wall clock when the tenant is created (the CLI's real-time default, see tenancy).
    start_time: datetime | None = field(default_factory=lambda: parse_instant(DEFAULT_START))
    strict: bool = False                 # only admin-issued keys open tenants
    admin_key: str | None = None         # required for /_sandbox/admin/* in strict mode
    validate_responses: bool = False     # on in tests: responses checked against openapi.yaml
    validate_specs: bool = False         # connexion's meta-validation of both specs when an app is built:
                                         # 0.3 s per app (the typed control spec), paid by every test;
                                         # tests/test_app.py runs it on both specs instead
    direct_route: bool = True            # plain public requests skip connexion's stack (api/direct_route.py);
                                         # always off while validate_responses is on
    journal_size: int = 200              # request journal entries kept per tenant
    public_url: str | None = None        # base URL used in links the sandbox hands out
    shutdown_grace: float = 5.0          # seconds in-flight requests get on shutdown before they are cut
    max_tenants: int = 1000              # open mode opens a tenant per new key (~280 kB each): cap them
    max_body_bytes: int = 1024 * 1024    # request bodies; the largest real request is ~20 kB (bulk of 200 ids)
    max_import_bytes: int = 64 * 1024 * 1024  # PUT /_sandbox/state: a whole tenant's export
    access_log: str = "off"              # off | json: one JSON line per request on stdout (sandbox.metrics)
    store: str = "memory"                # memory | sqlite:///PATH | postgresql://...: where tenants live (sandbox/durable)
    workers: int = 1                     # serving processes (a durable store only: they share it)
    evict_after: float = 300.0           # durable store: seconds idle before a tenant leaves memory

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


ENV = {
    "host": "SANDBOX_HOST", "port": "SANDBOX_PORT", "seed": "SANDBOX_SEED",
    "fixture": "SANDBOX_FIXTURE", "clock_mode": "SANDBOX_CLOCK", "speed": "SANDBOX_SPEED",
    "start_time": "SANDBOX_START_TIME", "strict": "SANDBOX_STRICT", "shutdown_grace": "SANDBOX_SHUTDOWN_GRACE",
    "admin_key": "SANDBOX_ADMIN_KEY", "public_url": "SANDBOX_PUBLIC_URL", "direct_route": "SANDBOX_DIRECT_ROUTE",
    "max_tenants": "SANDBOX_MAX_TENANTS", "max_body_bytes": "SANDBOX_MAX_BODY_BYTES",
    "max_import_bytes": "SANDBOX_MAX_IMPORT_BYTES", "access_log": "SANDBOX_ACCESS_LOG",
    "store": "SANDBOX_STORE", "workers": "SANDBOX_WORKERS", "evict_after": "SANDBOX_EVICT_AFTER",
}


def _coerce(name: str, raw: str):
    if name in ("port", "seed", "max_tenants", "max_body_bytes", "max_import_bytes", "workers"):
        return int(raw)
    if name in ("speed", "shutdown_grace", "evict_after"):
        return float(raw)
    if name in ("strict", "direct_route"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if name == "fixture":
        return Path(raw)
    if name == "start_time":
        return parse_clock_instant(raw)
    if name == "access_log":
        value = raw.strip().lower()
        if value not in ("off", "json"):
            raise ValueError(f"SANDBOX_ACCESS_LOG: must be off or json, not {raw!r}")
        return value
    return raw


def from_sources(flags: dict, environ=os.environ, base: Settings | None = None) -> Settings:
    """Merge flags (None = not given) over ``SANDBOX_*`` variables over ``base``."""
    values = {}
    for name, var in ENV.items():
        if flags.get(name) is not None:
            values[name] = flags[name]
        elif environ.get(var):
            values[name] = _coerce(name, environ[var])
    return (base or Settings()).with_(**values)
