"""Metrics and the access log: what an operator of a shared sandbox watches (``docs/operations.md``).

``GET /_sandbox/metrics`` answers Prometheus' text format (0.0.4) from one ``CollectorRegistry``
*per app* (never the library's global one, so two apps in one process — tests — never mix):

- requests by operation and status, and their latency, counted by ``SandboxASGI`` (``app.py``);
  the operation is the spec's ``operationId`` (``unmatched`` for anything no operation of either
  spec matches), never a raw path, so the number of series stays bounded whatever is requested;
- tenants held and timeline jobs pending / overdue, read from the tenant registry at scrape time;
- domain events, counted where each fact is decided, through the small functions at the end of this
  module, which services call without knowing Prometheus (``call_ended`` in ``services/voice``,
  ``dialer_refused`` in ``services/voice.rule_refusal``, ``webhook_attempt`` in ``services/outbox``).
  Domain modules stay pure: they decide, services count.

Services reach their app's ``Metrics`` through the *running event loop* (``current()``), as they
reach the webhook sender: the app's lifespan registers it for its loop (``start``/``stop``), so a
request, the real-time ticker and a webhook send all count into the app serving that loop, and
nothing is paid per request for it (a context variable set and reset per request cost ~1.4 µs).
Outside a served app (a service called directly in a unit test, an app without its lifespan)
nothing is counted.

The access log (``--access-log json``): one JSON line per request on stdout, written by
``SandboxASGI`` where the journal entry is made. A tenant appears as a label, never as its key:
the issued key's label in strict mode, else the first 8 hex digits of the key's SHA-256.

Several worker processes (once durable state lets tenants live outside one process): every worker
would keep its own counts, and a scrape would reach only one. prometheus_client's multiprocess
mode is the way then: set ``PROMETHEUS_MULTIPROC_DIR`` before the metrics are created, so each
``Counter``/``Histogram`` writes to a memory-mapped file per process, and answer the scrape from a
fresh registry with ``multiprocess.MultiProcessCollector`` summing those files
(``mark_process_dead`` on worker exit). The request counts kept here in plain dictionaries would
have to become a ``Counter`` and a ``Histogram`` for that (the files are what is summed; ~4 µs more
per request); the scrape-time gauges (tenants, jobs) would be read from the shared store, or
exported as ``multiprocess_mode="livesum"`` gauges. Not built: one process today.

The one thing a reader might get wrong: the per-request cost is paid on a path benchmarked at
~15k requests/s, so it is a bounded dictionary look-up (``(method, path)`` → operation) and a few
integer increments (``_RequestCollector``), not the library's locking ``Counter``/``Histogram``
— measured in ``docs/operations.md``.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from bisect import bisect_left
from collections.abc import Callable
from datetime import datetime, timezone
from itertools import accumulate

import orjson
from prometheus_client import CollectorRegistry, Counter, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from .clock import wall_seconds

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"   # what ``generate_latest`` writes
UNMATCHED = "unmatched"
# Most answers take well under a millisecond in process; an advance that runs a day of jobs, seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OPERATION_CACHE_SIZE = 4096     # (method, path) pairs remembered; paths carry ids, so it is cleared when full

_ACTIVE: dict[asyncio.AbstractEventLoop, "Metrics"] = {}


class Metrics:
    """One app's metrics. ``match(method, path)`` names the operation (or returns None)."""

    def __init__(self, match: Callable[[str, str], str | None], tenants: Callable[[], list]):
        self._match = match
        self._operations: dict[tuple[str, str], str] = {}
        self._requests = _RequestCollector()
        self.registry = registry = CollectorRegistry()
        registry.register(self._requests)
        self.calls = Counter("leadsail_sandbox_calls_ended", "Calls played out to their end, by outcome and source",
                             ["outcome", "source"], registry=registry)
        self.dialer_refusals = Counter("leadsail_sandbox_dialer_refusals",
                                       "Calls the dialer rules refused at dialling time, by rule and source",
                                       ["rule", "source"], registry=registry)
        self.webhook_attempts = Counter("leadsail_sandbox_webhook_attempts",
                                        "Outbound delivery attempts finished, by result and delivery kind",
                                        ["result", "kind"], registry=registry)
        registry.register(_StateCollector(tenants))
        ProcessCollector(registry=registry)  # memory, CPU, open files: what a tenant cap is about

    def operation(self, method: str, path: str) -> str:
        key = (method, path)
        operation = self._operations.get(key)
        if operation is None:
            operation = self._match(method, path) or UNMATCHED
            if len(self._operations) >= OPERATION_CACHE_SIZE:
                self._operations.clear()
            self._operations[key] = operation
        return operation

    def observe_request(self, method: str, path: str, status: int, seconds: float) -> str:
        """Count one answered request; returns its operation (for the access log)."""
        operation = self._operations.get((method, path)) or self.operation(method, path)
        requests = self._requests
        key = (operation, status)
        requests.counts[key] = requests.counts.get(key, 0) + 1
        row = requests.latency.get(operation)
        if row is None:
            row = requests.latency[operation] = [0] * (len(LATENCY_BUCKETS) + 1) + [0.0]
        row[bisect_left(LATENCY_BUCKETS, seconds)] += 1   # the first bucket whose bound is >= seconds
        row[-1] += seconds
        return operation

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def start(self) -> None:
        """Count the domain events of the running loop here (the app's lifespan)."""
        _ACTIVE[asyncio.get_running_loop()] = self

    def stop(self) -> None:
        _ACTIVE.pop(asyncio.get_running_loop(), None)


