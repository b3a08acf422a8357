"""The /_sandbox control plane: clock, reset, export/import, world config, journal."""

import pytest
from starlette.testclient import TestClient

from sandbox.app import create_app
from sandbox.settings import Settings
from tests.conftest import advance, data, error


def first_lead_id(client) -> str:
    return data(client.get("/api/v1/leads?limit=1"))["leads"][0]["leadId"]


def test_clock_starts_manual_at_the_configured_instant(client):
    clock = data(client.get("/_sandbox/clock"))
    assert clock["mode"] == "manual" and clock["now"] == "2026-01-15T15:00:00Z"


def test_advance_by_seconds_and_to_an_instant(client):
    assert advance(client, 90)["now"] == "2026-01-15T15:01:30Z"
    moved = data(client.post("/_sandbox/clock/advance", json={"to": "2026-01-16T00:00:00Z"}))
    assert moved["now"] == "2026-01-16T00:00:00Z"


def test_advance_refuses_going_back_and_ambiguous_bodies(client):
    err = error(client.post("/_sandbox/clock/advance", json={"to": "2025-01-01T00:00:00Z"}), 400, "VALIDATION_ERROR")
    assert err["details"][0].startswith("to: 2025-01-01T00:00:00Z is before")
    err = error(client.post("/_sandbox/clock/advance", json={}), 400, "VALIDATION_ERROR")
    assert err["details"] == ["body: give exactly one of seconds or to"]
    error(client.post("/_sandbox/clock/advance", json={"seconds": -5}), 400, "VALIDATION_ERROR")


def test_set_clock_mode_and_speed(client):
    view = data(client.put("/_sandbox/clock", json={"mode": "realtime", "speed": 60}))
    assert view["mode"] == "realtime" and view["speed"] == 60
    error(client.put("/_sandbox/clock", json={"mode": "sometimes"}), 400, "VALIDATION_ERROR")


def test_export_import_round_trip_is_exact(client):
    before = client.get("/_sandbox/state").content
    advance(client, 3600)
    client.patch(f"/api/v1/leads/{first_lead_id(client)}", json={"firstName": "Changed"})
    data(client.put("/_sandbox/state", content=before, headers={"content-type": "application/json"}))
    assert client.get("/_sandbox/state").content == before


def test_import_of_garbage_is_a_400_not_a_500(client):
    err = error(client.put("/_sandbox/state", json={"state": {"nope": 1}, "ids": {}, "clock": {}}),
                400, "VALIDATION_ERROR")
    assert {"version: is required", "ids.counter: is required", "state.nope: is not an allowed field",
            "state.leads: is required"} <= set(err["details"])


def test_settings_refuse_unknown_fields_each_named_and_store_nothing(client):
    before = data(client.get("/_sandbox/settings"))
    err = error(client.patch("/_sandbox/settings", json={"smsProvider": "twilio", "colour": "red", "smsprovider": 1}),
                400, "VALIDATION_ERROR")
    assert err["details"] == ["colour: is not an allowed field", "smsprovider: is not an allowed field"]
    assert data(client.get("/_sandbox/settings")) == before


def test_reset_restores_the_seed_world(client):
    lead_id = first_lead_id(client)
    client.patch(f"/api/v1/leads/{lead_id}", json={"firstName": "Changed"})
    data(client.post("/_sandbox/reset"))
    assert data(client.get(f"/api/v1/leads/{lead_id}"))["firstName"] != "Changed"


def test_scenarios_are_listed_without_a_key(app):
    with TestClient(app) as anonymous:
        rows = data(anonymous.get("/_sandbox/scenarios"))["scenarios"]
    assert {"area": "call", "input": "+12125550103", "outcome": "voicemail"}.items() <= rows[2].items()


