"""Outbound webhooks against a real local HTTP receiver: events and payloads, config precedence,
retries on the clock, timeouts, headers, signing, replay, fault switches, the sink, strict mode,
and that a hanging receiver never slows the API.

The receiver is a threaded ``http.server`` on 127.0.0.1 (a free port), started per test. The path
chooses its behaviour: ``/fail`` answers 500, ``/hang`` answers after 5 s, ``/flaky`` answers
``receiver.flaky_status``, anything else 200. The sandbox runs in open mode (loopback allowed) with
a manual clock starting 2026-01-15T15:00:00Z; ``advance`` awaits the sends it started.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.settings import Settings
from tests.conftest import advance, data, error

START = datetime(2026, 1, 15, 15, 0, tzinfo=timezone.utc)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ALL_EVENTS = {name: True for name in ("lead.queued", "lead.processed", "lead.delivered", "lead.disqualified",
                                      "lead.failed", "lead.first_submission_action", "call.completed")}
HANG_SECONDS = 5
SINK = "http://127.0.0.1:8000/_sandbox/sink"   # the sandbox's own base URL (Settings default)


def at(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the receiver ------------------------------------------------------------------------------

class Receiver:
    def __init__(self):
        self.requests: list[dict] = []
        self.flaky_status = 500
        self.seen = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.seen:
                    receiver.requests.append({"method": self.command, "path": self.path, "body": body,
                                              "headers": {k.lower(): v for k, v in self.headers.items()}})
                    receiver.seen.notify_all()
                if self.path == "/hang":
                    time.sleep(HANG_SECONDS)
                status = {"/fail": 500, "/flaky": receiver.flaky_status}.get(self.path, 200)
                answer = b'{"ok":true}' if status < 300 else b"receiver says no"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sandbox gave up waiting (timeout test)

            do_POST = do_PUT = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def wait_for(self, count: int, timeout: float = 10) -> None:
        with self.seen:
            assert self.seen.wait_for(lambda: len(self.requests) >= count, timeout), len(self.requests)

    def events(self, path: str | None = None) -> list[tuple[str, str]]:
        """(event, leadId) of every JSON body received, in arrival order."""
        bodies = [json.loads(r["body"]) for r in self.requests if path is None or r["path"] == path]
        return [(b["event"], b["leadId"]) for b in bodies]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


# --- helpers -------------------------------------------------------------------------------------

def tenant_hooks(client, url: str, events=None, **extra) -> dict:
    hooks = {"enabled": True, "url": url, "events": events or ALL_EVENTS, **extra}
    return data(client.patch("/_sandbox/settings", json={"webhooks": hooks}))


def campaign_hooks(client, code: str, **hooks) -> dict:
    return data(client.put(f"/_sandbox/campaigns/{code}", json={"webhooks": hooks}))


def submit(client, campaign: str = "DRW", email: str = "jane.smith@example.com", phone: str = "(303) 555-0199",
           **extra) -> dict:
    body = {"campaignId": campaign, "firstName": "jane", "lastName": "SMITH", "email": email, "phone": phone, **extra}
    return data(client.post("/api/v1/leads/submit", json=body))


def deliveries(client, **filters) -> list[dict]:
    return data(client.get("/_sandbox/webhooks/deliveries", params={"limit": 500, **filters}))["deliveries"]


def delivery(client, delivery_id: str) -> dict:
    return data(client.get(f"/_sandbox/webhooks/deliveries/{delivery_id}"))


def only(client, **filters) -> dict:
    found = deliveries(client, **filters)
    assert len(found) == 1, found
    return delivery(client, found[0]["deliveryId"])


def readme_verify(secret: str, headers: dict, body: bytes) -> bool:
    """The README's verification snippet, verbatim: an independent implementation of the scheme."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, sig) for sig in headers["webhook-signature"].split())


# --- events and payloads ---------------------------------------------------------------------------

