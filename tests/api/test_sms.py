"""POST /api/v1/sms/send: resolution chains link by link, threading, DNC, delivery on the clock.

Seed world: HXZ has number +18335645667 and SMS agent smsagent_sam (+18335645669, twilio);
DRW has no number, no SMS agent and provider override twilio; the first SMS-capable number of the
tenant is +18335645667; +18335645670 is voice-only.
"""

from __future__ import annotations

from tests.api.test_voice import PLAIN_PHONE, call, interaction, make_lead, put_campaign, refusal, state
from tests.conftest import advance, data, error

SEND = "/api/v1/sms/send"


def send(client, lead_id: str, message: str = "Hi Jane, just following up.", **body):
    return client.post(SEND, json={"leadId": lead_id, "message": message, **body})


def sent(client, lead_id: str, **body) -> dict:
    return data(send(client, lead_id, **body))


# --- success and the new thread ----------------------------------------------------------------

def test_send_opens_a_thread(client):
    lead_id = make_lead(client)
    reply = sent(client, lead_id)
    assert list(reply) == ["messageId", "status", "interactionId"]
    assert reply["status"] == "sent" and reply["messageId"].startswith("msg_")
    thread = interaction(client, reply["interactionId"])
    assert list(thread) == ["interactionId", "leadId", "campaignId", "clientId", "offerId", "type", "status",
                            "phone", "telephony", "sms", "summary", "transcript", "errorCode", "errorMessage",
                            "createdAt", "updatedAt"]
    assert thread["type"] == "sms" and thread["status"] == "incomplete" and thread["phone"] == PLAIN_PHONE
    assert thread["telephony"] == {"provider": "vonage", "messageId": reply["messageId"],
                                   "phoneNumber": "+18335645667"}
    assert thread["sms"] == {"agentMode": True, "direction": "outbound"}   # HXZ has an active SMS agent
    assert thread["transcript"] == [{"timestamp": "2026-01-15T15:00:00Z", "role": "agent",
                                     "message": "Hi Jane, just following up.", "source": "api"}]
    message = state(client)["sms_messages"][reply["messageId"]]
    assert message == {"messageId": reply["messageId"], "interactionId": reply["interactionId"], "leadId": lead_id,
                       "from": "+18335645667", "to": PLAIN_PHONE, "provider": "vonage",
                       "text": "Hi Jane, just following up.", "status": "sent", "source": "api",
                       "createdAt": "2026-01-15T15:00:00Z", "updatedAt": "2026-01-15T15:00:00Z",
                       "errorCode": None, "errorMessage": None}


def test_source_sms_agent_is_recorded(client):
    reply = sent(client, make_lead(client), source="sms_agent")
    assert interaction(client, reply["interactionId"])["transcript"][0]["source"] == "sms_agent"


# --- resolution chains -------------------------------------------------------------------------

def test_recipient_to_override(client):
    lead_id = make_lead(client)
    thread = interaction(client, sent(client, lead_id, to="+13125557788")["interactionId"])
    assert thread["phone"] == "+13125557788"


def test_recipient_invalid(client):
    lead_id = make_lead(client)
    assert refusal(send(client, lead_id, to="+15550000000")) == ["to: +15550000000 is not a valid E.164 phone number"]
    bad_lead = make_lead(client, phone="(555) 000-0000")
    assert refusal(send(client, bad_lead))[0].startswith(f"to: lead {bad_lead} has no valid E.164 phone number")


def test_campaign_override_changes_sender_and_provider(client):
    lead_id = make_lead(client)
    thread = interaction(client, sent(client, lead_id, campaignId="DRW")["interactionId"])
    assert thread["campaignId"] == "DRW"
    assert thread["telephony"]["provider"] == "twilio"                 # DRW's provider override
    assert thread["telephony"]["phoneNumber"] == "+18335645667"        # the tenant's first SMS-capable number
    assert thread["sms"]["agentMode"] is False                         # DRW has no SMS agent


def test_unknown_campaign_override_is_404(client):
    error(send(client, make_lead(client), campaignId="NOPE"), 404, "NOT_FOUND")


def test_sender_from_override_must_be_ours(client):
    lead_id = make_lead(client)
    assert refusal(send(client, lead_id, **{"from": "+12125559999"})) == \
        ["from: +12125559999 is not one of your phone numbers"]
    assert refusal(send(client, lead_id, **{"from": "+18335645670"})) == \
        ["from: +18335645670 cannot send SMS (voice-only number)"]
    thread = interaction(client, sent(client, lead_id, **{"from": "+18335645668"})["interactionId"])
    assert thread["telephony"]["phoneNumber"] == "+18335645668"


def test_sender_falls_back_to_the_sms_agent_number(client):
    put_campaign(client, "SAG", smsAgentId="smsagent_sam")
    thread = interaction(client, sent(client, make_lead(client, campaign="SAG"))["interactionId"])
    assert thread["telephony"]["phoneNumber"] == "+18335645669"
    assert thread["sms"]["agentMode"] is True


def test_inactive_sms_agent_means_agent_mode_off(client):
    data(client.put("/_sandbox/sms-agents/smsagent_sam", json={"active": False}))
    thread = interaction(client, sent(client, make_lead(client))["interactionId"])
    assert thread["sms"]["agentMode"] is False


def test_provider_falls_back_to_the_tenant_default(client):
    data(client.patch("/_sandbox/settings", json={"smsProvider": "twilio"}))
    thread = interaction(client, sent(client, make_lead(client))["interactionId"])
    assert thread["telephony"]["provider"] == "twilio"


