"""Inbound SMS: a text from a lead reaches one of our numbers (docs §5.10), or a scripted persona
answers on the clock.

The control plane plays the provider's inbound webhook: check the receiving number, drop a
provider redelivery (same provider message id from the same provider within 24 h of the tenant
clock, G50), route to a campaign, find or create the lead by the sender's number (a placeholder
lead in the primary campaign when unknown), find or create the thread of the number pair, and
append the text (role ``user``, source ``inbound``). Then either an opt-out keyword is applied, or
— in agent mode — the text joins the thread's batch for the SMS agent.
The one thing a reader might get wrong: STOP / START are handled by the platform, as carriers do,
and never reach the agent; any other text, even "please stop", is an ordinary message.
"""

from __future__ import annotations

from datetime import timedelta

from ..clock import iso
from ..domain import interactions as model, phones, sms_conversation as talk, sms_rules
from ..errors import ValidationFailed, refuse_if
from . import interactions, leads, setup, sms, sms_agent

ACTOR = "inbound_sms"          # DNC updatedBy and note createdBy for what an inbound text did


def receive(tenant, body: dict) -> dict:
    """``POST /_sandbox/sms/inbound``: what the provider's inbound webhook would deliver."""
    state = tenant.state
    sender, our_number, text = body["from"], body["to"], body["text"]
    problems = [] if phones.is_valid_e164(sender) else [f"from: {sender} is not a valid E.164 phone number"]
    number_record = state.phone_numbers.get(our_number)
    if number_record is None:
        problems.append(f"to: {our_number} is not one of your phone numbers")
    elif not number_record.get("smsCapable", True):
        problems.append(f"to: {our_number} cannot receive SMS (voice-only number)")
    refuse_if(problems)
    provider = sms_rules.call_provider(number_record, state.settings)
    provider_message_id = body.get("providerMessageId")
    if provider_message_id:
        original = _redelivered(tenant, provider, provider_message_id)
        if original is not None:
            return _answer(original, duplicate=True)
    route = sms_rules.inbound_route(our_number, number_record, state.sms_agents, state.campaigns)
    if route is None:
        raise ValidationFailed([sms_rules.unroutable_detail(our_number)])
    lead, placeholder = _lead_for(tenant, route, sender, our_number)
    campaign = state.campaigns[(lead.get("campaign") or {}).get("campaignId")]
    thread = sms.find_or_open_thread(tenant, lead, campaign, sender, our_number, provider, "inbound")
    message, kw, batch_due = accept(tenant, thread, lead, text, provider, provider_message_id)
    return _answer(message, duplicate=False, routed_by=route.via, placeholder=placeholder, keyword=kw,
                   agent_mode=thread["sms"]["agentMode"], batch_closes_at=batch_due)


def _answer(message: dict, *, duplicate: bool, routed_by=None, placeholder=False, keyword=None,
            agent_mode=None, batch_closes_at=None) -> dict:
    return {"duplicate": duplicate, "messageId": message["messageId"], "interactionId": message["interactionId"],
            "leadId": message["leadId"], "routedBy": routed_by, "placeholderLead": placeholder, "keyword": keyword,
            "agentMode": agent_mode, "batchClosesAt": batch_closes_at}


def _redelivered(tenant, provider: str, provider_message_id: str) -> dict | None:
    """The earlier inbound text with this provider message id, if received within 24 h."""
    since = iso(tenant.now() - timedelta(seconds=sms_rules.REDELIVERY_WINDOW_SECONDS))
    # Newest first, stopping at the window's edge: the scan costs the last 24 h, not the history.
    for message in reversed(tenant.state.sms_messages.values()):
        if message["createdAt"] <= since:
            return None
        if sms_rules.is_redelivery(message, provider, provider_message_id):
            return message
    return None


def _lead_for(tenant, route: sms_rules.Route, sender: str, our_number: str) -> tuple[dict, bool]:
    """The sender's lead in the first campaign (priority order) that has one, the newest there;
    else a placeholder lead in the primary campaign. Returns (lead, created)."""
    state = tenant.state
    newest_first = (state.leads[lead_id] for lead_id in reversed(state.lead_order) if lead_id in state.leads)
    code, lead = model.route_inbound(list(route.campaign_ids), newest_first,
                                     lambda known: sms_rules.same_number(known.get("phone"), sender))
    if lead is not None:
        return lead, False
    note = f"Created from an inbound SMS from {sender} to {our_number}."
    return leads.create_placeholder_lead(tenant, code, sender, note, ACTOR), True


def accept(tenant, thread: dict, lead: dict, text: str, provider: str,
           provider_message_id: str | None = None) -> tuple[dict, str | None, str | None]:
    """Append one inbound text to its thread and act on it: (message record, keyword, batch closes at)."""
    now = iso(tenant.now())
    message_id = tenant.ids.new("msg")
    thread["transcript"].append(model.transcript_entry(now, "user", text, "inbound"))
    thread["updatedAt"] = now
    message = sms_rules.message_record(
        message_id, thread, direction=sms_rules.INBOUND, provider=provider, text=text, status=sms_rules.RECEIVED,
        source="inbound", now=now, provider_message_id=provider_message_id)
    tenant.state.sms_messages[message_id] = message
    interactions.mark_activity(tenant, lead)
    kw = talk.keyword(text)
    if kw is not None:
        _apply_keyword(tenant, thread, lead, kw, text, now)
        return message, kw, None
    return message, None, sms_agent.queue_batch(tenant, thread, lead, message_id)


def _apply_keyword(tenant, thread: dict, lead: dict, kw: str, text: str, now: str) -> None:
    """STOP: the sms channel joins the lead's DNC record and the thread is ``dnc`` (G43).
    START: the sms channel leaves it (other channels stay) and the thread is open again."""
    campaign_name = (tenant.state.campaigns.get(thread["campaignId"]) or {}).get("name")
    if kw == talk.STOP:
        setup.add_dnc_channel(tenant, lead["leadId"], "sms",
                              f"lead texted {text.strip()} to {thread['telephony']['phoneNumber']}", ACTOR)
        sms_agent.cancel_batch(tenant, thread["interactionId"])
        confirmation, status = talk.opt_out_confirmation(campaign_name), "dnc"
    else:
        remaining = [c for c in interactions.dnc_channels(tenant, lead["leadId"]) if c != "sms"]
        if remaining:
            setup.set_dnc(tenant, lead["leadId"], remaining, tenant.state.dnc[lead["leadId"]].get("reason"),
                          ACTOR)
        else:
            setup.clear_dnc(tenant, lead["leadId"])
        confirmation, status = talk.opt_in_confirmation(campaign_name), model.SMS_OPEN
    thread["transcript"].append(model.transcript_entry(now, "agent", confirmation, "system"))
    thread["status"] = status


def persona_reply(tenant, payload: dict) -> dict | None:
    """A scripted persona answers a text it received (scenario table, area ``sms``).

    The reply goes straight into the thread it answers — the persona *is* that thread's lead — and
    from there on it is an ordinary inbound text (keywords, batching).
    """
    state = tenant.state
    thread = state.interactions.get(payload["interactionId"])
    lead = state.leads.get((thread or {}).get("leadId"))
    text = talk.PERSONA_REPLIES.get(payload.get("persona"))
    if thread is None or lead is None or not text:
        return None
    provider = sms_rules.call_provider(state.phone_numbers.get(thread["telephony"]["phoneNumber"]), state.settings)
    message, kw, batch_due = accept(tenant, thread, lead, text, provider)
    return {"interactionId": thread["interactionId"], "messageId": message["messageId"], "text": text,
            "keyword": kw, "batchClosesAt": batch_due}
