"""``leadsail-sandbox listen``: the listener endpoints, and the command end to end on loopback.

End to end: the sandbox is its own process (``python -m sandbox --clock manual`` on a free port),
the local receiver a threaded ``http.server`` in this process that records every request (and can
be told to hold them, to kill ``listen`` in the middle of a forward), and ``listen`` a process of
its own, killed with SIGKILL and started again. The rest runs in-process (``client`` fixture).

The one thing a reader might get wrong: "nothing twice" is a claim about the *delivery log* (one
attempt per listener delivery, recorded once); on the wire a forward interrupted by the kill is
sent again after the restart, with the same ``webhook-id`` and signature.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sandbox.services import listener, webhook_signing
from tests.conftest import advance, data, error
from tests.processes import sandbox_process

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LISTEN = "/_sandbox/webhooks/listen"
LEAD = {"campaignId": "DRW", "firstName": "jane", "lastName": "SMITH", "email": "jane.smith@example.com",
        "phone": "(303) 555-0199"}


def submit(client, **extra) -> str:
    return data(client.post("/api/v1/leads/submit", json={**LEAD, **extra}))["leadId"]


def poll(client, **params) -> dict:
    return data(client.get(LISTEN, params={"waitSeconds": 0, **params}))


def report(client, item: dict, status=200, **extra):
    return client.post(f"{LISTEN}/{item['deliveryId']}/result",
                       json={"attempt": item["attempt"], "status": status, "latencyMs": 4.2, **extra})


def listen_log(client) -> list[dict]:
    return data(client.get("/_sandbox/webhooks/deliveries", params={"kind": "listen", "limit": 500}))["deliveries"]


# --- the endpoints, in-process ------------------------------------------------------------------------

def test_without_a_listener_events_get_no_listener_delivery(client):
    submit(client)
    advance(client, 60)
    assert listen_log(client) == []


def test_every_event_reaches_the_listener_signed_without_a_webhook_url(client):
    data(client.patch("/_sandbox/settings", json={"webhookSecret": SECRET}))
    assert poll(client)["deliveries"] == []  # registers the listener
    lead_id = submit(client)
    page = poll(client)
    assert [(i["event"], i["leadId"], i["attempt"], i["trigger"]) for i in page["deliveries"]] == \
        [("lead.queued", lead_id, 1, "initial")]
    item = page["deliveries"][0]
    headers, body = item["request"]["headers"], item["request"]["body"].encode()
    assert headers["webhook-id"] == item["deliveryId"] and headers["Content-Type"] == "application/json"
    assert webhook_signing.verify(SECRET, headers["webhook-id"], headers["webhook-timestamp"], body,
                                  headers["webhook-signature"])
    assert json.loads(body)["event"] == "lead.queued"
    assert data(client.get("/_sandbox/webhooks/deliveries", params={"kind": "webhook"}))["deliveries"] == []


def test_a_result_is_recorded_once_and_a_second_report_is_a_duplicate(client):
    poll(client)
    submit(client)
    item = poll(client)["deliveries"][0]
    first = data(report(client, item, 200, bodyExcerpt='{"ok":true}'))
    assert first == {"deliveryId": item["deliveryId"], "attempt": 1, "duplicate": False,
                     "attemptStatus": "succeeded", "deliveryStatus": "delivered", "nextAttemptAt": None}
    again = data(report(client, item, 500, error="a late, different answer"))
    assert again == {**first, "duplicate": True}
    record = data(client.get(f"/_sandbox/webhooks/deliveries/{item['deliveryId']}"))
    assert record["status"] == "delivered" and len(record["attempts"]) == 1
    assert record["attempts"][0]["response"] == {"status": 200, "bodyExcerpt": '{"ok":true}'}
    assert record["attempts"][0]["latencyMs"] == 4.2
    assert poll(client)["deliveries"] == []  # reported: never handed out again


def test_a_result_names_a_listener_delivery_and_an_attempt_it_has(client):
    poll(client)
    submit(client)
    item = poll(client)["deliveries"][0]
    error(report(client, {**item, "deliveryId": "whd_unknown"}), 404, "NOT_FOUND")
    details = error(report(client, {**item, "attempt": 2}), 400, "VALIDATION_ERROR")["details"]
    assert details == [f"attempt: delivery {item['deliveryId']} has 1 attempt(s), not an attempt 2"]
    details = error(report(client, item, None), 400, "VALIDATION_ERROR")["details"]
    assert details[0].startswith("error: required when status is null")
    sink = data(client.post("/_sandbox/webhooks/test", json={"url": "http://127.0.0.1:8000/_sandbox/sink/x"}))
    not_listen = {"deliveryId": sink["deliveryId"], "attempt": 1}
    details = error(report(client, not_listen), 400, "VALIDATION_ERROR")["details"]
    assert "only 'listen' deliveries" in details[0]
    error(client.get(LISTEN, params={"events": "lead.queued,call.started"}), 400, "VALIDATION_ERROR")


def test_unreported_attempts_are_handed_out_again_only_without_the_cursor(client):
    poll(client)
    submit(client)
    page = poll(client)
    assert len(page["deliveries"]) == 1
    assert poll(client, after=page["cursor"])["deliveries"] == []            # the same listener: not twice
    again = poll(client)["deliveries"]                                       # a restarted one: once more
    assert again == page["deliveries"]                                       # same attempt, headers, bytes
    assert poll(client, after="0123456789ab.99")["deliveries"] == again      # a cursor of another process
    assert data(report(client, again[0]))["duplicate"] is False
    assert data(report(client, page["deliveries"][0]))["duplicate"] is True


def test_the_listener_stays_connected_through_a_reset_and_an_import(client):
    poll(client)
    submit(client)
    page = poll(client)
    exported = data(client.get("/_sandbox/state"))       # holds the attempt in flight
    assert data(report(client, page["deliveries"][0]))["duplicate"] is False
    data(client.put("/_sandbox/state", json=exported))   # ... which is unreported again
    again = poll(client, after=page["cursor"])["deliveries"]
    assert again == page["deliveries"]
    data(client.post("/_sandbox/reset"))
    submit(client)  # a fresh tenant from the same seed: the same ids again, and still listened to
    assert [i["deliveryId"] for i in poll(client, after=page["cursor"])["deliveries"]] == \
        [i["deliveryId"] for i in page["deliveries"]]


def test_a_failed_forward_is_retried_on_the_clock(client):
    poll(client)
    submit(client)
    item = poll(client)["deliveries"][0]
    answer = data(report(client, item, None, error="connection failed: [Errno 111] Connection refused"))
    assert answer["deliveryStatus"] == "pending" and answer["nextAttemptAt"] == "2026-01-15T15:00:30Z"
    assert poll(client)["deliveries"] == []
    advance(client, 30)
    retry = [i for i in poll(client)["deliveries"] if i["deliveryId"] == item["deliveryId"]]
    assert [(i["attempt"], i["trigger"]) for i in retry] == [(2, "retry")]


def test_the_event_filter_and_the_lease(client, monkeypatch):
    poll(client, events="lead.processed")
    lead_id = submit(client)
    advance(client, 60)
    assert [(d["event"], d["leadId"]) for d in listen_log(client)] == [("lead.processed", lead_id)]
    monkeypatch.setattr(listener, "LEASE_SECONDS", 0)  # the listener went away
    submit(client, email="later@example.com", phone="(720) 555-0100")
    advance(client, 60)
    assert len(listen_log(client)) == 1


def test_the_backlog_is_capped_by_closing_the_oldest(client, monkeypatch):
    monkeypatch.setattr(listener, "MAX_UNREPORTED", 3)
    poll(client, events="lead.queued")
    leads = [submit(client, email=f"cap{i}@example.com", phone=f"(720) 555-01{i:02d}") for i in range(5)]
    log = {d["leadId"]: d for d in listen_log(client)}
    assert [log[lead]["status"] for lead in leads] == ["failed", "failed", "pending", "pending", "pending"]
    dropped = data(client.get(f"/_sandbox/webhooks/deliveries/{log[leads[0]]['deliveryId']}"))
    assert dropped["attempts"][0]["status"] == "refused" and dropped["attempts"][0]["error"].startswith("dropped")
    assert [i["leadId"] for i in poll(client)["deliveries"]] == leads[2:]
    replayed = data(client.post(f"/_sandbox/webhooks/deliveries/{dropped['deliveryId']}/replay"))
    assert replayed["status"] == "pending"
    assert [(i["leadId"], i["trigger"]) for i in poll(client)["deliveries"] if i["leadId"] == leads[0]] == \
        [(leads[0], "replay")]


# --- end to end: processes and sockets on loopback -------------------------------------------------------

class Receiver:
    """The developer's local webhook endpoint: records each request; ``hold`` keeps answers back."""

    def __init__(self):
        self.requests: list[dict] = []
        self.seen = threading.Condition()
        self.holding = threading.Event()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.seen:
                    receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                    receiver.seen.notify_all()
                if receiver.holding.is_set():
                    receiver.released.wait(20)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "11")
                    self.end_headers()
                    self.wfile.write(b'{"ok":true}')
                except OSError:
                    pass  # the listener that sent it is dead

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"

    def wait_for(self, predicate, timeout: float = 15) -> None:
        with self.seen:
            assert self.seen.wait_for(lambda: predicate(self.requests), timeout), self.requests

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Listen:
    """``listen`` as its own process, its stdout and stderr read line by line."""

    def __init__(self, base: str, key: str, forward_to: str):
        code = "import sys; from sandbox.listen import main; sys.exit(main(sys.argv[1:]))"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, "--url", base, "--key", key, "--forward-to", forward_to],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.lines: list[str] = []
        self.notes: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(self.process.stdout, self.lines.append), daemon=True).start()
        self.reader = threading.Thread(target=self._read, args=(self.process.stderr, self.notes.put), daemon=True)
        self.reader.start()
        self.expect("Ready")

    @staticmethod
    def _read(stream, sink) -> None:
        for line in stream:
            sink(line.rstrip("\n"))

    def expect(self, text: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.notes.get(timeout=0.1)
            except queue.Empty:
                assert self.reader.is_alive(), f"listen exited ({self.process.poll()}) without saying {text!r}"
                continue
            if text in line:
                return line
        raise AssertionError(f"listen never said {text!r}")

    def stop(self, sig=signal.SIGKILL) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def sandbox():
    with sandbox_process("--clock", "manual", "--shutdown-grace", "1") as (_, base):
        yield base


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


def test_listen_forwards_signed_events_and_survives_a_kill_without_losing_or_doubling(sandbox, receiver):
    api = httpx.Client(base_url=sandbox, headers={"X-API-Key": "listen-e2e-key"}, timeout=30)
    data(api.patch("/_sandbox/settings", json={"webhookSecret": SECRET}))
    running = Listen(sandbox, "listen-e2e-key", receiver.url)
    try:
        # A call that completes: call.completed reaches the receiver, signed, and the log shows its answer.
        lead_id = data(api.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": "Jane", "lastName": "Doe",
                                                       "email": "jane@example.com", "phone": "+12125550101"}))["leadId"]
        data(api.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id}))
        advance(api, 3600)
        receiver.wait_for(lambda got: any(json.loads(r["body"])["event"] == "call.completed" for r in got))
        call = next(r for r in receiver.requests if json.loads(r["body"])["event"] == "call.completed")
        headers = call["headers"]
        assert webhook_signing.verify(SECRET, headers["webhook-id"], headers["webhook-timestamp"], call["body"],
                                      headers["webhook-signature"])
        assert json.loads(call["body"])["leadId"] == lead_id and headers["content-type"] == "application/json"
        wait_until(lambda: delivered(api, headers["webhook-id"]))
        record = data(api.get(f"/_sandbox/webhooks/deliveries/{headers['webhook-id']}"))
        assert record["kind"] == "listen" and record["attempts"][0]["response"]["status"] == 200
        wait_until(lambda: any("call.completed" in line for line in running.lines))
        line = next(line for line in running.lines if "call.completed" in line)
        assert f"call.completed  {lead_id}  -> 200 (" in line and line.endswith(" ms)"), line

        # Kill listen in the middle of a forward; more events fire while it is gone.
        receiver.holding.set()
        before = len(receiver.requests)
        queued_lead = data(api.post("/api/v1/leads/submit", json=LEAD))["leadId"]
        receiver.wait_for(lambda got: len(got) > before)
        running.stop(signal.SIGKILL)
        receiver.released.set()
        receiver.holding.clear()
        advance(api, 60)  # lead.processed and lead.delivered, with nobody forwarding
        waiting = {d["event"]: d["status"] for d in deliveries_of(api, queued_lead)}
        assert waiting == {"lead.queued": "delivering", "lead.processed": "pending", "lead.delivered": "pending"}

        running = Listen(sandbox, "listen-e2e-key", receiver.url)
        wait_until(lambda: all(d["status"] == "delivered" for d in deliveries_of(api, queued_lead)))
    finally:
        assert running.stop(signal.SIGTERM) == 0  # a clean exit
    assert "listen: stopped" in running.expect("stopped")

    listed = data(api.get("/_sandbox/webhooks/deliveries", params={"kind": "listen", "limit": 500}))["deliveries"]
    log = [data(api.get(f"/_sandbox/webhooks/deliveries/{d['deliveryId']}")) for d in listed]
    events = [(d["event"], d["leadId"]) for d in log]
    assert len(events) == len(set(events))                                           # one delivery per event
    assert {("lead.queued", queued_lead), ("lead.processed", queued_lead), ("lead.delivered", queued_lead),
            ("call.completed", lead_id)} <= set(events)
    assert all(d["status"] == "delivered" and len(d["attempts"]) == 1 for d in log)   # recorded once each
    assert all(d["attempts"][0]["response"]["status"] == 200 for d in log)
    received = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert set(received) == {d["deliveryId"] for d in log}                            # nothing lost
    queued_id = next(d["deliveryId"] for d in log if d["event"] == "lead.queued" and d["leadId"] == queued_lead)
    assert received.count(queued_id) == 2                                             # the interrupted forward, again
    twice = [r for r in receiver.requests if r["headers"]["webhook-id"] == queued_id]
    assert twice[0]["body"] == twice[1]["body"] and \
        twice[0]["headers"]["webhook-signature"] == twice[1]["headers"]["webhook-signature"]
    assert all(received.count(delivery_id) == 1 for delivery_id in set(received) - {queued_id})
    for request in receiver.requests:
        headers = request["headers"]
        assert webhook_signing.verify(SECRET, headers["webhook-id"], headers["webhook-timestamp"], request["body"],
                                      headers["webhook-signature"])
    api.close()


def deliveries_of(api: httpx.Client, lead_id: str) -> list[dict]:
    return data(api.get("/_sandbox/webhooks/deliveries", params={"kind": "listen", "leadId": lead_id}))["deliveries"]


def delivered(api: httpx.Client, delivery_id: str) -> bool:
    return data(api.get(f"/_sandbox/webhooks/deliveries/{delivery_id}"))["status"] == "delivered"


def wait_until(condition, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
