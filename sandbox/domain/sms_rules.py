"""Resolution chains: which agent, which of our numbers, which provider, which SMS thread.

Every chain is "first match wins, left to right" (docs §5.2, §5.3, §5.7). The voice caller number
lives here too because it is the same kind of chain over the same phone-number configuration.
Each resolver returns the value *and* the links it tried, so a failure can name the whole chain
(G38). The one thing a reader might get wrong: an explicit ``from`` must be one of the tenant's
own numbers (G48) — it is checked, not trusted — while numbers reached through the chain are the
tenant's configuration and are used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from .interactions import SMS, newest_first, same_pair

DEFAULT_PROVIDER = "vonage"


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


def find_thread(threads: list[dict], lead_number: str, our_number: str) -> str | None:
    """The newest SMS thread of this number pair among a lead's interactions, if any."""
    for record in newest_first([t for t in threads if t.get("type") == SMS]):
        if same_pair(record, lead_number, our_number):
            return record["interactionId"]
    return None
