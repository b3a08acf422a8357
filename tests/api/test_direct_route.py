"""The direct route (``sandbox/api/direct_route.py``) answers exactly as connexion's stack does.

Two apps from the same seed, in strict mode with the same issued key: FAST (the CLI's setting:
direct route on) and REFERENCE (every request through connexion's stack, responses validated
against ``openapi.yaml``). ``Comparing`` forwards each request to both, in the same order, so
writes keep the two states (and their seeded ids) in step, and records any difference in status,
headers or body. schemathesis drives it over every public operation with valid and invalid data;
hand-written cases cover the edges the direct route must leave to connexion. The one
thing a reader might get wrong: a comparison that only ever reaches connexion proves nothing, so
the tests also assert which route answered.
"""

import copy
import os
from collections import Counter, defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.services import tenant_admin
from sandbox.settings import Settings

KEY = "direct-route-key"
# schemathesis.toml names the key through this variable and refuses to load without it; the
# generated test sets the header itself, because another test module sets the variable too.
os.environ.setdefault("LEADSAIL_API_KEY", KEY)


def _pair(**settings_kwargs):
    fast = create_app(Settings(**settings_kwargs))
    reference = create_app(Settings(validate_responses=True, **settings_kwargs))
    assert fast.direct_route is not None and reference.direct_route is None
    return fast, reference


class Comparing:
    """ASGI app: every request to FAST and to REFERENCE; answers with the reference's response."""

    def __init__(self, fast, reference):
        self.fast, self.reference = fast, reference
        self.differences: list[dict] = []
        self.last_served = False

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":  # neither app needs its background tasks for reads
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        served_before = self.fast.direct_route.served
        fast = await _replay(self.fast, scope, body)
        self.last_served = self.fast.direct_route.served > served_before
        reference = await _replay(self.reference, scope, body)
        if fast != reference:
            self.differences.append({"request": f"{scope['method']} {scope['path']}?{scope['query_string'].decode()}",
                                     "fast": fast, "reference": reference})
        await send({"type": "http.response.start", "status": reference[0], "headers": list(reference[1])})
        await send({"type": "http.response.body", "body": reference[2]})


async def _replay(app, scope, body: bytes):
    """(status, sorted headers, body) of one app's answer to a copy of the request."""
    scope = {**scope, "headers": list(scope["headers"]), "extensions": copy.deepcopy(scope.get("extensions", {}))}
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    answer = {"status": None, "headers": [], "body": b""}

    async def receive():
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"], answer["headers"] = message["status"], message.get("headers", [])
        else:
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], tuple(sorted((bytes(k).lower(), bytes(v)) for k, v in answer["headers"])), answer["body"]


FAST, REFERENCE = _pair(strict=True, admin_key="fast-admin")
for app in (FAST, REFERENCE):
    tenant_admin.issue_key(app.registry, {"key": KEY, "label": "direct route"})
COMPARING = Comparing(FAST, REFERENCE)
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", COMPARING)
ROUTES: dict[str, Counter] = defaultdict(Counter)


def test_every_public_operation_is_compiled():
    documented = {operation["operationId"] for item in SCHEMA.raw_schema["paths"].values()
                  for method, operation in item.items() if method in ("get", "post", "put", "patch", "delete")}
    assert FAST.direct_route.operation_ids == documented


@SCHEMA.parametrize()
@settings(max_examples=20, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_answer_the_same_on_both_routes(case):
    # refused, empty and missing keys are the hand-written cases below
    case.headers = {**(case.headers or {}), "X-API-Key": KEY}
    case.call()
    ROUTES[case.operation.label]["direct" if COMPARING.last_served else "connexion"] += 1
    assert COMPARING.differences == []


def test_realistic_and_edge_reads_answer_the_same_and_take_the_expected_route():
    with TestClient(COMPARING, follow_redirects=False) as client:
        client.headers["X-API-Key"] = KEY
        lead = client.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": "Fay", "lastName": "Stone",
                                                  "email": "fay@example.com", "phone": "+12125550101"}).json()["data"]
        call = client.post("/api/v1/voice/calls/initiate", json={"leadId": lead["leadId"]}).json()["data"]
        client.post("/_sandbox/clock/advance", json={"seconds": 600})
        lead_id, interaction_id = lead["leadId"], call["interactionId"]
        served = [
            f"/api/v1/interactions/{interaction_id}",
            f"/api/v1/interactions/lead/{lead_id}",
            f"/api/v1/leads/{lead_id}",
            f"/api/v1/leads/{lead_id}/submissions",
            "/api/v1/leads?limit=50",
            "/api/v1/leads?limit=2&status=new,qualified&search=Fay",
            "/api/v1/leads?search=%C3%A9l%C3%A8ve%20%2B%20caf%C3%A9",
            "/api/v1/leads?search=",
            "/api/v1/leads/lead_does_not_exist",                    # the handler's 404
            "/api/v1/interactions/lead",                           # an interaction id that is a word
            "/api/v1/campaigns?includeArchived=true",
            "/api/v1/clients?page=1&limit=2",
            "/api/v1/field-library?category=contact",
            "/api/v1/field-library/first_name",
            f"/api/v1/files/{lead_id}",
            f"/api/v1/files/{lead_id}/retainer_signed",
        ]
        deferred = [
            ("/api/v1/leads?limit=abc", {}),                         # a parameter problem: connexion's 400
            ("/api/v1/leads?limt=10", {}),                           # unknown parameter
            ("/api/v1/leads?limit=1&limit=2", {}),                   # repeated key
            ("/api/v1/leads?campaignIds[0]=HXZ", {}),                # deepObject-looking key
            ("/api/v1/leads/", {}),                                  # trailing slash
            ("/api/v1/leads", {"X-API-Key": "not-issued"}),          # refused key
            ("/api/v1/leads", {"X-API-Key": ""}),                    # empty key
            ("/_sandbox/clock", {}),                                 # the control plane
        ]
        for path in served:
            client.get(path)
            assert COMPARING.last_served, path
        for path, headers in deferred:
            client.get(path, headers=headers)
            assert not COMPARING.last_served, path
        del client.headers["X-API-Key"]
        client.get("/api/v1/leads")  # no key at all
        assert not COMPARING.last_served
        client.headers["X-API-Key"] = KEY
        client.request("GET", "/api/v1/leads", content=b'{"a": 1}', headers={"Content-Type": "application/json"})
        assert not COMPARING.last_served  # a GET with a body
        client.get("/api/v1/leads?limit=3", headers={"Content-Type": "application/json; charset=utf-8",
                                                      "Accept": "text/html"})
        assert COMPARING.last_served
        for form in ("multipart/form-data", "application/x-www-form-urlencoded", "text/plain"):
            client.get("/api/v1/leads?limit=3", headers={"Content-Type": form})
            assert not COMPARING.last_served, form
        client.head(f"/api/v1/leads/{lead_id}")
        assert not COMPARING.last_served
    assert COMPARING.differences == []


