"""POST /api/v1/voice/calls/initiate: pre-flight in order, the call lifecycle per scenario, the auto-dialer.

The default clock starts Thursday 2026-01-15 15:00Z (10:00 in New York); ``+1212…`` leads are in
New York, so calls are inside operating hours unless a test moves the clock.
"""

from __future__ import annotations

import io
import json
import wave

import pytest
from starlette.testclient import TestClient

from sandbox import scenarios
from sandbox.app import create_app
from sandbox.settings import Settings
from tests.conftest import API_KEY, advance, data, error

INITIATE = "/api/v1/voice/calls/initiate"
PLAIN_PHONE = "+12125557788"          # a New York number that is no scenario
INTERACTION_KEYS = ["interactionId", "leadId", "campaignId", "clientId", "offerId", "type", "status", "phone",
                    "telephony", "call", "summary", "transcript", "errorCode", "errorMessage", "createdAt",
                    "updatedAt"]
CALL_ROWS = [(number, outcome) for area, number, outcome, _ in scenarios.TABLE if area == scenarios.CALL]


def make_lead(client, phone: str = PLAIN_PHONE, campaign: str = "HXZ", **extra) -> str:
    body = {"campaignId": campaign, "firstName": "Jane", "lastName": "Doe", "email": "jane@example.com",
            "phone": phone, **extra}
    return data(client.post("/api/v1/leads", json=body))["leadId"]


def put_campaign(client, code: str, **doc) -> dict:
    base = {"name": f"Campaign {code}", "clientId": "cli_acme", "offerId": "off_auto"}
    return data(client.put(f"/_sandbox/campaigns/{code}", json={**base, **doc}))


def call(client, lead_id: str, **body):
    return client.post(INITIATE, json={"leadId": lead_id, **body})


def interaction(client, interaction_id: str) -> dict:
    return data(client.get(f"/api/v1/interactions/{interaction_id}"))


def lead(client, lead_id: str) -> dict:
    return data(client.get(f"/api/v1/leads/{lead_id}"))


def state(client) -> dict:
    return data(client.get("/_sandbox/state"))["state"]


def refusal(response) -> list[str]:
    return error(response, 400, "VALIDATION_ERROR")["details"]


# --- success -------------------------------------------------------------------------------

def test_initiate_returns_ids_and_creates_an_in_progress_call(client):
    lead_id = make_lead(client)
    placed = data(call(client, lead_id))
    assert list(placed) == ["interactionId", "leadId", "campaignId", "agentId"]
    assert placed["leadId"] == lead_id and placed["campaignId"] == "HXZ" and placed["agentId"] == "agent_ava"
    assert placed["interactionId"].startswith("int_")
    record = interaction(client, placed["interactionId"])
    assert list(record) == INTERACTION_KEYS
    assert record["type"] == "call" and record["status"] == "in_progress" and record["phone"] == PLAIN_PHONE
    assert record["telephony"]["phoneNumber"] == "+18335645667"   # the campaign's number beats the agent's
    assert record["telephony"]["provider"] == "vonage"
    assert record["call"] == {"source": "api", "direction": "outbound", "duration": None, "recordingUrl": None,
                              "terminationReason": None,
                              "voiceAI": {"provider": "elevenlabs", "agentId": "el_agent_ava",
                                          "conversationId": record["call"]["voiceAI"]["conversationId"]},
                              "spokenTo": None}
    assert record["summary"] is None and record["transcript"] == [] and record["errorCode"] is None
    assert record["createdAt"] == record["updatedAt"] == "2026-01-15T15:00:00Z"


def test_caller_number_falls_back_to_the_agent(client):
    put_campaign(client, "AGN", voiceAgentId="agent_ava")
    lead_id = make_lead(client, campaign="AGN")
    record = interaction(client, data(call(client, lead_id))["interactionId"])
    assert record["telephony"]["phoneNumber"] == "+18335645668"


