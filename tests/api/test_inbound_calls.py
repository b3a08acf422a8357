"""``POST /_sandbox/calls/inbound``: a lead calls one of our numbers and a voice agent answers.

Seed world: ``agent_max`` owns +18335645670 with inbound enabled for [U4D (primary), HXZ];
``agent_ava`` owns +18335645668 with inbound off; +18335645667 is HXZ's number, owned by no agent.
"""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.domain import call_outcomes
from sandbox.settings import Settings
from tests.api.test_voice import call, interaction, lead, make_lead, put_campaign, state
from tests.conftest import API_KEY, advance, data, error

INBOUND = "/_sandbox/calls/inbound"
MAX_NUMBER = "+18335645670"
AVA_NUMBER = "+18335645668"
CALLER = "+13125557788"          # Chicago


def ring(client, caller: str = CALLER, to: str = MAX_NUMBER):
    return client.post(INBOUND, json={"from": caller, "to": to})


def refusal(response) -> list[str]:
    return error(response, 400, "VALIDATION_ERROR")["details"]


def lead_count(client) -> int:
    return len(state(client)["leads"])


# --- routing ------------------------------------------------------------------------------------

def test_known_lead_in_the_primary_campaign(client):
    lead_id = make_lead(client, phone=CALLER, campaign="U4D")
    answered = data(ring(client))
    assert answered == {"interactionId": answered["interactionId"], "leadId": lead_id, "campaignId": "U4D",
                        "agentId": "agent_max", "matched": True}
    record = interaction(client, answered["interactionId"])
    assert (record["type"], record["status"], record["phone"]) == ("call", "in_progress", CALLER)
    assert record["campaignId"] == "U4D" and record["clientId"] == "cli_brightside"
    assert record["telephony"]["phoneNumber"] == MAX_NUMBER            # our number: the one that was called
    assert (record["call"]["source"], record["call"]["direction"]) == ("inbound", "inbound")
    assert record["call"]["voiceAI"]["agentId"] == "el_agent_max"


def test_match_in_a_lower_priority_campaign_selects_it(client):
    lead_id = make_lead(client, phone=CALLER, campaign="HXZ")
    answered = data(ring(client))
    assert (answered["leadId"], answered["campaignId"], answered["matched"]) == (lead_id, "HXZ", True)
    assert interaction(client, answered["interactionId"])["campaignId"] == "HXZ"


def test_primary_campaign_wins_over_a_newer_lead_elsewhere(client):
    primary = make_lead(client, phone=CALLER, campaign="U4D")
    make_lead(client, phone=CALLER, campaign="HXZ")                     # newer, lower priority
    assert data(ring(client))["leadId"] == primary


def test_newest_lead_wins_within_one_campaign(client):
    make_lead(client, phone=CALLER, campaign="HXZ")
    newest = make_lead(client, phone=CALLER, campaign="HXZ")
    assert data(ring(client))["leadId"] == newest


def test_lead_outside_the_inbound_campaigns_is_not_a_match(client):
    make_lead(client, phone=CALLER, campaign="DRW")
    answered = data(ring(client))
    assert (answered["campaignId"], answered["matched"]) == ("U4D", False)


def test_unknown_caller_becomes_a_placeholder_lead_in_the_primary_campaign(client):
    before = lead_count(client)
    answered = data(ring(client))
    assert (answered["campaignId"], answered["matched"]) == ("U4D", False)
    assert lead_count(client) == before + 1
    created = lead(client, answered["leadId"])
    assert (created["firstName"], created["lastName"], created["email"], created["phone"]) == \
        ("", "", None, CALLER)
    assert (created["status"], created["timezone"], created["timezoneSource"]) == \
        ("new", "America/Chicago", "area_code")
    assert created["campaign"]["campaignId"] == "U4D" and created["submissionCount"] == 0
    assert created["flags"] == {"isDnc": False, "isTest": False, "isDuplicate": False, "isImported": False}
    [note] = created["notes"]
    assert note["text"] == (f"Created for an inbound call from {CALLER} to {MAX_NUMBER}; the caller matched no "
                            f"lead of U4D, HXZ.") and note["createdBy"] == "system"
    # A second call from the same number finds the lead the first one created.
    again = data(ring(client))
    assert (again["leadId"], again["matched"]) == (answered["leadId"], True)
    assert lead_count(client) == before + 1


