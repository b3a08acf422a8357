"""Agent mode (docs §5.9, G49): batch a thread's inbound texts, hand them to the SMS agent, and
play the agent when it has no webhook of its own.

A thread in agent mode has at most one pending ``sms.batch`` job; it carries the ids of the texts
waiting for the agent. Each new text cancels it and schedules a new one a full window later with
the text added (debounce: each text restarts the window, G49). When the window closes, the
§4.8.2 payload goes to the agent's ``webhookUrl`` through the outbox (a real HTTP POST, retried on
the clock), or — with no ``webhookUrl`` — the built-in agent answers a few seconds later through
the same send service as everyone else, with ``source: sms_agent``.
The one thing a reader might get wrong: nothing is decided when a text arrives. Agent mode, the
lead's sms DNC and the agent itself are checked when the window *closes*, so switching agent mode
off, a STOP, or an agent made inactive during the window all stop the hand-off.
"""

from __future__ import annotations

import copy
from datetime import timedelta

from ..clock import iso
from ..domain import interactions as model, sms_conversation as talk
from ..domain.transcripts import spoken_name
from ..errors import SandboxError, ValidationFailed, found
from . import interactions, outbox, sms

BATCH_JOB = "sms.batch"
REPLY_JOB = "sms.agent_reply"
THINK_SECONDS = (2, 6)          # how long the built-in agent "types" before its reply goes out
HANDOFF_KIND = "sms_agent"


# --- agent mode ---------------------------------------------------------------------------------

def set_agent_mode(tenant, interaction_id: str, enabled: bool) -> dict:
    """Control-plane toggle (G49: no public endpoint). Switching off drops the pending batch."""
    thread = found(tenant.state.interactions.get(interaction_id))
    if thread.get("type") != model.SMS:
        raise ValidationFailed([f"interactionId: {interaction_id} is a {thread.get('type')}, "
                                f"not an SMS conversation"])
    if thread["sms"]["agentMode"] != enabled:
        thread["sms"]["agentMode"] = enabled
        thread["updatedAt"] = iso(tenant.now())
    if not enabled:
        cancel_batch(tenant, interaction_id)
    return copy.deepcopy(thread)


# --- batching (debounce) --------------------------------------------------------------------------

def _pending_batch(tenant, interaction_id: str):
    return next((job for job in tenant.timeline.pending()
                 if job.kind == BATCH_JOB and job.payload.get("interactionId") == interaction_id), None)


def cancel_batch(tenant, interaction_id: str) -> None:
    tenant.timeline.cancel(lambda job: job.kind == BATCH_JOB and job.payload.get("interactionId") == interaction_id)


def queue_batch(tenant, thread: dict, lead: dict, message_id: str) -> str | None:
    """Add an inbound text to the thread's batch and (re)start the window; returns when it closes.

    None when the thread is not in agent mode or no agent speaks on it (the text simply stays in
    the thread).
    """
    if not thread["sms"]["agentMode"]:
        return None
    agent = sms.thread_agent(tenant, thread, lead)
    if agent is None:
        return None
    pending = _pending_batch(tenant, thread["interactionId"])
    message_ids = (pending.payload["messageIds"] if pending else []) + [message_id]
    if pending is not None:
        cancel_batch(tenant, thread["interactionId"])
    due = tenant.now() + timedelta(milliseconds=agent["batchWindowMs"])
    tenant.schedule(due, BATCH_JOB, {"interactionId": thread["interactionId"], "messageIds": message_ids})
    return iso(due)


def _skip(thread_id: str, reason: str) -> dict:
    return {"interactionId": thread_id, "skipped": reason}


