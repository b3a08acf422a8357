"""Configuring a tenant's world: what the real API has no endpoints for (campaigns, agents,
phone numbers, DNC records, tenant defaults).

One path builds every world: the generated seed world, a user's YAML fixture and the control
plane's PUTs all call these functions, so a campaign made by hand behaves exactly like a seeded
one. The one thing a reader might get wrong: a campaign document mixes *public* fields (stored in
``state.campaigns``, visible through ``GET /api/v1/campaigns``) and *sandbox config* (stored in
``state.campaign_config``, never visible publicly); ``upsert_campaign`` splits them.
"""

from __future__ import annotations

import copy
import re

from ..clock import iso
from ..domain import phones
from ..domain.call_outcomes import DEFAULT_MIX as DEFAULT_OUTCOME_MIX
from ..domain.dialer_rules import DAYS as WEEKDAYS
from ..domain.dialer_rules import DEFAULT_CONFIG as DEFAULT_DIALER
from ..domain.leads import campaign_summary
from ..errors import NotFound, ValidationFailed, found, refuse_if
from . import events, outbox, webhook_signing

CAMPAIGN_CODE = re.compile(r"^[A-Z0-9]{2,5}$")
DNC_CHANNELS = ("phone", "sms", "email")
MAX_GAP_MINUTES = 366 * 24 * 60   # the clock keeps two years of headroom (clock.py) for this gap
FIRST_ACTIONS = ("deliver_immediately", "human_review", "voice_ai", "sms_ai", "webhook")

DEFAULT_WEBHOOKS = {"url": None, "events": {}, "headers": {}, "retryAttempts": 3, "timeoutSeconds": 30,
                    "enabled": False, "inheritFromTenant": True}

PUBLIC_CAMPAIGN_KEYS = ("campaignId", "name", "active", "clientId", "offerId", "managerId", "webhooks",
                        "documents", "archivedAt")
CONFIG_DEFAULTS = {
    "timezone": None, "voiceAgentId": None, "testVoiceAgentId": None, "smsAgentId": None,
    "testSmsAgentId": None, "phoneNumber": None, "smsProvider": None, "autoDialer": DEFAULT_DIALER,
    "outcomeMix": DEFAULT_OUTCOME_MIX, "requiredFields": ["first_name", "last_name", "email", "phone"],
    "disqualifyRules": [], "duplicateDetection": {"enabled": True, "windowDays": 30},
    "firstSubmissionAction": {"type": "deliver_immediately"},
    "delivery": {"url": "https://client.example.com/leads", "method": "POST"},
}