def test_additional_instructions_and_test_flag_are_system_entries(client):
    lead_id = make_lead(client)
    placed = data(call(client, lead_id, isTest=True, additionalInstructions="Mention the spring discount."))
    assert placed["agentId"] == "agent_ava_test"
    record = interaction(client, placed["interactionId"])
    assert [(e["role"], e["source"]) for e in record["transcript"]] == [("agent", "system")] * 2
    assert record["transcript"][1]["message"] == "Additional instructions: Mention the spring discount."
    assert record["telephony"]["phoneNumber"] == "+18335645667"


def test_is_test_skips_the_active_check(client):
    lead_id = make_lead(client, campaign="SLR")
    assert "campaignId: campaign SLR is not active" in refusal(call(client, lead_id))
    assert data(call(client, lead_id, isTest=True))["campaignId"] == "SLR"


def test_direction_inbound_is_recorded(client):
    lead_id = make_lead(client)
    record = interaction(client, data(call(client, lead_id, direction="inbound"))["interactionId"])
    assert record["call"]["direction"] == "inbound"


def test_phone_override_is_checked_and_dialled(client):
    lead_id = make_lead(client)
    placed = data(call(client, lead_id, phone="+12125550104"))
    assert interaction(client, placed["interactionId"])["phone"] == "+12125550104"
    advance(client, 900)
    assert interaction(client, placed["interactionId"])["status"] == "no_answer"  # the override's scenario


def test_campaign_override(client):
    lead_id = make_lead(client)
    placed = data(call(client, lead_id, campaignId="U4D"))
    assert placed["campaignId"] == "U4D" and placed["agentId"] == "agent_max"
    assert interaction(client, placed["interactionId"])["clientId"] == "cli_brightside"


# --- pre-flight refusals, in documented order --------------------------------------------------

def test_unknown_lead_is_404(client):
    body = error(call(client, "lead_doesnotexist"), 404, "NOT_FOUND")
    assert body == {"code": "NOT_FOUND", "message": "Resource not found"}


def test_invalid_override_phone(client):
    lead_id = make_lead(client)
    assert refusal(call(client, lead_id, phone="+15550000000")) == \
        ["phone: +15550000000 is not a valid E.164 phone number"]


def test_malformed_override_phone_is_schema_400(client):
    assert refusal(call(client, make_lead(client), phone="555-1234"))[0].startswith("phone:")


def test_invalid_stored_phone(client):
    lead_id = make_lead(client, phone="(555) 000-0000")
    [detail] = refusal(call(client, lead_id))
    assert detail.startswith(f"phone: lead {lead_id} has no valid E.164 phone number")


def test_unknown_campaign_override_is_404(client):
    error(call(client, make_lead(client), campaignId="NOPE"), 404, "NOT_FOUND")


def test_inactive_campaign(client):
    assert refusal(call(client, make_lead(client, campaign="SLR"))) == ["campaignId: campaign SLR is not active"]


def test_no_voice_agent(client):
    assert refusal(call(client, make_lead(client, campaign="DRW"))) == \
        ["voiceAgent: campaign DRW has no voice agent configured"]


def test_missing_caller_number(client):
    put_campaign(client, "NOPH", voiceAgentId="agent_ava_test")
    body = error(call(client, make_lead(client, campaign="NOPH")), 400, "MISSING_PHONE_NUMBER")
    assert body == {"code": "MISSING_PHONE_NUMBER", "message": "No caller phone number configured",
                    "details": ["callerNumber: no number on campaign NOPH or voice agent agent_ava_test"]}


def test_dnc_phone(client):
    lead_id = make_lead(client)
    data(client.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["phone"]}))
    assert refusal(call(client, lead_id)) == ["dnc: lead is on the do-not-call list (phone)"]


def test_dnc_sms_only_does_not_block_calls(client):
    lead_id = make_lead(client)
    data(client.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["sms"]}))
    data(call(client, lead_id))