def close_batch(tenant, payload: dict) -> dict | None:
    """The window closed: hand the batch to the agent's webhook, or to the built-in agent."""
    state = tenant.state
    thread = state.interactions.get(payload["interactionId"])
    lead = state.leads.get((thread or {}).get("leadId"))
    if thread is None or lead is None:
        return None
    thread_id = thread["interactionId"]
    if not thread["sms"]["agentMode"]:
        return _skip(thread_id, "agent mode is off")
    if "sms" in interactions.dnc_channels(tenant, lead["leadId"]):
        return _skip(thread_id, sms.DNC_SMS_REASON)     # §5.9: SMS agents skip sms-DNC leads
    agent = sms.thread_agent(tenant, thread, lead)
    if agent is None or not agent.get("active", True):
        return _skip(thread_id, "no active SMS agent speaks on this conversation")
    message_ids = [m for m in payload["messageIds"] if m in state.sms_messages]
    if not agent.get("webhookUrl"):
        due = tenant.now() + timedelta(seconds=tenant.rng.randint(*THINK_SECONDS))
        tenant.schedule(due, REPLY_JOB, {"interactionId": thread_id, "messageIds": message_ids})
        return {"interactionId": thread_id, "messageCount": len(message_ids), "builtInAgentReplyAt": iso(due)}
    delivery = outbox.enqueue(tenant, kind=HANDOFF_KIND, url=agent["webhookUrl"],
                              payload=handoff_payload(tenant, thread, lead, agent, message_ids),
                              lead_id=lead["leadId"], campaign_id=thread["campaignId"])
    return {"interactionId": thread_id, "messageCount": len(message_ids), "deliveryId": delivery.get("deliveryId"),
            "url": agent["webhookUrl"]}


def _plan(tenant, lead: dict, campaign_id: str):
    state = tenant.state
    config = state.campaign_config.get(campaign_id) or {}
    return talk.collect_plan(lead, config.get("requiredFields") or [], state.field_library,
                             state.files.get(lead["leadId"]) or {}, tenant.now())


def handoff_payload(tenant, thread: dict, lead: dict, agent: dict, message_ids: list[str]) -> dict:
    """The §4.8.2 payload for this batch, exactly its documented shape."""
    state = tenant.state
    known, missing = _plan(tenant, lead, thread["campaignId"])
    return talk.handoff_payload(
        texts=[state.sms_messages[m]["text"] for m in message_ids], thread=thread, lead=lead,
        campaign=state.campaigns.get(thread["campaignId"]) or {"campaignId": thread["campaignId"]},
        questionnaire=talk.questionnaire_block(known, missing), tenant_id=state.org_id,
        agent_id=agent["smsAgentId"], now=iso(tenant.now()))


# --- the built-in agent ---------------------------------------------------------------------------

def builtin_reply(tenant, payload: dict) -> dict | None:
    """Answer a batch from the campaign's questionnaire: read the answer to the field asked last,
    store it on the lead, acknowledge it, and ask for the next missing field."""
    state = tenant.state
    thread = state.interactions.get(payload["interactionId"])
    lead = state.leads.get((thread or {}).get("leadId"))
    if thread is None or lead is None:
        return None
    agent = sms.thread_agent(tenant, thread, lead) or {}
    text = "\n".join(state.sms_messages[m]["text"] for m in payload["messageIds"] if m in state.sms_messages)
    last_sent = state.sms_messages.get(thread["telephony"]["messageId"] or "") or {}
    asked_key = last_sent.get("agentAsks") if last_sent.get("source") == "sms_agent" else None
    known, missing = _plan(tenant, lead, thread["campaignId"])
    asked = next((item for item in missing if item.key == asked_key), None)
    answered = False
    if asked is not None:
        answered, value = talk.parse_answer(asked.key, text, state.field_library.get(asked.key))
        if answered:
            talk.store_answer(lead, asked.key, value, asked.question)
            lead["updatedAt"] = iso(tenant.now())
            known, missing = _plan(tenant, lead, thread["campaignId"])
    to_ask = talk.askable(missing, state.field_library)
    # Asked again after a reply it could not read; otherwise the next missing field.
    next_item = asked if asked is not None and not answered else (to_ask[0] if to_ask else None)
    campaign = state.campaigns.get(thread["campaignId"]) or {}
    reply = talk.builtin_reply(
        first_name=lead.get("firstName"), agent_name=spoken_name(agent.get("name")),
        campaign_name=campaign.get("name") or thread["campaignId"], inbound_text=text,
        first_contact=not any(e["source"] == "sms_agent" for e in thread["transcript"]),
        asked=asked, answered=answered, next_item=next_item)
    try:
        sent = sms.send(tenant, {"leadId": lead["leadId"], "interactionId": thread["interactionId"],
                                 "message": reply.text, "source": "sms_agent"}, agent_asks=reply.asks)
    except SandboxError as refused:   # e.g. the lead opted out while the agent was typing
        return _skip(thread["interactionId"], "; ".join(refused.details) or refused.message)
    effect = {"interactionId": thread["interactionId"], "messageId": sent["messageId"], "asks": reply.asks}
    if answered:
        effect["stored"] = asked.key
    return effect
