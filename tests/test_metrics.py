"""GET /_sandbox/metrics (Prometheus text format, one registry per app) and ``--access-log json``."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from sandbox import metrics
from sandbox.app import create_app
from sandbox.cli import parse_args, settings_from
from sandbox.settings import Settings, from_sources
from tests.conftest import API_KEY, advance, data, error

SINK = "http://127.0.0.1:8000/_sandbox/sink"   # the sandbox's own origin (Settings default): answered in process
PLAIN_PHONE = "+12125557788"                    # New York, no scenario: inside calling hours at the default start


def scrape(app) -> tuple[str, dict]:
    """The metrics text, and its samples as {(name, ((label, value), ...)): value}."""
    with TestClient(app) as anonymous:  # no key needed
        response = anonymous.get("/_sandbox/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return response.text, samples


def value(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def make_lead(client, **extra) -> str:
    body = {"campaignId": "HXZ", "firstName": "Jane", "lastName": "Doe", "email": "jane@example.com",
            "phone": PLAIN_PHONE, **extra}
    return data(client.post("/api/v1/leads", json=body))["leadId"]


def test_requests_calls_dialer_refusals_and_webhook_attempts_are_counted(app, client):
    data(client.get("/api/v1/leads?limit=1"))                                   # listLeads 200
    error(client.get("/api/v1/leads?limit=abc"), 400, "VALIDATION_ERROR")       # listLeads 400
    error(client.get("/api/v1/leads/lead_missing"), 404, "NOT_FOUND")           # getLead 404
    error(client.get("/api/v1/leads", headers={"X-API-Key": ""}), 401, "UNAUTHORIZED")  # listLeads 401
    assert client.get("/no/such/route").status_code == 404                      # unmatched 404

    called = make_lead(client)
    data(client.put(f"/_sandbox/leads/{called}/next-outcome", json={"outcome": "voicemail"}))
    data(client.post("/api/v1/voice/calls/initiate", json={"leadId": called}))
    _, placed = scrape(app)
    assert value(placed, "leadsail_sandbox_jobs_pending", kind="call.answer") == 1
    assert value(placed, "leadsail_sandbox_jobs_due", kind="call.answer") is None  # a manual clock: not due yet
    advance(client, 900)                                                         # answered, left a message, hung up

    refused = make_lead(client)
    data(client.patch(f"/api/v1/leads/{refused}", json={"status": "delivered"}))
    assert error(client.post("/api/v1/voice/calls/initiate", json={"leadId": refused}), 400,
                 "VALIDATION_ERROR")["details"] == ["excludedStatus: lead status 'delivered' is excluded"]

    sent = data(client.post("/_sandbox/webhooks/test", json={"url": f"{SINK}/metrics-test"}))
    assert sent["attempts"][-1]["status"] == "succeeded"
    failed = data(client.post("/_sandbox/webhooks/test", json={"url": f"{SINK}/metrics-test?status=503"}))
    assert failed["attempts"][-1]["status"] == "failed"

    text, samples = scrape(app)
    requests = "leadsail_sandbox_requests_total"
    assert value(samples, requests, operation="listLeads", status="200") == 1
    assert value(samples, requests, operation="listLeads", status="400") == 1
    assert value(samples, requests, operation="listLeads", status="401") == 1
    assert value(samples, requests, operation="getLead", status="404") == 1
    assert value(samples, requests, operation="unmatched", status="404") == 1
    assert value(samples, requests, operation="initiateCall", status="200") == 1
    assert value(samples, requests, operation="initiateCall", status="400") == 1
    assert value(samples, requests, operation="receiveSink", status="200") == 1  # the sends, in process
    assert value(samples, requests, operation="receiveSink", status="503") == 1
    assert value(samples, requests, operation="getMetrics", status="200") == 1   # the first scrape
    assert not [labels for name, labels in samples if name == requests and "/" in dict(labels)["operation"]]

    latency = "leadsail_sandbox_request_duration_seconds"
    assert value(samples, f"{latency}_count", operation="listLeads") == 3
    assert value(samples, f"{latency}_bucket", operation="listLeads", le="+Inf") == 3
    buckets = sorted((float(dict(labels)["le"]), count) for (name, labels), count in samples.items()
                     if name == f"{latency}_bucket" and dict(labels)["operation"] == "listLeads")
    assert [count for _, count in buckets] == sorted(count for _, count in buckets)  # cumulative
    assert 0 < value(samples, f"{latency}_sum", operation="listLeads") < 10

    assert value(samples, "leadsail_sandbox_tenants") == 1       # the key-less requests opened none
    assert value(samples, "leadsail_sandbox_jobs_pending", kind="call.answer") is None  # played out
    assert value(samples, "leadsail_sandbox_calls_ended_total", outcome="voicemail", source="api") == 1
    assert value(samples, "leadsail_sandbox_dialer_refusals_total", rule="excludedStatus", source="api") == 1
    assert value(samples, "leadsail_sandbox_webhook_attempts_total", result="succeeded", kind="test") == 1
    assert value(samples, "leadsail_sandbox_webhook_attempts_total", result="failed", kind="test") == 1
    assert value(samples, "process_resident_memory_bytes") > 0
    assert API_KEY not in text


def test_the_auto_dialer_counts_its_refusals_and_its_calls(app, client):
    lead_id = make_lead(client)
    data(client.put(f"/_sandbox/leads/{lead_id}/next-outcome", json={"outcome": "no_answer"}))
    assert data(client.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": [lead_id]}))["succeeded"] == 1
    advance(client, 600)  # placed at once, not answered; its retry waits for the 60-minute gap
    closed = {"operatingHours": {"start": "00:00", "end": "00:01"}}
    data(client.put("/_sandbox/campaigns/HXZ", json={"name": "HXZ", "clientId": "cli_acme", "offerId": "off_auto",
                                                     "voiceAgentId": "agent_ava", "autoDialer": closed}))
    advance(client, 3 * 3600)  # the retry comes due outside the hours now configured: refused, re-queued
    _, samples = scrape(app)
    assert value(samples, "leadsail_sandbox_calls_ended_total", outcome="no_answer", source="auto_dialer") == 1
    assert value(samples, "leadsail_sandbox_dialer_refusals_total", rule="operatingHours", source="auto_dialer") == 1
    assert value(samples, "leadsail_sandbox_jobs_pending", kind="dialer.attempt") == 1


def test_calls_played_out_by_the_real_time_ticker_are_counted():
    """No request runs the jobs here: the app's ticker does, in its own task."""
    app = create_app(Settings(clock_mode="realtime", speed=10000))
    with TestClient(app) as client:
        client.headers["X-API-Key"] = API_KEY
        lead_id = make_lead(client)
        data(client.put(f"/_sandbox/leads/{lead_id}/next-outcome", json={"outcome": "busy"}))
        data(client.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id}))
        deadline = time.monotonic() + 10
        while True:
            _, samples = scrape(app)  # no key: catches no tenant up
            if value(samples, "leadsail_sandbox_calls_ended_total", outcome="busy", source="api") or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert value(samples, "leadsail_sandbox_calls_ended_total", outcome="busy", source="api") == 1