def test_operating_hours_in_lead_local_time(client):
    chicago = make_lead(client, phone="+13125557788")   # 312: Chicago
    new_york = make_lead(client)
    advance(client, 3600 * 17 + 720)                     # 2026-01-16T08:12Z: 03:12 Chicago, 02:12 New York
    assert refusal(call(client, chicago)) == [
        "operatingHours: lead local time Fri 02:12 (America/Chicago) is outside 09:00–20:00; "
        "window opens at 2026-01-16T15:00:00Z"]
    assert refusal(call(client, new_york))[0].startswith("operatingHours: lead local time Fri 03:12 (America/New_York)")


def test_lead_timezone_beats_phone_area_code(client):
    lead_id = make_lead(client, timezone="America/Los_Angeles")   # 07:00 in Los Angeles
    assert refusal(call(client, lead_id))[0].startswith(
        "operatingHours: lead local time Thu 07:00 (America/Los_Angeles)")


def test_minimum_gap_boundary(client):
    lead_id = make_lead(client)
    data(call(client, lead_id))
    advance(client, 3599)
    assert refusal(call(client, lead_id)) == [
        "minimumGap: last attempt at 2026-01-15T15:00:00Z was 59 minutes ago; minimum gap is 60 minutes; "
        "next call allowed at 2026-01-15T16:00:00Z"]
    advance(client, 1)
    data(call(client, lead_id))                        # exactly at the gap is allowed


def test_max_attempts(client):
    put_campaign(client, "MAX1", voiceAgentId="agent_ava", autoDialer={"maxAttempts": 1, "minGapMinutes": 0})
    lead_id = make_lead(client, campaign="MAX1", phone="+12125550101")
    data(call(client, lead_id))
    advance(client, 900)
    assert refusal(call(client, lead_id)) == ["maxAttempts: maximum attempts reached (1 of 1)"]


def test_excluded_status(client):
    lead_id = make_lead(client)
    data(client.patch(f"/api/v1/leads/{lead_id}", json={"status": "delivered"}))
    assert refusal(call(client, lead_id)) == ["excludedStatus: lead status 'delivered' is excluded"]


def test_first_failing_check_wins(client):
    lead_id = make_lead(client, campaign="SLR")
    data(client.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["phone"]}))
    data(client.patch(f"/api/v1/leads/{lead_id}", json={"status": "delivered"}))
    assert refusal(call(client, lead_id)) == ["campaignId: campaign SLR is not active"]
    assert refusal(call(client, lead_id, isTest=True)) == ["dnc: lead is on the do-not-call list (phone)"]


def test_refused_call_records_no_attempt(client):
    lead_id = make_lead(client)
    data(client.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["phone"]}))
    refusal(call(client, lead_id))
    assert data(client.get(f"/api/v1/interactions/lead/{lead_id}"))["interactions"] == []
    assert lead_id not in state(client)["dialer"]


# --- lifecycle per scenario number ----------------------------------------------------------

# outcome: (interaction status, lead status, spokenTo, answered (recording, duration > 0), errorCode)
EXPECTED = {
    "completed": ("completed", "contacted", True, True, None),
    "incomplete": ("incomplete", "contacted", True, True, None),
    "voicemail": ("voicemail", "voicemail", False, True, None),
    "no_answer": ("no_answer", "no_answer", False, False, None),
    "busy": ("busy", "no_answer", False, False, None),
    "scheduled_callback": ("scheduled_callback", "scheduled_callback", True, True, None),
    "follow_up": ("follow_up", "contacted", True, True, None),
    "qualified": ("qualified", "qualified", True, True, None),
    "dnc": ("dnc", "dnc", True, True, None),
    "disqualified": ("disqualified", "disqualified", True, True, None),
    "failed": ("incomplete", "new", False, False, "CALL_FAILED"),
}


