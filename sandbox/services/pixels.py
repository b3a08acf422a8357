"""Firing a server-side conversion pixel event (``POST /pixels/fire``, docs §3.23, §5.20, G51).

The sandbox never calls Facebook or TikTok: it records the event it *would* send in
``state.pixel_events`` — enriched from the lead (email, phone, IP address, user agent, click IDs
and cookies from ``attribution``) — and answers as the platform would. The one thing a reader
might get wrong: a refused event is still a 200 with ``data.success: false`` (the nested flag is
the platform's answer, the envelope's is the API's); only the scenario pixel id
(``scenarios.pixel_refused``) is refused. "Fire Once" and ``isTest`` are campaign pixel-rule
behaviours and do not apply to explicit API firings (G51); ``testEventCode`` marks the event as a
test event.
"""

from __future__ import annotations

from .. import scenarios
from ..clock import iso
from ..errors import found
from ..store import Tenant

DEFAULT_ACTION_SOURCE = "system_generated"
# Attribution fields the platforms accept for matching: IP/user agent and their click IDs/cookies.
_MATCH_KEYS = {
    "facebook": ("ipAddress", "userAgent", "fbclid", "fbc", "fbp"),
    "tiktok": ("ipAddress", "userAgent", "ttclid", "ttp"),
}


def _user_data(lead: dict, platform: str) -> dict:
    attribution = lead.get("attribution") or {}
    data = {"email": lead.get("email"), "phone": lead.get("phone")}
    data.update({key: attribution.get(key) for key in _MATCH_KEYS.get(platform, ())})
    return {key: value for key, value in data.items() if value}


def fire_pixel(tenant: Tenant, body: dict) -> dict:
    lead = found(tenant.state.leads.get(body["leadId"]))
    success = not scenarios.pixel_refused(body["pixelId"])
    test_code = body.get("testEventCode")
    event = {
        "eventId": tenant.ids.new("evt"),
        "firedAt": iso(tenant.now()),
        "leadId": lead["leadId"],
        "campaignId": (lead.get("campaign") or {}).get("campaignId"),
        "platform": body["platform"],
        "pixelId": body["pixelId"],
        "eventName": body["eventName"],
        "eventValue": body.get("eventValue"),
        "currency": body.get("currency"),
        "actionSource": body.get("actionSource") or DEFAULT_ACTION_SOURCE,
        "testEventCode": test_code,
        "isTest": test_code is not None,
        "source": "api",
        "userData": _user_data(lead, body["platform"]),
        "success": success,
        "error": None if success else "the platform refused the event (sandbox scenario pixel)",
    }
    tenant.state.pixel_events.append(event)
    return {"success": success, "platform": event["platform"], "eventName": event["eventName"],
            "pixelId": event["pixelId"], "leadId": event["leadId"]}