def _merge(base: dict, changes: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def abbreviation(name: str) -> str:
    """``Acme Insurance`` → ``AI``: what the dashboard suggests when none is typed."""
    letters = "".join(word[0] for word in re.findall(r"[A-Za-z0-9]+", name)).upper()
    return letters[:4] or "X"


def update_settings(tenant, changes: dict) -> dict:
    state = tenant.state
    problems = []
    if "smsProvider" in changes and changes["smsProvider"] not in ("vonage", "twilio"):
        problems.append("smsProvider: must be one of vonage, twilio")
    if "webhooks" in changes:
        problems += _webhook_problems(changes["webhooks"], "webhooks")
    if "webhookSecret" in changes:
        problems += webhook_signing.secret_problems(changes["webhookSecret"])  # null switches signing off
    refuse_if(problems)
    state.settings = _merge(state.settings, changes)
    return copy.deepcopy(state.settings)


def upsert_client(tenant, doc: dict) -> dict:
    client_id = doc.get("clientId") or tenant.ids.new("cli")
    now = iso(tenant.now())
    existing = tenant.state.clients.get(client_id)
    settings_defaults = {"defaultPostingUrl": None, "postingMethod": "http", "acceptDuplicates": False,
                         "maxLeadsPerDay": None, "maxLeadsPerMonth": None, "timezone": "America/New_York",
                         "notificationEmail": None, "sendDailyReport": False}
    name = doc.get("name", client_id)
    client = {
        "clientId": client_id, "name": name, "abbrev": doc.get("abbrev") or abbreviation(name),
        "active": doc.get("active", True), "contactName": doc.get("contactName"),
        "contactEmail": doc.get("contactEmail"), "contactPhone": doc.get("contactPhone"),
        "address": dict(doc.get("address") or {}),  # the public shape is always an object
        "settings": _merge(settings_defaults, doc.get("settings") or {}),
        "description": doc.get("description"), "tags": list(doc.get("tags") or []),
        "externalId": doc.get("externalId"),
        "createdAt": existing["createdAt"] if existing else doc.get("createdAt", now),
        "updatedAt": now, "archivedAt": doc.get("archivedAt"),
    }
    tenant.state.clients[client_id] = client
    _refresh_campaign_names(tenant)
    return copy.deepcopy(client)


def upsert_offer(tenant, doc: dict) -> dict:
    offer_id = doc.get("offerId") or tenant.ids.new("off")
    if doc.get("clientId") and doc["clientId"] not in tenant.state.clients:
        raise ValidationFailed([f"clientId: unknown client '{doc['clientId']}'"])
    name = doc.get("name", offer_id)
    offer = {"offerId": offer_id, "name": name, "abbrev": doc.get("abbrev") or abbreviation(name),
             "clientId": doc.get("clientId")}
    tenant.state.offers[offer_id] = offer
    _refresh_campaign_names(tenant)
    return dict(offer)


def upsert_phone_number(tenant, number: str, doc: dict) -> dict:
    if not phones.is_valid_e164(number):
        raise ValidationFailed([f"number: '{number}' is not a valid E.164 phone number"])
    existing = tenant.state.phone_numbers.get(number, {})
    record = {
        "numberId": existing.get("numberId") or doc.get("numberId") or tenant.ids.new("pn"),
        "number": number,
        "provider": doc.get("provider", existing.get("provider", "vonage")),
        "smsCapable": bool(doc.get("smsCapable", existing.get("smsCapable", True))),
        "voiceCapable": bool(doc.get("voiceCapable", existing.get("voiceCapable", True))),
        "campaignId": doc.get("campaignId", existing.get("campaignId")),
        "agentId": doc.get("agentId", existing.get("agentId")),
    }
    refuse_if(["provider: must be one of vonage, twilio"] if record["provider"] not in ("vonage", "twilio") else [])
    tenant.state.phone_numbers[number] = record
    return dict(record)


def _agent_number_problems(tenant, number) -> list[str]:
    if number is None:
        return []
    if number not in tenant.state.phone_numbers:
        return [f"phoneNumber: '{number}' is not one of the tenant's numbers"]
    return []


def _inbound(doc: dict, existing: dict) -> dict:
    inbound = doc.get("inbound", existing.get("inbound", {"enabled": False, "campaignIds": []}))
    return {"enabled": bool(inbound.get("enabled", False)), "campaignIds": list(inbound.get("campaignIds", []))}


def upsert_voice_agent(tenant, agent_id: str, doc: dict) -> dict:
    existing = tenant.state.voice_agents.get(agent_id, {})
    number = doc.get("phoneNumber", existing.get("phoneNumber"))
    refuse_if(_agent_number_problems(tenant, number))
    agent = {
        "agentId": agent_id, "name": doc.get("name", existing.get("name", agent_id)),
        "provider": "elevenlabs",
        "providerAgentId": doc.get("providerAgentId", existing.get("providerAgentId") or f"el_{agent_id}"),
        "phoneNumber": number, "isTest": bool(doc.get("isTest", existing.get("isTest", False))),
        "inbound": _inbound(doc, existing),
    }
    tenant.state.voice_agents[agent_id] = agent
    if number:
        tenant.state.phone_numbers[number]["agentId"] = agent_id
    return copy.deepcopy(agent)


def upsert_sms_agent(tenant, agent_id: str, doc: dict) -> dict:
    existing = tenant.state.sms_agents.get(agent_id, {})
    number = doc.get("phoneNumber", existing.get("phoneNumber"))
    window = doc.get("batchWindowMs", existing.get("batchWindowMs", 7000))
    url = doc.get("webhookUrl", existing.get("webhookUrl"))
    problems = _agent_number_problems(tenant, number)
    if not isinstance(window, int) or not 1000 <= window <= 60000:
        problems.append("batchWindowMs: must be an integer between 1000 and 60000")
    if url is not None and not str(url).startswith(("http://", "https://")):
        problems.append("webhookUrl: must start with http:// or https://")
    provider = doc.get("provider", existing.get("provider", "vonage"))
    if provider not in ("vonage", "twilio"):
        problems.append("provider: must be one of vonage, twilio")
    refuse_if(problems)
    agent = {
        "smsAgentId": agent_id, "name": doc.get("name", existing.get("name", agent_id)),
        "description": doc.get("description", existing.get("description")),
        "provider": provider, "phoneNumber": number, "webhookUrl": url, "batchWindowMs": window,
        "isTest": bool(doc.get("isTest", existing.get("isTest", False))),
        "active": bool(doc.get("active", existing.get("active", True))),
        "inbound": _inbound(doc, existing),
    }
    tenant.state.sms_agents[agent_id] = agent
    if number:
        tenant.state.phone_numbers[number]["agentId"] = agent_id
    return copy.deepcopy(agent)


def _webhook_problems(hooks, where: str) -> list[str]:
    """A tenant or campaign WebhookConfig (§4.5.1) as given (it is deep-merged afterwards)."""
    if not isinstance(hooks, dict):
        return [f"{where}: must be an object"]
    problems = []
    if hooks.get("url") is not None and not outbox.is_webhook_url(hooks["url"]):
        problems.append(f"{where}.url: must be null or an absolute http:// or https:// URL")
    for key in ("enabled", "inheritFromTenant"):
        if key in hooks and not isinstance(hooks[key], bool):
            problems.append(f"{where}.{key}: must be a boolean (true or false)")
    # A key given as null would be merged in as null, and every later read of it fails: refuse it.
    for key, low, high in (("retryAttempts", 1, 10), ("timeoutSeconds", 1, 120)):
        value = hooks.get(key)
        if key in hooks and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            problems.append(f"{where}.{key}: must be an integer between {low} and {high}")
    for key in ("events", "headers"):
        if key in hooks and hooks[key] is None:
            problems.append(f"{where}.{key}: must be an object")
    problems += events.event_map_problems(hooks.get("events"), f"{where}.events")
    problems += events.header_problems(hooks.get("headers"), f"{where}.headers")
    return problems


def _campaign_problems(tenant, code: str, doc: dict, config: dict) -> list[str]:
    state = tenant.state
    problems = []
    if not CAMPAIGN_CODE.match(code):
        problems.append(f"campaignId: '{code}' must be 2-5 uppercase letters or digits")
    if code not in state.campaigns:
        # Every LeadSail campaign sells one client's offer; the public Campaign and Lead shapes
        # show their names as strings, so a campaign without them cannot exist.
        problems += [f"{key}: is required for a new campaign" for key in ("clientId", "offerId") if not doc.get(key)]
    if doc.get("clientId") and doc["clientId"] not in state.clients:
        problems.append(f"clientId: unknown client '{doc['clientId']}'")
    if doc.get("offerId") and doc["offerId"] not in state.offers:
        problems.append(f"offerId: unknown offer '{doc['offerId']}'")
    for key in ("voiceAgentId", "testVoiceAgentId"):
        if config.get(key) and config[key] not in state.voice_agents:
            problems.append(f"{key}: unknown voice agent '{config[key]}'")
    for key in ("smsAgentId", "testSmsAgentId"):
        if config.get(key) and config[key] not in state.sms_agents:
            problems.append(f"{key}: unknown SMS agent '{config[key]}'")
    problems += _agent_number_problems(tenant, config.get("phoneNumber"))
    if config.get("smsProvider") not in (None, "vonage", "twilio"):
        problems.append("smsProvider: must be one of vonage, twilio")
    dialer = config.get("autoDialer") or {}
    hours = dialer.get("operatingHours") or {}
    for key in ("start", "end"):
        if not re.match(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", str(hours.get(key, ""))):
            problems.append(f"autoDialer.operatingHours.{key}: must be HH:MM (24-hour)")
    if any(day not in WEEKDAYS for day in hours.get("days", [])):
        problems.append("autoDialer.operatingHours.days: must be among " + ", ".join(WEEKDAYS))
    # Bounded above too: a gap is added to instants, and a gap past the clock's range was a 500.
    for key, low, high in (("minGapMinutes", 0, MAX_GAP_MINUTES), ("maxAttempts", 1, 1000)):
        value = dialer.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems.append(f"autoDialer.{key}: must be an integer between {low} and {high}")
    mix = config.get("outcomeMix") or {}
    from ..scenarios import CALL_OUTCOMES
    bad = [k for k in mix if k not in CALL_OUTCOMES]
    if bad or not mix or any(not isinstance(v, (int, float)) or v < 0 for v in mix.values()) \
            or sum(mix.values()) <= 0:
        problems.append("outcomeMix: must map call outcomes (" + ", ".join(CALL_OUTCOMES)
                        + ") to non-negative weights with a positive total")
    window = (config.get("duplicateDetection") or {}).get("windowDays", 30)
    if not isinstance(window, int) or not 1 <= window <= 365:
        problems.append("duplicateDetection.windowDays: must be an integer between 1 and 365")
    action = (config.get("firstSubmissionAction") or {}).get("type")
    if action not in FIRST_ACTIONS:
        problems.append("firstSubmissionAction.type: must be one of " + ", ".join(FIRST_ACTIONS))
    if config.get("timezone"):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(config["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"timezone: '{config['timezone']}' is not an IANA time zone")
    if "webhooks" in doc:
        problems += _webhook_problems(doc["webhooks"], "webhooks")
    return problems


def upsert_campaign(tenant, code: str, doc: dict) -> dict:
    """Create or update a campaign from one document of public fields and sandbox config."""
    state = tenant.state
    existing_public = state.campaigns.get(code, {})
    existing_config = state.campaign_config.get(code) or {**copy.deepcopy(CONFIG_DEFAULTS),
                                                          "timezone": state.settings.get("timezone")}
    config = _merge(existing_config, {k: v for k, v in doc.items() if k in CONFIG_DEFAULTS})
    refuse_if(_campaign_problems(tenant, code, doc, config))
    now = iso(tenant.now())
    public = {
        "campaignId": code,
        "name": doc.get("name", existing_public.get("name", code)),
        "active": bool(doc.get("active", existing_public.get("active", True))),
        "clientId": doc.get("clientId", existing_public.get("clientId")),
        "clientName": None, "clientAbbrev": None,
        "offerId": doc.get("offerId", existing_public.get("offerId")),
        "offerName": None, "offerAbbrev": None,
        "managerId": doc.get("managerId", existing_public.get("managerId")),
        "webhooks": _merge(existing_public.get("webhooks", DEFAULT_WEBHOOKS), doc.get("webhooks") or {}),
        "documents": copy.deepcopy(doc.get("documents", existing_public.get("documents", []))),
        "archivedAt": doc.get("archivedAt", existing_public.get("archivedAt")),
        "createdAt": existing_public.get("createdAt", doc.get("createdAt", now)),
        "updatedAt": now,
    }
    _fill_names(state, public)
    state.campaigns[code] = public
    state.campaign_config[code] = config
    if config.get("phoneNumber"):
        state.phone_numbers[config["phoneNumber"]]["campaignId"] = code
    _refresh_lead_summaries(state, code)
    return campaign_view(tenant, code)


def _fill_names(state, campaign: dict) -> None:
    client = state.clients.get(campaign.get("clientId")) or {}
    offer = state.offers.get(campaign.get("offerId")) or {}
    campaign["clientName"], campaign["clientAbbrev"] = client.get("name"), client.get("abbrev")
    campaign["offerName"], campaign["offerAbbrev"] = offer.get("name"), offer.get("abbrev")


def _refresh_campaign_names(tenant) -> None:
    for campaign in tenant.state.campaigns.values():
        _fill_names(tenant.state, campaign)


def _refresh_lead_summaries(state, code: str) -> None:
    # Leads embed a campaign summary; renaming a campaign must show on its leads, as in the real API.
    summary = campaign_summary(state.campaigns[code])
    for lead in state.leads.values():
        if lead["campaign"].get("campaignId") == code and lead["campaign"] != summary:
            lead["campaign"] = dict(summary)


def campaign_view(tenant, code: str) -> dict:
    """A campaign with its sandbox config, as the control plane shows it."""
    if code not in tenant.state.campaigns:
        raise NotFound()
    return {"campaign": copy.deepcopy(tenant.state.campaigns[code]),
            "config": copy.deepcopy(tenant.state.campaign_config[code])}


def set_dnc(tenant, lead_id: str, channels: list[str], reason: str | None, updated_by: str = "sandbox") -> dict:
    lead = found(tenant.state.leads.get(lead_id))
    bad = [c for c in channels if c not in DNC_CHANNELS]
    refuse_if([f"channels: '{c}' is not one of phone, sms, email" for c in bad])
    now = iso(tenant.now())
    existing = tenant.state.dnc.get(lead_id)
    unique = [c for c in DNC_CHANNELS if c in channels]
    record = {"channels": unique, "reason": reason, "updatedBy": updated_by,
              "createdAt": existing["createdAt"] if existing else now, "updatedAt": now}
    tenant.state.dnc[lead_id] = record
    lead["flags"]["isDnc"] = bool(unique)
    lead["updatedAt"] = now
    return dict(record)


def add_dnc_channel(tenant, lead_id: str, channel: str, reason: str, updated_by: str) -> dict:
    """Add one channel, keeping the others (an opt-out by phone must not lift an SMS block)."""
    current = tenant.state.dnc.get(lead_id, {}).get("channels", [])
    return set_dnc(tenant, lead_id, sorted(set(current) | {channel}, key=DNC_CHANNELS.index), reason, updated_by)


def clear_dnc(tenant, lead_id: str) -> None:
    lead = found(tenant.state.leads.get(lead_id))
    tenant.state.dnc.pop(lead_id, None)
    lead["flags"]["isDnc"] = False


def get_dnc(tenant, lead_id: str) -> dict:
    if lead_id not in tenant.state.leads:
        raise NotFound()
    record = tenant.state.dnc.get(lead_id)
    return dict(record) if record else {"channels": [], "reason": None, "updatedBy": None,
                                        "createdAt": None, "updatedAt": None}


def force_next_outcome(tenant, lead_id: str, outcome: str) -> dict:
    from ..scenarios import CALL_OUTCOMES
    if lead_id not in tenant.state.leads:
        raise NotFound()
    refuse_if([] if outcome in CALL_OUTCOMES else ["outcome: must be one of " + ", ".join(CALL_OUTCOMES)])
    tenant.state.forced_outcomes[lead_id] = outcome
    return {"leadId": lead_id, "nextOutcome": outcome}


def upsert_document_template(tenant, doc: dict) -> dict:
    template_id = doc.get("templateId") or tenant.ids.new("tpl")
    template = {"templateId": template_id, "name": doc.get("name", template_id),
                "fileKey": doc.get("fileKey", "retainerSigning"), "provider": "docuseal",
                "campaignIds": list(doc.get("campaignIds", []))}
    tenant.state.document_templates[template_id] = template
    return dict(template)