@pytest.mark.parametrize("phone, outcome", CALL_ROWS, ids=[o for _, o in CALL_ROWS])
def test_call_lifecycle_per_scenario(client, phone, outcome):
    status, lead_status, spoken_to, answered, error_code = EXPECTED[outcome]
    lead_id = make_lead(client, phone=phone)
    interaction_id = data(call(client, lead_id))["interactionId"]
    ran = advance(client, 900)["ran"]
    assert [job["job"] for job in ran] == (["call.answer", "call.end"] if answered else ["call.end"])
    record = interaction(client, interaction_id)
    assert record["status"] == status and record["errorCode"] == error_code
    assert record["call"]["spokenTo"] is spoken_to
    assert isinstance(record["call"]["duration"], int) and (record["call"]["duration"] > 0) is answered
    expected_url = f"http://127.0.0.1:8000/_sandbox/recordings/{interaction_id}.wav" if answered else None
    assert record["call"]["recordingUrl"] == expected_url
    if answered:  # the URL serves a real, playable WAV, without a key, as a player would fetch it
        audio = client.get(expected_url.replace("http://127.0.0.1:8000", ""), headers={"X-API-Key": ""})
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
        with wave.open(io.BytesIO(audio.content)) as wav:
            assert wav.getframerate() == 8000 and wav.getnframes() >= 8000
    assert record["call"]["terminationReason"] and record["summary"]
    assert record["updatedAt"] > record["createdAt"]
    roles = [entry["role"] for entry in record["transcript"]]
    if outcome in ("no_answer", "busy", "failed"):
        assert roles == []
    elif outcome == "voicemail":
        assert roles == ["agent"]
        assert 20 <= record["call"]["duration"] <= 40
    else:
        assert "Hi Jane" in record["transcript"][0]["message"] and "user" in roles
        assert 40 <= record["call"]["duration"] <= 400
    updated = lead(client, lead_id)
    assert updated["status"] == lead_status
    assert updated["flags"]["isDnc"] is (outcome == "dnc")
    if outcome == "dnc":
        assert record["transcript"][-1]["role"] == "user"
        assert data(client.get(f"/_sandbox/leads/{lead_id}/dnc"))["channels"] == ["phone"]
        assert refusal(call(client, lead_id))[0].startswith("dnc:")


def test_forced_outcome_is_used_once(client):
    lead_id = make_lead(client)
    data(client.put(f"/_sandbox/leads/{lead_id}/next-outcome", json={"outcome": "voicemail"}))
    first = data(call(client, lead_id))["interactionId"]
    advance(client, 900)
    assert interaction(client, first)["status"] == "voicemail"
    assert lead_id not in state(client)["forced_outcomes"]


def test_scenario_number_beats_forced_outcome(client):
    lead_id = make_lead(client, phone="+12125550108")
    data(client.put(f"/_sandbox/leads/{lead_id}/next-outcome", json={"outcome": "busy"}))
    interaction_id = data(call(client, lead_id))["interactionId"]
    advance(client, 900)
    assert interaction(client, interaction_id)["status"] == "qualified"


def test_outcome_mix_is_used_otherwise(client):
    put_campaign(client, "MIX", voiceAgentId="agent_ava", phoneNumber="+18335645667",
                 outcomeMix={name: int(name == "busy") for name in scenarios.CALL_OUTCOMES})  # deep merge: name all
    interaction_id = data(call(client, make_lead(client, campaign="MIX")))["interactionId"]
    advance(client, 900)
    assert interaction(client, interaction_id)["status"] == "busy"


def test_attempts_used_up_without_reaching_the_lead_is_no_contact(client):
    put_campaign(client, "TRY2", voiceAgentId="agent_ava", autoDialer={"maxAttempts": 2, "minGapMinutes": 0})
    lead_id = make_lead(client, campaign="TRY2", phone="+12125550104")
    first = data(call(client, lead_id))["interactionId"]
    advance(client, 900)
    assert (interaction(client, first)["status"], lead(client, lead_id)["status"]) == ("no_answer", "no_answer")
    second = data(call(client, lead_id))["interactionId"]
    advance(client, 900)
    record = interaction(client, second)
    assert record["status"] == "no_contact" and "2 allowed attempts" in record["summary"]
    assert lead(client, lead_id)["status"] == "no_contact"
    assert state(client)["dialer"][lead_id]["attempts"] == ["2026-01-15T15:00:00Z", "2026-01-15T15:15:00Z"]