def test_campaign_config_is_sandbox_only(client):
    created = data(client.put("/_sandbox/campaigns/NEW1", json={
        "name": "Spring Promo", "clientId": "cli_acme", "offerId": "off_auto", "voiceAgentId": "agent_ava",
        "autoDialer": {"maxAttempts": 3}}))
    assert created["config"]["autoDialer"]["maxAttempts"] == 3
    assert created["config"]["autoDialer"]["minGapMinutes"] == 60  # deep-merged over the defaults
    public = data(client.get("/api/v1/campaigns?search=Spring"))["campaigns"]
    assert [c["campaignId"] for c in public] == ["NEW1"]
    assert public[0]["clientName"] == "Acme Insurance"
    assert "autoDialer" not in public[0] and "voiceAgentId" not in public[0]


def test_campaign_config_errors_name_every_field(client):
    err = error(client.put("/_sandbox/campaigns/bad", json={"clientId": "cli_acme",
        "voiceAgentId": "agent_nobody", "autoDialer": {"operatingHours": {"start": "25:00"}},
        "outcomeMix": {"teleported": 1}}), 400, "VALIDATION_ERROR")
    assert "campaignId: 'bad' must be 2-5 uppercase letters or digits" in err["details"]
    assert "offerId: is required for a new campaign" in err["details"]
    assert "voiceAgentId: unknown voice agent 'agent_nobody'" in err["details"]
    assert "autoDialer.operatingHours.start: must be HH:MM (24-hour)" in err["details"]
    assert any(d.startswith("outcomeMix:") for d in err["details"])


def test_dnc_sets_the_flag_without_changing_status(client):
    lead = data(client.get("/api/v1/leads?limit=1"))["leads"][0]
    record = data(client.put(f"/_sandbox/leads/{lead['leadId']}/dnc", json={"channels": ["sms", "phone"]}))
    assert record["channels"] == ["phone", "sms"]
    after = data(client.get(f"/api/v1/leads/{lead['leadId']}"))
    assert after["flags"]["isDnc"] is True and after["status"] == lead["status"]
    data(client.delete(f"/_sandbox/leads/{lead['leadId']}/dnc"))
    assert data(client.get(f"/api/v1/leads/{lead['leadId']}"))["flags"]["isDnc"] is False
    error(client.put("/_sandbox/leads/lead_nobody/dnc", json={"channels": ["sms"]}), 404, "NOT_FOUND")


def test_force_next_outcome_validates_the_outcome(client):
    lead_id = first_lead_id(client)
    assert data(client.put(f"/_sandbox/leads/{lead_id}/next-outcome", json={"outcome": "voicemail"}))[
        "nextOutcome"] == "voicemail"
    error(client.put(f"/_sandbox/leads/{lead_id}/next-outcome", json={"outcome": "abducted"}), 400, "VALIDATION_ERROR")


def test_phone_numbers_must_be_valid_e164(client):
    assert data(client.put("/_sandbox/phone-numbers/+18335645671", json={"smsCapable": True}))["numberId"]
    err = error(client.put("/_sandbox/phone-numbers/+15550000000", json={}), 400, "VALIDATION_ERROR")
    assert "not a valid E.164" in err["details"][0]


def test_journal_shows_refused_requests_with_their_details_newest_first(client):
    client.get("/api/v1/leads?limit=abc")
    client.get("/api/v1/leads?limit=2")
    entries = data(client.get("/_sandbox/journal?limit=2"))["entries"]
    assert [e["status"] for e in entries] == [200, 400]
    assert entries[1]["error"]["details"] and entries[1]["path"] == "/api/v1/leads"
    assert entries[1]["query"] == "limit=abc"


def test_journal_is_bounded():
    app = create_app(Settings(journal_size=5))
    with TestClient(app) as client:
        client.headers["X-API-Key"] = "k"
        for _ in range(12):
            client.get("/_sandbox/clock")
        assert len(data(client.get("/_sandbox/journal?limit=100"))["entries"]) == 5


