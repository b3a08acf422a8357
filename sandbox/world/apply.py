"""Builds a tenant's state from a world document (generated seed or user fixture).

The one thing a reader might get wrong: order matters — numbers before the agents that own them,
agents before the campaigns that use them, campaigns before leads — and leads are inserted
oldest first, because list pagination walks creation order.
"""

from __future__ import annotations

from datetime import timedelta

from ..clock import iso, parse_instant
from ..domain import phones
from ..domain.leads import LEAD_STATUSES, new_lead, resolve_timezone
from ..domain.submissions import new_submission
from ..services import setup

WORLD_KEYS = ("settings", "fieldLibrary", "clients", "offers", "phoneNumbers", "voiceAgents", "smsAgents",
              "campaigns", "documentTemplates", "leads")


class WorldError(ValueError):
    """A world document that cannot be built; the message names the entry."""


def apply_world(tenant, document: dict) -> None:
    unknown = set(document) - set(WORLD_KEYS)
    if unknown:
        raise WorldError(f"unknown world sections {sorted(unknown)}; expected {', '.join(WORLD_KEYS)}")
    state = tenant.state
    now = tenant.now()
    state.org_id = tenant.ids.new("org")
    state.settings = {"smsProvider": "vonage", "timezone": "America/New_York",
                      "webhooks": dict(setup.DEFAULT_WEBHOOKS, inheritFromTenant=False)}
    setup.update_settings(tenant, document.get("settings") or {})
    _field_library(tenant, document.get("fieldLibrary"), now)
    steps = (
        ("clients", lambda d: setup.upsert_client(tenant, d)),
        ("offers", lambda d: setup.upsert_offer(tenant, d)),
        ("phoneNumbers", lambda d: setup.upsert_phone_number(tenant, d["number"], d)),
        ("voiceAgents", lambda d: setup.upsert_voice_agent(tenant, d["agentId"], d)),
        ("smsAgents", lambda d: setup.upsert_sms_agent(tenant, d["smsAgentId"], d)),
        ("campaigns", lambda d: setup.upsert_campaign(tenant, d["campaignId"], d)),
        ("documentTemplates", lambda d: setup.upsert_document_template(tenant, d)),
    )
    for section, build in steps:
        for index, entry in enumerate(document.get(section) or []):
            _guard(section, index, build, entry)
    leads = list(enumerate(document.get("leads") or []))
    leads.sort(key=lambda pair: _created(pair[1], now))
    for index, entry in leads:
        _guard("leads", index, lambda d: _add_lead(tenant, d, now), entry)


def _guard(section: str, index: int, build, entry) -> None:
    try:
        build(entry)
    except KeyError as exc:
        raise WorldError(f"{section}[{index}]: missing {exc}") from exc
    except setup.ValidationFailed as exc:
        raise WorldError(f"{section}[{index}]: {'; '.join(exc.details)}") from exc
    except (TypeError, AttributeError, ValueError) as exc:
        raise WorldError(f"{section}[{index}]: {exc}") from exc


def _field_library(tenant, entries, now) -> None:
    if entries is None:
        from ..domain.field_library import STANDARD_FIELDS
        entries = STANDARD_FIELDS
    stamp = iso(now - timedelta(days=90))
    for entry in entries:
        record = {"key": entry["key"], "label": entry.get("label", entry["key"]),
                  "category": entry.get("category", "custom"), "dataType": entry.get("dataType", "string"),
                  "validationRules": dict(entry.get("validationRules") or {}),
                  "isStandard": bool(entry.get("isStandard", False)), "active": bool(entry.get("active", True)),
                  "createdAt": entry.get("createdAt", stamp), "updatedAt": entry.get("updatedAt", stamp)}
        tenant.state.field_library[record["key"]] = record


def _created(entry: dict, now) -> str:
    if entry.get("createdAt"):
        return iso(parse_instant(str(entry["createdAt"])))
    return iso(now - timedelta(minutes=int(entry.get("ageMinutes", 0))))


def _add_lead(tenant, doc: dict, now) -> None:
    state = tenant.state
    code = doc["campaignId"]
    if code not in state.campaigns:
        raise ValueError(f"unknown campaign '{code}'")
    status = doc.get("status", "new")
    if status not in LEAD_STATUSES:
        raise ValueError(f"status '{status}' is not a lead status")
    created = _created(doc, now)
    phone = phones.to_e164(str(doc["phone"])) or str(doc["phone"])
    zone, source = resolve_timezone(doc.get("timezone"), phone, state.campaign_config[code].get("timezone"))
    lead = new_lead(
        doc.get("leadId") or tenant.ids.new("lead"), created, state.campaigns[code],
        first_name=doc["firstName"], last_name=doc["lastName"], email=doc["email"], phone=phone,
        status=status, country=doc.get("country"), address=doc.get("address"),
        date_of_birth=doc.get("dateOfBirth"), timezone=zone, timezone_source=source,
        questionnaire=doc.get("questionnaire"), attribution=doc.get("attribution"),
        compliance=doc.get("compliance"), custom_fields=doc.get("customFields"),
        flags={"isTest": bool(doc.get("isTest", False)), "isImported": status == "new"}, tags=doc.get("tags"),
    )
    state.add_lead(lead)
    if status != "new":
        submission = new_submission(tenant.ids.new("sub"), lead, 1, created, status=status)
        state.add_submission(submission)
        lead.update(submissionCount=1, latestSubmittedAt=created, lastActivityAt=created)
        if status in ("delivered", "accepted"):
            lead["deliveredAt"] = created
    if doc.get("dnc"):
        setup.set_dnc(tenant, lead["leadId"], list(doc["dnc"]), doc.get("dncReason"), "seed")
        lead["updatedAt"] = created
