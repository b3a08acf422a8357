"""Benchmark (a report, not a test): does one tenant's long clock advance stall another tenant?

    python bench/isolation.py [--leads 2000] [--seconds 31536000] [--port 0]

Starts ``python -m sandbox --clock manual`` in a process of its own (a real server, a real socket).
Tenant A creates ``--leads`` leads (``POST /api/v1/leads``) and queues them all on the auto-dialer
(``POST /api/v1/leads/send-to-auto-dialer``, 200 a request); then A advances its clock by a
simulated year (``POST /_sandbox/clock/advance`` with ``summary``) while tenant B, on its own
connection, sends ``GET /api/v1/leads`` back to back. Prints B's latency while nothing else runs
(for reference) and while A's advance runs — count, p50, p99, max — and the advance's own duration,
next to that of the same advance of an identical tenant with nobody else served meanwhile.

The one thing a reader might get wrong: only B's requests that *started* before A's advance
answered count as "during"; with the event loop held for the whole advance there are very few of
them (one, stuck for the whole advance), which is why the count is printed next to the percentiles.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import free_port, start_sandbox  # noqa: E402  (bench/run.py: how every bench starts a sandbox)

KEY_A, KEY_ALONE, KEY_B = "bench-isolation-a", "bench-isolation-alone", "bench-isolation-b"
AREA_CODES = ("212", "312", "303", "415")          # New York, Chicago, Denver, Los Angeles
CHUNK = 200                                        # send-to-auto-dialer's maximum per request
YEAR = 365 * 86_400


def phone(index: int) -> str:
    # Exchanges 600-899 are ordinary numbers (never the 555-01XX scenario numbers).
    return f"+1{AREA_CODES[index % len(AREA_CODES)]}{600 + (index // 10000) % 300}{index % 10000:04d}"


def queue_leads(client: httpx.Client, count: int) -> int:
    ids = []
    for i in range(count):
        answer = client.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": "Bench", "lastName": f"Lead{i}",
                                                    "email": f"bench.{i}@example.com", "phone": phone(i)})
        answer.raise_for_status()
        ids.append(answer.json()["data"]["leadId"])
    queued = 0
    for offset in range(0, len(ids), CHUNK):
        answer = client.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": ids[offset:offset + CHUNK]})
        answer.raise_for_status()
        queued += answer.json()["data"]["succeeded"]
    return queued


def b_latencies(client: httpx.Client, keep_going) -> list[float]:
    """B's GET /api/v1/leads back to back while ``keep_going()``; seconds each (started while it held)."""
    latencies = []
    while keep_going():
        started = time.perf_counter()
        client.get("/api/v1/leads").raise_for_status()
        latencies.append(time.perf_counter() - started)
    return latencies


def describe(name: str, latencies: list[float]) -> str:
    if not latencies:
        return f"{name:34} no request completed"
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))]
    return (f"{name:34} n={len(ms):5d}  p50={statistics.median(ms):7.2f} ms  p99={p99:7.2f} ms  "
            f"max={ms[-1]:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=YEAR)
    parser.add_argument("--port", type=int, default=0, help="0: a free one")
    args = parser.parse_args()

    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    process, _ = start_sandbox(port)
    try:
        with httpx.Client(base_url=base, headers={"X-API-Key": KEY_A}, timeout=600) as a, \
                httpx.Client(base_url=base, headers={"X-API-Key": KEY_B}, timeout=600) as b:
            started = time.perf_counter()
            queued = queue_leads(a, args.leads)
            setup_seconds = time.perf_counter() - started
            pending = a.get("/_sandbox/clock").json()["data"]["pendingJobs"]

            a.headers["X-API-Key"] = KEY_ALONE   # the same world and the same year, nobody else served
            queue_leads(a, args.leads)
            began = time.perf_counter()
            a.post("/_sandbox/clock/advance", json={"seconds": args.seconds, "summary": True}).raise_for_status()
            alone_seconds = time.perf_counter() - began
            a.headers["X-API-Key"] = KEY_A

            for _ in range(50):  # warm-up: B's tenant is built on its first request
                b.get("/api/v1/leads").raise_for_status()
            idle_until = time.perf_counter() + 2
            idle = b_latencies(b, lambda: time.perf_counter() < idle_until)

            done = threading.Event()
            outcome = {}

            def advance() -> None:
                began = time.perf_counter()
                answer = a.post("/_sandbox/clock/advance", json={"seconds": args.seconds, "summary": True})
                outcome["seconds"] = time.perf_counter() - began
                outcome["answer"] = answer.json()["data"]
                done.set()

            thread = threading.Thread(target=advance)
            thread.start()
            time.sleep(0.05)  # let A's request reach the server first
            during = b_latencies(b, lambda: not done.is_set())
            thread.join()
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()

    answer = outcome["answer"]
    print(f"tenant A: {queued} of {args.leads} leads queued on the auto-dialer in {setup_seconds:.1f} s "
          f"({pending} pending jobs)")
    print(f"tenant A: advance of {args.seconds} s took {outcome['seconds']:.2f} s while B was served "
          f"({alone_seconds:.2f} s alone), {answer['ranCount']} jobs run, clock now {answer['now']}")
    print(describe("tenant B GET /api/v1/leads, idle:", idle))
    print(describe("tenant B GET /api/v1/leads, during:", during))


if __name__ == "__main__":
    main()
