"""Outbound SMS: resolve recipient, campaign, sender, provider and thread; record; deliver later.

Resolution follows docs §5.7 link by link (see ``domain/sms_rules``); threading follows §5.8 — one
SMS interaction per (lead number, our number) pair. Every text the sandbox handles, either way, is
a sandbox-only record in ``state.sms_messages`` (listed by ``GET /_sandbox/sms/messages``); an
outbound one moves ``sent → delivered | failed`` on the clock (``sms.deliver``), and a delivered
text to a persona number makes the lead answer a few minutes later (``sms.persona_reply``).
The one thing a reader might get wrong: the response always says ``sent`` — delivery (or
failure, for the scenario number) happens a few seconds *later*, and a failure shows on the
thread as ``errorCode`` / ``errorMessage``.
"""

from __future__ import annotations

from datetime import timedelta

from .. import scenarios
from ..clock import iso
from ..domain import interactions as model, phones, sms_conversation, sms_rules
from ..errors import MissingPhoneNumber, ValidationFailed, found
from . import interactions

DELIVER_JOB = "sms.deliver"
PERSONA_JOB = "sms.persona_reply"
DELIVERY_SECONDS = (1, 5)
SENT, DELIVERED, FAILED = model.SMS_SENT, "delivered", "failed"
UNREACHABLE_CODE = "30003"
UNREACHABLE_MESSAGE = "Unreachable destination handset"
DNC_SMS_REASON = "lead is on the do-not-contact list (sms)"
LIST_LIMIT = 100


def send_sms(tenant, body: dict) -> dict:
    """``POST /api/v1/sms/send``."""
    return send(tenant, body)


def send(tenant, body: dict, *, agent_asks: str | None = None) -> dict:
    """Send one text; the built-in SMS agent passes ``agent_asks`` (the field its text asks for)."""
    state = tenant.state
    lead = interactions.require_lead(tenant, body.get("leadId"))
    given = _given_thread(tenant, lead, body["interactionId"]) if body.get("interactionId") is not None else None
    # With an interactionId the conversation names the pair: its numbers are the defaults, so an
    # agent answering a hand-off needs only leadId, interactionId and message.
    to = interactions.lead_number(lead, body.get("to") if given is None else body.get("to", given["phone"]), "to")
    campaign_id, campaign, config = interactions.campaign_for(tenant, lead, body.get("campaignId"))
    sender = sender_number(tenant, campaign_id, config, lead,
                           body.get("from") if given is None else body.get("from", given["telephony"]["phoneNumber"]))
    provider = sms_rules.sms_provider(config, state.settings)
    if "sms" in interactions.dnc_channels(tenant, lead["leadId"]):
        raise ValidationFailed([f"dnc: {DNC_SMS_REASON}"])
    if given is not None:
        _check_pair(given, to, sender)
        thread = given
    else:
        thread = find_or_open_thread(tenant, lead, campaign, to, sender, provider, "outbound")

    now = iso(tenant.now())
    message_id = tenant.ids.new("msg")
    source = body.get("source") or "api"
    thread["transcript"].append(model.transcript_entry(now, "agent", body["message"], source))
    thread["telephony"]["messageId"] = message_id
    thread["updatedAt"] = now
    state.sms_messages[message_id] = sms_rules.message_record(
        message_id, thread, direction=sms_rules.OUTBOUND, provider=provider, text=body["message"], status=SENT,
        source=source, now=now, agent_asks=agent_asks)
    interactions.mark_activity(tenant, lead)
    tenant.schedule(tenant.now() + timedelta(seconds=tenant.rng.randint(*DELIVERY_SECONDS)), DELIVER_JOB,
                    {"messageId": message_id})
    return {"messageId": message_id, "status": SENT, "interactionId": thread["interactionId"]}


def campaign_sms_agent(tenant, config: dict, lead: dict) -> dict | None:
    """The campaign's SMS agent for this lead (test slot for test leads, else production)."""
    is_test = bool((lead.get("flags") or {}).get("isTest"))
    return tenant.state.sms_agents.get(sms_rules.agent_id_for(config, "sms", is_test) or "")


def thread_agent(tenant, thread: dict, lead: dict) -> dict | None:
    """The SMS agent that speaks on a thread (see ``sms_rules.thread_agent_id``)."""
    return _agent_on(tenant, thread["telephony"]["phoneNumber"], thread["campaignId"], lead)


def _agent_on(tenant, our_number: str, campaign_id: str, lead: dict) -> dict | None:
    state = tenant.state
    agent_id = sms_rules.thread_agent_id(
        our_number, state.phone_numbers.get(our_number), state.campaign_config.get(campaign_id) or {},
        bool((lead.get("flags") or {}).get("isTest")), state.sms_agents)
    return state.sms_agents.get(agent_id or "")