def test_placeholder_falls_back_to_the_campaign_time_zone(client):
    answered = data(ring(client, caller="+18005550199"))                # toll-free: no area-code zone
    created = lead(client, answered["leadId"])
    assert (created["timezone"], created["timezoneSource"]) == ("America/Chicago", "inferred")   # U4D's zone


# --- refusals -----------------------------------------------------------------------------------

def test_number_whose_agent_has_inbound_off_is_refused(client):
    assert refusal(ring(client, to=AVA_NUMBER)) == [
        "inbound.enabled: voice agent agent_ava does not take inbound calls (inbound.enabled is false)"]


def test_number_no_voice_agent_owns_is_refused(client):
    assert refusal(ring(client, to="+18335645667")) == ["to: no voice agent answers +18335645667"]


def test_number_that_is_not_ours_and_bad_caller_are_refused_together(client):
    assert refusal(ring(client, caller="+15550000000", to="+12125550000")) == [
        "from: +15550000000 is not a valid E.164 phone number",
        "to: +12125550000 is not one of the tenant's phone numbers"]


def test_agent_without_inbound_campaigns_is_refused(client):
    data(client.put("/_sandbox/voice-agents/agent_max", json={"inbound": {"enabled": True, "campaignIds": []}}))
    assert refusal(ring(client)) == [
        "inbound.campaignIds: voice agent agent_max has no existing inbound campaign to route the call to"]


def test_missing_fields_are_schema_errors(client):
    assert refusal(client.post(INBOUND, json={"to": MAX_NUMBER})) == ["from: is required"]


def test_refused_call_creates_nothing(client):
    before = state(client)
    refusal(ring(client, to=AVA_NUMBER))
    assert state(client) == before


# --- the call plays out ----------------------------------------------------------------------------

def test_known_caller_conversation_and_lead_status(client):
    lead_id = make_lead(client, phone=CALLER, campaign="U4D", questionnaire={"injury_type": "whiplash"})
    data(client.put(f"/_sandbox/leads/{lead_id}/next-outcome", json={"outcome": "qualified"}))
    interaction_id = data(ring(client))["interactionId"]
    ran = advance(client, 900)["ran"]
    assert [job["job"] for job in ran] == ["call.answer", "call.end"]
    assert ran[0]["at"] <= "2026-01-15T15:00:04Z"                       # the agent picks up at once
    record = interaction(client, interaction_id)
    assert record["status"] == "qualified" and record["call"]["spokenTo"] is True
    first, second = record["transcript"][:2]
    assert first["message"] == "Thank you for calling Mass Tort Intake, this is Max. Am I speaking with Jane?"
    assert (second["role"], second["message"]) == ("user", "Yes, that's me.")
    assert "whiplash." in [entry["message"] for entry in record["transcript"]]
    assert record["summary"].startswith("Inbound call. Spoke with Jane Doe;")
    assert lead(client, lead_id)["status"] == "qualified"


def test_unknown_caller_introduces_themselves(client):
    answered = data(ring(client, caller="+12125550101"))                # scenario: completed
    advance(client, 900)
    record = interaction(client, answered["interactionId"])
    assert record["status"] == "completed"
    opening, introduction = record["transcript"][:2]
    assert opening["message"].endswith("May I have your name, please?")
    assert introduction["role"] == "user" and introduction["message"].startswith("Hi, this is ")
    name = introduction["message"].removeprefix("Hi, this is ").rstrip(".")
    assert "Unknown" not in name and f"Spoke with {name} (an unknown caller)" in record["summary"]
    assert lead(client, answered["leadId"])["firstName"] == ""    # extraction is not simulated


