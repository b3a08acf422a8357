"""POST /_sandbox/sms/inbound: routing (§5.10), threading, redelivery, STOP / START, lead personas.

Seed world: +18335645667 is assigned to HXZ (SMS agent smsagent_sam); +18335645669 is Sam's own
number (twilio), assigned to no campaign, inbound campaigns [HXZ, U4D]; +18335645668 belongs to
voice agent Ava only (routes nowhere for SMS); +18335645670 is voice-only.
"""

from __future__ import annotations

import pytest

from sandbox.clock import parse_instant
from sandbox.domain.sms_conversation import PERSONA_REPLIES
from tests.api.test_sms import messages, send, sent
from tests.api.test_voice import PLAIN_PHONE, interaction, lead, make_lead, refusal
from tests.conftest import advance, data, error

INBOUND = "/_sandbox/sms/inbound"
HXZ_NUMBER = "+18335645667"
SAM_NUMBER = "+18335645669"
AVA_NUMBER = "+18335645668"
STRANGER = "+13125550199"


def inbound(client, text: str = "Hi there", sender: str = PLAIN_PHONE, to: str = HXZ_NUMBER, **extra):
    return client.post(INBOUND, json={"from": sender, "to": to, "text": text, **extra})


def received(client, text: str = "Hi there", sender: str = PLAIN_PHONE, to: str = HXZ_NUMBER, **extra) -> dict:
    return data(inbound(client, text, sender, to, **extra))


def agent_mode_off(client, interaction_id: str) -> None:
    data(client.put(f"/_sandbox/interactions/{interaction_id}/agent-mode", json={"enabled": False}))


# --- routing -------------------------------------------------------------------------------------

def test_campaign_number_routes_to_that_campaign_and_joins_the_thread(client):
    lead_id = make_lead(client)
    outbound = sent(client, lead_id, message="Hi Jane")
    answer = received(client, "Hi! Yes, still interested.", providerMessageId="vg-1")
    assert list(answer) == ["duplicate", "messageId", "interactionId", "leadId", "routedBy", "placeholderLead",
                            "keyword", "agentMode", "batchClosesAt"]
    assert answer["duplicate"] is False and answer["routedBy"] == "campaign_number"
    assert answer["leadId"] == lead_id and answer["placeholderLead"] is False
    assert answer["interactionId"] == outbound["interactionId"]          # same number pair, same thread
    thread = interaction(client, answer["interactionId"])
    assert thread["transcript"][-1] == {"timestamp": "2026-01-15T15:00:00Z", "role": "user",
                                        "message": "Hi! Yes, still interested.", "source": "inbound"}
    assert thread["sms"]["direction"] == "outbound"                       # who started the conversation
    [message] = messages(client, direction="inbound")
    assert message == {"messageId": answer["messageId"], "interactionId": answer["interactionId"],
                       "leadId": lead_id, "direction": "inbound", "from": PLAIN_PHONE, "to": HXZ_NUMBER,
                       "provider": "vonage", "providerMessageId": "vg-1", "text": "Hi! Yes, still interested.",
                       "status": "received", "source": "inbound", "errorCode": None, "errorMessage": None,
                       "agentAsks": None, "createdAt": "2026-01-15T15:00:00Z", "updatedAt": "2026-01-15T15:00:00Z"}


def test_campaign_number_searches_only_that_campaign(client):
    make_lead(client, campaign="DRW")                   # the sender is known, but in another campaign
    answer = received(client)
    assert answer["placeholderLead"] is True
    assert lead(client, answer["leadId"])["campaign"]["campaignId"] == "HXZ"


def test_agent_number_searches_inbound_campaigns_in_priority_order(client):
    u4d_lead = make_lead(client, campaign="U4D")
    answer = received(client, to=SAM_NUMBER)
    assert answer["routedBy"] == "sms_agent_inbound" and answer["placeholderLead"] is False
    assert answer["leadId"] == u4d_lead                  # a match in the lower-priority campaign selects it
    assert interaction(client, answer["interactionId"])["campaignId"] == "U4D"
    hxz_lead = make_lead(client)                         # now the primary campaign has the number too
    again = received(client, "second", to=SAM_NUMBER)
    assert again["leadId"] == hxz_lead and again["interactionId"] != answer["interactionId"]
    assert interaction(client, again["interactionId"])["campaignId"] == "HXZ"


