"""Tenants never wait on each other, even while one advances its clock through a busy simulated year.

A clock advance (or jump) runs its due work yielding to the event loop every few milliseconds
(``simulation.run_due_yielding``): other tenants are served meanwhile, while the advancing tenant is
*busy* — its own requests wait for the advance and then see where it ended — and the result is the
same bytes as the synchronous runner's, wherever it yielded.

The concurrency tests serve the app with uvicorn on a real socket (a thread of this process, so
that tenant A's world — 2,500 leads queued on the auto-dialer, about 12,000 jobs in a simulated
year — is built through the services in a fraction of a second, not through 2,500 requests) and
time nothing: they compare the order in which answers came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time

import httpx
import pytest
from starlette.testclient import TestClient

from sandbox import simulation
from sandbox.api.render import encode
from sandbox.app import create_app
from sandbox.control import handlers
from sandbox.services import dialer, leads, time_control
from sandbox.settings import Settings

YEAR = 365 * 86_400
LEADS = 2500
AREA_CODES = ("212", "312", "303", "415")          # New York, Chicago, Denver, Los Angeles
SINK = "http://127.0.0.1:8000/_sandbox/sink"        # the sandbox's own base URL (Settings default)
ALL_EVENTS = {name: True for name in ("lead.queued", "lead.processed", "lead.delivered", "lead.disqualified",
                                      "lead.failed", "lead.first_submission_action", "call.completed")}


def phone(index: int) -> str:
    # Exchanges 600-899 are ordinary numbers (never the 555-01XX scenario numbers).
    return f"+1{AREA_CODES[index % len(AREA_CODES)]}{600 + (index // 10000) % 300}{index % 10000:04d}"


def queue_leads(tenant, count: int) -> None:
    """``count`` new leads of campaign HXZ, all queued on its auto-dialer (the services the API runs)."""
    ids = [leads.create_lead(tenant, {"campaignId": "HXZ", "firstName": "Busy", "lastName": f"Lead{i}",
                                      "email": f"busy.{i}@example.com", "phone": phone(i)})["leadId"]
           for i in range(count)]
    assert dialer.send_to_auto_dialer(tenant, ids)["succeeded"] == count


@pytest.fixture(scope="module")
def served():
    """The app served by uvicorn on a thread, on a loopback socket of its own: (base URL, app)."""
    import uvicorn

    from sandbox.http_protocol import EnvelopeHttpToolsProtocol

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(Settings(host="127.0.0.1", port=port, validate_specs=False, validate_responses=False))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                           http=EnvelopeHttpToolsProtocol))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the sandbox did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def busy_tenant(served, key: str) -> tuple[httpx.Client, dict]:
    """A client for tenant ``key``, whose world has ``LEADS`` leads queued on the auto-dialer (built
    through the services, before any request of it), and its clock."""
    base, app = served
    client = httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=120)
    queue_leads(app.registry.lookup(key), LEADS)
    clock = client.get("/_sandbox/clock").json()["data"]
    assert clock["pendingJobs"] == LEADS
    return client, clock


def advance_in_background(client: httpx.Client, outcome: dict) -> threading.Thread:
    """POST a simulated year's advance on a thread; ``outcome`` gets its answer and when it came."""
    def run() -> None:
        answer = client.post("/_sandbox/clock/advance", json={"seconds": YEAR, "summary": True})
        outcome["returned"] = time.perf_counter()
        outcome["answer"] = answer

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# --- other tenants are served during an advance --------------------------------------------------------

def test_another_tenant_is_served_while_a_tenant_advances_through_a_busy_year(served):
    a, _clock = busy_tenant(served, "isolation-a1")
    with contextlib.closing(a), httpx.Client(base_url=served[0], headers={"X-API-Key": "isolation-b1"}, timeout=120) as b:
        b.get("/api/v1/leads").raise_for_status()   # B's tenant exists before A starts
        outcome: dict = {}
        thread = advance_in_background(a, outcome)
        time.sleep(0.1)                             # A's advance is under way on the server
        completed = []                              # when each of B's requests came back
        while "returned" not in outcome and thread.is_alive():
            answer = b.get("/api/v1/leads")
            assert answer.status_code == 200, answer.text
            completed.append(time.perf_counter())
        thread.join(120)

    assert outcome["answer"].status_code == 200, outcome["answer"].text
    assert outcome["answer"].json()["data"]["ranCount"] > LEADS   # the year really was busy
    before = [at for at in completed if at < outcome["returned"]]
    # With the loop held for the whole advance, B's first request would only come back after A's.
    assert len(before) >= 5, (len(before), len(completed))


def test_a_request_of_the_advancing_tenant_waits_and_sees_where_the_advance_ended(served):
    a, start = busy_tenant(served, "isolation-a2")
    with contextlib.closing(a), httpx.Client(base_url=served[0], headers={"X-API-Key": "isolation-a2"}, timeout=120) as a_again:
        outcome: dict = {}
        thread = advance_in_background(a, outcome)
        time.sleep(0.1)
        sent = time.perf_counter()
        clock = a_again.get("/_sandbox/clock").json()["data"]
        thread.join(120)

    assert sent < outcome["returned"], "the advance was over before the read was sent: make it busier"
    ended = outcome["answer"].json()["data"]
    assert ended["now"] != start["now"]
    # Not a moment of the advance in between: where it stands once it is over, nothing left to run.
    assert clock["now"] == ended["now"]
    assert clock["pendingJobs"] == 0 and clock["nextDueAt"] is None


# --- the same bytes, wherever it yielded --------------------------------------------------------------

