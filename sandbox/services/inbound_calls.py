"""Inbound calls: a lead calls one of the tenant's numbers and a voice agent answers (docs §5.6).

The agent is the one whose ``phoneNumber`` is the dialled number and that has inbound calls
enabled. The caller is looked up among the leads of the agent's inbound campaigns in priority
order (index 0 is primary; a match in a lower campaign selects that campaign); an unknown caller
becomes a placeholder lead in the primary campaign. The call is then placed and played out like
any other (``services/voice``) with ``direction`` and ``call.source`` ``inbound``. The one thing a
reader might get wrong: none of the outbound pre-flight applies — no operating hours, gap,
attempt limit, excluded status, phone DNC or active-campaign check — because nobody is being
dialled; and the call is no dialling attempt, so it leaves the lead's attempt history alone.
"""

from __future__ import annotations

from ..domain import interactions as model
from ..domain import phones, sms_rules
from ..errors import ValidationFailed, refuse_if
from . import leads, voice



def receive_call(tenant, caller: str, number: str) -> dict:
    """Simulate a call from ``caller`` to the tenant's ``number``; the call runs on the clock."""
    problems = [] if phones.is_valid_e164(caller) else [f"from: {caller} is not a valid E.164 phone number"]
    if number not in tenant.state.phone_numbers:
        problems.append(f"to: {number} is not one of the tenant's phone numbers")
    refuse_if(problems)
    agent = answering_agent(tenant, number)
    campaign_ids = [code for code in agent["inbound"]["campaignIds"] if code in tenant.state.campaigns]
    if not campaign_ids:
        raise ValidationFailed([f"inbound.campaignIds: voice agent {agent['agentId']} has no existing inbound "
                                f"campaign to route the call to"])
    state = tenant.state
    newest_first = (state.leads[lead_id] for lead_id in reversed(state.lead_order) if lead_id in state.leads)
    campaign_id, lead = model.route_inbound(campaign_ids, newest_first,
                                            lambda known: sms_rules.same_number(known.get("phone"), caller))
    matched = lead is not None
    if not matched:
        lead = leads.create_placeholder_lead(
            tenant, campaign_id, caller, f"Created for an inbound call from {caller} to {number}; the caller "
            f"matched no lead of {', '.join(campaign_ids)}.", "system")
    plan = voice.CallPlan(lead=lead, phone=caller, campaign_id=campaign_id,
                          campaign=state.campaigns[campaign_id], config=state.campaign_config.get(campaign_id) or {},
                          agent=agent, caller=number, is_test=False, direction=voice.INBOUND)
    record = voice.place_call(tenant, plan, source=voice.INBOUND, known_caller=matched)
    return {"interactionId": record["interactionId"], "leadId": lead["leadId"], "campaignId": campaign_id,
            "agentId": agent["agentId"], "matched": matched}


def answering_agent(tenant, number: str) -> dict:
    """The voice agent that owns ``number`` and takes inbound calls; 400 naming why there is none."""
    owners = [agent for agent in tenant.state.voice_agents.values() if agent.get("phoneNumber") == number]
    if not owners:
        raise ValidationFailed([f"to: no voice agent answers {number}"])
    enabled = [agent for agent in owners if (agent.get("inbound") or {}).get("enabled")]
    if not enabled:
        names = ", ".join(agent["agentId"] for agent in owners)
        raise ValidationFailed([f"inbound.enabled: voice agent {names} does not take inbound calls "
                                f"(inbound.enabled is false)"])
    return enabled[0]