def test_newest_matching_lead_of_a_campaign_wins(client):
    make_lead(client)
    newer = make_lead(client, firstName="Janet")
    assert received(client, to=SAM_NUMBER)["leadId"] == newer


def test_unknown_sender_gets_a_placeholder_lead_in_the_primary_campaign(client):
    answer = received(client, "Who is this?", sender=STRANGER, to=SAM_NUMBER)
    assert answer["placeholderLead"] is True
    placeholder = lead(client, answer["leadId"])
    assert placeholder["campaign"]["campaignId"] == "HXZ"                  # index 0 = primary
    assert (placeholder["firstName"], placeholder["lastName"], placeholder["email"]) == ("", "", None)
    assert placeholder["phone"] == STRANGER and placeholder["status"] == "new"
    assert placeholder["timezone"] == "America/Chicago" and placeholder["timezoneSource"] == "area_code"
    assert placeholder["flags"] == {"isDnc": False, "isTest": False, "isDuplicate": False, "isImported": False}
    assert [note["text"] for note in placeholder["notes"]] == \
        [f"Created from an inbound SMS from {STRANGER} to {SAM_NUMBER}."]
    assert placeholder["submissionCount"] == 0 and placeholder["lastActivityAt"] == "2026-01-15T15:00:00Z"
    thread = interaction(client, answer["interactionId"])
    assert thread["leadId"] == answer["leadId"] and thread["phone"] == STRANGER
    assert thread["telephony"] == {"provider": "twilio", "messageId": None, "phoneNumber": SAM_NUMBER}
    assert thread["sms"] == {"agentMode": True, "direction": "inbound"}
    # The placeholder is now the sender's lead: the next text finds it.
    assert received(client, "Hello?", sender=STRANGER, to=SAM_NUMBER)["leadId"] == answer["leadId"]


def test_primary_campaign_follows_the_agents_inbound_order(client):
    data(client.put("/_sandbox/sms-agents/smsagent_sam", json={"inbound": {"enabled": True,
                                                                         "campaignIds": ["U4D", "HXZ"]}}))
    answer = received(client, sender=STRANGER, to=SAM_NUMBER)
    assert lead(client, answer["leadId"])["campaign"]["campaignId"] == "U4D"


def test_unroutable_receivers_are_refused(client):
    assert refusal(inbound(client, to=AVA_NUMBER)) == [
        f"to: {AVA_NUMBER} routes to no campaign: it is not assigned to a campaign and no SMS agent with inbound "
        f"enabled (and an existing inbound campaign) owns it"]
    data(client.put("/_sandbox/sms-agents/smsagent_sam", json={"inbound": {"enabled": False, "campaignIds": ["HXZ"]}}))
    assert refusal(inbound(client, to=SAM_NUMBER))[0].startswith(f"to: {SAM_NUMBER} routes to no campaign")
    assert refusal(inbound(client, to="+12125559999")) == ["to: +12125559999 is not one of your phone numbers"]
    assert refusal(inbound(client, to="+18335645670")) == ["to: +18335645670 cannot receive SMS (voice-only number)"]
    assert messages(client) == []                        # nothing was recorded


def test_body_is_validated(client):
    assert refusal(inbound(client, sender="+15550000000")) == ["from: +15550000000 is not a valid E.164 phone number"]
    assert refusal(client.post(INBOUND, json={"from": "12125557788", "text": ""})) == [
        "to: is required", "from: must be an E.164 phone number such as +12125550123",
        "text: must be at least 1 characters long"]
    assert refusal(inbound(client, "x" * 1601)) == ["text: must be at most 1600 characters long"]
    error(client.post(INBOUND, json={"from": PLAIN_PHONE, "to": HXZ_NUMBER, "text": "x"},
                      headers={"X-API-Key": ""}), 401, "UNAUTHORIZED")


def test_another_of_our_numbers_is_another_thread(client):
    lead_id = make_lead(client)
    first = received(client, to=HXZ_NUMBER)
    second = received(client, to=SAM_NUMBER)
    assert first["leadId"] == second["leadId"] == lead_id
    assert first["interactionId"] != second["interactionId"]
    assert received(client, "again", to=HXZ_NUMBER)["interactionId"] == first["interactionId"]