def test_no_sender_is_missing_phone_number(client):
    for number in ("+18335645667", "+18335645668", "+18335645669"):
        data(client.put(f"/_sandbox/phone-numbers/{number}", json={"smsCapable": False}))
    body = error(send(client, make_lead(client, campaign="DRW")), 400, "MISSING_PHONE_NUMBER")
    assert body == {"code": "MISSING_PHONE_NUMBER", "message": "No caller phone number configured",
                    "details": ["from: no number on the request, campaign DRW, its SMS agent or the tenant"]}


# --- threading -------------------------------------------------------------------------------

def test_same_number_pair_joins_the_thread(client):
    lead_id = make_lead(client)
    first = sent(client, lead_id, message="one")
    advance(client, 60)
    second = sent(client, lead_id, message="two")
    assert first["interactionId"] == second["interactionId"] and first["messageId"] != second["messageId"]
    thread = interaction(client, first["interactionId"])
    assert [e["message"] for e in thread["transcript"]] == ["one", "two"]
    assert thread["telephony"]["messageId"] == second["messageId"]
    assert thread["updatedAt"] == "2026-01-15T15:01:00Z" and thread["createdAt"] == "2026-01-15T15:00:00Z"


def test_other_number_pair_is_another_thread(client):
    lead_id = make_lead(client)
    first = sent(client, lead_id)
    second = sent(client, lead_id, **{"from": "+18335645668"})
    assert first["interactionId"] != second["interactionId"]


def test_explicit_interaction_id(client):
    lead_id = make_lead(client)
    thread_id = sent(client, lead_id)["interactionId"]
    assert sent(client, lead_id, interactionId=thread_id, message="again")["interactionId"] == thread_id


def test_explicit_interaction_id_must_be_an_sms_thread_of_the_lead(client):
    lead_id = make_lead(client)
    other_lead = make_lead(client, phone="+12125557799")
    others_thread = sent(client, other_lead)["interactionId"]
    call_id = data(call(client, lead_id))["interactionId"]
    error(send(client, lead_id, interactionId="int_doesnotexist"), 404, "NOT_FOUND")
    assert refusal(send(client, lead_id, interactionId=call_id)) == \
        [f"interactionId: {call_id} is not an SMS conversation of lead {lead_id}"]
    assert refusal(send(client, lead_id, interactionId=others_thread)) == \
        [f"interactionId: {others_thread} is not an SMS conversation of lead {lead_id}"]


def test_explicit_interaction_id_with_another_number_pair(client):
    lead_id = make_lead(client)
    thread_id = sent(client, lead_id)["interactionId"]
    [detail] = refusal(send(client, lead_id, interactionId=thread_id, **{"from": "+18335645668"}))
    assert detail.startswith(f"interactionId: conversation {thread_id} is between {PLAIN_PHONE} and +18335645667")


# --- DNC, validation, 404 --------------------------------------------------------------------

def test_sms_dnc_is_refused(client):
    lead_id = make_lead(client)
    data(client.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["sms"]}))
    assert refusal(send(client, lead_id)) == ["dnc: lead is on the do-not-contact list (sms)"]


def test_phone_dnc_does_not_block_sms(client):
    lead_id = make_lead(client)
    data(client.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["phone"]}))
    sent(client, lead_id)


def test_unknown_lead_is_404(client):
    error(send(client, "lead_doesnotexist"), 404, "NOT_FOUND")


def test_message_length_is_validated(client):
    lead_id = make_lead(client)
    assert refusal(send(client, lead_id, message="")) == ["message: must be at least 1 characters long"]
    assert refusal(send(client, lead_id, message="x" * 1601)) == ["message: must be at most 1600 characters long"]
    sent(client, lead_id, message="x" * 1600)


def test_other_tenant_cannot_text_my_lead(client, other):
    lead_id = make_lead(client)
    thread_id = sent(client, lead_id)["interactionId"]
    error(send(other, lead_id), 404, "NOT_FOUND")
    error(other.get(f"/api/v1/interactions/{thread_id}"), 404, "NOT_FOUND")


# --- delivery on the clock -------------------------------------------------------------------

def test_delivery_receipt(client):
    reply = sent(client, make_lead(client))
    ran = advance(client, 10)["ran"]
    assert [job["job"] for job in ran] == ["sms.deliver"]
    message = state(client)["sms_messages"][reply["messageId"]]
    assert message["status"] == "delivered" and message["updatedAt"] > message["createdAt"]
    assert interaction(client, reply["interactionId"])["errorCode"] is None


def test_scenario_number_fails_delivery(client):
    reply = sent(client, make_lead(client, phone="+12125550190"))
    advance(client, 10)
    message = state(client)["sms_messages"][reply["messageId"]]
    assert (message["status"], message["errorCode"], message["errorMessage"]) == \
        ("failed", "30003", "Unreachable destination handset")
    thread = interaction(client, reply["interactionId"])
    assert (thread["errorCode"], thread["errorMessage"]) == ("30003", "Unreachable destination handset")


def test_sending_moves_last_activity(client):
    lead_id = make_lead(client)
    advance(client, 120)
    sent(client, lead_id)
    lead = data(client.get(f"/api/v1/leads/{lead_id}"))
    assert lead["lastActivityAt"] == "2026-01-15T15:02:00Z" and lead["status"] == "new"
