"""Throughput and latency per store: memory, SQLite and PostgreSQL, one worker and two.

    python bench/stores.py [--seconds 5] [--warmup 2] [--connections 16] [--tenants 8] [--leads 400]
                           [--rounds 1] [--postgres URL] [--only memory,sqlite-2,...]

For each configuration — ``memory`` (1 worker), ``sqlite`` 1 and 2 workers, ``postgresql`` 1 and
2 workers — it starts the sandbox (``--clock manual --start-time 2026-01-15T15:00:00Z``, a fresh
database each), waits for ``GET /_sandbox/ready``, seeds every tenant (``--tenants`` API keys,
``--leads`` leads each through ``POST /api/v1/leads/submit`` and one call to read back), then drives
four operations with wrk (the load driver of ``bench/run.py``: C, one thread, a separate process),
a short warm-up and then ``--seconds`` measured each:

- ``GET /api/v1/interactions/{id}``, ``GET /api/v1/leads?limit=50`` — reads;
- ``POST /api/v1/sms/send`` — a write (an entry in the durable log), leads in rotation;
- ``POST /api/v1/voice/calls/initiate`` — a write, a *distinct* lead every time (a lead may be
  called once per minimum gap: a repeat is a 400, counted in the non-2xx column).

Requests go round-robin over the tenants (one wrk Lua counter across all connections), so every
connection touches every tenant and two workers have work to share. Before the first measurement
every tenant is read on fresh connections, so each worker has rebuilt it from the store (with two
workers a tenant's first request in the other one replays its whole log). Initiate's pool of fresh
leads is topped up, outside the measured seconds, from the rates this store has just shown.

Columns: the CPU columns are the share of one core each part used during the measured seconds
(sandbox workers; PostgreSQL's processes when it is the cluster started here; wrk; everything else
on the machine), and CPU ms/req divides that by req/s: on a small shared machine the load generator
and other people's work compete with the server, so req/s swings between runs while the CPU cost of
a request moves much less. ``conns per worker`` is how the kernel split wrk's keep-alive connections
between two workers (they share one listening socket; the split is often lopsided). With
``--rounds N`` each configuration runs N times and each operation shows its median round.

Without ``--postgres`` a throwaway cluster is started with ``.ci/postgres`` (Debian's postgresql
package; ``fsync=on``) and stopped at the end; each PostgreSQL configuration gets its own database
(``CREATE DATABASE``). ``memory`` is started with ``--store memory``: without the flag it is the
same code path (``open_store`` gives ``MemoryStore`` and ``create_app`` adds no layer), so it is not
measured twice. Needs ``wrk`` (``apt-get install wrk``) and ``ss``. No pass/fail: figures only.
docs/durable-state.md, "Benchmark across stores", has figures and what they say.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import http.client
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import free_port, parse_wrk  # noqa: E402  (bench/run.py: the same wrk driver and parser)
from tests.durable import workload  # noqa: E402

START = "2026-01-15T15:00:00Z"   # a Thursday, 10:00 in New York: inside campaign HXZ's dialer hours
TICKS = os.sysconf("SC_CLK_TCK")
OPS = ("GET /api/v1/interactions/{id}", "GET /api/v1/leads?limit=50", "POST /api/v1/sms/send",
       "POST /api/v1/voice/calls/initiate")
CONFIGS = (("memory", 1), ("sqlite", 1), ("sqlite", 2), ("postgresql", 1), ("postgresql", 2))


# --- processes and CPU ---------------------------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def cpu_seconds(root: int | None) -> float:
    """User + system CPU of a process and its descendants, in seconds (0 when unknown)."""
    if root is None:
        return 0.0
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(tree.get(pid, []))
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def children_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def clean_env() -> dict:
    """This process's environment without SANDBOX_* settings (the flags alone decide)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}


