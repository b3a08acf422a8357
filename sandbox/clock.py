"""Per-tenant clock and its timeline of due work.

Two modes:

* ``manual`` (tests, CI): time stands still until ``advance_to`` is called from the control plane.
* ``realtime`` (the CLI default): virtual time runs with the wall clock, ``speed`` times faster.

The one thing a reader might get wrong: while a due job runs, ``now()`` is *pinned* to the job's
due time, in both modes. That keeps every timestamp a job writes equal to when the job was due,
so a manual ``advance`` of a whole day writes the same bytes as living through that day.
This module and ``ids.py`` are the only places allowed to read the wall clock.

A second one: a client's date-time can be well-formed and still not fit ``datetime`` once
converted to UTC (``0001-01-01T00:00:00+01:00``); ``parse_instant`` refuses it as a
``ValueError`` like any malformed text, and the clock itself stays between ``EARLIEST`` and
``LATEST``, two years inside that range, so the arithmetic the simulation does around ``now``
(work scheduled up to 366 days ahead by a dialer gap, a duplicate window up to 365 days back)
can never overflow.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

MANUAL = "manual"
REALTIME = "realtime"
MODES = (MANUAL, REALTIME)


def wall_seconds() -> float:
    """Seconds since the epoch by the real clock. Never domain time: it anchors a real-time clock
    across a restart (``durable``) and stamps operators' log lines (``metrics``)."""
    return time.time()


def wall_now() -> datetime:
    """The real current time; used only to start a real-time clock."""
    return datetime.now(timezone.utc).replace(microsecond=0)


class OutOfRange(ValueError):
    """A well-formed instant that the sandbox cannot hold (or its clock cannot show)."""


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant (``Z`` or offset; a bare date means midnight UTC).

    Raises ``ValueError`` for anything that is not an instant in years 1-9999 *in UTC*; for a
    well-formed one outside them, the ``OutOfRange`` subclass."""
    value = text.strip()
    if value.endswith("Z") or value.endswith("z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        # astimezone raises OverflowError, which no caller catches as bad input (it was a 500).
        raise OutOfRange(f"{text.strip()} is outside the years 0001-9999 once converted to UTC") from None


# The range a tenant clock may show: two years inside datetime's, for the reason in the docstring.
EARLIEST = datetime(3, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9997, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def check_clock_range(moment: datetime) -> datetime:
    """``moment`` if a clock may show it, else ``OutOfRange`` saying the range."""
    if not EARLIEST <= moment <= LATEST:
        raise OutOfRange(f"{iso(moment)} is outside the range a sandbox clock can show, "
                         f"{iso(EARLIEST)} to {iso(LATEST)}")
    return moment


def parse_clock_instant(text: str) -> datetime:
    """``parse_instant`` for where a clock starts (``--start-time``): also inside the clock's range."""
    return check_clock_range(parse_instant(text))


def iso(moment: datetime) -> str:
    """The API's timestamp format: UTC, second precision, ``Z``.

    Formatted by hand: ``strftime("%Y")`` does not zero-pad years before 1000, which breaks
    RFC 3339 for a client-given ``signedAt`` such as ``0191-03-19T04:01:17Z``."""
    m = moment.astimezone(timezone.utc)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


_LATEST_TS = LATEST.timestamp()


class Clock:
    def __init__(self, start: datetime, mode: str = MANUAL, speed: float = 1.0):
        if mode not in MODES:
            raise ValueError(f"unknown clock mode {mode!r}")
        self.mode = mode
        self.speed = speed
        self._anchor_virtual = start.timestamp()
        self._anchor_wall = time.monotonic()
        self._pinned: float | None = None

    def timestamp(self) -> float:
        if self._pinned is not None:
            return self._pinned
        if self.mode == MANUAL:
            return self._anchor_virtual
        running = self._anchor_virtual + (time.monotonic() - self._anchor_wall) * self.speed
        # A real-time clock stops at LATEST rather than run into datetime's end (a 500 on every call).
        return min(running, _LATEST_TS)

    def now(self) -> datetime:
        return datetime.fromtimestamp(int(self.timestamp()), timezone.utc)

    def set_mode(self, mode: str, speed: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown clock mode {mode!r}")
        current = self.timestamp()
        self.mode = mode
        if speed is not None:
            self.speed = speed
        self._rebase(current)

    def set_time(self, moment: datetime) -> None:
        """Stand at ``moment`` in either mode; a real-time clock keeps running from there."""
        self._rebase(moment.timestamp())

    def _rebase(self, virtual: float) -> None:
        self._anchor_virtual = virtual
        self._anchor_wall = time.monotonic()

    def pin(self, moment: float | None) -> None:
        self._pinned = moment

    def export(self) -> dict:
        return {"mode": self.mode, "speed": self.speed, "now": iso(self.now())}


@dataclass(order=True)
class Job:
    """One piece of due work. Plain data, so the timeline exports and imports as JSON."""

    due: float
    seq: int
    kind: str = field(compare=False)
    payload: dict = field(compare=False, default_factory=dict)

    def to_json(self) -> dict:
        return {"due": self.due, "seq": self.seq, "kind": self.kind, "payload": self.payload}


class Timeline:
    """A priority queue of jobs, ordered by due time then by scheduling order."""

    def __init__(self, jobs: list[Job] | None = None, seq: int = 0):
        self._heap: list[Job] = list(jobs or [])
        heapq.heapify(self._heap)
        self._seq = seq

    def schedule(self, due: float, kind: str, payload: dict) -> Job:
        self._seq += 1
        job = Job(due, self._seq, kind, payload)
        heapq.heappush(self._heap, job)
        return job

    def next_due(self) -> float | None:
        return self._heap[0].due if self._heap else None

    def pop_due(self, until: float) -> Job | None:
        if self._heap and self._heap[0].due <= until:
            return heapq.heappop(self._heap)
        return None

    def pending(self) -> list[Job]:
        return sorted(self._heap)

    def cancel(self, predicate) -> int:
        kept = [job for job in self._heap if not predicate(job)]
        removed = len(self._heap) - len(kept)
        if removed:
            self._heap = kept
            heapq.heapify(self._heap)
        return removed

    def __len__(self) -> int:
        return len(self._heap)

    def export(self) -> dict:
        return {"seq": self._seq, "jobs": [job.to_json() for job in self.pending()]}

    @classmethod
    def from_export(cls, data: dict) -> "Timeline":
        jobs = [Job(j["due"], j["seq"], j["kind"], j["payload"]) for j in data.get("jobs", [])]
        return cls(jobs, data.get("seq", 0))


def stopwatch() -> float:
    """Seconds from an arbitrary origin, for measuring latency only (never for domain time)."""
    return time.perf_counter()