class _RequestCollector(Collector):
    """Requests and their latency as plain numbers, exposed as a counter and a histogram at scrape time.

    Not prometheus_client's ``Counter``/``Histogram``: with their lock per value and the calls
    around it, an ``inc`` and an ``observe`` added 5.7 µs to a 37 µs request in the ASGI stack
    (measured, docs/operations.md), these dictionaries 2.1 µs. Only the event loop's thread writes
    them, and a scrape reads them on that thread too (the handler is a coroutine)."""

    def __init__(self):
        self.counts: dict[tuple[str, int], int] = {}      # (operation, status) -> requests
        self.latency: dict[str, list] = {}                 # operation -> per-bucket counts, +Inf, sum

    def collect(self):
        requests = CounterMetricFamily("leadsail_sandbox_requests", "HTTP requests answered, by operation and status",
                                       labels=["operation", "status"])
        for (operation, status), count in sorted(self.counts.items()):
            requests.add_metric([operation, str(status)], count)
        yield requests
        latency = HistogramMetricFamily("leadsail_sandbox_request_duration_seconds",
                                        "Time from the request's arrival at the sandbox to its answer, by operation",
                                        labels=["operation"])
        bounds = [floatToGoString(b) for b in LATENCY_BUCKETS] + ["+Inf"]
        for operation, row in sorted(self.latency.items()):
            cumulative = list(accumulate(row[:-1]))
            latency.add_metric([operation], list(zip(bounds, cumulative)), sum_value=row[-1])
        yield latency


class _StateCollector(Collector):
    """Gauges read at scrape time: nothing to keep up to date on the request path."""

    def __init__(self, tenants: Callable[[], list]):
        self.tenants = tenants

    def collect(self):
        tenants = self.tenants()
        yield GaugeMetricFamily("leadsail_sandbox_tenants", "Tenants held in memory", value=len(tenants))
        pending: dict[str, int] = {}
        due: dict[str, int] = {}
        for tenant in tenants:
            now = tenant.clock.timestamp()
            for job in tenant.timeline.pending():
                pending[job.kind] = pending.get(job.kind, 0) + 1
                if job.due <= now:
                    due[job.kind] = due.get(job.kind, 0) + 1
        for name, text, counts in (
                ("leadsail_sandbox_jobs_pending", "Jobs on the tenants' timelines, due or not, by kind", pending),
                ("leadsail_sandbox_jobs_due", "Jobs whose time has come on their tenant's clock but that have "
                                              "not run yet (a real-time backlog), by kind", due)):
            family = GaugeMetricFamily(name, text, labels=["kind"])
            for kind, count in sorted(counts.items()):
                family.add_metric([kind], count)
            yield family


def current() -> Metrics | None:
    """The metrics of the app serving the running loop; None without a loop or a started app."""
    try:
        return _ACTIVE.get(asyncio.get_running_loop())
    except RuntimeError:
        return None


# --- domain events: what services call ----------------------------------------------------------------

def call_ended(outcome: str, source: str) -> None:
    metrics = current()
    if metrics is not None:
        metrics.calls.labels(outcome, source).inc()


def dialer_refused(rule: str, source: str) -> None:
    metrics = current()
    if metrics is not None:
        metrics.dialer_refusals.labels(rule, source).inc()


def webhook_attempt(result: str, kind: str) -> None:
    metrics = current()
    if metrics is not None:
        metrics.webhook_attempts.labels(result, kind).inc()


# --- the access log -------------------------------------------------------------------------------------

class AccessLog:
    """Writes one JSON line per request to ``stream`` (None: ``sys.stdout`` as it is at each write).

    Straight to the stream, flushed per line, rather than through ``logging``: a log record costs
    ~5 µs before any handler runs (measured), a write and a flush to a pipe ~3 µs."""

    def __init__(self, registry, stream=None):
        self.registry = registry  # knows the issued keys' labels (strict mode)
        self.stream = stream

    def tenant_label(self, key: str | None) -> str | None:
        if not key:
            return None
        if self.registry.settings.strict:
            label = (self.registry.issued_keys.get(key) or {}).get("label")
            if label:
                return label
        return hashlib.sha256(key.encode()).hexdigest()[:8]

    def write(self, key: str | None, operation: str, method: str, status: int, seconds: float) -> None:
        moment = datetime.fromtimestamp(wall_seconds(), timezone.utc)
        line = {"time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "tenant": self.tenant_label(key), "operation": operation, "method": method,
                "status": status, "latencyMs": round(seconds * 1000, 3)}
        stream = self.stream or sys.stdout
        stream.write(orjson.dumps(line).decode() + "\n")
        stream.flush()
