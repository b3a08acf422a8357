"""schemathesis over openapi.yaml against the in-process app, every check on.

Response validation is on in the app as well, so a response that drifts from the spec fails twice.
The app runs in strict mode with one issued key, so the "invalid key is refused" check means
something (in open mode every key is valid by design). The one thing a reader might get wrong: a
fuzz run that only ever gets 401 or 400 passes while testing nothing (stack-notes §7.10), so the
last test asserts that every operation also answered 2xx at least once.
"""

import os
import re
from collections import Counter, defaultdict

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from sandbox.app import create_app
from sandbox.services import tenant_admin
from sandbox.settings import Settings

KEY = {"X-API-Key": "schemathesis-contract-key"}
# schemathesis.toml reads the key from the environment; set before the schema (and config) loads.
os.environ["LEADSAIL_API_KEY"] = KEY["X-API-Key"]
APP = create_app(Settings(validate_responses=True, strict=True, admin_key="contract-admin"))
tenant_admin.issue_key(APP.registry, {"key": KEY["X-API-Key"], "label": "contract suite"})
# Wording our validators use for *schema* violations; business refusals never use it.
SCHEMA_WORDING = ("must be a", "must be an", "is required", "must match", "is not an allowed field",
                  "must be one of", "must be at least", "must be at most", "must have at", "must be a valid")
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
STATUSES: dict[str, Counter] = defaultdict(Counter)
FUZZ = settings(max_examples=int(os.environ.get("CONTRACT_EXAMPLES", "100")), derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@SCHEMA.parametrize()
@FUZZ
def test_every_operation_honours_the_contract(case):
    response = case.call_and_validate()
    STATUSES[case.operation.label][response.status_code] += 1
    if response.status_code == 400 and case.meta is not None and not case.meta.generation.mode.is_negative:
        # schema-valid data may be refused for business reasons, never for its shape
        details = response.json()["error"].get("details", [])
        reasons = {d: re.sub(r"'[^']*'", "''", d.split(": ", 1)[-1]) for d in details}  # ignore echoed values
        schema_like = [d for d, reason in reasons.items() if any(w in reason for w in SCHEMA_WORDING)]
        assert not schema_like, f"schema-valid request refused as invalid: {schema_like}"


StatefulMachine = SCHEMA.as_state_machine()


class LinkedJourneys(StatefulMachine):
    def after_call(self, response, case):
        STATUSES[case.operation.label][response.status_code] += 1


class TestLinkedJourneys(LinkedJourneys.TestCase):
    settings = settings(max_examples=int(os.environ.get("CONTRACT_STATEFUL_EXAMPLES", "60")), stateful_step_count=6, derandomize=True, deadline=None,
                        database=None, suppress_health_check=list(HealthCheck))



def _prepare_world() -> dict:
    """Real records in the contract tenant, in the states each operation needs to succeed."""
    from starlette.testclient import TestClient

    with TestClient(APP) as client:
        client.headers.update(KEY)

        def post(path, body):
            response = client.post(path, json=body)
            assert response.status_code == 200, response.text
            return response.json()["data"]

        base = {"campaignId": "HXZ", "firstName": "Casey", "lastName": "Contract", "country": "US"}
        callable_lead = post("/api/v1/leads", dict(base, email="casey@example.com", phone="+12125550101"))
        review = post("/api/v1/leads/submit", dict(base, campaignId="U4D", email="rev@example.com",
                                                    phone="+13125550188", questionnaire={"injury_type": "whiplash"}))
        failed = post("/api/v1/leads/submit", dict(base, email="f+deliveryfail@example.com", phone="+12125550177",
                                                   questionnaire={"vehicle_year": 2020}))
        client.post("/_sandbox/clock/advance", json={"seconds": 60})
        call = post("/api/v1/voice/calls/initiate", {"leadId": callable_lead["leadId"]})
        post("/api/v1/files", {"leadId": callable_lead["leadId"], "fileKey": "retainer_signed",
                               "fileName": "retainer_signed.pdf", "fileType": "pdf",
                               "documentUrl": "https://files.example.com/retainer_signed.pdf"})
        client_id = client.get("/api/v1/clients?limit=1").json()["data"]["clients"][0]["clientId"]
    return {"lead": callable_lead["leadId"], "submission": callable_lead["submissionId"],
            "interaction": call["interactionId"], "review": review["leadId"], "failed": failed["leadId"],
            "client": client_id}


def _success_cases(ids: dict):
    lead = ids["lead"]
    return [
        ("GET", "/api/v1/leads", {}, {"limit": "5", "status": "new,qualified"}, None),
        ("POST", "/api/v1/leads", {}, {}, {"campaignId": "HXZ", "firstName": "Ann", "lastName": "Lee",
                                           "email": "ann@example.com", "phone": "+1 (212) 555-0142"}),
        ("GET", "/api/v1/leads/{leadId}", {"leadId": lead}, {}, None),
        ("PATCH", "/api/v1/leads/{leadId}", {"leadId": lead}, {}, {"tags": ["contract"]}),
        ("PATCH", "/api/v1/leads/bulk", {}, {}, {"leadIds": [lead], "updates": {"detail": "checked"}}),
        ("POST", "/api/v1/leads/submit", {}, {}, {"campaignId": "HXZ", "firstName": "Bo", "lastName": "Ng",
                                                  "email": "bo@example.com", "phone": "+12125550143", "isTest": True}),
        ("POST", "/api/v1/leads/send-to-auto-dialer", {}, {}, {"leadIds": [lead, "lead_unknown"]}),
        ("POST", "/api/v1/leads/{leadId}/approve", {"leadId": ids["review"]}, {}, {"status": "approved"}),
        ("POST", "/api/v1/leads/{leadId}/deliver", {"leadId": ids["review"]}, {}, {"campaignId": "U4D"}),
        ("POST", "/api/v1/leads/{leadId}/repost", {"leadId": ids["failed"]}, {}, {}),
        ("GET", "/api/v1/leads/{leadId}/submissions", {"leadId": lead}, {}, None),
        ("GET", "/api/v1/campaigns", {}, {"includeArchived": "true"}, None),
        ("GET", "/api/v1/clients", {}, {"page": "1", "limit": "2"}, None),
        ("GET", "/api/v1/clients/{clientId}", {"clientId": ids["client"]}, {}, None),
        ("PATCH", "/api/v1/submissions/{submissionId}", {"submissionId": ids["submission"]}, {}, {"result": "ok"}),
        ("POST", "/api/v1/document-templates/send", {}, {}, {"leadId": lead, "fileKey": "retainerSigning",
                                                             "campaignId": "U4D"}),
        ("POST", "/api/v1/files", {}, {}, {"leadId": lead, "fileKey": "id_card", "fileName": "id.png",
                                           "fileType": "png", "documentUrl": "https://files.example.com/id.png"}),
        ("GET", "/api/v1/files/{leadId}", {"leadId": lead}, {}, None),
        ("GET", "/api/v1/files/{leadId}/{fileKey}", {"leadId": lead, "fileKey": "retainer_signed"}, {}, None),
        ("GET", "/api/v1/field-library", {}, {"category": "contact"}, None),
        ("GET", "/api/v1/field-library/{key}", {"key": "first_name"}, {}, None),
        ("GET", "/api/v1/interactions/{interactionId}", {"interactionId": ids["interaction"]}, {}, None),
        ("GET", "/api/v1/interactions/lead/{leadId}", {"leadId": lead}, {}, None),
        ("POST", "/api/v1/pixels/fire", {}, {}, {"leadId": lead, "pixelId": "123456789", "platform": "facebook",
                                                 "eventName": "Lead", "testEventCode": "TEST123"}),
        ("POST", "/api/v1/sms/send", {}, {}, {"leadId": lead, "message": "Hi Casey"}),
        ("POST", "/api/v1/voice/calls/initiate", {}, {}, {"leadId": ids["failed"], "isTest": True}),
    ]


def test_every_operation_succeeds_on_realistic_input_and_passes_every_check():
    """Each documented operation once with real ids, through schemathesis' own checks."""
    cases = _success_cases(_prepare_world())
    covered = {f"{m} {p}" for m, p, *_ in cases}
    documented = {f"{method.upper()} {path}" for path, item in SCHEMA.raw_schema["paths"].items()
                  for method in item if method in ("get", "post", "patch", "put", "delete")}
    assert covered == documented
    for method, path, path_parameters, query, body in cases:
        kwargs = {"path_parameters": path_parameters, "query": query}
        if body is not None:
            kwargs.update(body=body, media_type="application/json")
        case = SCHEMA[path][method].Case(**kwargs)
        response = case.call_and_validate(headers=KEY)  # hand-made cases get no generated auth
        STATUSES[case.operation.label][response.status_code] += 1
        assert 200 <= response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"


def test_fuzzing_found_no_server_error():
    if not STATUSES:
        pytest.skip("run together with the fuzz test")
    server_errors = {op: dict(c) for op, c in STATUSES.items() if any(code >= 500 for code in c)}
    totals = Counter()
    for counts in STATUSES.values():
        totals.update(counts)
    print(f"\nschemathesis in-process: {sum(totals.values())} requests over {len(STATUSES)} operations; "
          f"by status {dict(sorted(totals.items()))}")
    assert server_errors == {}