def test_call_progress_is_visible_mid_call(client):
    lead_id = make_lead(client, phone="+12125550101")
    interaction_id = data(call(client, lead_id))["interactionId"]
    advance(client, 26)                       # answered (ringing is at most 25 s), still talking
    assert interaction(client, interaction_id)["status"] == "in_progress"
    assert lead(client, lead_id)["status"] == "new"


def test_final_status_hands_the_call_to_call_completed(client, monkeypatch):
    events = pytest.importorskip("sandbox.services.events")
    seen = []
    monkeypatch.setattr(events, "emit_call_completed",
                        lambda _tenant, record: seen.append((record["interactionId"], record["status"])))
    answered = data(call(client, make_lead(client, phone="+12125550101")))["interactionId"]
    unanswered = data(call(client, make_lead(client, phone="+12125550105")))["interactionId"]
    advance(client, 26)                       # one hung up busy, the other is still talking
    assert seen == [(unanswered, "busy")]
    advance(client, 900)
    assert seen == [(unanswered, "busy"), (answered, "completed")]


# --- auto-dialer (POST /api/v1/leads/send-to-auto-dialer) ------------------------------------

def send_to_dialer(client, lead_ids):
    return data(client.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": lead_ids}))


def test_dialer_schedules_now_and_places_the_call(client):
    lead_id = make_lead(client, phone="+12125550101")
    result = send_to_dialer(client, [lead_id])
    assert result == {"succeeded": 1, "failed": [],
                      "details": [{"leadId": lead_id, "nextCallTime": "2026-01-15T15:00:00Z"}]}
    advance(client, 900)
    [record] = data(client.get(f"/api/v1/interactions/lead/{lead_id}"))["interactions"]
    assert record["call"]["source"] == "auto_dialer" and record["status"] == "completed"
    assert state(client)["dialer"][lead_id]["nextCallTime"] is None


def test_dialer_failures_in_request_order(client):
    excluded = make_lead(client)
    data(client.patch(f"/api/v1/leads/{excluded}", json={"status": "delivered"}))
    dnc = make_lead(client)
    data(client.put(f"/_sandbox/leads/{dnc}/dnc", json={"channels": ["phone"]}))
    inactive = make_lead(client, campaign="SLR")
    put_campaign(client, "ONE", voiceAgentId="agent_ava", autoDialer={"maxAttempts": 1, "minGapMinutes": 0})
    used = make_lead(client, campaign="ONE", phone="+12125550104")
    data(call(client, used))
    ok_lead = make_lead(client)
    result = send_to_dialer(client, ["lead_missing", excluded, dnc, inactive, used, ok_lead])
    assert result["succeeded"] == 1 and [d["leadId"] for d in result["details"]] == [ok_lead]
    assert result["failed"] == [
        {"leadId": "lead_missing", "error": "lead not found"},
        {"leadId": excluded, "error": "lead status 'delivered' is excluded"},
        {"leadId": dnc, "error": "lead is on the do-not-call list (phone)"},
        {"leadId": inactive, "error": "auto-dialer configuration is inactive"},
        {"leadId": used, "error": "maximum attempts reached (1 of 1)"},
    ]


def test_dialer_outside_hours_waits_for_the_window(client):
    lead_id = make_lead(client, phone="+13125557788")           # Chicago
    advance(client, 3600 * 10)                                   # 2026-01-16T01:00Z: Thu 19:00 Chicago
    [detail] = send_to_dialer(client, [lead_id])["details"]
    assert detail["nextCallTime"] == "2026-01-16T01:00:00Z"
    advance(client, 3600 * 2)                                    # 21:00 Chicago
    lead2 = make_lead(client, phone="+13125557789")
    [detail] = send_to_dialer(client, [lead2])["details"]
    assert detail["nextCallTime"] == "2026-01-16T15:00:00Z"     # Fri 09:00 Chicago


def test_dialer_retries_after_no_answer_then_gives_up(client):
    put_campaign(client, "RTY", voiceAgentId="agent_ava", phoneNumber="+18335645667",
                 autoDialer={"maxAttempts": 2, "minGapMinutes": 30, "retryDelaysMinutes": [60],
                             "operatingHours": {"start": "00:00", "end": "23:59",
                                                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}})
    lead_id = make_lead(client, campaign="RTY", phone="+12125550104")
    send_to_dialer(client, [lead_id])
    advance(client, 900)
    entry = state(client)["dialer"][lead_id]
    first_end = data(client.get(f"/api/v1/interactions/lead/{lead_id}"))["interactions"][0]["updatedAt"]
    assert entry["nextCallTime"] > first_end and len(entry["attempts"]) == 1
    advance(client, 3 * 3600)
    records = data(client.get(f"/api/v1/interactions/lead/{lead_id}"))["interactions"]
    assert [r["status"] for r in records] == ["no_contact", "no_answer"]
    assert all(r["call"]["source"] == "auto_dialer" for r in records)
    assert lead(client, lead_id)["status"] == "no_contact"
    assert state(client)["dialer"][lead_id]["nextCallTime"] is None


def test_attempt_refused_by_the_gap_is_rescheduled(client):
    lead_id = make_lead(client, phone="+12125550101")
    send_to_dialer(client, [lead_id])
    data(call(client, lead_id))                     # an API call takes the slot first
    ran = advance(client, 60)["ran"]
    attempt = next(job for job in ran if job["job"] == "dialer.attempt")
    assert attempt["effects"][0]["placed"] is False and attempt["effects"][0]["reason"].startswith("minimumGap:")
    entry = state(client)["dialer"][lead_id]
    assert (entry["queuedAt"], entry["nextCallTime"]) == ("2026-01-15T15:00:00Z", "2026-01-15T16:00:00Z")
    advance(client, 3600)
    records = data(client.get(f"/api/v1/interactions/lead/{lead_id}"))["interactions"]
    assert [r["call"]["source"] for r in records] == ["auto_dialer", "api"]


def test_dnc_after_queueing_drops_the_lead(client):
    lead_id = make_lead(client)
    send_to_dialer(client, [lead_id])
    # A DNC set after queueing is caught by the attempt's pre-flight: the lead leaves the queue.
    data(client.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["phone"]}))
    ran = advance(client, 60)["ran"]
    assert ran[0]["job"] == "dialer.attempt" and ran[0]["effects"][0]["placed"] is False
    assert state(client)["dialer"][lead_id]["nextCallTime"] is None