def test_advance_can_answer_with_a_summary(client):
    lead = data(client.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": "Sum", "lastName": "Mary",
                                                   "email": "s@example.com", "phone": "+12125550101"}))
    data(client.post("/api/v1/voice/calls/initiate", json={"leadId": lead["leadId"]}))
    summary = data(client.post("/_sandbox/clock/advance", json={"seconds": 3600, "summary": True}))
    assert summary["ranCount"] == sum(summary["byKind"].values()) >= 2
    assert summary["byKind"]["call.end"] == 1 and "ran" not in summary


def test_every_control_operation_types_its_answer():
    """Typed clients of the control plane: no success answer is a generic envelope (`data` untyped)."""
    from sandbox.app import load_control_spec

    spec = load_control_spec()

    def resolved(node):
        while "$ref" in node:
            section, name = node["$ref"].split("/")[-2:]
            node = spec["components"][section][name]
        return node

    untyped = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            media = resolved(operation["responses"]["200"])["content"].get("application/json")
            if media is None:
                continue  # the recording is audio
            data = resolved(media["schema"])["properties"]["data"]
            if not ({"$ref", "oneOf", "enum", "properties"} & set(data)):
                untyped.append(f"{method.upper()} {path}")
    assert untyped == []


def test_the_job_kinds_of_a_clock_move_are_the_timeline_job_kinds():
    from sandbox.app import load_control_spec

    schemas = load_control_spec()["components"]["schemas"]
    assert schemas["JobKind"]["enum"] == schemas["TimelineJob"]["properties"]["kind"]["enum"]


def test_world_reads_conform_to_their_schemas(client):
    # Response validation is on: a 200 here means the answer matched its schema.
    campaigns = data(client.get("/_sandbox/campaigns"))["campaigns"]
    assert data(client.get(f"/_sandbox/campaigns/{campaigns[0]['campaign']['campaignId']}"))["config"]
    assert data(client.get("/_sandbox/phone-numbers"))["phoneNumbers"]
    assert data(client.get("/_sandbox/voice-agents"))["voiceAgents"]
    assert data(client.get("/_sandbox/sms-agents"))["smsAgents"]
    assert data(client.get("/_sandbox/webhooks/faults")) == {"duplicate": False, "outOfOrder": False,
                                                              "extraDelaySeconds": 0}
    assert data(client.get("/_sandbox/info"))["mode"] == "open"
    error(client.get("/_sandbox/info?verbose=1"), 400, "VALIDATION_ERROR")
    assert data(client.get(f"/_sandbox/leads/{first_lead_id(client)}/dnc"))["createdAt"] is None  # no record


def test_admin_answers_conform_to_their_schemas():
    app = create_app(Settings(validate_responses=True, strict=True, admin_key="admin-secret"))
    with TestClient(app, raise_server_exceptions=False) as admin:
        admin.headers["X-Admin-Key"] = "admin-secret"
        assert data(admin.post("/_sandbox/admin/keys", json={"key": "typed-client-key"}))["label"] is None
        assert data(admin.get("/_sandbox/admin/keys"))["keys"] == [{"keyPrefix": "typed-cl", "label": None}]
        assert data(admin.get("/_sandbox/admin/webhooks"))["strict"] is True
        assert data(admin.delete("/_sandbox/admin/keys/typed-client-key")) == {"revoked": True}


@pytest.mark.parametrize("key", ["retryAttempts", "timeoutSeconds", "events", "headers", "enabled"])
def test_a_webhook_setting_given_as_null_is_refused_not_stored(client, key):
    """Merged in as null, it turned every later read of the settings or the campaign into a 500."""
    for path in ("/_sandbox/settings", "/_sandbox/campaigns/HXZ"):
        send = client.patch if path.endswith("settings") else client.put
        details = error(send(path, json={"webhooks": {key: None}}), 400, "VALIDATION_ERROR")["details"]
        assert any(d.startswith(f"webhooks.{key}:") for d in details), details
    assert data(client.get("/_sandbox/settings"))["webhooks"][key] is not None
    assert data(client.get("/_sandbox/campaigns/HXZ"))
