"""Call outcomes → statuses, outcome draws, transcripts, and the number/agent/thread resolution chains."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from sandbox.domain import call_outcomes as oc
from sandbox.domain import interactions as model
from sandbox.domain import sms_rules, transcripts
from sandbox.scenarios import CALL_OUTCOMES

# outcome: (interaction status, lead status (None = unchanged), spokenTo, errorCode, retry)
TABLE = {
    "completed": ("completed", "contacted", True, None, False),
    "incomplete": ("incomplete", "contacted", True, None, False),
    "voicemail": ("voicemail", "voicemail", False, None, True),
    "no_answer": ("no_answer", "no_answer", False, None, True),
    "busy": ("busy", "no_answer", False, None, True),
    "scheduled_callback": ("scheduled_callback", "scheduled_callback", True, None, False),
    "follow_up": ("follow_up", "contacted", True, None, False),
    "qualified": ("qualified", "qualified", True, None, False),
    "dnc": ("dnc", "dnc", True, None, False),
    "disqualified": ("disqualified", "disqualified", True, None, False),
    "failed": ("incomplete", None, False, "CALL_FAILED", False),
}


def test_every_scenario_outcome_has_a_row():
    assert set(oc.OUTCOMES) == set(CALL_OUTCOMES) == set(TABLE)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_outcome_row(name):
    status, lead_status, spoken_to, error_code, retry = TABLE[name]
    result = oc.outcome(name)
    assert (result.interaction_status, result.lead_status, result.spoken_to, result.error_code, result.retry) \
        == (status, lead_status, spoken_to, error_code, retry)
    assert oc.final_statuses(result, exhausted=False) == (status, lead_status)


def test_only_dnc_adds_the_phone_channel():
    assert [name for name, o in oc.OUTCOMES.items() if o.adds_phone_dnc] == ["dnc"]


@pytest.mark.parametrize("name", ["no_answer", "busy", "voicemail"])
def test_last_unanswered_attempt_is_no_contact(name):
    result = oc.outcome(name)
    assert oc.exhausts_attempts(result, 6, 6, ever_reached=False)
    assert oc.final_statuses(result, exhausted=True) == ("no_contact", "no_contact")


def test_attempts_left_or_lead_reached_before_is_not_no_contact():
    assert not oc.exhausts_attempts(oc.outcome("no_answer"), 5, 6, ever_reached=False)
    assert not oc.exhausts_attempts(oc.outcome("no_answer"), 6, 6, ever_reached=True)
    assert not oc.exhausts_attempts(oc.outcome("completed"), 6, 6, ever_reached=False)


def test_failed_last_attempt_keeps_its_interaction_status_but_ends_the_lead():
    assert oc.final_statuses(oc.outcome("failed"), exhausted=True) == ("incomplete", "no_contact")


def test_mix_draw_is_deterministic_and_skips_zero_weights():
    mix = {"completed": 0, "voicemail": 1, "no_answer": 3, "unknown": 50}
    rng_a, rng_b = random.Random(7), random.Random(7)
    draws = [oc.draw_from_mix(mix, rng_a) for _ in range(200)]
    assert draws == [oc.draw_from_mix(mix, rng_b) for _ in range(200)]
    assert set(draws) == {"voicemail", "no_answer"}
    assert draws.count("no_answer") > draws.count("voicemail")


def test_empty_mix_falls_back_to_completed():
    assert oc.draw_from_mix({}, random.Random(1)) == "completed"


# --- transcripts -----------------------------------------------------------------------------

SCRIPT = transcripts.CallScript(
    first_name="Jane", last_name="Doe", agent_name="Ava", campaign_name="Auto Insurance Quotes",
    caller_number="+18335645667",
    questions=[("What year is your vehicle?", "2019."), ("Can you confirm your email?", "Yes, it's j@x.com.")])


@pytest.mark.parametrize("name", ["completed", "follow_up", "qualified", "disqualified", "scheduled_callback",
                                  "incomplete", "dnc"])
def test_conversations_greet_the_lead_by_name(name):
    talk = transcripts.conversation(name, SCRIPT, 1)
    role, first_line = talk.lines[0]
    assert role == "agent" and "Hi Jane" in first_line and "Auto Insurance Quotes" in first_line


@pytest.mark.parametrize("name", ["completed", "follow_up", "qualified", "disqualified"])
def test_full_conversations_ask_every_question(name):
    talk = transcripts.conversation(name, SCRIPT, 1)
    spoken = [message for _, message in talk.lines]
    assert "What year is your vehicle?" in spoken and "2019." in spoken
    assert talk.answered == 2


def test_voicemail_is_the_agent_message_only():
    talk = transcripts.conversation("voicemail", SCRIPT, 1)
    assert [role for role, _ in talk.lines] == ["agent"]
    assert "+18335645667" in talk.lines[0][1]


@pytest.mark.parametrize("name", ["no_answer", "busy", "failed"])
def test_no_conversation_without_pickup(name):
    assert transcripts.conversation(name, SCRIPT, 1).lines == []


def test_dnc_ends_with_the_lead_asking_not_to_be_called():
    role, message = transcripts.conversation("dnc", SCRIPT, 3).lines[-1]
    assert role == "user" and ("call" in message.lower())


def test_same_seed_same_words_other_seed_may_differ():
    a = transcripts.conversation("scheduled_callback", SCRIPT, 11)
    assert a == transcripts.conversation("scheduled_callback", SCRIPT, 11)
    assert a.callback and a.callback in transcripts.summary("scheduled_callback", SCRIPT, a, 9)


def test_timed_entries_spread_over_the_talk_time():
    start = datetime(2026, 1, 15, 15, 0, 10, tzinfo=timezone.utc)
    end = datetime(2026, 1, 15, 15, 3, 10, tzinfo=timezone.utc)
    entries = transcripts.timed(transcripts.conversation("completed", SCRIPT, 1).lines, start, end)
    stamps = [e["timestamp"] for e in entries]
    assert stamps == sorted(stamps) and stamps[0] == "2026-01-15T15:00:10Z" and stamps[-1] < "2026-01-15T15:03:10Z"
    assert {e["source"] for e in entries if e["role"] == "agent"} == {"system"}
    assert {e["source"] for e in entries if e["role"] == "user"} == {"inbound"}
    assert list(entries[0]) == ["timestamp", "role", "message", "source"]


def test_summaries_exist_for_every_outcome():
    for name in oc.OUTCOMES:
        talk = transcripts.conversation(name, SCRIPT, 1)
        assert transcripts.summary(name, SCRIPT, talk, 12)
    assert transcripts.summary("no_answer", SCRIPT, transcripts.conversation("no_answer", SCRIPT, 1), 12) \
        == "No answer after 12 seconds of ringing."


def test_questions_come_from_questionnaire_then_required_fields():
    lead = {"firstName": "Jane", "email": "jane@example.com", "questionnaire": [
        {"key": "homeowner", "question": "Do you own your home?", "answer": True},
        {"key": "vehicle_year", "question": "What year is your vehicle?", "answer": None}]}
    library = {"email": {"label": "Email Address"}}
    asked = transcripts.questions_for(lead, ["email", "vehicle_year", "first_name", "zip"], library)
    assert asked == [("Do you own your home?", "Yes."), ("What year is your vehicle?", ""),
                     ("Can you confirm your email address?", "Yes, it's jane@example.com."),
                     ("Can you confirm your first name?", "Yes, it's Jane."),
                     ("Could you tell me your zip?", "")]


# --- resolution chains -----------------------------------------------------------------------

AGENT = {"agentId": "agent_ava", "phoneNumber": "+18335645668"}


def test_caller_number_campaign_first():
    assert sms_rules.caller_number("HXZ", {"phoneNumber": "+18335645667"}, AGENT).value == "+18335645667"


def test_caller_number_then_agent():
    assert sms_rules.caller_number("HXZ", {}, AGENT).value == "+18335645668"


def test_caller_number_none_names_the_chain():
    resolved = sms_rules.caller_number("HXZ", {}, {"agentId": "agent_ava"})
    assert resolved.value is None
    assert resolved.missing("callerNumber") == "callerNumber: no number on campaign HXZ or voice agent agent_ava"


def test_agent_selection_test_slot_falls_back_to_production():
    cfg = {"voiceAgentId": "agent_prod", "testVoiceAgentId": "agent_test", "smsAgentId": "smsagent_p"}
    assert sms_rules.agent_id_for(cfg, "voice", False) == "agent_prod"
    assert sms_rules.agent_id_for(cfg, "voice", True) == "agent_test"
    assert sms_rules.agent_id_for(cfg, "sms", True) == "smsagent_p"
    assert sms_rules.agent_id_for({}, "voice", True) is None


NUMBERS = {"+18335645670": {"smsCapable": False}, "+18335645669": {"smsCapable": True},
           "+18335645667": {"smsCapable": True}}


@pytest.mark.parametrize("config, agent, numbers, expected", [
    ({"phoneNumber": "+18335645667"}, {"phoneNumber": "+18335645668"}, NUMBERS, "+18335645667"),
    ({}, {"phoneNumber": "+18335645668"}, NUMBERS, "+18335645668"),
    ({}, None, NUMBERS, "+18335645669"),   # first SMS-capable in insertion order, skipping voice-only
    ({}, {"phoneNumber": None}, {}, None),
])
def test_sms_sender_chain(config, agent, numbers, expected):
    assert sms_rules.sms_sender("HXZ", config, agent, numbers).value == expected


def test_sms_sender_none_names_the_chain():
    resolved = sms_rules.sms_sender("HXZ", {}, None, {})
    assert resolved.missing("from") == "from: no number on the request, campaign HXZ, its SMS agent or the tenant"


def test_sms_provider_chain():
    assert sms_rules.sms_provider({"smsProvider": "twilio"}, {"smsProvider": "vonage"}) == "twilio"
    assert sms_rules.sms_provider({}, {"smsProvider": "twilio"}) == "twilio"
    assert sms_rules.sms_provider({}, {}) == "vonage"


def test_agent_mode_default():
    assert sms_rules.agent_mode_default({"active": True}) is True
    assert sms_rules.agent_mode_default({"active": False}) is False
    assert sms_rules.agent_mode_default(None) is False


def _thread(interaction_id, phone, ours, created="2026-01-15T15:00:00Z", kind="sms"):
    record = {"interactionId": interaction_id, "leadId": "lead_1", "type": kind, "phone": phone,
              "telephony": {"phoneNumber": ours}, "createdAt": created}
    return record


def test_thread_is_per_number_pair_and_ignores_calls():
    threads = [_thread("int_a", "+12125550001", "+18335645667"),
               _thread("int_b", "+12125550001", "+18335645669"),
               _thread("int_c", "+12125550001", "+18335645667", kind="call", created="2026-01-16T00:00:00Z")]
    assert sms_rules.find_thread(threads, "+12125550001", "+18335645667") == "int_a"
    assert sms_rules.find_thread(threads, "+12125550001", "+18335645669") == "int_b"
    assert sms_rules.find_thread(threads, "+12125550002", "+18335645667") is None


def test_newest_first_orders_by_created_then_id():
    records = [_thread("int_a", "", "", "2026-01-15T15:00:00Z"), _thread("int_c", "", "", "2026-01-15T15:00:00Z"),
               _thread("int_b", "", "", "2026-01-16T15:00:00Z")]
    assert [r["interactionId"] for r in model.newest_first(records)] == ["int_b", "int_c", "int_a"]


# --- inbound calls ---------------------------------------------------------------------------

def _lead(lead_id: str, code: str, phone: str) -> dict:
    return {"leadId": lead_id, "campaign": {"campaignId": code}, "phone": phone}


def _route(campaigns, leads, caller="+13125557788"):
    return model.route_inbound(campaigns, leads, lambda lead: lead["phone"] == caller)


def test_route_primary_match_wins_even_when_older():
    leads = [_lead("new_b", "B", "+13125557788"), _lead("old_a", "A", "+13125557788")]   # newest first
    code, lead = _route(["A", "B"], leads)
    assert (code, lead["leadId"]) == ("A", "old_a")


def test_route_lower_priority_match_selects_its_campaign():
    code, lead = _route(["A", "B", "C"], [_lead("x", "C", "+13125557788"), _lead("y", "B", "+13125557788")])
    assert (code, lead["leadId"]) == ("B", "y")


def test_route_newest_within_a_campaign_and_ignores_other_campaigns():
    leads = [_lead("z", "Z", "+13125557788"), _lead("a2", "A", "+13125557788"), _lead("a1", "A", "+13125557788")]
    assert _route(["A"], leads)[1]["leadId"] == "a2"


def test_route_unknown_caller_goes_to_the_primary_without_a_lead():
    assert _route(["A", "B"], [_lead("x", "B", "+12125557788")]) == ("A", None)


def test_inbound_mix_keeps_only_outcomes_that_reach_a_person():
    mix = {"completed": 5, "voicemail": 50, "no_answer": 50, "busy": 1, "failed": 1, "qualified": 2, "bogus": 9}
    assert oc.inbound_mix(mix) == {"completed": 5, "qualified": 2}
    assert oc.draw_from_mix(oc.inbound_mix({"no_answer": 1}), random.Random(1)) == "completed"


INBOUND_SCRIPT = transcripts.CallScript(
    first_name="Jane", last_name="Doe", agent_name="Max", campaign_name="Mass Tort Intake",
    caller_number="+18335645670", questions=[("What kind of injury did you suffer?", "Whiplash.")], inbound=True)


def test_inbound_known_caller_is_asked_to_confirm_who_they_are():
    talk = transcripts.conversation("completed", INBOUND_SCRIPT, 1)
    assert talk.lines[:2] == [
        ("agent", "Thank you for calling Mass Tort Intake, this is Max. Am I speaking with Jane?"),
        ("user", "Yes, that's me.")]
    assert ("user", "Whiplash.") in talk.lines
    assert transcripts.summary("completed", INBOUND_SCRIPT, talk, 2).startswith("Inbound call. Spoke with Jane Doe;")


def test_inbound_unknown_caller_gives_a_seeded_name():
    persona = transcripts.caller_persona(7)
    assert persona == transcripts.caller_persona(7) and persona["firstName"] and "@" in persona["email"]
    script = transcripts.CallScript(first_name=persona["firstName"], last_name=persona["lastName"], agent_name="Max",
                                    campaign_name="Mass Tort Intake", caller_number="+18335645670",
                                    inbound=True, known_caller=False)
    talk = transcripts.conversation("follow_up", script, 7)
    assert talk.lines[0][1].endswith("May I have your name, please?")
    assert talk.lines[1] == ("user", f"Hi, this is {persona['firstName']} {persona['lastName']}.")
    assert "(an unknown caller)" in transcripts.summary("follow_up", script, talk, 2)


def test_inbound_voicemail_is_the_callers_message():
    talk = transcripts.conversation("voicemail", INBOUND_SCRIPT, 1)
    assert [role for role, _ in talk.lines] == ["agent", "user"] and "leave a message" in talk.lines[0][1]
    assert transcripts.summary("voicemail", INBOUND_SCRIPT, talk, 2) == \
        "Inbound call. Jane Doe reached voicemail and left a message asking for a call back."


def test_questions_for_a_stranger_are_open_questions():
    asked = transcripts.questions_for({"firstName": "Rob"}, ["first_name", "zip"], {}, confirm=False)
    assert asked == [("Could you tell me your first name?", "It's Rob."), ("Could you tell me your zip?", "")]
