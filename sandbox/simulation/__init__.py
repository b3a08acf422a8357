"""What happens when due work comes due: the runner and the registry of job kinds.

Services schedule jobs (plain data) on the tenant's timeline; modules in this package register a
handler per job kind with ``@handles("kind")``. ``run_due`` pops jobs in (due time, scheduling
order), pins the tenant clock to each job's due time while it runs, and returns what happened.
The one thing a reader might get wrong: a job handler may schedule further jobs, including ones
already due; they run in the same ``run_due`` call, in order, so one ``advance`` plays out a whole
chain (ringing → answered → hang-up) deterministically.

``run_due_yielding`` is the same runner for a clock advance or jump from the control plane: it hands
the event loop to other tenants' requests every ``YIELD_EVERY_SECONDS`` of work (between two jobs,
clock unpinned), so a simulated year of one tenant never stalls the others. While it runs,
``tenant.busy`` is set (``exclusive``) and nothing else touches that tenant: its requests, the
real-time catch-up and the ticker wait or skip (``wait_idle``), a webhook answer is recorded after
it, and a webhook attempt a job starts is handed to the sender only when it ends (``Busy.later``) —
as when the advance held the loop — so where it yields never changes a byte of the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
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


def _run_job(tenant, job, tzinfo) -> dict:
    handler = _HANDLERS.get(job.kind)
    tenant.clock.pin(job.due)
    try:
        effects = handler(tenant, job.payload) if handler else None
    except Exception:  # a broken job must not wedge the tenant's clock
        log.exception("job %s failed", job.kind)
        effects = [{"error": "job failed"}]
    finally:
        tenant.clock.pin(None)
    return {"at": iso(datetime.fromtimestamp(job.due, tzinfo)), "job": job.kind,
            "payload": job.payload, "effects": _as_list(effects)}


def run_due(tenant, until: datetime, limit: int | None = None) -> list[dict]:
    """Run every job due at or before ``until``; return one entry per job with its effects."""
    happened: list[dict] = []
    target = until.timestamp()
    while limit is None or len(happened) < limit:
        job = tenant.timeline.pop_due(target)
        if job is None:
            break
        happened.append(_run_job(tenant, job, until.tzinfo))
    return happened


YIELD_EVERY_SECONDS = 0.005  # of work between two turns of the other tenants' requests


async def run_due_yielding(tenant, until: datetime) -> list[dict]:
    """``run_due``, awaiting between two jobs once ``YIELD_EVERY_SECONDS`` of work ran since the
    last turn. Same jobs, same order, same result: call it inside ``exclusive(tenant)``, so that
    nothing else touches the tenant meanwhile (the pin is already cleared when it yields)."""
    happened: list[dict] = []
    append, pop_due, tzinfo = happened.append, tenant.timeline.pop_due, until.tzinfo
    target = until.timestamp()
    clock = time.perf_counter
    turn_at = clock() + YIELD_EVERY_SECONDS
    while (job := pop_due(target)) is not None:
        append(_run_job(tenant, job, tzinfo))
        if clock() >= turn_at:
            await asyncio.sleep(0)
            turn_at = clock() + YIELD_EVERY_SECONDS
    return happened


# --- one tenant at a time through an advance -------------------------------------------------------

class Busy:
    """``tenant.busy`` while a clock advance or jump of that tenant runs (``exclusive``)."""

    __slots__ = ("done", "loop", "later")

    def __init__(self):
        self.done = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.later: list[Callable[[], object]] = []   # webhook sends started by its jobs, in order


@contextlib.asynccontextmanager
async def exclusive(tenant):
    """Mark ``tenant`` busy for the block (after an advance of it already under way, if any); at its
    end, hand the webhook sends its jobs started to the sender (in the order they started) and wake
    whoever waits (``wait_idle``)."""
    if tenant.busy is not None:
        await wait_idle(tenant)
    busy = tenant.busy = Busy()
    try:
        yield busy
    finally:
        tenant.busy = None
        try:
            for start in busy.later:
                start()
        finally:
            busy.done.set()


async def wait_idle(tenant) -> None:
    """Return once ``tenant`` is not advancing its clock (at once in the common case)."""
    while (busy := tenant.busy) is not None:
        if busy.loop is asyncio.get_running_loop():
            await busy.done.wait()
        else:  # the same app served from a second loop (tests): an Event belongs to one loop
            await asyncio.sleep(0.005)
