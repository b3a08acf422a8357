"""Benchmark (a report, not a test): keyless recording downloads against another tenant's reads.

    python bench/recordings.py [--duration 8] [--clients 8] [--calls 8] [--root DIR]

Measures the in-process cost of one recording (first render of a tone, and a repeat), then starts
a sandbox on loopback (manual clock, open mode, production settings), places ``--calls`` answered
calls in one tenant and, from this process, drives ``--clients`` keyless clients that fetch their
recordings in a loop while one client of *another* tenant times ``GET /api/v1/leads?limit=20``
one request at a time. Prints that client's p50/p99 alone, under the download load, and under as
many keyless clients on ``GET /_sandbox/scenarios`` (the floor: what any cheap request costs), with
the keyless requests per second. No pass/fail: figures only.

``--calls`` above the cache's size (``recordings.CACHE_SIZE``, 64 tones) makes most downloads
render afresh: the worst case. ``--root`` runs the sandbox from another checkout (say, an older
commit) for a before/after on the same machine. The one thing a reader might get wrong: the
clients share this process's event loop and the server has one worker, so on a 2-core machine
the figures are relative, not capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEY, READER = "bench-recordings", "bench-reader"
# An answered number of the scenario table (tests/api/test_voice.py): the call completes with a recording.
LEAD = {"campaignId": "HXZ", "firstName": "Jane", "lastName": "Doe", "email": "jane@example.com"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def in_process(root: Path) -> None:
    """Time one render from the service, as the handler calls it (cold tone, then warm)."""
    code = (
        "import time, sandbox.services.recordings as r\n"
        "rec = lambda i: {'interactionId': f'int_bench{i}', 'type': 'call', 'call': {'duration': 120}}\n"
        "r.wav_bytes(rec(-1))\n"  # one-off table set-up, if any
        "t = time.perf_counter(); n = 40\n"
        "for i in range(n): r.wav_bytes(rec(i))\n"
        "cold = (time.perf_counter() - t) / n\n"
        "t = time.perf_counter(); m = 2000 if hasattr(r, 'tone_pcm') else 40\n"
        "for i in range(m): r.wav_bytes(rec(0))\n"
        "warm = (time.perf_counter() - t) / m\n"
        "print(f'in process: {cold * 1e3:.2f} ms per recording of a new call, {warm * 1e3:.3f} ms per repeat')\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


def answered_phone(root: Path) -> str:
    out = subprocess.run([sys.executable, "-c", (
        "from sandbox import scenarios\n"
        "print(next(n for a, n, o, _ in scenarios.TABLE if a == scenarios.CALL and o == 'completed'))")],
        cwd=root, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def start(root: Path, port: int) -> subprocess.Popen:
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port), "--clock", "manual",
                                "--start-time", "2026-01-15T15:00:00Z"], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/_sandbox/scenarios", timeout=1)
            return process
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.seek(0)
                raise SystemExit(f"the sandbox did not start:\n{log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.2)


def prepare(base: str, phone: str, calls: int) -> list[str]:
    """Answered calls in one tenant; their recording paths. A reader tenant with a few leads."""
    with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=30) as client:
        ids = []
        for n in range(calls):
            lead = client.post("/api/v1/leads", json={**LEAD, "phone": phone, "lastName": f"Doe{n}"})
            lead.raise_for_status()
            placed = client.post("/api/v1/voice/calls/initiate", json={"leadId": lead.json()["data"]["leadId"]})
            placed.raise_for_status()
            ids.append(placed.json()["data"]["interactionId"])
        client.post("/_sandbox/clock/advance", json={"seconds": 900, "summary": True}).raise_for_status()
        urls = [client.get(f"/api/v1/interactions/{i}").json()["data"]["call"]["recordingUrl"] for i in ids]
    with httpx.Client(base_url=base, headers={"X-API-Key": READER}, timeout=30) as client:
        client.get("/api/v1/leads", params={"limit": 20}).raise_for_status()
    return ["/" + url.split("://", 1)[1].split("/", 1)[1] for url in urls if url]


async def reader(base: str, seconds: float) -> list[float]:
    times = []
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": READER}, timeout=30) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t = time.perf_counter()
            (await client.get("/api/v1/leads", params={"limit": 20})).raise_for_status()
            times.append(time.perf_counter() - t)
    return times


async def downloader(base: str, paths: list[str], offset: int, stop: asyncio.Event, counts: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:  # no key: as a player fetches
        n = offset
        while not stop.is_set():
            response = await client.get(paths[n % len(paths)])
            assert response.status_code == 200, response.status_code
            counts[0] += 1
            n += 1


async def phase(base: str, paths: list[str], clients: int, seconds: float) -> tuple[list[float], float]:
    stop, counts = asyncio.Event(), [0]
    tasks = [asyncio.create_task(downloader(base, paths, i, stop, counts)) for i in range(clients)]
    t = time.monotonic()
    times = await reader(base, seconds)
    stop.set()
    await asyncio.gather(*tasks)
    return times, counts[0] / (time.monotonic() - t)


def show(label: str, times: list[float], rate: float | None = None) -> None:
    ms = sorted(x * 1e3 for x in times)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    extra = f", keyless {rate:.0f}/s" if rate is not None else ""
    print(f"{label:<40} GET /api/v1/leads p50 {statistics.median(ms):7.1f} ms  p99 {p99:7.1f} ms"
          f"  ({len(ms)} requests{extra})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=8, help="keyless recording clients")
    parser.add_argument("--calls", type=int, default=8, help="distinct recordings they cycle through")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout to run the sandbox from")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    in_process(root)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start(root, port)
    try:
        paths = prepare(base, answered_phone(root), args.calls)
        if not paths:
            raise SystemExit("no answered call has a recording")
        asyncio.run(phase(base, paths, 0, 1))  # warm-up
        show("alone", asyncio.run(phase(base, paths, 0, args.duration))[0])
        times, rate = asyncio.run(phase(base, paths, args.clients, args.duration))
        show(f"with {args.clients} keyless clients, {len(paths)} calls", times, rate)
        # The floor: as many keyless clients on the cheapest keyless endpoint there is.
        times, rate = asyncio.run(phase(base, ["/_sandbox/scenarios"], args.clients, args.duration))
        show(f"reference: {args.clients} on GET /_sandbox/scenarios", times, rate)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
