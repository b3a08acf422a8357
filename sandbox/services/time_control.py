"""Moving a tenant's clock: read it, switch mode, jump forward, advance — running due work.

The one thing a reader might get wrong: time only moves forward. Setting an earlier ``now`` is
refused, because due work already ran and a lead's history cannot be un-lived; reset the tenant
instead. A jump or an advance moves the clock in *either* mode: due work runs in order up to the
target, the clock then stands there, and a real-time clock keeps running from it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from .. import simulation
from ..clock import LATEST, OutOfRange, check_clock_range, iso, parse_instant
from ..errors import ValidationFailed


def clock_view(tenant) -> dict:
    next_due = tenant.timeline.next_due()
    view = tenant.clock.export()
    view.update(pendingJobs=len(tenant.timeline),
                nextDueAt=iso(datetime.fromtimestamp(next_due, timezone.utc)) if next_due else None)
    return view


def _target(tenant, seconds=None, to=None, name: str = "to") -> datetime:
    """The instant to move to, checked; ``name`` is the body field ``to`` came in (``now`` for PUT)."""
    if (seconds is None) == (to is None):
        raise ValidationFailed([f"body: give exactly one of seconds or {name}"])
    now = tenant.now()
    if seconds is not None:
        # Checked in plain float seconds: ``now + timedelta`` past year 9999 raises OverflowError.
        if now.timestamp() + seconds > LATEST.timestamp():
            raise ValidationFailed([f"seconds: would move the clock past {iso(LATEST)}, "
                                    "the latest time a sandbox clock can show"])
        return now + timedelta(seconds=seconds)
    try:
        target = check_clock_range(parse_instant(to))
    except OutOfRange as exc:
        raise ValidationFailed([f"{name}: {exc}"])
    except ValueError:
        raise ValidationFailed([f"{name}: '{to}' is not an ISO-8601 date-time"])
    if target < now:
        raise ValidationFailed([f"{name}: {iso(target)} is before the tenant's current time {iso(now)}"])
    return target


def _move(tenant, target: datetime) -> list[dict]:
    """Run everything due up to ``target`` in order, then stand at it (in either mode).

    Exactly at it, even if a fast real-time clock ran past it while the work ran: nothing can
    read the clock in between (no await), and work due after ``target`` has not run yet."""
    ran = simulation.run_due(tenant, target)
    tenant.clock.set_time(target)
    return ran


async def _move_yielding(tenant, target: datetime) -> list[dict]:
    """``_move`` that lets *other* tenants' requests run every few milliseconds of work; call it
    inside ``simulation.exclusive(tenant)``.

    Still exactly at ``target``, and still nothing can read *this* tenant's clock in between: the
    tenant is busy until it stands there, so its other requests, the real-time catch-up and the
    ticker wait for it or skip it, and the same jobs run in the same order with the same result as
    ``_move``."""
    ran = await simulation.run_due_yielding(tenant, target)
    tenant.clock.set_time(target)
    return ran


def advance(tenant, seconds=None, to=None) -> dict:
    """Run everything due up to the target, in order, then stand at the target."""
    ran = _move(tenant, _target(tenant, seconds, to))
    return {"now": iso(tenant.now()), "ran": ran}


async def advance_yielding(tenant, seconds=None, to=None) -> dict:
    """``advance`` for the control plane: other tenants are served while the work runs."""
    async with simulation.exclusive(tenant):
        ran = await _move_yielding(tenant, _target(tenant, seconds, to))
    return {"now": iso(tenant.now()), "ran": ran}


def summarised(result: dict) -> dict:
    """Counts per job kind instead of every job: a simulated day of a busy auto-dialer runs tens
    of thousands of jobs, which is megabytes of JSON nobody reads."""
    return {"now": result["now"], "ranCount": len(result["ran"]),
            "byKind": dict(Counter(job["job"] for job in result["ran"]))}


def set_clock(tenant, mode=None, speed=None, now=None) -> dict:
    """Switch mode and speed and jump to ``now``, as one change: the clock ends at ``now`` in the
    new mode (manual: standing there; real-time: running from there).

    ``now`` is checked before anything moves, so a refused one leaves the mode alone too. The
    switch goes first only so that the jump lands exactly: a switch keeps the time it finds, and
    after a jump a running clock has moved on by the work's duration times ``speed``. Nothing can
    read the clock between the two, and due work runs with time pinned to each job, so the mode it
    runs in makes no difference."""
    target = _switch(tenant, mode, speed, now)
    ran = _move(tenant, target) if target is not None else []
    return dict(clock_view(tenant), ran=ran)


async def set_clock_yielding(tenant, mode=None, speed=None, now=None) -> dict:
    """``set_clock`` for the control plane: other tenants are served while the jump's work runs.

    The switch and the jump are still one change for this tenant: it is busy from the switch on."""
    async with simulation.exclusive(tenant):
        target = _switch(tenant, mode, speed, now)
        ran = await _move_yielding(tenant, target) if target is not None else []
    return dict(clock_view(tenant), ran=ran)


def _switch(tenant, mode, speed, now) -> datetime | None:
    """Check ``now`` (the target, or None), then switch mode and speed."""
    target = _target(tenant, to=now, name="now") if now is not None else None
    if mode is not None or speed is not None:
        tenant.clock.set_mode(mode or tenant.clock.mode, speed)
    return target
