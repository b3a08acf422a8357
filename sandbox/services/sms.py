"""Outbound SMS: resolve recipient, campaign, sender, provider and thread; record; deliver later.

Resolution follows docs §5.7 link by link (see ``domain/sms_rules``); threading follows §5.8 — one
SMS interaction per (lead number, our number) pair. The message record in ``state.sms_messages``
is sandbox-only (no public endpoint lists messages); its delivery status moves on the clock
(``sms.deliver``). The one thing a reader might get wrong: the response always says ``sent`` —
delivery (or failure, for the scenario number) happens a few seconds *later*, and a failure shows
on the thread as ``errorCode`` / ``errorMessage``.
"""

from __future__ import annotations

from datetime import timedelta

from .. import scenarios
from ..clock import iso
from ..domain import interactions as model, sms_rules
from ..errors import MissingPhoneNumber, NotFound, ValidationFailed
from . import interactions

DELIVER_JOB = "sms.deliver"
DELIVERY_SECONDS = (1, 5)
SENT, DELIVERED, FAILED = model.SMS_SENT, "delivered", "failed"
UNREACHABLE_CODE = "30003"
UNREACHABLE_MESSAGE = "Unreachable destination handset"
DNC_SMS_REASON = "lead is on the do-not-contact list (sms)"


def send_sms(tenant, body: dict) -> dict:
    state = tenant.state
    lead = interactions.require_lead(tenant, body.get("leadId"))
    to = interactions.lead_number(lead, body.get("to"), "to")
    campaign_id, campaign, config = interactions.campaign_for(tenant, lead, body.get("campaignId"))
    sender = sender_number(tenant, campaign_id, config, lead, body.get("from"))
    provider = sms_rules.sms_provider(config, state.settings)
    if "sms" in interactions.dnc_channels(tenant, lead["leadId"]):
        raise ValidationFailed([f"dnc: {DNC_SMS_REASON}"])
    thread = find_or_open_thread(tenant, lead, campaign, config, to, sender, provider, body.get("interactionId"))

    now = iso(tenant.now())
    message_id = tenant.ids.new("msg")
    source = body.get("source") or "api"
    thread["transcript"].append(model.transcript_entry(now, "agent", body["message"], source))
    thread["telephony"]["messageId"] = message_id
    thread["updatedAt"] = now
    state.sms_messages[message_id] = model.new_sms_message(message_id, thread, sender, provider, body["message"],
                                                           source, now)
    interactions.mark_activity(tenant, lead)
    tenant.schedule(tenant.now() + timedelta(seconds=tenant.rng.randint(*DELIVERY_SECONDS)), DELIVER_JOB,
                    {"messageId": message_id})
    return {"messageId": message_id, "status": SENT, "interactionId": thread["interactionId"]}


def sms_agent(tenant, config: dict, lead: dict) -> dict | None:
    is_test = bool((lead.get("flags") or {}).get("isTest"))
    return tenant.state.sms_agents.get(sms_rules.agent_id_for(config, "sms", is_test) or "")


def sender_number(tenant, campaign_id: str, config: dict, lead: dict, given: str | None) -> str:
    """``from`` (must be ours) → campaign number → SMS agent number → first SMS-capable number."""
    if given is not None:
        number = tenant.state.phone_numbers.get(given)
        if number is None:
            raise ValidationFailed([f"from: {given} is not one of your phone numbers"])
        if not number.get("smsCapable", True):
            raise ValidationFailed([f"from: {given} cannot send SMS (voice-only number)"])
        return given
    resolved = sms_rules.sms_sender(campaign_id, config, sms_agent(tenant, config, lead), tenant.state.phone_numbers)
    if resolved.value is None:
        raise MissingPhoneNumber([resolved.missing("from")])
    return resolved.value


def find_or_open_thread(tenant, lead: dict, campaign: dict, config: dict, to: str, sender: str, provider: str,
                        interaction_id: str | None) -> dict:
    """``interactionId`` → the thread of this number pair → a new SMS thread."""
    if interaction_id is not None:
        return _given_thread(tenant, lead, interaction_id, to, sender)
    existing = sms_rules.find_thread(interactions.lead_records(tenant, lead["leadId"]), to, sender)
    if existing is not None:
        return tenant.state.interactions[existing]
    record = model.new_sms_thread(
        tenant.ids.new("int"), lead["leadId"], campaign, iso(tenant.now()), phone=to,
        channel_telephony=model.telephony(provider, None, sender),
        sms=model.sms_block(sms_rules.agent_mode_default(sms_agent(tenant, config, lead)), "outbound"))
    return interactions.add(tenant, record)


def _given_thread(tenant, lead: dict, interaction_id: str, to: str, sender: str) -> dict:
    record = tenant.state.interactions.get(interaction_id)
    if record is None:
        raise NotFound()
    if not model.is_thread_of(record, lead["leadId"]):
        raise ValidationFailed([f"interactionId: {interaction_id} is not an SMS conversation of lead "
                                f"{lead['leadId']}"])
    if not model.same_pair(record, to, sender):
        raise ValidationFailed([f"interactionId: conversation {interaction_id} is between {record['phone']} and "
                                f"{record['telephony']['phoneNumber']}, not {to} and {sender}"])
    return record


def deliver(tenant, payload: dict) -> dict | None:
    """The carrier's receipt: ``sent`` → ``delivered``, or ``failed`` for the scenario number."""
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
    else:
        message["status"] = DELIVERED
    return {"messageId": message["messageId"], "status": message["status"]}
