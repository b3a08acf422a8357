"""Memory and list latency at size: 100,000 leads and 300,000 interactions in one tenant.

    python bench/size.py [--leads 100000] [--interactions-per-lead 3]

Builds the app with production settings, loads one tenant with leads and finished calls (each
with a six-line transcript, a summary and a recording URL, as the simulation writes them), then
prints RSS and the latency of list requests at that size next to the same requests on a freshly
seeded tenant. Requests go through the whole ASGI app in-process (routing, auth, validation,
handler, serialisation), without a network hop, so the figures isolate the sandbox's own cost.
The one thing a reader might get wrong: records are inserted through the store's own ``add_*``
methods with the domain builders — the same shapes the API writes — not through HTTP, so loading
400,000 records takes seconds, not minutes. No pass/fail: figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.app import create_app  # noqa: E402
from sandbox.clock import iso  # noqa: E402
from sandbox.domain import interactions as model  # noqa: E402
from sandbox.domain.leads import new_lead  # noqa: E402
from sandbox.settings import Settings  # noqa: E402

FIRST = ("Jane", "John", "Maria", "Wei", "Aisha", "Carlos", "Olga", "Kwame", "Priya", "Liam")
LAST = ("Smith", "Garcia", "Chen", "Okafor", "Novak", "Patel", "Silva", "Kim", "Murphy", "Haddad")


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load(tenant, leads: int, per_lead: int) -> None:
    state, now = tenant.state, tenant.now()
    campaign = state.campaigns["HXZ"]
    for n in range(leads):
        created = iso(now - timedelta(seconds=leads - n))
        first, last = FIRST[n % 10], LAST[(n // 10) % 10]
        lead = new_lead(tenant.ids.new("lead"), created, campaign, first_name=first, last_name=last,
                        email=f"{first}.{last}.{n}@example.com".lower(), phone=f"+1212{2000000 + n:07d}",
                        status="contacted", timezone="America/New_York", timezone_source="area_code",
                        questionnaire=[{"key": "vehicle_year", "question": "What year is your vehicle?",
                                        "answer": 2000 + n % 25}])
        state.add_lead(lead)
        for k in range(per_lead):
            interaction_id = tenant.ids.new("int")
            call = model.call_block("auto_dialer", "outbound", "el_agent_ava", f"conv_{interaction_id}")
            call.update(duration=60 + (n + k) % 300, spokenTo=True, terminationReason="agent ended the call",
                        recordingUrl=f"{tenant.base_url}/_sandbox/recordings/{interaction_id}.wav")
            lines = [("agent", f"Hi {first}, this is Ava calling about your auto insurance quote."),
                     ("user", "Yes, sure."), ("agent", "What year is your vehicle?"),
                     ("user", f"It's a {2000 + n % 25}."), ("agent", f"Thank you, {first}. That's everything."),
                     ("user", "Thanks, bye.")]
            record = model.new_call(interaction_id, lead["leadId"], campaign, created, phone=lead["phone"],
                                    channel_telephony=model.telephony("vonage", f"vg-{interaction_id}",
                                                                      "+18335645667"),
                                    call=call, transcript=[model.transcript_entry(created, role, text, "system")
                                                           for role, text in lines])
            # Finished, as the simulation leaves a call: its transcript frozen (domain.interactions).
            record.update(status="completed", summary=f"Spoke with {first}; all questions answered.",
                          transcript=model.frozen_transcript(record["transcript"]))
            state.add_interaction(record)


def scope(path: str, query: str, key: str) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": [(b"host", b"bench"), (b"x-api-key", key.encode())], "client": ("127.0.0.1", 1),
            "server": ("bench", 80)}


async def get(app, path: str, query: str, key: str) -> tuple[int, bytes]:
    out = {"body": b""}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await app(scope(path, query, key), receive, send)
    return out["status"], out["body"]


async def latency_ms(app, path: str, query: str, key: str, rounds: int = 300) -> float:
    for _ in range(20):
        await get(app, path, query, key)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        status, _ = await get(app, path, query, key)
        samples.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    return statistics.median(samples)


async def lists(app, key: str) -> dict:
    state = app.registry.lookup(key).state
    middle = state.lead_order[len(state.lead_order) // 2]
    newest = state.lead_order[-1]
    return {
        "GET /api/v1/leads?limit=50 (first page)": await latency_ms(app, "/api/v1/leads", "limit=50", key),
        "GET /api/v1/leads?limit=50&cursor=<middle>": await latency_ms(app, "/api/v1/leads",
                                                                       f"limit=50&cursor={middle}", key),
        "GET /api/v1/interactions/lead/{id}": await latency_ms(app, f"/api/v1/interactions/lead/{newest}", "", key),
        "GET /api/v1/leads/{id}": await latency_ms(app, f"/api/v1/leads/{newest}", "", key),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--interactions-per-lead", type=int, default=3)
    args = parser.parse_args(argv)
    app = create_app(Settings(validate_specs=False))
    small, large = "size-small", "size-large"
    app.registry.lookup(small)
    tenant = app.registry.lookup(large)
    gc.collect()
    idle = rss_mb()
    started = time.perf_counter()
    load(tenant, args.leads, args.interactions_per_lead)
    loaded_in = time.perf_counter() - started
    gc.collect()
    loaded = rss_mb()
    state = tenant.state
    small_lists = asyncio.run(lists(app, small))
    large_lists = asyncio.run(lists(app, large))
    print(f"\nloaded {len(state.leads):,} leads and {len(state.interactions):,} interactions into one tenant "
          f"in {loaded_in:.1f} s")
    print(f"RSS: {idle:.0f} MB with two seeded tenants -> {loaded:.0f} MB loaded "
          f"({(loaded - idle) * 1024 / (len(state.leads) + len(state.interactions)):.2f} KB per record)\n")
    print("| request (in-process, median of 300) | seeded tenant (~50 leads) | large tenant | ratio |")
    print("|---|---|---|---|")
    for label, small_ms in small_lists.items():
        print(f"| `{label}` | {small_ms:.2f} ms | {large_lists[label]:.2f} ms | {large_lists[label] / small_ms:.2f} |")
    print(json.dumps({"leads": len(state.leads), "interactions": len(state.interactions), "rss_mb": round(loaded),
                      "load_seconds": round(loaded_in, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
