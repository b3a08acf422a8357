"""Cost of the durable store: µs per write in-process on memory vs SQLite (synchronous=FULL and
NORMAL), and replay speed (entries/s) of a tenant rebuilt from its log.

    python bench/durable_store.py [WRITES]

Writes are a mix (submit, PATCH, initiate, SMS send, file upsert) through the whole app (TestClient),
one at a time, manual clock, so the figures are per request including the framework.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.testclient import TestClient  # noqa: E402

from sandbox.app import create_app  # noqa: E402
from sandbox.durable import layer  # noqa: E402
from sandbox.settings import Settings  # noqa: E402
from tests.durable import workload  # noqa: E402

KEY = "bench-key"


def writes(client, count: int) -> float:
    leads = [client.post("/api/v1/leads/submit", json=workload.submit_body(0)).json()["data"]["leadId"]]
    started = time.perf_counter()
    for n in range(1, count + 1):
        lead = leads[(n * 7) % len(leads)]
        kind = n % 5
        if kind == 0:
            r = client.post("/api/v1/leads/submit", json=workload.submit_body(n))
            leads.append(r.json()["data"]["leadId"])
        elif kind == 1:
            client.patch(f"/api/v1/leads/{lead}", json={"customFields": {"writeNo": n}})
        elif kind == 2:
            client.post("/api/v1/voice/calls/initiate", json={"leadId": lead})
        elif kind == 3:
            client.post("/api/v1/sms/send", json={"leadId": lead, "message": f"hello {n}"})
        else:
            client.post("/api/v1/files", json={"leadId": lead, "fileKey": f"doc{n}", "fileName": "d.pdf",
                                               "fileType": "pdf", "documentUrl": "https://x.example.com/d.pdf"})
    return (time.perf_counter() - started) / count * 1e6


def run(store: str, count: int) -> float:
    with TestClient(create_app(Settings(store=store, validate_specs=False))) as client:
        client.headers["X-API-Key"] = KEY
        return writes(client, count)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    layer.SNAPSHOT_EVERY = 10**9  # measure replay of the whole log
    with tempfile.TemporaryDirectory() as tmp:
        memory = run("memory", count)
        print(f"memory              {memory:8.0f} µs/write  ({1e6 / memory:6.0f} writes/s)")
        for sync in ("full", "normal"):
            url = f"sqlite://{tmp}/{sync}.db?synchronous={sync}"
            cost = run(url, count)
            print(f"sqlite {sync:<12} {cost:8.0f} µs/write  ({1e6 / cost:6.0f} writes/s, +{cost - memory:.0f} µs)")
        app = create_app(Settings(store=f"sqlite://{tmp}/full.db", validate_specs=False))
        with TestClient(app) as client:
            started = time.perf_counter()
            client.get("/api/v1/leads?limit=1", headers={"X-API-Key": KEY})
            elapsed = time.perf_counter() - started
        print(f"replay              {app.replayed_entries} entries in {elapsed:.2f} s "
              f"({app.replayed_entries / elapsed:.0f} entries/s)")


if __name__ == "__main__":
    main()