class Postgres:
    """A throwaway cluster (``.ci/postgres``) or the server ``--postgres`` names; a fresh database per use."""

    def __init__(self, url: str | None):
        self.dir = None
        if url is None:
            self.dir = tempfile.mkdtemp(prefix="sbx-bench-pg-")  # mkdtemp's parent is open to the postgres user
            os.chmod(self.dir, 0o755)
            started = subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), self.dir], capture_output=True,
                                     text=True)
            if started.returncode != 0:
                self.stop()
                raise SystemExit(f".ci/postgres failed: {started.stderr.strip()[-2000:]}")
            url = started.stdout.strip().splitlines()[-1]
        self.url = url
        self.count = 0
        self.made: list[str] = []

    def postmaster(self) -> int | None:
        if self.dir is None:
            return None
        try:
            return int(open(os.path.join(self.dir, "postmaster.pid")).readline())
        except (OSError, ValueError):
            return None

    def fresh(self) -> str:
        import psycopg

        self.count += 1
        name = f"sbx_bench_{os.getpid()}_{self.count}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        self.made.append(name)
        return urlunsplit(urlsplit(self.url)._replace(path="/" + name))

    def stop(self) -> None:
        if self.dir is None:  # someone's server: leave it as it was
            import psycopg

            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    for name in self.made:
                        conn.execute(f"DROP DATABASE IF EXISTS {name}")
            except psycopg.Error as exc:
                print(f"could not drop the bench databases {self.made}: {exc}", file=sys.stderr)
        else:
            subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "--stop", self.dir], capture_output=True)
            shutil.rmtree(self.dir, ignore_errors=True)


class Sandbox:
    def __init__(self, store: str | None, workers: int):
        self.port = free_port()
        argv = [sys.executable, "-m", "sandbox", "--port", str(self.port), "--clock", "manual",
                "--start-time", START, "--log-level", "error"]
        if store is not None:
            argv += ["--store", store]
        if workers > 1:
            argv += ["--workers", str(workers)]
        self.log = tempfile.TemporaryFile()  # not a pipe: a chatty server must never block on it
        self.process = subprocess.Popen(argv, cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL,
                                        stderr=self.log, start_new_session=True)
        self.wait_ready()

    def wait_ready(self, limit: float = 60) -> None:
        started = time.perf_counter()
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/_sandbox/ready")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"sandbox exited early ({self.process.returncode}): "
                                 f"{self.log.read().decode(errors='replace')[-2000:]}")
            if time.perf_counter() - started > limit:
                self.stop()
                raise SystemExit(f"sandbox not ready within {limit} s")
            time.sleep(0.05)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()

    def log_tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]


# --- seeding -------------------------------------------------------------------------------------------

def keys(tenants: int) -> list[str]:
    return [f"bench-tenant-{n}" for n in range(tenants)]


def seed_tenant(port: int, key: str, first: int, count: int, out: dict) -> None:
    """Leads ``first .. first+count-1`` through POST /leads/submit (one keep-alive connection); the
    first time (``first == 0``) also one call, the interaction GET /interactions/{id} reads."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}

    def post(path: str, body: dict) -> dict:
        conn.request("POST", path, json.dumps(body), headers)
        response = conn.getresponse()
        data = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"seeding {key}: {path} answered {response.status}: {data}")
        return data["data"]

    try:
        ids = [post("/api/v1/leads/submit", workload.submit_body(n))["leadId"] for n in range(first, first + count)]
        if first == 0:
            call = post("/api/v1/voice/calls/initiate", {"leadId": ids.pop(0)})
            out[key] = {"interaction": call["interactionId"], "leads": ids}
        else:
            out[key]["leads"].extend(ids)
    finally:
        conn.close()


def seed(port: int, seeded: dict, tenants: list[str], first: int, count: int) -> float:
    """Seed every tenant at once (a thread each); the seconds it took."""
    started = time.perf_counter()
    failures: list[BaseException] = []

    def one(key: str) -> None:
        try:
            seed_tenant(port, key, first, count, seeded)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=one, args=(key,)) for key in tenants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"seeding failed: {failures[0]}")
    return time.perf_counter() - started


def prime(port: int, tenants: list[str], rounds: int = 24) -> None:
    """Every tenant in every worker before anything is measured: with ``--workers 2`` a tenant's
    first request in the other worker rebuilds it from the store (its whole log replayed), which
    would otherwise land in the first measurement. Fresh connections (``Connection: close``), so the
    kernel hands them to both workers."""
    def one(key: str) -> None:
        for _ in range(rounds):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/api/v1/leads?limit=1", headers={"X-API-Key": key, "Connection": "close"})
            conn.getresponse().read()
            conn.close()

    threads = [threading.Thread(target=one, args=(key,)) for key in tenants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def connections_per_process(port: int) -> list[int]:
    """How the kernel handed wrk's connections to the serving processes (``ss``), largest first:
    with ``--workers 2`` the processes share one listening socket and whichever wakes first accepts
    whatever is pending, so the split of a burst of keep-alive connections is often lopsided."""
    try:
        out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"], capture_output=True,
                             text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    counts: dict[str, int] = {}
    for pid in re.findall(r"pid=(\d+)", out):
        counts[pid] = counts.get(pid, 0) + 1
    return sorted(counts.values(), reverse=True)


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores, everyone's processes)."""
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICKS  # all but idle and iowait; no guest double count


