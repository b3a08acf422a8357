"""Durable due work and idle tenants: a real-time tenant's work runs on another process when the one
holding it dies (no request needed: the store says when it is due), and an idle tenant leaves memory
and comes back from the store unchanged."""

from __future__ import annotations

import signal
import time

import httpx
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.clock import stopwatch
from sandbox.settings import Settings

from . import workload
from .receivers import WebhookReceiver

KEY = "due-work-key"


def test_a_call_finishes_on_another_process_when_its_own_dies(sandbox_on):
    a = sandbox_on("--clock", "manual", "--start-time", "2026-01-15T15:00:00Z").start()
    receiver = WebhookReceiver()
    client = httpx.Client(base_url=a.base, headers={"X-API-Key": KEY}, timeout=30)
    workload.ok(_result(client.patch("/_sandbox/settings", json={"webhooks": {
        "enabled": True, "url": receiver.url, "events": {"call.completed": True}}})))
    lead = workload.ok(_result(client.post("/api/v1/leads/submit", json=workload.submit_body(7))))["leadId"]
    workload.ok(_result(client.put("/_sandbox/clock", json={"mode": "realtime", "speed": 100})))
    call = workload.ok(_result(client.post("/api/v1/voice/calls/initiate", json={"leadId": lead})))
    a.stop(signal.SIGKILL)  # the call is in progress; only A held the tenant

    b = sandbox_on("--clock", "manual").start()  # never asked about this tenant
    deadline = time.monotonic() + 60
    while "call.completed" not in receiver.events and time.monotonic() < deadline:
        time.sleep(0.1)
    receiver.close()
    assert "call.completed" in receiver.events, receiver.received
    interaction = httpx.get(f"{b.base}/api/v1/interactions/{call['interactionId']}",
                            headers={"X-API-Key": KEY}, timeout=30).json()["data"]
    assert interaction["status"] != "in_progress"  # ended, however it went


def _result(response) -> tuple[int, dict]:
    return response.status_code, response.json()


async def _evict_idle(app) -> int:
    return app.evict_idle(stopwatch())  # on the app's loop, as its ticker calls it


def test_an_idle_tenant_leaves_memory_and_comes_back_the_same(tmp_path):
    app = create_app(Settings(store=f"sqlite://{tmp_path}/e.db", clock_mode="manual", evict_after=0))
    with TestClient(app) as client:
        client.headers["X-API-Key"] = KEY
        workload.world(lambda m, p, json=None: _result(client.request(m, p, json=json)),
                       "http://127.0.0.1:9/unused")
        before = client.get("/_sandbox/state").content
        busy = {"X-API-Key": "busy-key"}
        workload.ok(_result(client.post("/api/v1/leads/submit", json=workload.submit_body(1), headers=busy)))
        workload.ok(_result(client.put("/_sandbox/clock", json={"mode": "realtime"}, headers=busy)))  # work due

        evicted = client.portal.call(_evict_idle, app)
        assert KEY not in app.registry._tenants and "busy-key" in app.registry._tenants and evicted == 1
        assert client.get("/_sandbox/state").content == before  # rebuilt from the store
        assert KEY in app.registry._tenants