@pytest.mark.parametrize("caller, status, lead_status", [
    ("+12125550108", "qualified", "qualified"),
    ("+12125550109", "dnc", "dnc"),
    ("+12125550104", "no_answer", "no_answer"),
])
def test_caller_scenario_number_decides_the_outcome(client, caller, status, lead_status):
    lead_id = make_lead(client, phone=caller, campaign="U4D")
    data(client.put(f"/_sandbox/leads/{lead_id}/next-outcome", json={"outcome": "completed"}))  # loses to the number
    interaction_id = data(ring(client, caller=caller))["interactionId"]
    advance(client, 900)
    record = interaction(client, interaction_id)
    assert record["status"] == status and lead(client, lead_id)["status"] == lead_status
    if status == "no_answer":
        assert record["transcript"] == []
        assert record["summary"].startswith("Inbound call. The caller hung up after ")
    if status == "dnc":
        assert data(client.get(f"/_sandbox/leads/{lead_id}/dnc"))["channels"] == ["phone"]


def test_mix_draws_only_outcomes_that_reach_a_person(client):
    # Heavy on outcomes nobody talks in; the only one that reaches a person is follow_up (the PUT
    # deep-merges, so every outcome is named).
    mix = {name: 0 if result.spoken_to else 100 for name, result in call_outcomes.OUTCOMES.items()}
    put_campaign(client, "U4D", outcomeMix=mix | {"follow_up": 1})
    ids = []
    for index in range(5):
        make_lead(client, phone=f"+1312555{7700 + index}", campaign="U4D")
        ids.append(data(ring(client, caller=f"+1312555{7700 + index}"))["interactionId"])
    advance(client, 900)
    assert {interaction(client, i)["status"] for i in ids} == {"follow_up"}


def test_outbound_rules_do_not_apply_and_no_attempt_is_recorded(client):
    lead_id = make_lead(client, phone=CALLER, campaign="HXZ")
    data(client.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["phone"]}))
    data(client.patch(f"/api/v1/leads/{lead_id}", json={"status": "delivered"}))
    data(client.put("/_sandbox/campaigns/HXZ", json={"active": False}))
    advance(client, 3600 * 14)                                          # 23:00 in Chicago
    interaction_id = data(ring(client))["interactionId"]
    advance(client, 900)
    assert interaction(client, interaction_id)["status"] != "in_progress"
    assert state(client)["dialer"].get(lead_id, {}).get("attempts", []) == []


def test_an_inbound_call_leaves_the_outbound_gap_alone(client):
    lead_id = make_lead(client, phone=CALLER, campaign="HXZ")
    data(ring(client))
    data(call(client, lead_id))                                          # no minimumGap refusal


def test_an_inbound_call_on_a_used_up_lead_is_not_no_contact(client):
    put_campaign(client, "HXZ", autoDialer={"maxAttempts": 1, "minGapMinutes": 0})
    lead_id = make_lead(client, phone="+12125550104", campaign="HXZ")   # never answers
    data(call(client, lead_id))
    advance(client, 900)
    assert lead(client, lead_id)["status"] == "no_contact"
    interaction_id = data(ring(client, caller="+12125550104"))["interactionId"]
    advance(client, 900)
    assert interaction(client, interaction_id)["status"] == "no_answer"  # the caller's own outcome, not no_contact


def test_other_tenant_sees_nothing(client, other):
    answered = data(ring(client))
    error(other.get(f"/api/v1/interactions/{answered['interactionId']}"), 404, "NOT_FOUND")
    error(other.get(f"/api/v1/leads/{answered['leadId']}"), 404, "NOT_FOUND")


def _inbound_run() -> bytes:
    app = create_app(Settings(validate_responses=True))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["X-API-Key"] = API_KEY
        make_lead(client, phone=CALLER, campaign="HXZ", questionnaire={"vehicle_year": 2019})
        ids = [data(ring(client, caller=number))["interactionId"]
               for number in (CALLER, "+14155557788", "+12125550106")]
        advance(client, 900)
        return json.dumps([interaction(client, i) for i in ids]).encode()


def test_same_seed_same_inbound_transcripts():
    assert _inbound_run() == _inbound_run()
