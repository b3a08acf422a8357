"""sandbox.client against a sandbox on a real loopback port (manual clock, open mode; one strict one).

Each test is its own tenant (its own key) on one server per module, and points webhooks at the
built-in sink under a name of its own.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from sandbox.client import (
    SandboxAPIError, SandboxClient, SandboxConnectionError, SandboxError, WaitTimeout, instant,
)
from tests.devtools.live_sandbox import ADMIN_KEY, serve
from tests.processes import free_port

PLAIN_PHONE = "+12125557788"          # New York, no scenario number
HXZ_NUMBER = "+18335645667"           # HXZ's own number (SMS and voice)
INBOUND_AGENT_NUMBER = "+18335645670"  # agent_max answers inbound calls here
START = "2026-01-15T15:00:00Z"


@pytest.fixture(scope="module")
def base_url():
    with serve() as url:
        yield url


@pytest.fixture
def sb(base_url):
    with SandboxClient(base_url, f"client-{uuid.uuid4().hex[:12]}", admin_key=ADMIN_KEY) as client:
        yield client


def make_lead(sb: SandboxClient, campaign: str = "HXZ", phone: str = PLAIN_PHONE) -> str:
    body = {"campaignId": campaign, "firstName": "Jane", "lastName": "Doe", "email": "jane@example.com",
            "phone": phone}
    response = sb.api.post("/api/v1/leads", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]["leadId"]


def hook_campaign_to_sink(sb: SandboxClient, sink: str, campaign: str = "HXZ", *events: str) -> str:
    url = sb.webhooks.sink_url(sink)
    sb.campaigns.update(campaign, webhooks={"enabled": True, "url": url,
                                            "events": {e: True for e in events or ("call.completed",)}})
    return url


# --- plumbing ---------------------------------------------------------------------------------------

def test_info_needs_no_key_and_names_the_mode(sb):
    assert sb.info() == {"service": "leadsail-sandbox", "version": sb.info()["version"], "mode": "open"}


def test_api_is_an_httpx_client_with_the_key_and_base_url(sb, base_url):
    assert isinstance(sb.api, httpx.Client) and sb.api.headers["X-API-Key"] == sb.api_key
    assert str(sb.api.base_url).rstrip("/") == base_url
    leads = sb.api.get("/api/v1/leads", params={"limit": 2}).json()["data"]["leads"]
    assert len(leads) == 2


def test_a_refusal_raises_with_status_code_message_and_details(sb):
    with pytest.raises(SandboxAPIError) as caught:
        sb.clock.jump("2026-01-01T00:00:00Z")
    error = caught.value
    assert (error.status, error.code, error.message) == (400, "VALIDATION_ERROR", "Invalid input data")
    assert error.details == [f"now: 2026-01-01T00:00:00Z is before the tenant's current time {START}"]
    assert str(error) == error.one_line() == "VALIDATION_ERROR: Invalid input data; " + error.details[0]
    with pytest.raises(SandboxAPIError) as missing:
        sb.dialer.check("lead_nope")
    assert (missing.value.status, missing.value.code, missing.value.details) == (404, "NOT_FOUND", [])


def test_an_unreachable_sandbox_raises_a_connection_error():
    with SandboxClient(f"http://127.0.0.1:{free_port()}", "k", timeout=5) as sb:
        with pytest.raises(SandboxConnectionError, match="cannot reach .*refused"):
            sb.info()


def test_strict_mode_refuses_a_key_it_did_not_issue():
    with serve(strict=True) as url:
        with SandboxClient(url, "not-issued", admin_key=ADMIN_KEY) as sb:
            with pytest.raises(SandboxAPIError) as caught:
                sb.clock.get()
            assert (caught.value.status, caught.value.code) == (401, "UNAUTHORIZED")
            issued = sb.keys.issue(label="ci", key="strict-ci-key-1")
            assert issued == {"key": "strict-ci-key-1", "label": "ci"}
        with SandboxClient(url, "strict-ci-key-1") as allowed:
            assert allowed.clock.get()["now"] == START


def test_instant_accepts_short_and_naive_forms():
    assert instant("2026-01-16T15:00Z") == "2026-01-16T15:00:00Z"
    assert instant("2026-01-16T10:00:00-05:00") == "2026-01-16T15:00:00Z"
    assert instant("2026-01-16T15:00:00") == "2026-01-16T15:00:00Z"
    assert instant("tomorrow") == "tomorrow"   # the sandbox refuses it in its own words


# --- clock -----------------------------------------------------------------------------------------

def test_clock_get_advance_jump_and_mode(sb):
    assert sb.clock.get() == {"mode": "manual", "speed": 1.0, "now": START, "pendingJobs": 0, "nextDueAt": None}
    assert sb.clock.advance(minutes=15) == {"now": "2026-01-15T15:15:00Z", "ran": []}
    assert sb.clock.advance(seconds=30, minutes=1)["now"] == "2026-01-15T15:16:30Z"
    assert sb.clock.advance(hours=1, summary=True) == {"now": "2026-01-15T16:16:30Z", "ranCount": 0, "byKind": {}}
    assert sb.clock.advance(to="2026-01-15T17:00Z")["now"] == "2026-01-15T17:00:00Z"
    jumped = sb.clock.jump("2026-01-16T15:00Z")
    assert jumped["now"] == "2026-01-16T15:00:00Z" and jumped["ran"] == [] and jumped["mode"] == "manual"
    running = sb.clock.set_mode("realtime", speed=2)
    assert (running["mode"], running["speed"]) == ("realtime", 2)
    assert sb.clock.set_mode("manual")["mode"] == "manual"
    with pytest.raises(ValueError):
        sb.clock.advance()
    with pytest.raises(ValueError):
        sb.clock.advance(seconds=1, to=START)
    with pytest.raises(ValueError):
        sb.clock.set_mode()


def test_step_runs_exactly_the_next_due_job(sb):
    assert sb.clock.step() is None  # nothing pending
    lead_id = make_lead(sb)
    sb.force_next_outcome(lead_id, "voicemail")  # answered: a call.answer, then a call.end
    placed = sb.api.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id}).json()["data"]
    due = sb.clock.get()["nextDueAt"]
    stepped = sb.clock.step()
    assert stepped["now"] == due and [job["job"] for job in stepped["ran"]] == ["call.answer"]
    assert stepped["ran"][0]["payload"]["interactionId"] == placed["interactionId"]


# --- sms, calls, dialer -----------------------------------------------------------------------------

def test_sms_inbound_and_messages(sb):
    lead_id = make_lead(sb)
    received = sb.sms.inbound(from_=PLAIN_PHONE, to=HXZ_NUMBER, text="Yes, still interested",
                              provider_message_id="pm-1")
    assert received["leadId"] == lead_id and received["duplicate"] is False
    assert received["routedBy"] == "campaign_number"
    again = sb.sms.inbound(from_=PLAIN_PHONE, to=HXZ_NUMBER, text="Yes, still interested", provider_message_id="pm-1")
    assert again["duplicate"] is True and again["messageId"] == received["messageId"]
    messages = sb.sms.messages(lead_id=lead_id)
    assert [(m["messageId"], m["from"], m["to"], m["direction"], m["status"], m["text"]) for m in messages] == [
        (received["messageId"], PLAIN_PHONE, HXZ_NUMBER, "inbound", "received", "Yes, still interested")]
    assert sb.sms.messages(direction="outbound") == []
    with pytest.raises(SandboxAPIError) as caught:
        sb.sms.inbound(from_="not-a-number", to=HXZ_NUMBER, text="hi")
    assert caught.value.code == "VALIDATION_ERROR" and caught.value.details[0].startswith("from:")


def test_calls_inbound_plays_out_on_the_clock(sb):
    lead_id = make_lead(sb)
    call = sb.calls.inbound(from_=PLAIN_PHONE, to=INBOUND_AGENT_NUMBER)
    assert call == {"interactionId": call["interactionId"], "leadId": lead_id, "campaignId": "HXZ",
                    "agentId": "agent_max", "matched": True}
    sb.clock.advance(minutes=30)
    record = sb.api.get(f"/api/v1/interactions/{call['interactionId']}").json()["data"]
    assert record["status"] != "in_progress" and record["call"]["direction"] == "inbound"


def test_dialer_check_and_queue(sb):
    lead_id = make_lead(sb)
    check = sb.dialer.check(lead_id)
    assert check["leadId"] == lead_id and check["allowedNow"] is True and check["campaignId"] == "HXZ"
    assert [v["rule"] for v in check["verdicts"]][:2] == ["lead", "phone"]
    sent = sb.api.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": [lead_id]})
    assert sent.status_code == 200, sent.text
    queue = sb.dialer.queue(campaign_id="HXZ")
    assert queue["total"] == 1 and queue["queue"][0]["leadId"] == lead_id
    assert queue["queue"][0]["attemptsUsed"] == 0 and queue["queue"][0]["maxAttempts"] == 6


# --- webhooks -----------------------------------------------------------------------------------

def test_deliveries_wait_for_replay_and_the_sink(sb):
    sink = f"c-{uuid.uuid4().hex[:8]}"
    url = hook_campaign_to_sink(sb, sink)
    lead_id = make_lead(sb)
    assert sb.force_next_outcome(lead_id, "voicemail") == {"leadId": lead_id, "nextOutcome": "voicemail"}
    sb.api.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id})
    done = sb.webhooks.wait_for("call.completed", lead_id=lead_id, advance=30, timeout=10)
    assert done["status"] == "delivered" and done["url"] == url and done["payload"]["status"] == "voicemail"
    assert done["lastAttempt"]["responseStatus"] == 200
    listed = sb.webhooks.deliveries(event="call.completed", lead_id=lead_id)
    assert [d["deliveryId"] for d in listed] == [done["deliveryId"]]
    assert sb.webhooks.deliveries(event="lead.delivered") == []
    seen = sb.webhooks.sink(sink)
    assert seen["count"] == 1 and json.loads(seen["requests"][0]["body"])["leadId"] == lead_id
    replayed = sb.webhooks.replay(done["deliveryId"])
    assert [a["trigger"] for a in replayed["attempts"]] == ["initial", "replay"]
    assert sb.webhooks.delivery(done["deliveryId"])["attemptCount"] == 2
    assert sb.webhooks.sink(sink)["count"] == 2
    # exclude: an earlier delivery does not satisfy a wait for the next one
    with pytest.raises(WaitTimeout):
        sb.webhooks.wait_for("call.completed", lead_id=lead_id, exclude=[done["deliveryId"]], timeout=0.3)


def test_wait_for_gives_up_on_a_manual_clock_nobody_advances(sb):
    sink = f"c-{uuid.uuid4().hex[:8]}"
    hook_campaign_to_sink(sb, sink)
    lead_id = make_lead(sb)
    sb.api.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id})
    with pytest.raises(WaitTimeout, match="the clock is manual") as caught:
        sb.webhooks.wait_for("call.completed", lead_id=lead_id, timeout=0.5, interval=0.1)
    assert isinstance(caught.value, TimeoutError) and "1 jobs pending" in str(caught.value)
    sb.clock.advance(minutes=15)  # the caller advances: the same wait now succeeds at once
    assert sb.webhooks.wait_for("call.completed", lead_id=lead_id, timeout=2)["status"] == "delivered"


# --- tenant -------------------------------------------------------------------------------------

def test_reset_and_state_export_load_round_trip(sb):
    sb.clock.advance(hours=2)
    exported = sb.state.export()
    assert exported["version"] == 1 and exported["clock"]["now"] == "2026-01-15T17:00:00Z"
    reset = sb.reset()
    assert reset["now"] == START and reset["leads"] == 50 and reset["tenant"] == exported["state"]["org_id"]
    loaded = sb.state.load(exported)
    assert loaded == {"tenant": reset["tenant"], "now": "2026-01-15T17:00:00Z", "leads": 50}
    assert sb.state.export() == exported
    sb.reset()
    assert sb.state.load(json.dumps({"success": True, "data": exported}).encode())["now"] == loaded["now"]
    with pytest.raises(SandboxAPIError) as caught:
        sb.state.load({"version": 2})
    assert caught.value.code == "VALIDATION_ERROR" and "version: must be one of 1" in caught.value.details


def test_campaigns_list_get_update(sb):
    codes = [view["campaign"]["campaignId"] for view in sb.campaigns.list()]
    assert "HXZ" in codes and "U4D" in codes
    view = sb.campaigns.get("HXZ")
    assert view["config"]["phoneNumber"] == HXZ_NUMBER
    updated = sb.campaigns.update("HXZ", {"name": "Renamed"}, outcomeMix={"voicemail": 1})
    assert updated["campaign"]["name"] == "Renamed" and updated["config"]["outcomeMix"]["voicemail"] == 1
    assert sb.campaigns.get("HXZ")["campaign"]["name"] == "Renamed"


def test_force_next_outcome_decides_the_next_call(sb):
    lead_id = make_lead(sb)
    sb.force_next_outcome(lead_id, "no_answer")
    placed = sb.api.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id}).json()["data"]
    sb.clock.advance(minutes=10)
    assert sb.api.get(f"/api/v1/interactions/{placed['interactionId']}").json()["data"]["status"] == "no_answer"
    with pytest.raises(SandboxAPIError):
        sb.force_next_outcome(lead_id, "not-an-outcome")


def test_keys_issue_list_revoke_need_the_admin_key(sb, base_url):
    issued = sb.keys.issue(label="partner")
    assert issued["label"] == "partner" and len(issued["key"]) >= 8
    assert {"keyPrefix": issued["key"][:8], "label": "partner"} in sb.keys.list()
    assert sb.keys.revoke(issued["key"]) == {"revoked": True}
    with pytest.raises(SandboxAPIError) as caught:
        sb.keys.revoke(issued["key"])
    assert caught.value.status == 404
    with SandboxClient(base_url, "k") as without:
        with pytest.raises(SandboxError, match="admin key"):
            without.keys.list()
    with SandboxClient(base_url, "k", admin_key="wrong") as wrong:
        with pytest.raises(SandboxAPIError) as refused:
            wrong.keys.list()
        assert (refused.value.status, refused.value.code) == (401, "UNAUTHORIZED")
