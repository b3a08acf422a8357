"""Agent mode (§5.9, G49): defaults and the toggle, debounced batching on the clock, the §4.8.2
hand-off to a real HTTP receiver, and the built-in agent that answers when there is no webhook.

Seed world: HXZ's number +18335645667 and SMS agent smsagent_sam (webhookUrl null → the built-in
agent; batch window 7,000 ms); HXZ requires first_name, last_name, email, phone, vehicle_year.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.api.test_sms import messages, sent
from tests.api.test_sms_inbound import HXZ_NUMBER, SAM_NUMBER, STRANGER, received
from tests.api.test_voice import PLAIN_PHONE, call, interaction, lead, make_lead, refusal, state
from tests.conftest import advance, data, error

BATCH, REPLY = "sms.batch", "sms.agent_reply"


def agent_mode(client, interaction_id: str, enabled: bool):
    return client.put(f"/_sandbox/interactions/{interaction_id}/agent-mode", json={"enabled": enabled})


def jobs(ran: list[dict], kind: str) -> list[dict]:
    return [job for job in ran if job["job"] == kind]


def set_sam(client, **doc) -> dict:
    return data(client.put("/_sandbox/sms-agents/smsagent_sam", json=doc))


# --- agent mode: default and toggle --------------------------------------------------------------

def test_agent_mode_defaults_follow_the_thread_agent(client):
    hxz = received(client, sender=STRANGER)                         # HXZ has active Sam
    assert hxz["agentMode"] is True and interaction(client, hxz["interactionId"])["sms"]["agentMode"] is True
    drw_lead = make_lead(client, campaign="DRW")                    # DRW has no SMS agent
    assert interaction(client, sent(client, drw_lead)["interactionId"])["sms"]["agentMode"] is False
    set_sam(client, active=False)
    assert received(client, to=SAM_NUMBER)["agentMode"] is False  # a new thread, agent inactive


def test_toggle_agent_mode(client):
    thread_id = received(client)["interactionId"]
    advance(client, 60)
    record = data(agent_mode(client, thread_id, False))
    assert record["interactionId"] == thread_id and record["sms"] == {"agentMode": False, "direction": "inbound"}
    assert record["updatedAt"] == "2026-01-15T15:01:00Z"
    assert interaction(client, thread_id)["sms"]["agentMode"] is False
    assert data(agent_mode(client, thread_id, True))["sms"]["agentMode"] is True


def test_toggle_refusals(client, other):
    thread_id = received(client)["interactionId"]
    error(agent_mode(client, "int_doesnotexist", True), 404, "NOT_FOUND")
    error(agent_mode(other, thread_id, True), 404, "NOT_FOUND")
    call_id = data(call(client, make_lead(client, phone="+12125557799")))["interactionId"]
    assert refusal(agent_mode(client, call_id, True)) == \
        [f"interactionId: {call_id} is a call, not an SMS conversation"]
    assert refusal(client.put(f"/_sandbox/interactions/{thread_id}/agent-mode", json={})) == ["enabled: is required"]
    assert refusal(client.put(f"/_sandbox/interactions/{thread_id}/agent-mode", json={"enabled": "yes"})) == \
        ["enabled: must be a boolean (true or false)"]


# --- batching windows (debounce) -----------------------------------------------------------------

def test_texts_inside_the_window_make_one_batch_each_restarting_it(client):
    make_lead(client)
    first = received(client, "Hey, I have a question")
    assert first["batchClosesAt"] == "2026-01-15T15:00:07Z"
    advance(client, 3)
    second = received(client, "Actually two questions")
    assert second["batchClosesAt"] == "2026-01-15T15:00:10Z"          # the window restarted at 15:00:03
    advance(client, 5)
    third = received(client, "Are you there?")
    assert third["batchClosesAt"] == "2026-01-15T15:00:15Z"
    assert jobs(advance(client, 6)["ran"], BATCH) == []                 # 15:00:14: the window is still open
    [batch] = jobs(advance(client, 1)["ran"], BATCH)
    assert batch["at"] == "2026-01-15T15:00:15Z"
    assert batch["payload"]["messageIds"] == [first["messageId"], second["messageId"], third["messageId"]]
    assert batch["effects"][0]["messageCount"] == 3
    # After the window, a new text starts a new batch of its own.
    later = received(client, "One more thing")
    [next_batch] = jobs(advance(client, 7)["ran"], BATCH)
    assert next_batch["payload"]["messageIds"] == [later["messageId"]]


def test_the_window_is_the_agents_batch_window(client):
    set_sam(client, batchWindowMs=1500)
    assert received(client)["batchClosesAt"] == "2026-01-15T15:00:01Z"   # 15:00:01.5, shown to the second
    assert jobs(advance(client, 1)["ran"], BATCH) == []
    assert len(jobs(advance(client, 1)["ran"], BATCH)) == 1
    assert refusal(client.put("/_sandbox/sms-agents/smsagent_sam", json={"batchWindowMs": 999})) == \
        ["batchWindowMs: must be an integer between 1000 and 60000"]


def test_without_agent_mode_nothing_is_batched(client):
    thread_id = received(client)["interactionId"]
    advance(client, 60)
    data(agent_mode(client, thread_id, False))
    answer = received(client, "still there?")
    assert answer["agentMode"] is False and answer["batchClosesAt"] is None
    ran = advance(client, 600)["ran"]
    assert jobs(ran, BATCH) == [] and jobs(ran, REPLY) == []


def test_switching_agent_mode_off_drops_the_open_batch(client):
    thread_id = received(client)["interactionId"]
    data(agent_mode(client, thread_id, False))
    assert jobs(advance(client, 600)["ran"], BATCH) == []
    assert len(interaction(client, thread_id)["transcript"]) == 1       # the text stays in the thread


def test_sms_dnc_during_the_window_skips_the_agent(client):
    lead_id = make_lead(client)
    received(client)
    data(client.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["sms"]}))
    [batch] = jobs(advance(client, 600)["ran"], BATCH)
    assert batch["effects"] == [{"interactionId": batch["payload"]["interactionId"],
                                 "skipped": "lead is on the do-not-contact list (sms)"}]
    assert messages(client, direction="outbound") == []


def test_stop_cancels_the_open_batch(client):
    received(client, "Hello")
    received(client, "STOP")
    assert jobs(advance(client, 600)["ran"], BATCH) == []


# --- the hand-off payload (§4.8.2) ---------------------------------------------------------------

class Receiver:
    """A real HTTP server on 127.0.0.1 that records what it is sent."""

    def __init__(self):
        received_bodies = self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received_bodies.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok":true}')

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms-agent"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()


PAYLOAD_SHAPE = {
    "message": ["combinedText", "messageCount", "senderPhone", "inboundPhone"],
    "lead": ["leadId", "firstName", "lastName", "email", "phone", "status"],
    "campaign": ["campaignId", "name", "clientName", "offerName"],
    "interaction": ["interactionId", "status", "transcript"],
    "questionnaire": ["knownInformation", "informationToCollect"],
    "tenantId": None, "agentId": None, "timestamp": None,
}


def _expected_payload(client, lead_id: str, thread_id: str) -> dict:
    org = data(client.get("/_sandbox/state"))["state"]["org_id"]
    return {
        "message": {"combinedText": "Hey, I have a question\nActually two questions", "messageCount": 2,
                    "senderPhone": PLAIN_PHONE, "inboundPhone": HXZ_NUMBER},
        "lead": {"leadId": lead_id, "firstName": "Jane", "lastName": "Doe", "email": "jane@example.com",
                 "phone": PLAIN_PHONE, "status": "new"},
        "campaign": {"campaignId": "HXZ", "name": "Auto Insurance Quotes", "clientName": "Acme Insurance",
                     "offerName": "Auto Quote"},
        "interaction": {"interactionId": thread_id, "status": "incomplete",
                        "transcript": interaction(client, thread_id)["transcript"]},
        "questionnaire": {
            "knownInformation": [
                {"key": "first_name", "question": "What is your first name?", "answer": "Jane"},
                {"key": "last_name", "question": "What is your last name?", "answer": "Doe"},
                {"key": "email", "question": "What is your email?", "answer": "jane@example.com"},
                {"key": "phone", "question": "What is your phone?", "answer": PLAIN_PHONE}],
            "informationToCollect": [{"key": "vehicle_year", "question": "What is your vehicle year?"}]},
        "tenantId": org,
        "agentId": "smsagent_sam",
        "timestamp": "2026-01-15T15:00:09Z",
    }


def _two_texts(client) -> tuple[str, str]:
    lead_id = make_lead(client)
    thread_id = received(client, "Hey, I have a question")["interactionId"]
    advance(client, 2)
    received(client, "Actually two questions")
    return lead_id, thread_id


def test_handoff_is_recorded_in_the_outbox_with_exactly_the_documented_shape(client):
    set_sam(client, webhookUrl="https://agent.example.com/sms")
    lead_id, thread_id = _two_texts(client)
    [batch] = jobs(advance(client, 7)["ran"], BATCH)
    effect = batch["effects"][0]
    assert effect["messageCount"] == 2 and effect["url"] == "https://agent.example.com/sms"
    delivery = state(client)["deliveries"][effect["deliveryId"]]
    assert (delivery["kind"], delivery["url"], delivery["method"]) == ("sms_agent", "https://agent.example.com/sms",
                                                                       "POST")
    assert (delivery["leadId"], delivery["campaignId"]) == (lead_id, "HXZ")
    payload = delivery["payload"]
    assert list(payload) == list(PAYLOAD_SHAPE)
    for key, inner in PAYLOAD_SHAPE.items():
        if inner is not None:
            assert list(payload[key]) == inner, key
    assert payload == _expected_payload(client, lead_id, thread_id)
    assert messages(client, direction="outbound") == []           # the webhook agent answers, not the built-in one


def test_handoff_reaches_a_real_http_receiver_and_the_agent_answers_through_send(client):
    with Receiver() as receiver:
        set_sam(client, webhookUrl=receiver.url)
        lead_id, thread_id = _two_texts(client)
        advance(client, 7)
        assert len(receiver.requests) == 1, "the hand-off was not POSTed during the advance"
    [request] = receiver.requests
    assert request["path"] == "/sms-agent"
    assert request["headers"]["Content-Type"] == "application/json"
    payload = json.loads(request["body"])
    assert list(payload) == list(PAYLOAD_SHAPE)
    assert payload == _expected_payload(client, lead_id, thread_id)
    # The agent answers with the ids it was given, as the docs' agent flow does.
    reply = sent(client, payload["lead"]["leadId"], interactionId=payload["interaction"]["interactionId"],
                 message="Happy to help! What are your questions?", source="sms_agent")
    assert reply["interactionId"] == thread_id
    last = interaction(client, thread_id)["transcript"][-1]
    assert (last["role"], last["source"], last["message"]) == ("agent", "sms_agent",
                                                               "Happy to help! What are your questions?")
    [outbound] = messages(client, direction="outbound")
    assert (outbound["from"], outbound["to"], outbound["source"]) == (HXZ_NUMBER, PLAIN_PHONE, "sms_agent")


# --- the built-in agent --------------------------------------------------------------------------

def _conversation(client, thread_id: str) -> list[tuple[str, str, str]]:
    return [(e["role"], e["source"], e["message"]) for e in interaction(client, thread_id)["transcript"]]


def test_builtin_agent_asks_for_the_next_missing_field_and_stores_answers(client):
    lead_id = make_lead(client)
    thread_id = received(client, "Hi, I saw your ad")["interactionId"]
    ran = advance(client, 7)["ran"]
    [batch] = jobs(ran, BATCH)
    due = batch["effects"][0]["builtInAgentReplyAt"]
    [reply] = jobs(advance(client, 10)["ran"], REPLY)
    assert reply["at"] == due and reply["effects"][0]["asks"] == "vehicle_year"
    assert _conversation(client, thread_id)[-1] == (
        "agent", "sms_agent", "Hi Jane, this is Sam from Auto Insurance Quotes. Thanks for your message! "
                              "What is your vehicle year?")
    [asked] = messages(client, direction="outbound")
    assert (asked["source"], asked["agentAsks"], asked["from"]) == ("sms_agent", "vehicle_year", HXZ_NUMBER)

    received(client, "It's a blue one")                           # not a year: asked again
    advance(client, 20)
    assert _conversation(client, thread_id)[-1][2] == "Sorry, I didn't quite get that. What is your vehicle year?"

    received(client, "2019")
    [stored] = jobs(advance(client, 20)["ran"], REPLY)
    assert stored["effects"][0] == {"interactionId": thread_id, "messageId": messages(client, direction="outbound")
                                    [0]["messageId"], "asks": None, "stored": "vehicle_year"}
    assert _conversation(client, thread_id)[-1][2] == \
        "Got it, thank you! That's everything we need for now. A specialist will be in touch soon."
    assert lead(client, lead_id)["questionnaire"] == [
        {"key": "vehicle_year", "question": "What is your vehicle year?", "answer": 2019}]

    received(client, "Can you call me later?")
    advance(client, 20)
    assert _conversation(client, thread_id)[-1][2] == \
        "Thanks for your message! Sure, I've noted that you'd like a call; a specialist will ring you."


def test_builtin_agent_collects_a_placeholder_leads_contact_details(client):
    answer = received(client, "hello?", sender=STRANGER, to=SAM_NUMBER)
    advance(client, 20)
    assert _conversation(client, answer["interactionId"])[-1][2] == \
        "Hi there, this is Sam from Auto Insurance Quotes. Thanks for your message! What is your first name?"
    for text in ("bob", "o'brien", "not an email"):
        received(client, text, sender=STRANGER, to=SAM_NUMBER)
        advance(client, 20)
    assert [m[2] for m in _conversation(client, answer["interactionId"]) if m[1] == "sms_agent"][1:] == [
        "Got it, thank you! What is your last name?",
        "Got it, thank you! What is your email?",
        "Sorry, I didn't quite get that. What is your email?"]
    received(client, "Bob@Example.com", sender=STRANGER, to=SAM_NUMBER)
    advance(client, 20)
    record = lead(client, answer["leadId"])
    assert (record["firstName"], record["lastName"], record["email"]) == ("Bob", "O'Brien", "bob@example.com")
    assert _conversation(client, answer["interactionId"])[-1][2] == "Got it, thank you! What is your vehicle year?"


def test_builtin_agent_replies_on_the_threads_own_pair(client):
    lead_id = make_lead(client)
    thread_id = received(client, "hi", to=SAM_NUMBER)["interactionId"]
    advance(client, 20)
    [reply] = messages(client, direction="outbound")
    assert (reply["interactionId"], reply["from"], reply["to"]) == (thread_id, SAM_NUMBER, PLAIN_PHONE)
    assert reply["leadId"] == lead_id


def test_builtin_agent_stands_down_when_the_lead_opts_out_while_it_types(client):
    lead_id = make_lead(client)
    received(client, "hi")
    advance(client, 7)                                             # the window closed; the reply is due soon
    data(client.put(f"/_sandbox/leads/{lead_id}/dnc", json={"channels": ["sms"]}))
    [reply] = jobs(advance(client, 20)["ran"], REPLY)
    assert reply["effects"][0]["skipped"] == "dnc: lead is on the do-not-contact list (sms)"
    assert messages(client, direction="outbound") == []


@pytest.mark.parametrize("text, ok, value", [("yes", True, True), ("Yeah I do", True, True), ("nope", True, False),
                                             ("I don't", True, False), ("maybe", False, None)])
def test_boolean_answers(text, ok, value):
    from sandbox.domain.sms_conversation import parse_answer
    assert parse_answer("homeowner", text, {"dataType": "boolean"}) == (ok, value)


def test_answers_follow_the_field_library_rules():
    from sandbox.domain.field_library import STANDARD_FIELDS
    from sandbox.domain.sms_conversation import parse_answer
    library = {entry["key"]: entry for entry in STANDARD_FIELDS}
    assert parse_answer("vehicle_year", "about 2019.", library["vehicle_year"]) == (True, 2019)
    assert parse_answer("vehicle_year", "1800", library["vehicle_year"]) == (False, 1800)
    assert parse_answer("date_of_birth", "03/14/1985", library["date_of_birth"]) == (True, "1985-03-14")
    assert parse_answer("address_state", "ny", library["address_state"]) == (True, "NY")
    assert parse_answer("address_zip", "1234", library["address_zip"]) == (False, None)
    assert parse_answer("last_name", "  smith-jones ", library["last_name"]) == (True, "Smith-Jones")