def test_inbound_is_per_tenant(client, other):
    mine = received(client, sender=STRANGER)
    theirs = received(other, sender=STRANGER)
    assert mine["leadId"] != theirs["leadId"]
    error(other.get(f"/api/v1/interactions/{mine['interactionId']}"), 404, "NOT_FOUND")
    assert [m["messageId"] for m in messages(other)] == [theirs["messageId"]]


# --- provider redelivery (G50) -------------------------------------------------------------------

def test_a_redelivery_within_24_hours_is_dropped(client):
    first = received(client, "Hello", providerMessageId="vg-42")
    advance(client, 24 * 3600 - 1)
    again = received(client, "Hello", providerMessageId="vg-42")
    assert again == {"duplicate": True, "messageId": first["messageId"], "interactionId": first["interactionId"],
                     "leadId": first["leadId"], "routedBy": None, "placeholderLead": False, "keyword": None,
                     "agentMode": None, "batchClosesAt": None}
    assert [e["message"] for e in interaction(client, first["interactionId"])["transcript"]
            if e["role"] == "user"] == ["Hello"]
    advance(client, 1)                                    # 24 h after the original: a new message
    later = received(client, "Hello", providerMessageId="vg-42")
    assert later["duplicate"] is False and later["messageId"] != first["messageId"]
    assert len(messages(client, direction="inbound")) == 2


def test_redelivery_key_is_per_provider(client):
    make_lead(client)
    vonage = received(client, to=HXZ_NUMBER, providerMessageId="same-id")       # HXZ's number is vonage
    twilio = received(client, to=SAM_NUMBER, providerMessageId="same-id")       # Sam's number is twilio
    assert twilio["duplicate"] is False and twilio["messageId"] != vonage["messageId"]


def test_without_a_provider_message_id_nothing_is_deduplicated(client):
    assert received(client, "Hi")["messageId"] != received(client, "Hi")["messageId"]


# --- STOP and START ------------------------------------------------------------------------------

@pytest.mark.parametrize("word", ["STOP", " stop ", "Unsubscribe", "CANCEL", "end", "QuIt"])
def test_opt_out_keywords(client, word):
    lead_id = make_lead(client)
    thread_id = sent(client, lead_id)["interactionId"]
    answer = received(client, word)
    assert answer["keyword"] == "stop" and answer["batchClosesAt"] is None
    dnc = data(client.get(f"/_sandbox/leads/{lead_id}/dnc"))
    assert dnc["channels"] == ["sms"] and dnc["updatedBy"] == "inbound_sms"
    assert dnc["reason"] == f"lead texted {word.strip()} to {HXZ_NUMBER}"
    record = lead(client, lead_id)
    assert record["flags"]["isDnc"] is True and record["status"] == "new"        # DNC never changes status
    thread = interaction(client, thread_id)
    assert thread["status"] == "dnc"
    assert thread["transcript"][-2:] == [
        {"timestamp": "2026-01-15T15:00:00Z", "role": "user", "message": word, "source": "inbound"},
        {"timestamp": "2026-01-15T15:00:00Z", "role": "agent", "source": "system",
         "message": "You have been unsubscribed from Auto Insurance Quotes messages and will receive no more "
                    "texts. Reply START to resubscribe."}]
    assert refusal(send(client, lead_id)) == ["dnc: lead is on the do-not-contact list (sms)"]


def test_a_sentence_with_stop_is_no_keyword(client):
    lead_id = make_lead(client)
    answer = received(client, "Please stop texting me so early")
    assert answer["keyword"] is None
    assert data(client.get(f"/_sandbox/leads/{lead_id}/dnc"))["channels"] == []
    assert interaction(client, answer["interactionId"])["status"] == "incomplete"