def test_lead_events_fire_at_the_documented_points(client, receiver):
    tenant_hooks(client, receiver.url())
    good = submit(client)["leadId"]
    dq = submit(client, email="dq+disqualified@example.com", phone="(720) 555-0123")["leadId"]
    bad = submit(client, email="bad+deliveryfail@example.com", phone="(720) 555-0124")["leadId"]
    review = submit(client, campaign="U4D", email="rev@example.com", phone="(720) 555-0125")["leadId"]
    advance(client, 60)
    got = receiver.events()
    assert [e for e, lead in got if lead == good] == ["lead.queued", "lead.processed", "lead.delivered"]
    assert [e for e, lead in got if lead == dq] == ["lead.queued", "lead.processed", "lead.disqualified"]
    assert [e for e, lead in got if lead == bad] == ["lead.queued", "lead.processed", "lead.failed"]
    assert [e for e, lead in got if lead == review] == ["lead.queued", "lead.first_submission_action"]
    statuses = {(b["event"], b["leadId"]): b["status"] for b in map(lambda r: json.loads(r["body"]), receiver.requests)}
    assert statuses[("lead.processed", dq)] == "disqualified" and statuses[("lead.failed", bad)] == "failed"
    assert statuses[("lead.first_submission_action", review)] == "pending_action"


def test_lead_payload_is_the_documented_shape(client, receiver):
    tenant_hooks(client, receiver.url(), {"lead.delivered": True})
    accepted = submit(client)
    advance(client, 60)
    receiver.wait_for(1)
    request = receiver.requests[0]
    assert request["method"] == "POST" and request["headers"]["content-type"] == "application/json"
    assert json.loads(request["body"]) == {
        "event": "lead.delivered", "leadId": accepted["leadId"], "submissionId": accepted["submissionId"],
        "campaignId": "DRW", "status": "delivered", "timestamp": at(5),
        "data": {"firstName": "Jane", "lastName": "Smith", "email": "jane.smith@example.com", "phone": "+13035550199"}}
    assert list(json.loads(request["body"])) == ["event", "leadId", "submissionId", "campaignId", "status",
                                                 "timestamp", "data"]


def test_call_completed_fires_when_a_call_ends(client, receiver):
    tenant_hooks(client, receiver.url(), {"call.completed": True})
    lead_id = data(client.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": "Jane", "lastName": "Doe",
                                                      "email": "jane@example.com", "phone": "+12125550101"}))["leadId"]
    interaction_id = data(client.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id}))["interactionId"]
    advance(client, 60)
    assert receiver.requests == []  # the call is still going: nothing before a final status
    advance(client, 3600)
    receiver.wait_for(1)
    body = json.loads(receiver.requests[0]["body"])
    record = data(client.get(f"/api/v1/interactions/{interaction_id}"))
    assert body == {"event": "call.completed", "interactionId": interaction_id, "leadId": lead_id,
                    "campaignId": "HXZ", "status": "completed", "duration": record["call"]["duration"],
                    "spokenTo": record["call"]["spokenTo"], "terminationReason": record["call"]["terminationReason"],
                    "summary": record["summary"], "recordingUrl": record["call"]["recordingUrl"],
                    "timestamp": body["timestamp"]}
    assert record["status"] == "completed" and body["timestamp"] == record["updatedAt"]
    assert len(receiver.requests) == 1


def test_first_submission_action_webhook_goes_to_the_action_url(client, receiver):
    data(client.put("/_sandbox/campaigns/DRW", json={"firstSubmissionAction": {
        "type": "webhook", "url": receiver.url("/action"), "method": "PUT", "headers": {"X-Action": "yes"},
        "timeoutSeconds": 5, "retries": 0}}))
    accepted = submit(client)
    advance(client, 60)
    receiver.wait_for(1)
    request = receiver.requests[0]
    assert (request["method"], request["path"], request["headers"]["x-action"]) == ("PUT", "/action", "yes")
    assert json.loads(request["body"]) == {
        "event": "lead.first_submission_action", "leadId": accepted["leadId"],
        "submissionId": accepted["submissionId"], "campaignId": "DRW", "action": "webhook",
        "lead": {"leadId": accepted["leadId"], "firstName": "Jane", "lastName": "Smith",
                 "email": "jane.smith@example.com", "phone": "+13035550199", "status": "pending_action"},
        "timestamp": at(2)}
    record = only(client, kind="first_submission_action")
    assert (record["status"], record["retryAttempts"], record["timeoutSeconds"]) == ("delivered", 0, 5)