def _without_latency(document):
    """The export without the webhook attempts' ``latencyMs`` (real time, different on every run)."""
    if isinstance(document, dict):
        return {k: _without_latency(v) for k, v in document.items() if k != "latencyMs"}
    if isinstance(document, list):
        return [_without_latency(v) for v in document]
    return document


def _advance_with_webhooks(monkeypatch, runner: str) -> tuple[bytes, bytes, bytes]:
    """A year of a small dialer world whose every event goes to a failing sink (so retries run
    during the settle), advanced through ``POST /_sandbox/clock/advance``: the answer's bytes, the
    export afterwards (latencies left out) and the journal-free clock view.

    ``runner``: ``sync`` (the synchronous ``run_due``, as before advances yielded), ``never`` (the
    yielding runner with no turn to take) or ``every`` (a turn after every single job)."""
    with monkeypatch.context() as patch:
        if runner == "sync":
            async def synchronous(tenant, seconds=None, to=None):
                return time_control.advance(tenant, seconds, to)

            patch.setattr(handlers.time_control, "advance_yielding", synchronous)
        else:
            patch.setattr(simulation, "YIELD_EVERY_SECONDS", 0.0 if runner == "every" else float("inf"))
        turns = []
        real_sleep = asyncio.sleep

        async def counted(delay, *args, **kwargs):
            turns.append(delay)
            return await real_sleep(delay, *args, **kwargs)

        patch.setattr(simulation.asyncio, "sleep", counted)
        app = create_app(Settings(validate_responses=False))
        with TestClient(app) as client:
            client.headers["X-API-Key"] = "isolation-bytes"
            hooks = {"enabled": True, "url": f"{SINK}/isolation?status=503", "events": ALL_EVENTS}
            assert client.patch("/_sandbox/settings", json={"webhooks": hooks}).status_code == 200
            queue_leads(app.registry.lookup("isolation-bytes"), 40)
            answer = client.post("/_sandbox/clock/advance", json={"seconds": YEAR})
            assert answer.status_code == 200, answer.text
            export = json.dumps(_without_latency(client.get("/_sandbox/state").json()), sort_keys=True).encode()
            clock = client.get("/_sandbox/clock").content
    if runner == "every":
        assert turns.count(0) > 100, len(turns)  # it did yield, between jobs, many times
    return answer.content, export, clock


def test_an_advance_gives_the_same_bytes_as_the_synchronous_runner_wherever_it_yields(monkeypatch):
    synchronous = _advance_with_webhooks(monkeypatch, "sync")
    answer = json.loads(synchronous[0])["data"]
    kinds = {job["job"] for job in answer["ran"]}
    assert {"dialer.attempt", "webhook.attempt"} <= kinds  # calls, and webhooks sent during the year
    statuses = {effect.get("status") for job in answer["ran"] for effect in job["effects"]}
    assert "retrying" in statuses                            # answered (503) within the advance
    assert _advance_with_webhooks(monkeypatch, "every") == synchronous
    assert _advance_with_webhooks(monkeypatch, "never") == synchronous


def test_the_yielding_runner_runs_the_same_jobs_as_run_due():
    """Service level, no webhooks sender: the same entries in the same order, and the same world."""
    results = []
    for runner in ("sync", "yielding"):
        app = create_app(Settings(validate_responses=False))
        with TestClient(app) as client:
            client.headers["X-API-Key"] = "isolation-service"
            client.get("/_sandbox/clock")
        tenant = app.registry.lookup("isolation-service")
        queue_leads(tenant, 30)
        if runner == "sync":
            ran = time_control.advance(tenant, seconds=YEAR)
        else:
            async def run():
                return await time_control.advance_yielding(tenant, seconds=YEAR)

            saved, simulation.YIELD_EVERY_SECONDS = simulation.YIELD_EVERY_SECONDS, 0.0
            try:
                ran = asyncio.run(run())
            finally:
                simulation.YIELD_EVERY_SECONDS = saved
        assert tenant.busy is None and tenant.clock._pinned is None
        results.append((encode(ran), encode(tenant.export())))
    assert results[0] == results[1]


def test_a_durable_tenant_rebuilt_from_its_log_matches_after_a_yielding_advance(monkeypatch, tmp_path):
    """The command log replays the advance (yielding too) to the same world: the webhook answers it
    recorded are fed back where the live advance received them, once the advance is over."""
    monkeypatch.setattr(simulation, "YIELD_EVERY_SECONDS", 0.0)
    store = f"sqlite://{tmp_path}/isolation.db"
    key = "isolation-durable"
    app = create_app(Settings(validate_responses=False, validate_specs=False, store=store))
    with TestClient(app) as client:
        client.headers["X-API-Key"] = key
        hooks = {"enabled": True, "url": f"{SINK}/isolation-durable?status=503", "events": ALL_EVENTS}
        assert client.patch("/_sandbox/settings", json={"webhooks": hooks}).status_code == 200
        for i in range(12):
            answer = client.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": "Busy", "lastName": f"L{i}",
                                                        "email": f"busy.{i}@example.com", "phone": phone(i)})
            assert answer.status_code == 200, answer.text
        ids = [lead["leadId"] for lead in client.get("/api/v1/leads", params={"limit": 12}).json()["data"]["leads"]]
        assert client.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": ids}).status_code == 200
        answer = client.post("/_sandbox/clock/advance", json={"seconds": 30 * 86_400})
        assert answer.status_code == 200, answer.text
        assert any(job["job"] == "webhook.attempt" for job in answer.json()["data"]["ran"])
        live = _without_latency(client.get("/_sandbox/state").json())

    rebuilt = create_app(Settings(validate_responses=False, validate_specs=False, store=store))
    with TestClient(rebuilt) as client:
        assert _without_latency(client.get("/_sandbox/state", headers={"X-API-Key": key}).json()) == live
