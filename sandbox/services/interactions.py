"""Interactions use cases: read one, list a lead's, and the bookkeeping calls and SMS share.

Calls and SMS threads are both interactions; ``add`` is the one way a new one enters the state so
the per-lead index (``lead_interactions``) can never miss one. The shared first links of the voice
and SMS chains (which lead, which number of the lead, which campaign) live here too, so both
channels word their refusals the same way. The one thing a reader might get wrong: reads return
deep copies — a stored record keeps changing on the clock (a call finishing) and must not change
under a response that is being serialised.
"""

from __future__ import annotations

import functools

from ..clock import iso
from ..domain import interactions as model
from ..domain import phones
from ..errors import ValidationFailed, found

DNC_PHONE_REASON = "lead is on the do-not-call list (phone)"

# A pure function of the text, asked for on every call and text of a lead; parsing with the
# phone-number metadata was the dialer's largest cost per attempt.
_to_e164 = functools.lru_cache(maxsize=65536)(phones.to_e164)


def get_interaction(tenant, interaction_id: str) -> dict:
    return found(tenant.state.interactions.get(interaction_id))


def list_lead_interactions(tenant, lead_id: str) -> dict:
    require_lead(tenant, lead_id)
    return {"interactions": model.newest_first(lead_records(tenant, lead_id))}


def require_lead(tenant, lead_id: str | None) -> dict:
    return found(tenant.state.leads.get(lead_id) if lead_id else None)


def lead_number(lead: dict, override: str | None, field: str) -> str:
    """The number to reach the lead on: the request's override, else the lead's phone in E.164."""
    if override is not None:
        if not phones.is_valid_e164(override):
            raise ValidationFailed([f"{field}: {override} is not a valid E.164 phone number"])
        return override
    number = _to_e164(lead.get("phone"))
    if number is None:
        raise ValidationFailed([f"{field}: lead {lead['leadId']} has no valid E.164 phone number "
                                f"(stored: {lead.get('phone')!r})"])
    return number


def campaign_for(tenant, lead: dict, override: str | None) -> tuple[str, dict, dict]:
    """(code, public campaign, sandbox config) of the override, else of the lead's campaign; unknown → 404."""
    campaign_id = override or (lead.get("campaign") or {}).get("campaignId")
    campaign = found(tenant.state.campaigns.get(campaign_id) if campaign_id else None)
    return campaign_id, campaign, tenant.state.campaign_config.get(campaign_id) or {}


def add(tenant, record: dict) -> dict:
    tenant.state.interactions[record["interactionId"]] = record
    tenant.state.lead_interactions.setdefault(record["leadId"], []).append(record["interactionId"])
    return record


def lead_records(tenant, lead_id: str) -> list[dict]:
    return [tenant.state.interactions[i] for i in tenant.state.lead_interactions.get(lead_id, [])
            if i in tenant.state.interactions]


def dnc_channels(tenant, lead_id: str) -> list[str]:
    return list((tenant.state.dnc.get(lead_id) or {}).get("channels") or [])


def set_status(tenant, lead: dict, status: str | None) -> None:
    """An agent outcome sets the lead's status (G31); None leaves it as it is."""
    if status is not None and status != lead.get("status"):
        lead["status"] = status
        lead["updatedAt"] = iso(tenant.now())


def mark_activity(tenant, lead: dict, status: str | None = None) -> None:
    """A conversation happened: ``lastActivityAt`` moves, and the outcome's status (if any) is set."""
    lead["lastActivityAt"] = iso(tenant.now())
    set_status(tenant, lead, status)
