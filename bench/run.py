"""Side-by-side benchmark: the sandbox against Stoplight Prism mocking the same openapi.yaml.

    python bench/run.py [--duration 10] [--connections 32] [--rounds 1]

Starts both servers on loopback (the sandbox with production settings: one uvicorn worker,
response validation off, request validation and state on; Prism with static examples), then
drives the same endpoints with wrk, *alternating* sandbox and Prism per endpoint so drift on a
shared machine hits both alike. Prints req/s, p50, p99 and the sandbox/Prism ratio from the same
run, plus start-up time to first answer and idle RSS. No pass/fail: figures only.

Needs ``wrk`` (``apt-get install wrk``) and Node.js with npm; Prism is installed on first use into
``bench/.prism`` (``npm install @stoplight/prism-cli``). The one thing a reader might get wrong:
Prism is stateless and answers every POST with the same canned example, while the sandbox really
creates interactions and appends messages — the comparison is deliberately unfair to us.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRISM_DIR = ROOT / "bench" / ".prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
KEY = "bench-key"
JSON = {"Content-Type": "application/json", "X-API-Key": KEY}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (Prism runs node under a shell)."""
    total = 0
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                   text=True).stdout.split()]
    for one in pids:
        try:
            for line in open(f"/proc/{one}/status"):
                if line.startswith("VmRSS"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def call(method: str, url: str, body=None, headers=None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or JSON)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_until_up(url: str, process: subprocess.Popen, limit: float = 60) -> float:
    started = time.perf_counter()
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers={"X-API-Key": KEY}), timeout=1).read()
            return time.perf_counter() - started
        except urllib.error.HTTPError:
            return time.perf_counter() - started  # it answered, even if not 2xx
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"server exited early ({process.returncode})")
            if time.perf_counter() - started > limit:
                raise SystemExit(f"server did not answer {url} within {limit} s")
            time.sleep(0.01)


def ensure_prism() -> Path:
    if not PRISM_BIN.exists():
        if not shutil.which("npm"):
            raise SystemExit("npm is needed to install Prism (apt-get install nodejs npm)")
        print("installing @stoplight/prism-cli into bench/.prism ...", flush=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(PRISM_DIR),
                        "@stoplight/prism-cli@5"], check=True)
    return PRISM_BIN


def start_sandbox(port: int) -> tuple[subprocess.Popen, float]:
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port), "--clock", "manual",
                                "--log-level", "error"], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    return process, wait_until_up(f"http://127.0.0.1:{port}/_sandbox/scenarios", process)


