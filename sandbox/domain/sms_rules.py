"""Resolution chains: which agent, which of our numbers, which provider, which SMS thread.

Every chain is "first match wins, left to right" (docs §5.2, §5.3, §5.7). The voice caller number
lives here too because it is the same kind of chain over the same phone-number configuration.
Each resolver returns the value *and* the links it tried, so a failure can name the whole chain
(G38). The one thing a reader might get wrong: an explicit ``from`` must be one of the tenant's
own numbers (G48) — it is checked, not trusted — while numbers reached through the chain are the
tenant's configuration and are used as they are.

Inbound routing (docs §5.10), the owner of a thread, the redelivery window and the sandbox-only
message record live here too, because they read the same configuration the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import phones
from .interactions import SMS, newest_first, same_pair

DEFAULT_PROVIDER = "vonage"
REDELIVERY_WINDOW_SECONDS = 24 * 3600          # inbound de-duplication window (G50)

# Sandbox-only message records: outbound ones move ``sent → delivered | failed`` (G47); inbound
# texts are ``received``.
RECEIVED = "received"
OUTBOUND, INBOUND = "outbound", "inbound"

# How an inbound text found its campaign (§5.10 routing steps 1 and 2).
VIA_CAMPAIGN_NUMBER = "campaign_number"
VIA_SMS_AGENT = "sms_agent_inbound"


@dataclass(frozen=True)
class Resolved:
    value: str | None
    tried: tuple[str, ...]        # the links that gave nothing, in chain order

    def missing(self, field: str) -> str:
        """The detail naming the whole chain tried, e.g. ``callerNumber: no number on A or B``."""
        names = list(self.tried)
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        return f"{field}: no number on {listed}"


def first_match(links: list[tuple[str, str | None]]) -> Resolved:
    """The first link with a value; ``links`` are (link name, value) pairs."""
    tried = []
    for name, value in links:
        if value:
            return Resolved(value, tuple(tried))
        tried.append(name)
    return Resolved(None, tuple(tried))


def agent_id_for(config: dict, kind: str, is_test: bool) -> str | None:
    """The campaign's agent of ``kind`` (voice | sms): the test slot for test traffic, else production."""
    production = config.get(f"{kind}AgentId")
    if is_test:
        return config.get(f"test{kind.capitalize()}AgentId") or production
    return production


def caller_number(campaign_id: str, config: dict, agent: dict) -> Resolved:
    """Voice: the campaign's number → the voice agent's number (docs §5.2)."""
    return first_match([
        (f"campaign {campaign_id}", config.get("phoneNumber")),
        (f"voice agent {agent.get('agentId')}", agent.get("phoneNumber")),
    ])


def sms_sender(campaign_id: str, config: dict, sms_agent: dict | None, phone_numbers: dict) -> Resolved:
    """SMS without ``from``: campaign number → SMS agent number → first SMS-capable number (§5.7)."""
    first_capable = next((number for number, record in phone_numbers.items() if record.get("smsCapable")), None)
    return first_match([
        ("the request", None),  # ``from`` is checked by the caller; named so the detail shows the whole chain
        (f"campaign {campaign_id}", config.get("phoneNumber")),
        ("its SMS agent", (sms_agent or {}).get("phoneNumber")),
        ("the tenant", first_capable),
    ])


def sms_provider(config: dict, settings: dict) -> str:
    """Campaign override → tenant default → ``vonage``."""
    return config.get("smsProvider") or settings.get("smsProvider") or DEFAULT_PROVIDER


def call_provider(number_record: dict | None, settings: dict) -> str:
    """The telephony provider a number is synced from; the tenant default when unknown."""
    return (number_record or {}).get("provider") or settings.get("smsProvider") or DEFAULT_PROVIDER


def agent_mode_default(sms_agent: dict | None) -> bool:
    """A new thread starts in agent mode when its campaign has an active SMS agent (G49)."""
    return bool(sms_agent and sms_agent.get("active", True))


