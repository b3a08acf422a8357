"""POST /pixels/fire: the answer, the recorded (enriched) event, the refused-pixel scenario."""

from __future__ import annotations

import pytest

from tests.conftest import data, error

NO_KEY = {"X-API-Key": ""}
REFUSED_PIXEL = "000000000"   # scenarios.py: the platform refuses events for this pixel id


def exported_state(client) -> dict:
    return data(client.get("/_sandbox/state"))["state"]


def seeded_lead(client, **attribution) -> dict:
    """The first seeded lead, with extra attribution fields applied through a state import."""
    document = data(client.get("/_sandbox/state"))
    lead = document["state"]["leads"][document["state"]["lead_order"][0]]
    if attribution:
        lead["attribution"].update(attribution)
        data(client.put("/_sandbox/state", json=document))
    return lead


def fire(client, **body):
    return client.post("/api/v1/pixels/fire", json=body)


def test_fire_answers_with_the_platforms_verdict(client):
    lead = seeded_lead(client)
    answer = data(fire(client, leadId=lead["leadId"], pixelId="123456789", platform="facebook", eventName="Lead"))
    assert answer == {"success": True, "platform": "facebook", "eventName": "Lead", "pixelId": "123456789",
                      "leadId": lead["leadId"]}


def test_fired_event_is_recorded_and_enriched_from_the_lead(client):
    lead = seeded_lead(client, fbclid="IwAR0abc", ttclid="E.C.P.xyz")
    data(fire(client, leadId=lead["leadId"], pixelId="123456789", platform="facebook", eventName="Purchase",
              eventValue=149.5, currency="USD", actionSource="phone_call", testEventCode="TEST123"))
    [event] = exported_state(client)["pixel_events"]
    assert event["eventId"].startswith("evt_")
    assert event["firedAt"] == "2026-01-15T15:00:00Z"
    assert (event["eventName"], event["eventValue"], event["currency"], event["actionSource"]) == \
        ("Purchase", 149.5, "USD", "phone_call")
    assert (event["testEventCode"], event["isTest"], event["success"]) == ("TEST123", True, True)
    assert event["userData"] == {"email": lead["email"], "phone": lead["phone"],
                                 "ipAddress": lead["attribution"]["ipAddress"],
                                 "userAgent": lead["attribution"]["userAgent"], "fbclid": "IwAR0abc"}


def test_tiktok_events_carry_tiktok_click_ids(client):
    lead = seeded_lead(client, fbclid="IwAR0abc", ttclid="E.C.P.xyz", ttp="ttp-cookie")
    data(fire(client, leadId=lead["leadId"], pixelId="C4TT", platform="tiktok", eventName="CompleteRegistration"))
    [event] = exported_state(client)["pixel_events"]
    assert (event["actionSource"], event["testEventCode"], event["isTest"]) == ("system_generated", None, False)
    assert event["userData"]["ttclid"] == "E.C.P.xyz" and event["userData"]["ttp"] == "ttp-cookie"
    assert "fbclid" not in event["userData"]


def test_refused_pixel_is_success_false_inside_a_200(client):
    lead = seeded_lead(client)
    answer = data(fire(client, leadId=lead["leadId"], pixelId=REFUSED_PIXEL, platform="tiktok", eventName="Lead"))
    assert answer["success"] is False
    assert answer["pixelId"] == REFUSED_PIXEL
    [event] = exported_state(client)["pixel_events"]
    assert event["success"] is False and event["error"]


def test_fire_for_an_unknown_lead_is_404(client):
    body = error(fire(client, leadId="lead_doesnotexist1", pixelId="1", platform="facebook", eventName="Lead"),
                 404, "NOT_FOUND")
    assert body == {"code": "NOT_FOUND", "message": "Resource not found"}
    assert exported_state(client)["pixel_events"] == []


def test_another_tenant_cannot_fire_for_my_lead(client, other):
    lead = seeded_lead(client)
    error(fire(other, leadId=lead["leadId"], pixelId="1", platform="facebook", eventName="Lead"), 404, "NOT_FOUND")


@pytest.mark.parametrize("change, detail", [
    ({"platform": "snapchat"}, "platform: must be one of facebook, tiktok"),
    ({"eventName": None}, "eventName: is required"),
    ({"pixelId": None}, "pixelId: is required"),
    ({"actionSource": "email"}, "actionSource: must be one of website, phone_call, chat, system_generated"),
    ({"eventValue": "lots"}, "eventValue: must be a number"),
])
def test_fire_bad_body_is_400_naming_the_field(client, change, detail):
    body = {"leadId": seeded_lead(client)["leadId"], "pixelId": "1", "platform": "facebook", "eventName": "Lead"}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    assert detail in error(fire(client, **body), 400, "VALIDATION_ERROR")["details"]


def test_fire_needs_a_key(client):
    response = client.post("/api/v1/pixels/fire", headers=NO_KEY,
                           json={"leadId": "lead_x", "pixelId": "1", "platform": "facebook", "eventName": "Lead"})
    error(response, 401, "UNAUTHORIZED")