def test_start_lifts_only_the_sms_channel(client):
    lead_id = make_lead(client)
    data(client.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["phone"], "reason": "asked on a call"}))
    received(client, "STOP")
    assert data(client.get(f"/_sandbox/leads/{lead_id}/dnc"))["channels"] == ["phone", "sms"]
    answer = received(client, "start")
    assert answer["keyword"] == "start"
    dnc = data(client.get(f"/_sandbox/leads/{lead_id}/dnc"))
    assert dnc["channels"] == ["phone"] and lead(client, lead_id)["flags"]["isDnc"] is True
    thread = interaction(client, answer["interactionId"])
    assert thread["status"] == "incomplete"
    assert thread["transcript"][-1] == {"timestamp": "2026-01-15T15:00:00Z", "role": "agent", "source": "system",
                                        "message": "You have been resubscribed to Auto Insurance Quotes messages. "
                                                   "Reply STOP to unsubscribe."}
    sent(client, lead_id)                                 # texting works again


def test_start_clears_a_record_that_only_blocked_sms(client):
    lead_id = make_lead(client)
    received(client, "STOP")
    received(client, "START")
    assert data(client.get(f"/_sandbox/leads/{lead_id}/dnc"))["channels"] == []
    assert lead(client, lead_id)["flags"]["isDnc"] is False


# --- scripted personas ---------------------------------------------------------------------------

def _reply_effect(ran: list[dict]) -> dict:
    [job] = [job for job in ran if job["job"] == "sms.persona_reply"]
    return job


@pytest.mark.parametrize("number, persona", [("+12125550125", "positive"), ("+12125550126", "question"),
                                             ("+12125550127", "callback")])
def test_persona_replies_a_few_minutes_after_delivery(client, number, persona):
    lead_id = make_lead(client, phone=number)
    thread_id = sent(client, lead_id, message="Hi Jane, following up!")["interactionId"]
    agent_mode_off(client, thread_id)
    [delivered] = [job for job in advance(client, 10)["ran"] if job["job"] == "sms.deliver"]
    due = delivered["effects"][0]["personaReplyAt"]
    job = _reply_effect(advance(client, 600)["ran"])
    assert job["at"] == due
    waited = (parse_instant(due) - parse_instant(delivered["at"])).total_seconds()
    assert 60 <= waited <= 300                            # "a few minutes later", drawn from the tenant RNG
    thread = interaction(client, thread_id)
    assert [(e["role"], e["source"], e["message"]) for e in thread["transcript"]] == [
        ("agent", "api", "Hi Jane, following up!"), ("user", "inbound", PERSONA_REPLIES[persona])]
    assert thread["transcript"][1]["timestamp"] == due


def test_stop_persona_opts_out(client):
    lead_id = make_lead(client, phone="+12125550128")
    thread_id = sent(client, lead_id)["interactionId"]
    advance(client, 600)
    assert interaction(client, thread_id)["status"] == "dnc"
    assert data(client.get(f"/_sandbox/leads/{lead_id}/dnc"))["channels"] == ["sms"]
    assert refusal(send(client, lead_id)) == ["dnc: lead is on the do-not-contact list (sms)"]


def test_silent_persona_never_replies(client):
    lead_id = make_lead(client, phone="+12125550129")
    thread_id = sent(client, lead_id)["interactionId"]
    ran = advance(client, 86400)["ran"]
    assert [job["job"] for job in ran] == ["sms.deliver"]
    assert len(interaction(client, thread_id)["transcript"]) == 1


def test_personas_answer_people_not_agents(client):
    """A persona answers API texts only: with the built-in agent on, the exchange ends after the
    agent's answer instead of looping on the clock."""
    lead_id = make_lead(client, phone="+12125550126")
    thread_id = sent(client, lead_id, message="Hi!")["interactionId"]
    advance(client, 3600)
    thread = interaction(client, thread_id)
    assert [(e["role"], e["source"]) for e in thread["transcript"]] == [
        ("agent", "api"), ("user", "inbound"), ("agent", "sms_agent")]
    assert sent(client, lead_id, message="Agent text", source="sms_agent")
    advance(client, 3600)
    assert len(interaction(client, thread_id)["transcript"]) == 4


def test_no_persona_reply_when_delivery_fails_or_number_is_plain(client):
    plain = make_lead(client)
    failing = make_lead(client, phone="+12125550190")
    sent(client, plain)
    sent(client, failing)
    ran = advance(client, 3600)["ran"]
    assert [job["job"] for job in ran] == ["sms.deliver", "sms.deliver"]
    assert all("personaReplyAt" not in job["effects"][0] for job in ran)