# --- configuration -----------------------------------------------------------------------------------

def test_campaign_config_is_shown_by_the_public_campaign_list(client, receiver):
    hooks = {"enabled": True, "url": receiver.url(), "events": {"lead.delivered": True},
             "headers": {"X-Source": "leadsail"}, "retryAttempts": 5, "timeoutSeconds": 10, "inheritFromTenant": False}
    campaign_hooks(client, "HXZ", **hooks)
    listed = data(client.get("/api/v1/campaigns", params={"limit": 100}))["campaigns"]
    assert next(c for c in listed if c["campaignId"] == "HXZ")["webhooks"] == hooks


@pytest.mark.parametrize("hooks, detail", [
    ({"url": "ftp://example.com/x"}, "webhooks.url: must be null or an absolute http:// or https:// URL"),
    ({"url": "/relative"}, "webhooks.url: must be null or an absolute http:// or https:// URL"),
    ({"retryAttempts": 0}, "webhooks.retryAttempts: must be an integer between 1 and 10"),
    ({"retryAttempts": 11}, "webhooks.retryAttempts: must be an integer between 1 and 10"),
    ({"timeoutSeconds": 121}, "webhooks.timeoutSeconds: must be an integer between 1 and 120"),
    ({"events": {"lead.exploded": True}}, "webhooks.events.lead.exploded: unknown event; expected one of "
                                          "lead.queued, lead.processed, lead.delivered, lead.disqualified, "
                                          "lead.failed, lead.first_submission_action, call.completed"),
    ({"events": {"lead.queued": "yes"}}, "webhooks.events.lead.queued: must be a boolean (true or false)"),
    ({"headers": {"X-Count": 3}}, "webhooks.headers.X-Count: must be a string without line breaks"),
    ({"headers": {"Bad Name": "x"}}, "webhooks.headers.Bad Name: is not a valid HTTP header name"),
    ({"headers": {"webhook-id": "x"}}, "webhooks.headers.webhook-id: is set by the sandbox and cannot be configured"),
    ({"enabled": "true"}, "webhooks.enabled: must be a boolean (true or false)"),
])
def test_webhook_config_is_validated_at_both_levels(client, hooks, detail):
    for response in (client.patch("/_sandbox/settings", json={"webhooks": hooks}),
                     client.put("/_sandbox/campaigns/HXZ", json={"webhooks": hooks})):
        assert error(response, 400, "VALIDATION_ERROR")["details"] == [detail]


def test_configured_headers_are_sent(client, receiver):
    tenant_hooks(client, receiver.url(), {"lead.queued": True},
                 headers={"Authorization": "Bearer s3cret", "X-Source": "leadsail"})
    submit(client)
    advance(client, 0)
    receiver.wait_for(1)
    headers = receiver.requests[0]["headers"]
    assert (headers["authorization"], headers["x-source"]) == ("Bearer s3cret", "leadsail")
    assert headers["webhook-id"].startswith("whd_") and headers["webhook-timestamp"] == str(int(START.timestamp()))
    assert "webhook-signature" not in headers  # no secret, no signature (G54)


def test_campaign_url_and_headers_win_for_the_events_it_subscribes(client, receiver):
    tenant_hooks(client, receiver.url("/tenant"), {"lead.queued": True, "lead.delivered": True},
                 headers={"X-Who": "tenant"})
    # HXZ inherits (default) and overrides lead.delivered only; DRW has no campaign config.
    campaign_hooks(client, "HXZ", enabled=True, url=receiver.url("/campaign"), events={"lead.delivered": True},
                   headers={"X-Who": "campaign"})
    hxz = submit(client, campaign="HXZ", questionnaire={"vehicle_year": 2019})["leadId"]
    drw = submit(client, email="other@example.com", phone="(720) 555-0130")["leadId"]
    advance(client, 60)
    routed = {(json.loads(r["body"])["event"], json.loads(r["body"])["leadId"]): (r["path"], r["headers"]["x-who"])
              for r in receiver.requests}
    assert routed == {("lead.queued", hxz): ("/tenant", "tenant"), ("lead.delivered", hxz): ("/campaign", "campaign"),
                      ("lead.queued", drw): ("/tenant", "tenant"), ("lead.delivered", drw): ("/tenant", "tenant")}
    assert len(receiver.requests) == 4  # one delivery per event: the campaign replaces, never adds
    assert {d["source"] for d in deliveries(client, leadId=hxz)} == {"tenant", "campaign"}