# --- wrk -----------------------------------------------------------------------------------------------

LUA = """
local keys = %(keys)s
local leads = %(leads)s
local interactions = %(interactions)s
local op = %(op)s
local start = %(start)d
local i = 0

request = function()
  local t = i %% #keys + 1
  local n = start + math.floor(i / #keys)
  i = i + 1
  local pool = leads[t]
  local headers = {["X-API-Key"] = keys[t], ["Content-Type"] = "application/json"}
  if op == "interaction" then
    return wrk.format("GET", "/api/v1/interactions/" .. interactions[t], headers)
  elseif op == "leads" then
    return wrk.format("GET", "/api/v1/leads?limit=50", headers)
  elseif op == "sms" then
    return wrk.format("POST", "/api/v1/sms/send", headers,
                      '{"leadId":"' .. pool[n %% #pool + 1] .. '","message":"Hi from the store bench"}')
  else
    return wrk.format("POST", "/api/v1/voice/calls/initiate", headers, '{"leadId":"' .. pool[n %% #pool + 1] .. '"}')
  end
end
"""
OP_NAMES = dict(zip(OPS, ("interaction", "leads", "sms", "initiate")))


def lua_list(items) -> str:
    return "{" + ",".join(json.dumps(item) for item in items) + "}"


def run_wrk(port: int, seeded: dict, tenants: list[str], op: str, start: int, seconds: float,
            connections: int, watch: list[int | None]) -> dict:
    script = LUA % {"keys": lua_list(tenants), "op": json.dumps(OP_NAMES[op]), "start": start,
                    "leads": "{" + ",".join(lua_list(seeded[k]["leads"]) for k in tenants) + "}",
                    "interactions": lua_list(seeded[k]["interaction"] for k in tenants)}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    cpu_before = [cpu_seconds(pid) for pid in watch]
    wrk_before, busy_before, wall = children_cpu(), machine_busy(), time.perf_counter()
    try:
        wrk = subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", handle.name,
                                f"http://127.0.0.1:{port}/"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(min(1.0, seconds / 2))
        split = connections_per_process(port)
        out, err = wrk.communicate()
        if wrk.returncode != 0:
            raise SystemExit(f"wrk failed: {err.strip()}")
    finally:
        os.unlink(handle.name)
    wall = time.perf_counter() - wall
    result = parse_wrk(out)
    result["split"] = split
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = sum(map(int, socket_errors.groups())) if socket_errors else 0
    result["cpu"] = [(cpu_seconds(pid) - before) / wall * 100 if pid else None
                     for pid, before in zip(watch, cpu_before)]
    result["cpu_wrk"] = (children_cpu() - wrk_before) / wall * 100
    # % of a core / req/s -> ms of CPU per answered request
    result["cpu_ms"] = [cpu * 10 / result["rps"] if cpu is not None and result["rps"] else None
                        for cpu in result["cpu"]]
    result["cpu_others"] = max(0.0, (machine_busy() - busy_before) / wall * 100 - result["cpu_wrk"]
                               - sum(c for c in result["cpu"] if c is not None))
    return result


# --- one configuration ---------------------------------------------------------------------------------