def test_requeue_replaces_the_pending_attempt(client):
    lead_id = make_lead(client)
    send_to_dialer(client, [lead_id])
    send_to_dialer(client, [lead_id])
    ran = advance(client, 900)["ran"]
    assert [job["job"] for job in ran].count("dialer.attempt") == 1


# --- isolation and determinism -------------------------------------------------------------

def test_other_tenant_cannot_see_or_call(client, other):
    lead_id = make_lead(client)
    interaction_id = data(call(client, lead_id))["interactionId"]
    error(other.get(f"/api/v1/interactions/{interaction_id}"), 404, "NOT_FOUND")
    error(other.post(INITIATE, json={"leadId": lead_id}), 404, "NOT_FOUND")


def _scripted_run() -> bytes:
    app = create_app(Settings(validate_responses=True))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["X-API-Key"] = API_KEY
        ids = []
        for phone in ("+12125550101", PLAIN_PHONE, "+12125550106", "+12125550103"):
            lead_id = make_lead(client, phone=phone, questionnaire={"vehicle_year": 2019})
            ids.append(data(call(client, lead_id))["interactionId"])
        advance(client, 900)
        return json.dumps([interaction(client, i) for i in ids]).encode()


def test_same_requests_on_fresh_apps_write_identical_bytes():
    assert _scripted_run() == _scripted_run()