def test_a_campaign_that_does_not_inherit_uses_only_its_own_config(client, receiver):
    tenant_hooks(client, receiver.url("/tenant"), {"lead.queued": True, "lead.delivered": True})
    campaign_hooks(client, "DRW", enabled=True, url=receiver.url("/campaign"), events={"lead.delivered": True},
                   inheritFromTenant=False)
    lead_id = submit(client)["leadId"]
    advance(client, 60)
    assert [(r["path"], json.loads(r["body"])["event"]) for r in receiver.requests] == [("/campaign", "lead.delivered")]
    campaign_hooks(client, "DRW", enabled=False)  # disabled and not inheriting: nothing at all
    submit(client, email="x@example.com", phone="(720) 555-0131")
    advance(client, 60)
    assert len(receiver.requests) == 1 and deliveries(client)[0]["leadId"] == lead_id


def test_a_disabled_tenant_config_sends_nothing(client, receiver):
    tenant_hooks(client, receiver.url(), enabled=False)
    submit(client)
    advance(client, 60)
    assert receiver.requests == [] and deliveries(client) == []


# --- delivery: retries, timeout, final state ------------------------------------------------------------

def test_retries_follow_the_backoff_schedule_on_the_clock(client, receiver):
    tenant_hooks(client, receiver.url("/fail"), {"lead.queued": True}, retryAttempts=3)
    submit(client)
    advance(client, 0)
    record = only(client)
    assert (record["status"], record["attemptCount"], record["nextAttemptAt"]) == ("pending", 1, at(30))
    advance(client, 29)
    assert len(receiver.requests) == 1  # not due yet
    advance(client, 1)
    advance(client, 60)
    advance(client, 119)
    assert len(receiver.requests) == 3 and only(client)["nextAttemptAt"] == at(210)
    advance(client, 1)
    record = only(client)
    assert len(receiver.requests) == 4
    assert [(a["attempt"], a["trigger"], a["at"], a["status"], a["nextRetryAt"]) for a in record["attempts"]] == [
        (1, "initial", at(0), "failed", at(30)), (2, "retry", at(30), "failed", at(90)),
        (3, "retry", at(90), "failed", at(210)), (4, "retry", at(210), "failed", None)]
    assert (record["status"], record["nextAttemptAt"]) == ("failed", None)
    assert record["attempts"][0]["response"] == {"status": 500, "bodyExcerpt": "receiver says no"}
    advance(client, 86400)
    assert len(receiver.requests) == 4  # failed is final: no more tries


def test_one_advance_plays_out_every_retry(client, receiver):
    tenant_hooks(client, receiver.url("/fail"), {"lead.queued": True}, retryAttempts=3)
    submit(client)
    ran = advance(client, 1000)
    attempts = [e for entry in ran["ran"] if entry["job"] == "webhook.attempt" for e in entry["effects"]]
    assert [(e["attempt"], e["status"], e["responseStatus"]) for e in attempts] == [
        (1, "retrying", 500), (2, "retrying", 500), (3, "retrying", 500), (4, "failed", 500)]
    assert [a["at"] for a in only(client)["attempts"]] == [at(0), at(30), at(90), at(210)]


def test_the_timeout_is_honoured(client, receiver):
    tenant_hooks(client, receiver.url("/hang"), {"lead.queued": True}, timeoutSeconds=1, retryAttempts=1)
    submit(client)
    started = time.perf_counter()
    advance(client, 0)
    waited = time.perf_counter() - started
    attempt = only(client)["attempts"][0]
    assert attempt["status"] == "failed" and attempt["response"] is None
    assert attempt["error"] == "timeout: no complete answer within 1 s"
    # Bounds, not a benchmark: the attempt gave up near 1 s, well before the receiver's 5 s answer.
    assert 900 <= attempt["latencyMs"] < 4000 and waited < 4
    advance(client, 30)
    record = only(client)
    assert record["status"] == "failed" and [a["status"] for a in record["attempts"]] == ["failed", "failed"]


