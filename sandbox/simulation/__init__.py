"""What happens when due work comes due: the runner and the registry of job kinds.

Services schedule jobs (plain data) on the tenant's timeline; modules in this package register a
handler per job kind with ``@handles("kind")``. ``run_due`` pops jobs in (due time, scheduling
order), pins the tenant clock to each job's due time while it runs, and returns what happened.
The one thing a reader might get wrong: a job handler may schedule further jobs, including ones
already due; they run in the same ``run_due`` call, in order, so one ``advance`` plays out a whole
chain (ringing → answered → hang-up) deterministically.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import datetime

from ..clock import iso

log = logging.getLogger("sandbox.simulation")

Handler = Callable[["object", dict], "dict | list[dict] | None"]
_HANDLERS: dict[str, Handler] = {}
_MODULES = ("leads_pipeline", "documents", "calls", "sms", "webhooks")


def handles(kind: str):
    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn
    return register


def load_handlers() -> None:
    for name in _MODULES:
        importlib.import_module(f"{__name__}.{name}")


def _as_list(effects) -> list[dict]:
    """Handlers may return one effect, several, or None (nothing happened)."""
    if effects is None:
        return []
    if isinstance(effects, dict):
        return [effects]
    return [effect for effect in effects if effect]


def run_due(tenant, until: datetime, limit: int | None = None) -> list[dict]:
    """Run every job due at or before ``until``; return one entry per job with its effects."""
    happened: list[dict] = []
    target = until.timestamp()
    while limit is None or len(happened) < limit:
        job = tenant.timeline.pop_due(target)
        if job is None:
            break
        handler = _HANDLERS.get(job.kind)
        tenant.clock.pin(job.due)
        try:
            effects = handler(tenant, job.payload) if handler else None
        except Exception:  # a broken job must not wedge the tenant's clock
            log.exception("job %s failed", job.kind)
            effects = [{"error": "job failed"}]
        finally:
            tenant.clock.pin(None)
        happened.append({"at": iso(datetime.fromtimestamp(job.due, until.tzinfo)), "job": job.kind,
                         "payload": job.payload, "effects": _as_list(effects)})
    return happened