def test_realistic_and_edge_writes_answer_the_same_and_take_the_expected_route():
    with TestClient(COMPARING, follow_redirects=False) as client:
        client.headers["X-API-Key"] = KEY
        new_lead = {"campaignId": "HXZ", "firstName": "Gil", "lastName": "Marsh", "email": "gil@example.com",
                    "phone": "+12125550102"}

        def post(path, served, **kwargs):
            response = client.post(path, **kwargs)
            assert COMPARING.last_served is served, (path, kwargs, response.text)
            return response

        lead_id = post("/api/v1/leads", True, json=new_lead).json()["data"]["leadId"]
        post("/api/v1/sms/send", True, json={"leadId": lead_id, "message": "Hello"})
        post("/api/v1/voice/calls/initiate", True, json={"leadId": lead_id})
        post("/api/v1/voice/calls/initiate", True, json={"leadId": lead_id})     # refused by the gap rule
        post("/api/v1/sms/send", True, json={"leadId": "lead_missing", "message": "x"})  # the service's 404
        post("/api/v1/leads/send-to-auto-dialer", True,
             content=b'{"leadIds": ["%s"]}' % lead_id.encode(),
             headers={"Content-Type": "application/json; charset=UTF-8"})
        response = client.patch("/api/v1/leads/bulk", json={"leadIds": [lead_id], "updates": {"detail": "x"}})
        assert response.status_code == 200 and COMPARING.last_served
        client.patch(f"/api/v1/leads/{lead_id}", json={"tags": ["vip"]})
        assert COMPARING.last_served
        post("/api/v1/leads", False, json={"campaignId": "HXZ"})                    # schema: connexion's 400
        post("/api/v1/leads", False, content=b'{"campaignId": ', headers={"Content-Type": "application/json"})
        post("/api/v1/leads", False, content=b"", headers={"Content-Type": "application/json"})
        post(f"/api/v1/leads/{lead_id}/repost", False)                            # no body at all
        post("/api/v1/leads", False, content=b"campaignId=HXZ", headers={"Content-Type": "text/plain"})
        post("/api/v1/leads", False, data={"campaignId": "HXZ"})                  # a form
        post("/api/v1/leads", False, content=b'{"campaignId": "HXZ"}',
             headers={"Content-Type": "application/json; charset=latin-1"})
        post("/api/v1/leads", False, content=iter([b'{"campaignId": "HXZ"}']),  # chunked
             headers={"Content-Type": "application/json"})
        post("/api/v1/leads", False, content=b'{"campaignId": "HXZ"}')          # no content type
        post("/api/v1/leads", False, json=new_lead, headers={"X-API-Key": "not-issued"})
    assert COMPARING.differences == []


def test_open_mode_first_read_with_a_new_key_opens_the_tenant_on_both_routes():
    comparing = Comparing(*_pair())
    with TestClient(comparing) as client:
        response = client.get("/api/v1/leads?limit=3", headers={"X-API-Key": "brand-new-key"})
        assert response.status_code == 200 and comparing.last_served
        assert len(response.json()["data"]["leads"]) == 3
    assert comparing.differences == []
    assert comparing.fast.registry.lookup("brand-new-key", create=False) is not None


def test_a_handler_failure_is_the_documented_500_on_the_direct_route(monkeypatch):
    from sandbox.services import interactions

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(interactions, "get_interaction", broken)
    comparing = Comparing(*_pair())
    with TestClient(comparing, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/interactions/int_x", headers={"X-API-Key": "k"})
    assert comparing.last_served
    assert response.status_code == 500
    assert response.json() == {"success": False, "error": {"code": "INTERNAL_ERROR", "message": response.json()["error"]["message"]}}
    assert comparing.differences == []


def test_the_cli_switch_turns_the_route_off():
    assert create_app(Settings(direct_route=False)).direct_route is None


def test_generated_requests_reached_both_routes_for_every_operation():
    """Runs after the generated test (file order): each operation must have been answered by the
    direct route (valid data, ids that may not exist) and by connexion (invalid data)."""
    if not ROUTES:
        pytest.skip("run together with test_generated_requests_answer_the_same_on_both_routes")
    missing = {label: dict(counts) for label, counts in ROUTES.items() if not counts["direct"] or not counts["connexion"]}
    assert missing == {}
    assert len(ROUTES) == len(FAST.direct_route.operation_ids)