def test_an_unreachable_receiver_is_a_failed_attempt_with_the_reason(client, receiver):
    url = receiver.url("/hook")
    receiver.close()
    tenant_hooks(client, url, {"lead.queued": True}, retryAttempts=1)
    submit(client)
    advance(client, 0)
    attempt = only(client)["attempts"][0]
    assert attempt["response"] is None and attempt["error"].startswith("connection failed")


def test_delivery_records_every_attempt_in_full(client, receiver):
    tenant_hooks(client, receiver.url("/flaky"), {"lead.queued": True}, retryAttempts=2, headers={"X-A": "1"})
    accepted = submit(client)
    advance(client, 0)
    receiver.flaky_status = 200
    advance(client, 30)
    record = only(client)
    assert {k: record[k] for k in ("kind", "event", "status", "url", "method", "leadId", "campaignId", "attemptCount",
                                   "retryAttempts", "timeoutSeconds", "nextAttemptAt", "createdAt")} == {
        "kind": "webhook", "event": "lead.queued", "status": "delivered", "url": receiver.url("/flaky"),
        "method": "POST", "leadId": accepted["leadId"], "campaignId": "DRW", "attemptCount": 2, "retryAttempts": 2,
        "timeoutSeconds": 30, "nextAttemptAt": None, "createdAt": at(0)}
    first, second = record["attempts"]
    assert first["request"]["headers"]["X-A"] == "1" and first["request"]["url"] == receiver.url("/flaky")
    assert first["request"]["body"] == receiver.requests[0]["body"].decode() == second["request"]["body"]
    assert first["response"]["status"] == 500 and second["response"] == {"status": 200, "bodyExcerpt": '{"ok":true}'}
    assert first["nextRetryAt"] == at(30) and second["nextRetryAt"] is None and second["latencyMs"] > 0
    # the same id on every attempt: receivers deduplicate on it
    assert receiver.requests[0]["headers"]["webhook-id"] == receiver.requests[1]["headers"]["webhook-id"] \
        == record["deliveryId"]


def test_many_events_at_once_are_all_delivered_exactly_once(client, receiver):
    tenant_hooks(client, receiver.url())
    leads = [submit(client, email=f"bulk{i}@example.com", phone=f"(720) 555-{1000 + i}")["leadId"] for i in range(50)]
    advance(client, 60)
    got = receiver.events()
    expected = {(event, lead) for lead in leads for event in ("lead.queued", "lead.processed", "lead.delivered")}
    assert len(got) == 150 and set(got) == expected
    assert {d["status"] for d in deliveries(client)} == {"delivered"}
    # per URL, events leave in the order they came due
    for lead in leads[:5]:
        assert [e for e, who in got if who == lead] == ["lead.queued", "lead.processed", "lead.delivered"]


# --- the API stays fast ----------------------------------------------------------------------------------

def _timed_submit(client, **extra) -> float:
    started = time.perf_counter()
    submit(client, **extra)
    return time.perf_counter() - started


def test_a_hanging_receiver_does_not_slow_submit_in_realtime(client, receiver):
    tenant_hooks(client, receiver.url("/hang"), {"lead.queued": True}, timeoutSeconds=10)
    data(client.put("/_sandbox/clock", json={"mode": "realtime"}))
    submit(client)
    receiver.wait_for(1)  # the background sender is now stuck on the hanging receiver
    # If sending blocked the event loop this would take ~5 s (the hang); 1 s only detects blocking,
    # it is not a speed claim (CI machines vary, so the bound is generous).
    assert _timed_submit(client, email="second@example.com", phone="(720) 555-0140") < 1
    assert data(client.get("/_sandbox/webhooks/deliveries"))["deliveries"][-1]["status"] == "delivering"


@pytest.mark.memory_store_only("a durable store serialises a tenant's requests (one transaction each), so "
                                "the tenant's next request waits for the advance; other tenants do not")
