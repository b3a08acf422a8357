"""Moving a tenant's clock: read it, switch mode, jump forward, advance — running due work.

The one thing a reader might get wrong: time only moves forward. Setting an earlier ``now`` is
refused, because due work already ran and a lead's history cannot be un-lived; reset the tenant
instead.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from .. import simulation
from ..clock import MANUAL, iso, parse_instant
from ..errors import ValidationFailed


def clock_view(tenant) -> dict:
    next_due = tenant.timeline.next_due()
    view = tenant.clock.export()
    view.update(pendingJobs=len(tenant.timeline),
                nextDueAt=iso(datetime.fromtimestamp(next_due, timezone.utc)) if next_due else None)
    return view


def _target(tenant, seconds=None, to=None):
    if (seconds is None) == (to is None):
        raise ValidationFailed(["body: give exactly one of seconds or to"])
    now = tenant.now()
    if seconds is not None:
        return now + timedelta(seconds=seconds)
    try:
        target = parse_instant(to)
    except ValueError:
        raise ValidationFailed([f"to: '{to}' is not an ISO-8601 date-time"])
    if target < now:
        raise ValidationFailed([f"to: {iso(target)} is before the tenant's current time {iso(now)}"])
    return target


def advance(tenant, seconds=None, to=None) -> dict:
    """Run everything due up to the target, in order, then stand at the target."""
    target = _target(tenant, seconds, to)
    ran = simulation.run_due(tenant, target)
    if tenant.clock.mode == MANUAL:
        tenant.clock.set_time(target)
    return {"now": iso(tenant.now()), "ran": ran}


def summarised(result: dict) -> dict:
    """Counts per job kind instead of every job: a simulated day of a busy auto-dialer runs tens
    of thousands of jobs, which is megabytes of JSON nobody reads."""
    return {"now": result["now"], "ranCount": len(result["ran"]),
            "byKind": dict(Counter(job["job"] for job in result["ran"]))}


def set_clock(tenant, mode=None, speed=None, now=None) -> dict:
    ran = []
    if now is not None:
        ran = advance(tenant, to=now)["ran"]
    if mode is not None or speed is not None:
        tenant.clock.set_mode(mode or tenant.clock.mode, speed)
    return dict(clock_view(tenant), ran=ran)