def owning_sms_agent(our_number: str, sms_agents: dict) -> dict | None:
    """The SMS agent whose phone number this is, if any."""
    return next((agent for agent in sms_agents.values() if agent.get("phoneNumber") == our_number), None)


def thread_agent_id(our_number: str, number_record: dict | None, config: dict, is_test: bool,
                    sms_agents: dict) -> str | None:
    """Which SMS agent speaks on a thread: the one that owns our number when the number belongs to
    no campaign (routing step 2), else the thread campaign's agent (test slot for test leads).

    Computed, never stored, so a thread always follows the current configuration; inbound routing
    and agent mode both use it, so the agent that receives a hand-off is the one routing chose.
    """
    if not (number_record or {}).get("campaignId"):
        owner = owning_sms_agent(our_number, sms_agents)
        if owner is not None:
            return owner["smsAgentId"]
    return agent_id_for(config, "sms", is_test)


@dataclass(frozen=True)
class Route:
    via: str                          # VIA_CAMPAIGN_NUMBER | VIA_SMS_AGENT
    campaign_ids: tuple[str, ...]     # where to look for the sender, in priority order; [0] = primary


def inbound_route(our_number: str, number_record: dict, sms_agents: dict, campaigns: dict) -> Route | None:
    """§5.10: a number assigned to a campaign → that campaign; otherwise the SMS agent owning the
    number → its inbound campaigns in priority order (index 0 = primary). None: routes nowhere."""
    if number_record.get("campaignId") in campaigns:
        return Route(VIA_CAMPAIGN_NUMBER, (number_record["campaignId"],))
    owner = owning_sms_agent(our_number, sms_agents)
    inbound = (owner or {}).get("inbound") or {}
    if not inbound.get("enabled"):
        return None
    known = tuple(code for code in inbound.get("campaignIds") or [] if code in campaigns)
    return Route(VIA_SMS_AGENT, known) if known else None


def unroutable_detail(our_number: str) -> str:
    return (f"to: {our_number} routes to no campaign: it is not assigned to a campaign and no SMS agent "
            f"with inbound enabled (and an existing inbound campaign) owns it")


def same_number(stored: str | None, e164: str) -> bool:
    """A lead's stored phone (E.164 when it parsed, else as typed) is this number."""
    return bool(stored) and phones.digits(stored) == phones.digits(e164)


def is_redelivery(message: dict, provider: str, provider_message_id: str) -> bool:
    """The same provider message id from the same provider (G50); the caller bounds the window."""
    return (message.get("direction") == INBOUND and message.get("provider") == provider
            and message.get("providerMessageId") == provider_message_id)


def message_record(message_id: str, thread: dict, *, direction: str, provider: str, text: str, status: str,
                   source: str, now: str, provider_message_id: str | None = None,
                   agent_asks: str | None = None) -> dict:
    """One text the sandbox handled, either way (sandbox-only: listed by the control plane only).

    ``from``/``to`` are as on the wire: outbound from our number to the lead, inbound the reverse.
    ``agentAsks`` is the field the built-in SMS agent asked for in this text, so it can read the
    lead's next texts as the answer.
    """
    ours, theirs = thread["telephony"]["phoneNumber"], thread["phone"]
    sender, recipient = (ours, theirs) if direction == OUTBOUND else (theirs, ours)
    return {
        "messageId": message_id, "interactionId": thread["interactionId"], "leadId": thread["leadId"],
        "direction": direction, "from": sender, "to": recipient, "provider": provider,
        "providerMessageId": provider_message_id, "text": text, "status": status, "source": source,
        "errorCode": None, "errorMessage": None, "agentAsks": agent_asks, "createdAt": now, "updatedAt": now,
    }


def find_thread(threads: list[dict], lead_number: str, our_number: str) -> str | None:
    """The newest SMS thread of this number pair among a lead's interactions, if any."""
    for record in newest_first([t for t in threads if t.get("type") == SMS]):
        if same_pair(record, lead_number, our_number):
            return record["interactionId"]
    return None