def test_an_advance_waiting_for_a_hanging_receiver_does_not_block_other_requests(client, receiver):
    tenant_hooks(client, receiver.url("/hang"), {"lead.queued": True}, timeoutSeconds=2, retryAttempts=1)
    submit(client)
    waiting = threading.Thread(target=advance, args=(client, 0))
    waiting.start()
    receiver.wait_for(1)
    assert _timed_submit(client, email="third@example.com", phone="(720) 555-0141") < 1  # see above
    waiting.join(10)
    assert not waiting.is_alive()
    assert only(client, leadId=deliveries(client)[-1]["leadId"])["attempts"][0]["error"].startswith("timeout")


# --- signing ------------------------------------------------------------------------------------------------

def test_signature_verifies_and_fails_when_tampered(client, receiver):
    data(client.patch("/_sandbox/settings", json={"webhookSecret": SECRET}))
    tenant_hooks(client, receiver.url(), {"lead.queued": True})
    submit(client)
    advance(client, 0)
    receiver.wait_for(1)
    headers, body = receiver.requests[0]["headers"], receiver.requests[0]["body"]
    assert headers["webhook-signature"].startswith("v1,")
    assert readme_verify(SECRET, headers, body)
    assert not readme_verify(SECRET, headers, body.replace(b"Jane", b"Joan"))
    assert not readme_verify(SECRET, {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)}, body)
    assert not readme_verify(SECRET, {**headers, "webhook-id": "whd_other"}, body)
    assert not readme_verify("whsec_" + base64.b64encode(b"x" * 24).decode(), headers, body)


@pytest.mark.parametrize("secret", ["plain", "whsec_***", "whsec_" + base64.b64encode(b"short").decode(), 42])
def test_a_bad_signing_secret_is_refused(client, secret):
    details = error(client.patch("/_sandbox/settings", json={"webhookSecret": secret}), 400, "VALIDATION_ERROR")["details"]
    assert len(details) == 1 and details[0].startswith("webhookSecret: ")


def test_a_null_secret_switches_signing_off(client, receiver):
    data(client.patch("/_sandbox/settings", json={"webhookSecret": SECRET}))
    data(client.patch("/_sandbox/settings", json={"webhookSecret": None}))
    tenant_hooks(client, receiver.url(), {"lead.queued": True})
    submit(client)
    advance(client, 0)
    receiver.wait_for(1)
    assert "webhook-signature" not in receiver.requests[0]["headers"]


# --- replay, test events, fault switches ----------------------------------------------------------------------

def test_replay_sends_a_failed_delivery_again(client, receiver):
    tenant_hooks(client, receiver.url("/flaky"), {"lead.queued": True}, retryAttempts=1)
    submit(client)
    advance(client, 60)
    record = only(client)
    assert record["status"] == "failed" and len(receiver.requests) == 2
    receiver.flaky_status = 200
    replayed = data(client.post(f"/_sandbox/webhooks/deliveries/{record['deliveryId']}/replay"))
    assert replayed["status"] == "delivered" and len(receiver.requests) == 3
    last = replayed["attempts"][-1]
    assert (last["attempt"], last["trigger"], last["status"], last["at"]) == (3, "replay", "succeeded", at(60))
    assert receiver.requests[2]["body"] == receiver.requests[0]["body"]
    assert receiver.requests[2]["headers"]["webhook-id"] == record["deliveryId"]
    # a delivered delivery can be replayed too; an unknown one is a 404
    assert data(client.post(f"/_sandbox/webhooks/deliveries/{record['deliveryId']}/replay"))["attemptCount"] == 4
    error(client.post("/_sandbox/webhooks/deliveries/whd_nope/replay"), 404, "NOT_FOUND")


def test_replay_of_a_pending_delivery_is_refused(client, receiver):
    tenant_hooks(client, receiver.url("/fail"), {"lead.queued": True})
    submit(client)
    record = deliveries(client)[0]
    assert record["status"] == "pending"
    details = error(client.post(f"/_sandbox/webhooks/deliveries/{record['deliveryId']}/replay"),
                    400, "VALIDATION_ERROR")["details"]
    assert details == [f"status: delivery {record['deliveryId']} is 'pending'; "
                       "only a delivered or failed delivery can be replayed"]