def start_prism(port: int) -> tuple[subprocess.Popen, float]:
    process = subprocess.Popen([str(ensure_prism()), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "error",
                                str(ROOT / "openapi.yaml")], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    return process, wait_until_up(f"http://127.0.0.1:{port}/api/v1/clients", process)


def prepare_sandbox(base: str) -> dict:
    """State the load needs: a lead that may be called back to back, and one call to read."""
    lead = call("POST", f"{base}/api/v1/leads", {"campaignId": "HXZ", "firstName": "Bench", "lastName": "Mark",
                                                 "email": "bench@example.com", "phone": "+12125550101"})["data"]
    # Let the dialer rules pass every time, so POST initiate measures the accepted path.
    call("PUT", f"{base}/_sandbox/campaigns/HXZ", {"autoDialer": {
        "minGapMinutes": 0, "maxAttempts": 100_000_000,
        "operatingHours": {"start": "00:00", "end": "23:59",
                           "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}}})
    interaction = call("POST", f"{base}/api/v1/voice/calls/initiate", {"leadId": lead["leadId"]})["data"]
    return {"lead": lead["leadId"], "interaction": interaction["interactionId"]}


def endpoints(ids: dict) -> list[tuple[str, str, str, dict | None]]:
    return [
        ("GET /api/v1/interactions/{id}", "GET", f"/api/v1/interactions/{ids['interaction']}", None),
        ("GET /api/v1/leads?limit=50", "GET", "/api/v1/leads?limit=50", None),
        ("POST /api/v1/sms/send", "POST", "/api/v1/sms/send", {"leadId": ids["lead"], "message": "Hi from wrk"}),
        ("POST /api/v1/voice/calls/initiate", "POST", "/api/v1/voice/calls/initiate", {"leadId": ids["lead"]}),
    ]


def wrk(url: str, method: str, body: dict | None, duration: int, connections: int) -> dict:
    script = "wrk.method = %s\nwrk.headers['X-API-Key'] = %s\nwrk.headers['Content-Type'] = 'application/json'\n" % (
        json.dumps(method), json.dumps(KEY))
    if body is not None:
        script += "wrk.body = %s\n" % json.dumps(json.dumps(body))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", handle.name, url],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(handle.name)
    return parse_wrk(out)


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(out: str) -> dict:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(bad.group(1)) if bad else 0, "requests": total}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint and server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole alternation; medians are shown")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    ensure_prism()
    sandbox_port, prism_port = free_port(), free_port()
    sandbox, sandbox_start = start_sandbox(sandbox_port)
    prism, prism_start = start_prism(prism_port)
    try:
        sandbox_idle, prism_idle = rss_mb(sandbox.pid), rss_mb(prism.pid)
        ids = prepare_sandbox(f"http://127.0.0.1:{sandbox_port}")
        prism_ids = {"lead": "lead_7k2m9q4x1c3v", "interaction": "int_6t3r7e2w5q4z"}
        results: dict[str, dict[str, list[dict]]] = {}
        for _ in range(args.rounds):
            for (label, method, path, body), (_, _, prism_path, prism_body) in zip(endpoints(ids), endpoints(prism_ids)):
                row = results.setdefault(label, {"sandbox": [], "prism": []})
                row["sandbox"].append(wrk(f"http://127.0.0.1:{sandbox_port}{path}", method, body,
                                          args.duration, args.connections))
                row["prism"].append(wrk(f"http://127.0.0.1:{prism_port}{prism_path}", method, prism_body,
                                        args.duration, args.connections))
        report(results, args, sandbox_start, prism_start, sandbox_idle, prism_idle,
               rss_mb(sandbox.pid), rss_mb(prism.pid))
    finally:
        for process in (sandbox, prism):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
    return 0


def _median(runs: list[dict], key: str) -> float:
    values = sorted(run[key] for run in runs)
    return values[len(values) // 2]


def report(results, args, sandbox_start, prism_start, sandbox_idle, prism_idle, sandbox_after, prism_after) -> None:
    print(f"\nwrk -t1 -c{args.connections} -d{args.duration}s per endpoint and server, {args.rounds} round(s), "
          f"loopback, {os.cpu_count()} cores shared by server and load generator\n")
    print("| endpoint | sandbox req/s | p50 ms | p99 ms | Prism req/s | p50 ms | p99 ms | sandbox/Prism |")
    print("|---|---|---|---|---|---|---|---|")
    for label, row in results.items():
        s, p = row["sandbox"], row["prism"]
        ratio = _median(s, "rps") / _median(p, "rps") if _median(p, "rps") else float("nan")
        bad = sum(r["non2xx"] for r in s)
        note = f" ({bad} non-2xx)" if bad else ""
        print(f"| `{label}` | {_median(s, 'rps'):.0f}{note} | {_median(s, 'p50'):.1f} | {_median(s, 'p99'):.1f} | "
              f"{_median(p, 'rps'):.0f} | {_median(p, 'p50'):.1f} | {_median(p, 'p99'):.1f} | {ratio:.2f}x |")
    print(f"\nstart-up to first answer: sandbox {sandbox_start:.2f} s, Prism {prism_start:.2f} s")
    print(f"RSS idle -> after load: sandbox {sandbox_idle:.0f} -> {sandbox_after:.0f} MB, "
          f"Prism {prism_idle:.0f} -> {prism_after:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