def test_two_apps_in_one_process_keep_their_own_metrics():
    first, second = create_app(Settings()), create_app(Settings())
    with TestClient(first) as client:
        data(client.get("/api/v1/leads?limit=1", headers={"X-API-Key": API_KEY}))
    _, samples = scrape(second)
    assert value(samples, "leadsail_sandbox_requests_total", operation="listLeads", status="200") is None
    assert value(samples, "leadsail_sandbox_tenants") == 0


def test_the_operation_cache_stays_bounded():
    seen = metrics.Metrics(lambda method, path: "getLead" if path.startswith("/api/v1/leads/") else None, list)
    for number in range(metrics.OPERATION_CACHE_SIZE + 10):
        assert seen.operation("GET", f"/api/v1/leads/lead_{number}") == "getLead"
    assert seen.operation("GET", "/favicon.ico") == metrics.UNMATCHED
    assert len(seen._operations) <= metrics.OPERATION_CACHE_SIZE


def test_domain_events_outside_an_app_are_not_counted_anywhere():
    assert metrics.current() is None
    metrics.call_ended("completed", "api")  # a service called directly (unit tests): no app, no error


# --- the access log --------------------------------------------------------------------------------------------

@pytest.fixture
def access_lines(capsys):
    """What the access log wrote to stdout, one string per line, read when called."""
    capsys.readouterr()
    return lambda: capsys.readouterr().out.splitlines()