def test_a_test_event_is_sent_at_once(client, receiver):
    sent = data(client.post("/_sandbox/webhooks/test", json={"url": receiver.url("/t"), "event": "lead.failed",
                                                              "headers": {"X-T": "1"}}))
    assert (sent["kind"], sent["status"], sent["attemptCount"], sent["source"]) == ("test", "delivered", 1, "control_plane")
    body = json.loads(receiver.requests[0]["body"])
    assert body == {"event": "lead.failed", "leadId": "lead_abc123", "submissionId": "sub_xyz789", "campaignId": "ABC",
                    "status": "failed", "timestamp": at(0),
                    "data": {"firstName": "John", "lastName": "Doe", "email": "john@example.com", "phone": "+15551234567"}}
    assert receiver.requests[0]["headers"]["x-t"] == "1"
    assert advance(client, 60)["ran"] == []  # nothing left on the clock for it
    details = error(client.post("/_sandbox/webhooks/test", json={"url": "nope", "event": "lead.nope"}),
                    400, "VALIDATION_ERROR")["details"]
    assert details[0] == "url: must be an absolute http:// or https:// URL" and details[1].startswith("event: must be one of")


def test_duplicates_only_when_switched_on(client, receiver):
    tenant_hooks(client, receiver.url(), {"lead.queued": True})
    submit(client)
    advance(client, 0)
    assert len(receiver.requests) == 1
    assert data(client.put("/_sandbox/webhooks/faults", json={"duplicate": True})) == \
        {"duplicate": True, "outOfOrder": False, "extraDelaySeconds": 0}
    submit(client, email="dup@example.com", phone="(720) 555-0150")
    advance(client, 0)
    assert len(receiver.requests) == 3
    second, third = receiver.requests[1:]
    assert second["body"] == third["body"] and second["headers"]["webhook-id"] == third["headers"]["webhook-id"]
    record = delivery(client, second["headers"]["webhook-id"])
    assert [(a["trigger"], a["status"]) for a in record["attempts"]] == [("initial", "succeeded"), ("duplicate", "succeeded")]
    assert record["status"] == "delivered"


def test_extra_delay_and_out_of_order(client, receiver):
    tenant_hooks(client, receiver.url(), {"lead.queued": True})
    data(client.put("/_sandbox/webhooks/faults", json={"extraDelaySeconds": 100}))
    submit(client)
    advance(client, 99)
    assert receiver.requests == []
    advance(client, 1)
    assert len(receiver.requests) == 1
    data(client.put("/_sandbox/webhooks/faults", json={"outOfOrder": True}))  # extra delay is back to 0
    leads = [submit(client, email=f"o{i}@example.com", phone=f"(720) 555-{2000 + i}")["leadId"] for i in range(8)]
    advance(client, 60)
    arrived = [lead for _event, lead in receiver.events()[1:]]
    assert sorted(arrived) == sorted(leads) and arrived != leads  # all there, shuffled (seeded)
    error(client.put("/_sandbox/webhooks/faults", json={"extraDelaySeconds": 3601}), 400, "VALIDATION_ERROR")


def test_deliveries_filter_and_stay_per_tenant(client, other, receiver):
    tenant_hooks(client, receiver.url())
    good = submit(client)["leadId"]
    submit(client, email="bad+deliveryfail@example.com", phone="(720) 555-0160")
    advance(client, 60)
    assert len(deliveries(client)) == 6
    assert [d["event"] for d in deliveries(client, leadId=good)] == ["lead.delivered", "lead.processed", "lead.queued"]
    assert [d["leadId"] for d in deliveries(client, event="lead.failed")] != [good]
    assert len(deliveries(client, campaignId="DRW", kind="webhook", status="delivered")) == 6
    assert deliveries(client, status="failed") == [] and deliveries(client, kind="sms_agent") == []
    error(client.get("/_sandbox/webhooks/deliveries", params={"status": "lost"}), 400, "VALIDATION_ERROR")
    assert deliveries(other) == []
    error(other.get(f"/_sandbox/webhooks/deliveries/{deliveries(client)[0]['deliveryId']}"), 404, "NOT_FOUND")


# --- the sink -------------------------------------------------------------------------------------------------