def sender_number(tenant, campaign_id: str, config: dict, lead: dict, given: str | None) -> str:
    """``from`` (must be ours) → campaign number → SMS agent number → first SMS-capable number."""
    if given is not None:
        number = tenant.state.phone_numbers.get(given)
        if number is None:
            raise ValidationFailed([f"from: {given} is not one of your phone numbers"])
        if not number.get("smsCapable", True):
            raise ValidationFailed([f"from: {given} cannot send SMS (voice-only number)"])
        return given
    resolved = sms_rules.sms_sender(campaign_id, config, campaign_sms_agent(tenant, config, lead),
                                    tenant.state.phone_numbers)
    if resolved.value is None:
        raise MissingPhoneNumber([resolved.missing("from")])
    return resolved.value


def find_or_open_thread(tenant, lead: dict, campaign: dict, lead_number: str, our_number: str, provider: str,
                        direction: str) -> dict:
    """The thread of this number pair, else a new SMS thread started in ``direction``."""
    # Indexed: scanning a lead's interactions on every send grew with its history (a lead with
    # 17,000 calls made each send take 30 ms); the scan stays as a fallback for imported states.
    key = f"{lead['leadId']}|{lead_number}|{our_number}"
    existing = tenant.state.sms_threads.get(key) or sms_rules.find_thread(
        interactions.lead_records(tenant, lead["leadId"]), lead_number, our_number)
    if existing is not None:
        tenant.state.sms_threads[key] = existing
        return tenant.state.interactions[existing]
    # Agent mode follows the agent that will speak on this thread (G49), not only the campaign's.
    agent_mode = sms_rules.agent_mode_default(_agent_on(tenant, our_number, campaign["campaignId"], lead))
    record = model.new_sms_thread(
        tenant.ids.new("int"), lead["leadId"], campaign, iso(tenant.now()), phone=lead_number,
        channel_telephony=model.telephony(provider, None, our_number), sms=model.sms_block(agent_mode, direction))
    tenant.state.sms_threads[key] = record["interactionId"]
    return interactions.add(tenant, record)


def _given_thread(tenant, lead: dict, interaction_id: str) -> dict:
    record = found(tenant.state.interactions.get(interaction_id))
    if not model.is_thread_of(record, lead["leadId"]):
        raise ValidationFailed([f"interactionId: {interaction_id} is not an SMS conversation of lead "
                                f"{lead['leadId']}"])
    return record


def _check_pair(record: dict, to: str, sender: str) -> None:
    if not model.same_pair(record, to, sender):
        raise ValidationFailed([f"interactionId: conversation {record['interactionId']} is between "
                                f"{record['phone']} and {record['telephony']['phoneNumber']}, not {to} and {sender}"])


def deliver(tenant, payload: dict) -> dict | None:
    """The carrier's receipt: ``sent`` → ``delivered``, or ``failed`` for the scenario number.

    A delivered text that a person sent to a persona number schedules the lead's scripted reply.
    """
    message = tenant.state.sms_messages.get(payload["messageId"])
    if message is None or message["status"] != SENT:
        return None
    now = iso(tenant.now())
    message["updatedAt"] = now
    if scenarios.sms_failure_for(message["to"]):
        message.update(status=FAILED, errorCode=UNREACHABLE_CODE, errorMessage=UNREACHABLE_MESSAGE)
        thread = tenant.state.interactions.get(message["interactionId"])
        if thread is not None:
            thread.update(errorCode=UNREACHABLE_CODE, errorMessage=UNREACHABLE_MESSAGE, updatedAt=now)
        return {"messageId": message["messageId"], "status": message["status"]}
    message["status"] = DELIVERED
    effect = {"messageId": message["messageId"], "status": DELIVERED}
    persona = scenarios.sms_persona_for(message["to"])
    if sms_conversation.PERSONA_REPLIES.get(persona) and message["source"] in sms_conversation.PERSONA_TRIGGER_SOURCES:
        due = tenant.now() + timedelta(seconds=tenant.rng.randint(*sms_conversation.PERSONA_DELAY_SECONDS))
        tenant.schedule(due, PERSONA_JOB, {"interactionId": message["interactionId"], "persona": persona})
        effect["personaReplyAt"] = iso(due)
    return effect


def list_messages(tenant, lead_id: str | None = None, number: str | None = None, status: str | None = None,
                  direction: str | None = None, limit: int = LIST_LIMIT) -> dict:
    """Texts the sandbox handled, newest first; ``number`` matches either end (ours or the lead's).

    Numbers compare by digits: an unencoded ``+`` in a query string arrives as a space.
    """
    wanted = phones.digits(number) if number is not None else None
    found = []
    # Records are inserted as time moves forward, so reverse insertion order is newest first.
    for message in reversed(tenant.state.sms_messages.values()):
        if ((lead_id is None or message["leadId"] == lead_id)
                and (wanted is None or wanted in (phones.digits(message["from"]), phones.digits(message["to"])))
                and (status is None or message["status"] == status)
                and (direction is None or message.get("direction") == direction)):
            found.append(message)
            if len(found) == limit:
                break
    return {"messages": found, "count": len(found)}