def bench_config(name: str, store: str | None, workers: int, args, pg: Postgres | None) -> dict:
    tenants = keys(args.tenants)
    server = Sandbox(store, workers)
    try:
        seeded: dict = {}
        seed(server.port, seeded, tenants, 0, args.leads + 1)
        prime(server.port, tenants)
        watch = [server.process.pid, pg.postmaster() if pg is not None and name.startswith("postgresql") else None]
        rows = {}
        for op in OPS:
            initiate = op.endswith("initiate")
            if initiate:
                # A fresh lead per call: top the pools up to twice what this store's SMS rate says the
                # warm-up and the measured seconds will use, and after the warm-up to its own rate.
                top_up(server.port, seeded, tenants, args, rows["POST /api/v1/sms/send"]["rps"] * 2,
                       args.warmup + args.seconds)
            warm = run_wrk(server.port, seeded, tenants, op, 0, args.warmup, args.connections, watch)
            # wrk counts answers; at most one request per connection was in flight when it stopped.
            start = (warm["requests"] + args.connections) // len(tenants) + 1
            if initiate:
                top_up(server.port, seeded, tenants, args, warm["rps"] * 1.5, args.seconds, start)
            rows[op] = run_wrk(server.port, seeded, tenants, op, start, args.seconds, args.connections, watch)
        return {"rows": rows, "log": server.log_tail()}
    finally:
        server.stop()


def top_up(port: int, seeded: dict, tenants: list[str], args, rate: float, seconds: float, used: int = 0) -> None:
    """Enough leads per tenant for ``rate`` initiates a second over ``seconds``, after the first ``used``."""
    need = used + int(rate * seconds / len(tenants)) + args.connections
    have = len(seeded[tenants[0]]["leads"])
    if need > have:
        seed(port, seeded, tenants, have + 1, need - have)  # submit_body(n): n = 0 was the called lead


def short(name: str, workers: int) -> str:
    return name if name == "memory" else f"{name}-{workers}"


def label(name: str, workers: int) -> str:
    return f"{name}, {workers} worker{'s' if workers > 1 else ''}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="measured seconds per store and operation")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--tenants", type=int, default=8, help="API keys the load is spread over")
    parser.add_argument("--leads", type=int, default=400, help="leads seeded per tenant (the pool initiate "
                        "and SMS rotate through; initiate needs a fresh one per request)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every configuration (a fresh server and "
                        "database each time); per operation the round with the median req/s is shown")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to create databases on "
                        "(default: a throwaway cluster started with .ci/postgres)")
    parser.add_argument("--only", help="comma-separated subset: memory, sqlite-1, sqlite-2, postgresql-1, postgresql-2")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    wanted = [c for c in CONFIGS if args.only is None or short(*c) in args.only.split(",")]
    if not wanted:
        raise SystemExit(f"--only: none of {', '.join(short(*c) for c in CONFIGS)}")
    results, pg = {}, None
    with tempfile.TemporaryDirectory(prefix="sbx-bench-") as tmp:
        try:
            if any(name == "postgresql" for name, _ in wanted):
                pg = Postgres(args.postgres)
            for round_ in range(1, args.rounds + 1):
                for name, workers in wanted:
                    if name == "memory":
                        store = "memory"
                    elif name == "sqlite":
                        store = f"sqlite://{tmp}/bench-{workers}-{round_}.db"
                    else:
                        store = pg.fresh()
                    print(f"round {round_}/{args.rounds}: {label(name, workers)} ...", file=sys.stderr, flush=True)
                    results.setdefault((name, workers), []).append(bench_config(name, store, workers, args, pg))
        finally:
            if pg is not None:
                pg.stop()
    report({config: merge(runs) for config, runs in results.items()}, args, pg)
    return 0