def test_the_sink_records_what_the_sandbox_sends_it(client, app):
    tenant_hooks(client, f"{SINK}/t-demo", {"lead.queued": True})
    accepted = submit(client)
    advance(client, 0)
    with TestClient(app) as anonymous:  # reading a sink needs no key
        seen = data(anonymous.get("/_sandbox/sink/t-demo"))
    assert seen["count"] == 1 and seen["requests"][0]["json"]["leadId"] == accepted["leadId"]
    assert seen["requests"][0]["headers"]["webhook-id"] == deliveries(client)[0]["deliveryId"]
    assert data(client.delete("/_sandbox/sink/t-demo")) == {"name": "t-demo", "cleared": 1}
    assert data(client.get("/_sandbox/sink/t-demo"))["count"] == 0


def test_the_sink_can_force_a_status_to_show_retries(client):
    sent = data(client.post("/_sandbox/webhooks/test", json={"url": f"{SINK}/t-fail?status=503"}))
    assert sent["status"] == "failed" and sent["attempts"][0]["response"]["status"] == 503
    assert data(client.get("/_sandbox/sink/t-fail"))["requests"][0]["query"] == "status=503"
    error(client.get("/_sandbox/sink/bad name"), 400, "VALIDATION_ERROR")


# --- strict mode ------------------------------------------------------------------------------------------------

ADMIN = {"X-Admin-Key": "admin-secret"}


@pytest.fixture
def strict_client():
    app = create_app(Settings(validate_responses=True, strict=True, admin_key="admin-secret"))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        data(test_client.post("/_sandbox/admin/keys", json={"key": "partner-key-1"}, headers=ADMIN))
        test_client.headers["X-API-Key"] = "partner-key-1"
        yield test_client


def test_strict_mode_refuses_loopback_until_the_admin_allows_it(strict_client, receiver):
    client = strict_client
    tenant_hooks(client, receiver.url(), {"lead.queued": True}, retryAttempts=3)
    submit(client)
    advance(client, 0)
    record = only(client)
    assert receiver.requests == [] and record["status"] == "failed" and record["attemptCount"] == 1
    assert record["attempts"][0]["status"] == "refused"
    assert record["attempts"][0]["error"].startswith("target refused (strict mode): 127.0.0.1 is 127.0.0.1, a loopback")
    error(client.put("/_sandbox/admin/webhooks", json={"allowPrivateTargets": True}), 401, "UNAUTHORIZED")
    policy = data(client.put("/_sandbox/admin/webhooks", json={"allowPrivateTargets": True}, headers=ADMIN))
    assert policy == {"allowPrivateTargets": True, "deliveriesPerMinute": 60, "strict": True}
    assert data(client.post(f"/_sandbox/webhooks/deliveries/{record['deliveryId']}/replay"))["status"] == "delivered"
    assert len(receiver.requests) == 1


def test_strict_mode_allows_the_sink_but_no_other_sandbox_path(strict_client):
    sent = data(strict_client.post("/_sandbox/webhooks/test", json={"url": f"{SINK}/strict-demo"}))
    assert sent["status"] == "delivered"
    sent = data(strict_client.post("/_sandbox/webhooks/test", json={"url": "http://127.0.0.1:8000/_sandbox/reset"}))
    assert sent["status"] == "failed" and sent["attempts"][0]["error"].startswith("target refused (strict mode)")


def test_strict_mode_caps_deliveries_per_minute_and_defers_the_rest(strict_client):
    client = strict_client
    data(client.put("/_sandbox/admin/webhooks", json={"deliveriesPerMinute": 2}, headers=ADMIN))
    tenant_hooks(client, f"{SINK}/strict-cap", {"lead.queued": True})
    for i in range(4):
        submit(client, email=f"cap{i}@example.com", phone=f"(720) 555-{3000 + i}")
    ran = advance(client, 0)
    effects = [e for entry in ran["ran"] for e in entry["effects"]]
    assert [e.get("status", "deferred" if "deferred" in e else None) for e in effects] == \
        ["delivered", "delivered", "deferred", "deferred"]
    waiting = deliveries(client, status="pending")
    assert len(waiting) == 2 and {d["nextAttemptAt"] for d in waiting} == {at(60)}
    assert {d["attemptCount"] for d in waiting} == {0}  # deferred, not spent
