"""Properties that hold across every area: determinism, isolation, the envelope on every failure."""

import pytest
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.settings import Settings
from tests.conftest import data

NEW_LEAD = {"campaignId": "HXZ", "firstName": "Jane", "lastName": "Smith",
            "email": "jane.smith@example.com", "phone": "+12125550103"}


def _script(client) -> list[bytes]:
    """A session touching every moving part: create, submit, call, text, documents, time."""
    out = []

    def keep(response):
        out.append(response.content)
        return response

    lead_id = keep(client.post("/api/v1/leads", json=NEW_LEAD)).json()["data"]["leadId"]
    keep(client.post("/api/v1/leads/submit", json=dict(NEW_LEAD, email="j2@example.com", phone="+12125550101")))
    keep(client.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id, "additionalInstructions": "Be brief."}))
    keep(client.post("/api/v1/sms/send", json={"leadId": lead_id, "message": "Hi Jane!"}))
    keep(client.post("/api/v1/document-templates/send",
                     json={"leadId": lead_id, "fileKey": "retainerSigning", "campaignId": "U4D"}))
    keep(client.post("/_sandbox/clock/advance", json={"seconds": 3600}))
    keep(client.get(f"/api/v1/interactions/lead/{lead_id}"))
    keep(client.get("/api/v1/leads?limit=100"))
    keep(client.get("/_sandbox/state"))
    return out


def _run(seed: int) -> list[bytes]:
    with TestClient(create_app(Settings(seed=seed))) as client:
        client.headers["X-API-Key"] = "determinism"
        return _script(client)


def test_same_seed_and_requests_give_byte_identical_responses():
    first, second = _run(42), _run(42)
    assert [len(b) for b in first] == [len(b) for b in second]
    assert first == second


def test_another_seed_gives_another_world():
    assert _run(42)[-1] != _run(43)[-1]


def _ids(client) -> dict:
    lead = data(client.post("/api/v1/leads", json=NEW_LEAD))
    call = data(client.post("/api/v1/voice/calls/initiate", json={"leadId": lead["leadId"]}))
    data(client.post("/api/v1/files", json={"leadId": lead["leadId"], "fileKey": "id_card", "fileName": "id.png",
                                            "fileType": "png", "documentUrl": "https://files.example.com/id.png"}))
    client_id = data(client.get("/api/v1/clients?limit=1"))["clients"][0]["clientId"]
    return {"lead": lead["leadId"], "submission": lead["submissionId"], "interaction": call["interactionId"],
            "client": client_id}


ID_ENDPOINTS = [
    ("GET", "/api/v1/leads/{lead}", None),
    ("PATCH", "/api/v1/leads/{lead}", {"firstName": "Mallory"}),
    ("POST", "/api/v1/leads/{lead}/deliver", {"campaignId": "HXZ"}),
    ("POST", "/api/v1/leads/{lead}/approve", {"status": "approved"}),
    ("POST", "/api/v1/leads/{lead}/repost", {}),
    ("GET", "/api/v1/leads/{lead}/submissions", None),
    ("PATCH", "/api/v1/submissions/{submission}", {"result": "mallory"}),
    ("GET", "/api/v1/interactions/{interaction}", None),
    ("GET", "/api/v1/interactions/lead/{lead}", None),
    ("GET", "/api/v1/files/{lead}/id_card", None),
    ("POST", "/api/v1/voice/calls/initiate", {"leadId": "{lead}"}),
    ("POST", "/api/v1/sms/send", {"leadId": "{lead}", "message": "hi"}),
    ("POST", "/api/v1/pixels/fire", {"leadId": "{lead}", "pixelId": "1", "platform": "facebook", "eventName": "Lead"}),
    ("POST", "/api/v1/document-templates/send", {"leadId": "{lead}", "fileKey": "retainerSigning"}),
    ("GET", "/_sandbox/leads/{lead}/dnc", None),
]


@pytest.mark.parametrize("method,path,body", ID_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ID_ENDPOINTS])
def test_another_tenant_cannot_reach_my_records(client, other, method, path, body):
    mine = _ids(client)
    before = client.get("/_sandbox/state").json()["data"]["state"]
    url = path.format(**mine)
    payload = {k: (v.format(**mine) if isinstance(v, str) else v) for k, v in (body or {}).items()}
    response = other.request(method, url, json=payload if body is not None else None)
    assert response.status_code == 404, response.text
    assert response.json() == {"success": False, "error": {"code": "NOT_FOUND", "message": "Resource not found"}}
    assert client.get("/_sandbox/state").json()["data"]["state"] == before  # nothing of mine changed


def test_another_tenant_sees_an_empty_file_list_and_unknown_client_for_my_ids(client, other):
    mine = _ids(client)
    assert data(other.get(f"/api/v1/files/{mine['lead']}")) == {"leadId": mine["lead"], "files": [], "count": 0}
    assert data(other.get("/api/v1/clients?limit=1"))["clients"][0]["clientId"] == mine["client"]  # seeded ids
    # bulk and auto-dialer take lists of ids: mine are unknown there
    assert data(other.patch("/api/v1/leads/bulk", json={"leadIds": [mine["lead"]], "updates": {"tags": ["x"]}})) \
        == {"modifiedCount": 0}
    dialer = data(other.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": [mine["lead"]]}))
    assert dialer["succeeded"] == 0 and dialer["failed"] == [{"leadId": mine["lead"], "error": "lead not found"}]


def test_integers_beyond_64_bits_in_free_form_fields_are_served_not_crashed(client):
    """Found by the contract suite: orjson refuses them; the envelope falls back to json."""
    lead_id = data(client.post("/api/v1/leads", json=NEW_LEAD))["leadId"]
    data(client.patch(f"/api/v1/leads/{lead_id}", json={"customFields": {"n": 10**23}}))
    assert data(client.get(f"/api/v1/leads/{lead_id}"))["customFields"] == {"n": 10**23}
    assert any(l["leadId"] == lead_id for l in data(client.get("/api/v1/leads?limit=5"))["leads"])


def test_a_finished_call_and_a_huge_number_serialise_together(client):
    lead_id = data(client.post("/api/v1/leads", json=NEW_LEAD))["leadId"]
    call = data(client.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id}))
    client.post("/_sandbox/clock/advance", json={"seconds": 900})
    data(client.patch(f"/api/v1/leads/{lead_id}", json={"customFields": {"n": 10**23}}))
    state = client.get("/_sandbox/state").json()["data"]["state"]  # export holds the frozen transcript too
    assert state["interactions"][call["interactionId"]]["transcript"][0]["role"] in ("agent", "system", "user")
    assert state["leads"][lead_id]["customFields"] == {"n": 10**23}