def merge(runs: list[dict]) -> dict:
    """Several rounds of one configuration: per operation the round with the median req/s (its whole
    row, so the figures belong together), with the errors of every round summed."""
    rows = {}
    for op in runs[0]["rows"]:
        each = sorted((run["rows"][op] for run in runs), key=lambda row: row["rps"])
        rows[op] = dict(each[len(each) // 2])
        rows[op].update({key: sum(row[key] for row in each) for key in ("requests", "non2xx", "socket_errors")})
        rows[op]["all_rps"] = [row["rps"] for row in each]
    return {"rows": rows, "log": "".join(run["log"] for run in runs)}


def report(results: dict, args, pg: Postgres | None) -> None:
    cores = os.cpu_count()
    print(f"\nwrk -t1 -c{args.connections}, {args.warmup:g} s warm-up + {args.seconds:g} s measured per store and "
          f"operation, {args.rounds} round(s) (the round with the median req/s; errors summed); {args.tenants} "
          f"tenants round-robin, {args.leads} leads seeded per tenant; loopback. "
          f"**{cores} cores shared by the sandbox, PostgreSQL and the load generator** (CPU columns: % of one "
          f"core, so {cores * 100}% is the whole machine).\n")
    print("| store | operation | req/s | rounds | p50 ms | p99 ms | errors | conns per worker | CPU sandbox "
          "| CPU postgres | CPU wrk | CPU others | sandbox CPU ms/req | postgres CPU ms/req |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (name, workers), result in results.items():
        for op, row in result["rows"].items():
            bad = row["non2xx"] + row["socket_errors"]
            errors = "0" if not bad else f"**{row['non2xx']} non-2xx + {row['socket_errors']} socket errors " \
                f"of {row['requests']}**"
            sandbox_cpu, pg_cpu = row["cpu"]
            pg_text = f"{pg_cpu:.0f}%" if pg_cpu is not None else "–"
            per_request = [f"{ms:.2f}" if ms is not None else "–" for ms in row["cpu_ms"]]
            spread = "–".join(f"{rps:.0f}" for rps in (row["all_rps"][0], row["all_rps"][-1])) \
                if len(row["all_rps"]) > 1 else "–"
            split = "/".join(map(str, row["split"])) if workers > 1 and row["split"] else "–"
            print(f"| {label(name, workers)} | `{op}` | {row['rps']:.0f}{' (errors)' if bad else ''} | {spread} | "
                  f"{row['p50']:.1f} | {row['p99']:.1f} | {errors} | {split} | {sandbox_cpu:.0f}% | {pg_text} | "
                  f"{row['cpu_wrk']:.0f}% | {row['cpu_others']:.0f}% | {per_request[0]} | {per_request[1]} |")
    print("\nreq/s and p99 ms side by side:\n")
    configs = list(results)
    print("| operation | " + " | ".join(label(*c) for c in configs) + " |")
    print("|---|" + "---|" * len(configs))
    for op in OPS:
        cells = []
        for config in configs:
            row = results[config]["rows"][op]
            bad = row["non2xx"] + row["socket_errors"]
            cells.append(f"{row['rps']:.0f} req/s, p99 {row['p99']:.0f} ms" + (f" ({bad} errors)" if bad else ""))
        print(f"| `{op}` | " + " | ".join(cells) + " |")
    print("\nCPU ms/req: CPU time per answered request (the CPU share divided by req/s): it depends less than "
          "req/s on how much of the machine the run got (not at all only on an idle machine).")
    print("CPU others: the rest of the machine's busy time meanwhile (other people's processes on a shared "
          "machine; in the PostgreSQL rows with --postgres it includes the server).")
    print("rounds: the lowest and highest req/s of the rounds. conns per worker: how the kernel split wrk's "
          "keep-alive connections between the two worker processes (sampled with ss; they share one listening "
          "socket, so the split is whatever each burst of accepts happened to be).")
    print("Errors: non-2xx answers and wrk's socket errors (a timeout is an answer slower than 2 s), summed over "
          "the rounds; req/s counts every answer.")
    print("memory without --store vs --store memory: the same code path, not measured twice "
          "(open_store(None) and open_store('memory') both give MemoryStore, durable=False, and create_app "
          "adds no durable layer for it; tests/durable/test_store.py::test_the_memory_store_adds_no_layer).")
    if pg is not None and pg.dir is None:
        print("PostgreSQL: the server --postgres named (its CPU is not visible here).")
    elif pg is not None:
        print("PostgreSQL: a throwaway cluster from .ci/postgres on this machine (fsync=on, default settings).")
    for config, result in results.items():
        if result["log"].strip():
            print(f"\n{label(*config)}: the server logged (last lines):\n\n```\n{result['log'].strip()[-1500:]}\n```")


if __name__ == "__main__":
    sys.exit(main())