def short_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def test_the_access_log_writes_one_json_line_per_request_without_keys(access_lines):
    app = create_app(Settings(validate_responses=True, access_log="json"))
    with TestClient(app) as client:
        client.headers["X-API-Key"] = API_KEY
        data(client.get("/api/v1/leads?limit=1"))
        error(client.get("/api/v1/leads/lead_missing"), 404, "NOT_FOUND")
        error(client.get("/api/v1/leads", headers={"X-API-Key": ""}), 401, "UNAUTHORIZED")
        client.get("/_sandbox/metrics")
    lines = access_lines()
    assert len(lines) == 4
    entries = [json.loads(line) for line in lines]
    for entry in entries:
        assert list(entry) == ["time", "tenant", "operation", "method", "status", "latencyMs"]
        assert entry["time"].endswith("Z") and datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
        assert entry["method"] == "GET" and entry["latencyMs"] >= 0
    assert [(e["tenant"], e["operation"], e["status"]) for e in entries] == [
        (short_hash(API_KEY), "listLeads", 200), (short_hash(API_KEY), "getLead", 404),
        (None, "listLeads", 401), (short_hash(API_KEY), "getMetrics", 200)]
    assert not [line for line in lines if API_KEY in line]


def test_strict_mode_logs_the_issued_keys_label(access_lines):
    app = create_app(Settings(validate_responses=True, access_log="json", strict=True, admin_key="admin-key-123"))
    with TestClient(app) as client:
        issued = data(client.post("/_sandbox/admin/keys", json={"label": "partner-acme"},
                                  headers={"X-Admin-Key": "admin-key-123"}))["key"]
        data(client.get("/api/v1/leads?limit=1", headers={"X-API-Key": issued}))
        error(client.get("/api/v1/leads?limit=1", headers={"X-API-Key": "never-issued-key"}), 401, "UNAUTHORIZED")
        text, _ = scrape(app)
    lines = access_lines()
    entries = [json.loads(line) for line in lines]
    assert [(e["tenant"], e["status"]) for e in entries[1:3]] == [("partner-acme", 200),
                                                                   (short_hash("never-issued-key"), 401)]
    assert not [line for line in lines + [text] if issued in line or "never-issued-key" in line
                or "admin-key-123" in line]


def test_the_access_log_is_off_by_default_and_set_by_flag_or_env(access_lines, monkeypatch):
    app = create_app(Settings())
    with TestClient(app) as client:
        client.get("/api/v1/leads?limit=1", headers={"X-API-Key": API_KEY})
    assert access_lines() == [] and app.access_log is None
    monkeypatch.delenv("SANDBOX_ACCESS_LOG", raising=False)
    assert settings_from(parse_args([])).access_log == "off"
    assert settings_from(parse_args(["--access-log", "json"])).access_log == "json"
    assert from_sources({}, environ={"SANDBOX_ACCESS_LOG": "JSON"}).access_log == "json"
    with pytest.raises(ValueError, match="SANDBOX_ACCESS_LOG"):
        from_sources({}, environ={"SANDBOX_ACCESS_LOG": "yes"})
    with pytest.raises(SystemExit):
        parse_args(["--access-log", "text"])
