"""GET /api/v1/interactions/{interactionId} and GET /api/v1/interactions/lead/{leadId}."""

from __future__ import annotations

from tests.api.test_sms import sent
from tests.api.test_voice import call, make_lead
from tests.conftest import advance, data, error

NOT_FOUND_BODY = {"success": False, "error": {"code": "NOT_FOUND", "message": "Resource not found"}}


def history(client, lead_id: str) -> list[dict]:
    return data(client.get(f"/api/v1/interactions/lead/{lead_id}"))["interactions"]


def test_unknown_interaction_is_404_with_the_exact_body(client):
    response = client.get("/api/v1/interactions/int_doesnotexist")
    assert response.status_code == 404 and response.json() == NOT_FOUND_BODY


def test_unknown_lead_history_is_404(client):
    response = client.get("/api/v1/interactions/lead/lead_doesnotexist")
    assert response.status_code == 404 and response.json() == NOT_FOUND_BODY


def test_lead_without_interactions_has_an_empty_history(client):
    assert data(client.get(f"/api/v1/interactions/lead/{make_lead(client)}")) == {"interactions": []}


def test_history_is_newest_first_with_calls_and_threads(client):
    lead_id = make_lead(client)
    first_call = data(call(client, lead_id))["interactionId"]
    thread = sent(client, lead_id)["interactionId"]              # same second as the call
    advance(client, 3600)
    second_call = data(call(client, lead_id))["interactionId"]
    records = history(client, lead_id)
    assert records[0]["interactionId"] == second_call
    same_second = sorted([first_call, thread], reverse=True)     # ties: interactionId descending
    assert [r["interactionId"] for r in records[1:]] == same_second
    assert {r["type"] for r in records} == {"call", "sms"}
    assert all(("call" in r) != ("sms" in r) for r in records)   # one block per type, never both


def test_history_only_holds_the_leads_own_interactions(client):
    mine, theirs = make_lead(client), make_lead(client, phone="+12125557799")
    sent(client, mine)
    sent(client, theirs)
    assert {r["leadId"] for r in history(client, mine)} == {mine}


def test_get_matches_the_history_item(client):
    lead_id = make_lead(client, phone="+12125550103")
    interaction_id = data(call(client, lead_id))["interactionId"]
    advance(client, 900)
    [item] = history(client, lead_id)
    assert data(client.get(f"/api/v1/interactions/{interaction_id}")) == item


def test_other_tenant_gets_404_for_both_endpoints(client, other):
    lead_id = make_lead(client)
    interaction_id = sent(client, lead_id)["interactionId"]
    error(other.get(f"/api/v1/interactions/{interaction_id}"), 404, "NOT_FOUND")
    error(other.get(f"/api/v1/interactions/lead/{lead_id}"), 404, "NOT_FOUND")


def test_unauthenticated_is_401(client):
    response = client.get("/api/v1/interactions/int_x", headers={"X-API-Key": ""})
    assert response.status_code == 401
