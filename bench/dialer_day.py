"""Benchmark (a report, not a test): one simulated day of the auto-dialer with 10,000 queued leads.

    python bench/dialer_day.py [--leads 10000] [--seconds 86400] [--tracemalloc] [--via http|service]

Builds an app in manual-clock mode, creates the leads through the services layer (``leads.create_lead``,
the same use case ``POST /api/v1/leads`` runs, without 10,000 HTTP round trips), queues them through
``POST /api/v1/leads/send-to-auto-dialer`` in requests of 200, then advances the tenant clock by a day
through ``POST /_sandbox/clock/advance`` (``--via service`` calls ``time_control.advance`` instead and
so leaves out the JSON of the answer). Prints wall time per phase, jobs run, calls placed, how they
ended, the size of the advance answer and peak memory (``ru_maxrss``; ``--tracemalloc`` adds the
Python heap peak, at a large cost in speed).

The leads live in New York, Chicago, Denver and Los Angeles, in the HXZ campaign with the default
dialer configuration (09:00–20:00 local, Mon–Sat, gap 60 min, 6 attempts, retries 60/240/1440 min)
and the default outcome mix, so the day holds first calls, same-day retries and leads waiting for
their window to open. The clock starts Thursday 2026-01-15 15:00Z (10:00 in New York).
"""

from __future__ import annotations

import argparse
import collections
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.testclient import TestClient  # noqa: E402

from sandbox.app import create_app  # noqa: E402
from sandbox.services import leads, time_control  # noqa: E402
from sandbox.settings import Settings  # noqa: E402

KEY = "bench-key"
AREA_CODES = ("212", "312", "303", "415")          # New York, Chicago, Denver, Los Angeles
CHUNK = 200                                        # the endpoint's maximum per request


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def phone(index: int) -> str:
    # Exchanges 600-899 are ordinary numbers (never the 555-01XX scenario numbers).
    area = AREA_CODES[index % len(AREA_CODES)]
    return f"+1{area}{600 + (index // 10000) % 300}{index % 10000:04d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=86_400)
    parser.add_argument("--via", choices=("http", "service"), default="http")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start()

    app = create_app(Settings(validate_responses=False))
    timings = {}
    with TestClient(app, raise_server_exceptions=True) as client:
        client.headers["X-API-Key"] = KEY
        client.get("/_sandbox/clock")                       # opens the tenant (seed world)
        tenant = app.registry.lookup(KEY)
        seeded = len(tenant.state.interactions)

        started = time.perf_counter()
        ids = [leads.create_lead(tenant, {"campaignId": "HXZ", "firstName": "Bench", "lastName": f"Lead{i}",
                                          "email": f"bench.{i}@example.com", "phone": phone(i)})["leadId"]
               for i in range(args.leads)]
        timings["create leads (services)"] = time.perf_counter() - started

        started = time.perf_counter()
        queued = 0
        for offset in range(0, len(ids), CHUNK):
            answer = client.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": ids[offset:offset + CHUNK]})
            queued += answer.json()["data"]["succeeded"]
        timings[f"send-to-auto-dialer ({len(ids) // CHUNK} requests)"] = time.perf_counter() - started
        pending_before = len(tenant.timeline)

        started = time.perf_counter()
        if args.via == "http":
            response = client.post("/_sandbox/clock/advance", json={"seconds": args.seconds})
            answer_bytes = len(response.content)
            ran = response.json()["data"]["ran"]
        else:
            ran = time_control.advance(tenant, seconds=args.seconds)["ran"]
            answer_bytes = None
        timings[f"advance {args.seconds} s ({args.via})"] = time.perf_counter() - started

    jobs = collections.Counter(job["job"] for job in ran)
    calls = [record for record in tenant.state.interactions.values() if record.get("type") == "call"]
    placed = len(calls) - seeded
    endings = collections.Counter(record["status"] for record in calls)
    print(f"leads queued:        {queued} of {args.leads} (pending jobs before the day: {pending_before})")
    for phase, seconds in timings.items():
        print(f"{phase + ':':34} {seconds:8.2f} s")
    print(f"jobs run:            {len(ran)}  {dict(jobs)}")
    print(f"calls placed:        {placed}  ({placed / max(1, queued):.2f} per lead)")
    print(f"call statuses:       {dict(endings.most_common())}")
    print(f"still queued:        {sum(1 for job in tenant.timeline.pending() if job.kind == 'dialer.attempt')}")
    if answer_bytes is not None:
        print(f"advance answer:      {answer_bytes / 1e6:.1f} MB of JSON")
    print(f"peak RSS:            {peak_rss_mb():.0f} MB")
    if args.tracemalloc:
        current, peak = tracemalloc.get_traced_memory()
        print(f"python heap:         {current / 1e6:.0f} MB now, {peak / 1e6:.0f} MB peak (tracemalloc)")


if __name__ == "__main__":
    main()
