"""PUT /_sandbox/state: an export comes back exactly, anything else is refused whole.

Every test starts from one lived-in tenant (calls, texts, documents, files, pixels, webhooks, the
dialer, jobs still on the timeline), so every collection of the export holds at least one record.
"""

from __future__ import annotations

import copy
import json
import random
import re

import pytest
import yaml
from starlette.testclient import TestClient

from sandbox import simulation
from sandbox.app import CONTROL_SPEC, create_app
from sandbox.settings import Settings
from sandbox.store import TenantState
from sandbox.world import tenant_export
from tests.conftest import data, error

KEY = "import-key"
SINK = "http://127.0.0.1:8000/_sandbox/sink/import-tests"   # the sandbox's own URL (Settings default)
TOP_LEVEL = ["version", "clock", "ids", "timeline", "state"]


def _live_in(client) -> None:
    data(client.patch("/_sandbox/settings", json={"webhooks": {"enabled": True, "url": SINK,
                                                                 "events": {"lead.queued": True}}}))
    lead_id = data(client.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": "Jane", "lastName": "Smith",
                                                      "email": "jane@example.com", "phone": "+12125557701"}))["leadId"]
    data(client.post("/api/v1/leads/submit", json={"campaignId": "HXZ", "firstName": "Jo", "lastName": "Smith",
                                                   "email": "jo@example.com", "phone": "+12125557702"}))
    data(client.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id}))
    data(client.post("/api/v1/sms/send", json={"leadId": lead_id, "message": "Hi Jane!"}))
    data(client.post("/api/v1/document-templates/send",
                     json={"leadId": lead_id, "fileKey": "retainerSigning", "campaignId": "U4D"}))
    data(client.post("/api/v1/files", json={"leadId": lead_id, "fileKey": "id_card", "fileName": "id.png",
                                            "fileType": "png", "documentUrl": "https://files.example.com/id.png"}))
    data(client.post("/api/v1/pixels/fire", json={"leadId": lead_id, "pixelId": "123456789",
                                                  "platform": "facebook", "eventName": "Lead"}))
    data(client.post("/_sandbox/sms/inbound", json={"from": "+12125557701", "to": "+18335645669", "text": "hello"}))
    data(client.put("/_sandbox/webhooks/faults", json={"duplicate": True}))
    seeded = data(client.get("/api/v1/leads", params={"limit": 5}))["leads"]
    data(client.put(f"/_sandbox/leads/{seeded[2]['leadId']}/next-outcome", json={"outcome": "voicemail"}))
    data(client.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": [seeded[3]["leadId"]]}))
    data(client.post("/_sandbox/clock/advance", json={"seconds": 30}))


@pytest.fixture(scope="module")
def lived_in():
    """(client, the export's bytes, the export) of a lived-in tenant; tests put it back first."""
    with TestClient(create_app(Settings(validate_responses=True)), raise_server_exceptions=False) as client:
        client.headers["X-API-Key"] = KEY
        _live_in(client)
        response = client.get("/_sandbox/state")
        exported = data(response)
        assert all(exported["state"][name] for name in exported["state"]), "a collection is empty"
        assert exported["timeline"]["jobs"], "no job left on the timeline"
        yield client, response.content, exported


@pytest.fixture
def tenant(lived_in):
    client, raw, exported = lived_in
    data(client.put("/_sandbox/state", content=raw, headers={"content-type": "application/json"}))
    return client, raw, copy.deepcopy(exported)


def put(client, document):
    return client.put("/_sandbox/state", json=document)


def refused(client, document) -> list[str]:
    return error(put(client, document), 400, "VALIDATION_ERROR")["details"]


def assert_unchanged(client, raw: bytes) -> None:
    """The tenant is the lived-in one, and its main reads work."""
    assert client.get("/_sandbox/state").content == raw
    lead_id = data(client.get("/api/v1/leads", params={"limit": 100}))["leads"][0]["leadId"]
    data(client.get(f"/api/v1/leads/{lead_id}"))
    data(client.get(f"/_sandbox/dialer/check/{lead_id}"))


def first_key(collection):
    return next(iter(collection)) if isinstance(collection, dict) else 0


# --- round trip ------------------------------------------------------------------------------

def test_round_trip_of_a_lived_in_tenant_is_exact_in_both_forms(tenant):
    client, raw, exported = tenant
    data(client.post("/_sandbox/clock/advance", json={"seconds": 3600}))
    data(client.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": "Later", "lastName": "Lead",
                                            "email": "later@example.com", "phone": "+12125557703"}))
    data(client.put("/_sandbox/state", content=raw, headers={"content-type": "application/json"}))
    assert client.get("/_sandbox/state").content == raw
    data(put(client, {"success": True, "data": exported}))
    assert client.get("/_sandbox/state").content == raw


def test_another_tenants_export_imports_and_new_ids_never_collide(lived_in, other):
    _, _, exported = lived_in
    data(put(other, exported))
    created = data(other.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": "New", "lastName": "Lead",
                                                     "email": "new@example.com", "phone": "+12125557704"}))
    assert created["leadId"] not in exported["state"]["leads"]
    assert created["submissionId"] not in exported["state"]["submissions"]


# --- wrong types, per collection --------------------------------------------------------------

def _wrong_values(value) -> list:
    """A list for an object (an object for a list), a string, a number, null: those of another type."""
    return [wrong for wrong in ([], {}, "a string", 42, None) if type(wrong) is not type(value)]


def _dotted(path: list) -> str:
    return ".".join(str(p) for p in path)


COLLECTIONS = TOP_LEVEL[:-1] + [f"state.{f}" for f in TenantState.__dataclass_fields__]


@pytest.mark.parametrize("where", COLLECTIONS)
def test_a_collection_of_the_wrong_type_is_refused_and_changes_nothing(tenant, where):
    client, raw, exported = tenant
    path = where.split(".")
    parent = exported if len(path) == 1 else exported["state"]
    for wrong in _wrong_values(parent[path[-1]]):
        document = copy.deepcopy(exported)
        (document if len(path) == 1 else document["state"])[path[-1]] = wrong
        details = refused(client, document)
        assert any(d.startswith(f"{where}: ") for d in details), (wrong, details)
    assert_unchanged(client, raw)


def _bad_record(value):
    """Where one record of a collection sits, and a value that is no such record."""
    if isinstance(value, list):
        return [0], {"eventId": 5} if value and isinstance(value[0], dict) else 5
    key = first_key(value)
    record = value[key]
    if isinstance(record, dict):
        inner = first_key(record)
        if isinstance(record[inner], dict):               # files: leadId → fileKey → File
            return [key, inner], ["not", "a", "file"]
        return [key], ["not", "a", "record"]
    return [key], {"not": "a scalar"} if isinstance(record, (str, bool, int)) else "not a list"


RECORD_COLLECTIONS = [name for name in TenantState.__dataclass_fields__ if name not in ("org_id",)]


@pytest.mark.parametrize("name", RECORD_COLLECTIONS)
def test_a_record_of_the_wrong_shape_is_refused_with_its_path(tenant, name):
    client, raw, exported = tenant
    where, bad = _bad_record(exported["state"][name])
    document = copy.deepcopy(exported)
    target = document["state"][name]
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = bad
    details = refused(client, document)
    expected = "state." + name + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where)
    assert any(d.startswith(expected) for d in details), (expected, details)
    assert_unchanged(client, raw)


def test_a_wrong_field_deep_in_a_public_record_is_refused(tenant):
    client, raw, exported = tenant
    lead_id = exported["state"]["lead_order"][0]
    exported["state"]["leads"][lead_id]["firstName"] = 5           # the public Lead says string
    exported["state"]["leads"][lead_id]["status"] = "teleported"   # and one of the lead statuses
    details = refused(client, exported)
    assert f"state.leads.{lead_id}.firstName: must be a string" in details
    assert any(d.startswith(f"state.leads.{lead_id}.status: must be one of") for d in details)
    assert_unchanged(client, raw)


# --- what a schema cannot say -------------------------------------------------------------------

def _rewind(doc):
    doc["ids"]["counter"] = 0


def _refile_lead(doc):
    leads = doc["state"]["leads"]
    lead_id = doc["state"]["lead_order"][0]
    leads["lead_elsewhere01"] = leads.pop(lead_id)


def _unknown_campaign(doc):
    doc["state"]["leads"][doc["state"]["lead_order"][0]]["campaign"]["campaignId"] = "NOPE"


def _duplicate_in_order(doc):
    doc["state"]["lead_order"][1] = doc["state"]["lead_order"][0]


def _job_ahead(doc):
    doc["timeline"]["jobs"][0]["seq"] = doc["timeline"]["seq"] + 1


def _job_payload(doc):
    doc["timeline"]["jobs"][0]["payload"] = {"surprise": True}


def _job_due(doc):
    doc["timeline"]["jobs"][0]["due"] = 1e300


def _clock_range(doc):
    doc["clock"]["now"] = "9999-12-31T00:00:00Z"


def _rng(doc):
    doc["ids"]["rng"][1] = [0] * 625


def _dialer_instant(doc):
    doc["state"]["dialer"][first_key(doc["state"]["dialer"])]["attempts"] = ["9999-12-31T23:00:00Z"]


def _dialer_config(doc):
    doc["state"]["campaign_config"]["HXZ"]["voiceAgentId"] = "agent_nobody"


@pytest.mark.parametrize("mutate, where", [
    (_rewind, "ids.counter: 0 is behind the ids already present"),
    (_refile_lead, "state.leads.lead_elsewhere01.leadId: is "),
    (_unknown_campaign, "state.leads."),
    (_duplicate_in_order, "state.lead_order[1]: lists lead "),
    (_job_ahead, "timeline.jobs[0].seq: is ahead of timeline.seq"),
    (_job_payload, "timeline.jobs[0].payload.surprise: is not a field of a "),
    (_job_due, "timeline.jobs[0].due: is outside the range"),
    (_clock_range, "clock.now: "),
    (_rng, "ids.rng: is not a random.Random state"),
    (_dialer_instant, "state.dialer."),
    (_dialer_config, "state.campaign_config.HXZ.voiceAgentId: unknown voice agent 'agent_nobody'"),
], ids=lambda v: getattr(v, "__name__", "")[1:] or None)
def test_an_inconsistent_export_is_refused_and_changes_nothing(tenant, mutate, where):
    client, raw, exported = tenant
    mutate(exported)
    details = refused(client, exported)
    assert any(d.startswith(where) for d in details), details
    assert_unchanged(client, raw)


def test_a_rewound_counter_is_refused_even_by_one_step_past_an_id_in_use(tenant):
    client, raw, exported = tenant
    before = client.post("/api/v1/leads", json={"campaignId": "HXZ", "firstName": "Probe", "lastName": "Lead",
                                                "email": "probe@example.com", "phone": "+12125557705"})
    taken = client.get("/_sandbox/state").json()["data"]
    taken["ids"]["counter"] -= 1           # the submission's id would be handed out again
    assert data(before)["submissionId"] in taken["state"]["submissions"]
    assert any(d.startswith("ids.counter: ") for d in refused(client, taken))


def test_an_unknown_version_is_refused(tenant):
    client, raw, exported = tenant
    for version in (2, 0, "1", None):
        exported["version"] = version
        assert any(d.startswith("version: ") for d in refused(client, exported))
    assert_unchanged(client, raw)


def test_the_envelope_is_checked_as_an_envelope(tenant):
    client, raw, exported = tenant
    assert refused(client, {"success": False, "data": exported}) == [
        "success: must be true (the envelope GET /_sandbox/state answered)"]
    assert "extra: is not an allowed field" in refused(client, {"success": True, "data": exported, "extra": 1})
    exported["state"]["leads"] = []
    assert refused(client, {"success": True, "data": exported}) == ["data.state.leads: must be an object"]
    assert_unchanged(client, raw)


def test_details_are_capped_at_fifty_with_the_count_of_the_rest(tenant):
    client, raw, exported = tenant
    for lead in exported["state"]["leads"].values():
        lead["firstName"], lead["lastName"] = 1, 2
    details = refused(client, exported)
    problems = 2 * len(exported["state"]["leads"])
    assert len(details) == 51 and details[-1] == f"... and {problems - 50} more"
    for lead in exported["state"]["leads"].values():               # past 1,000 the checks stop looking
        lead.update({field: 0 for field, value in lead.items() if isinstance(value, (str, dict))})
    details = refused(client, exported)
    assert len(details) == 51 and details[-1] == "... and at least 951 more"
    assert_unchanged(client, raw)


# --- the spec and the code describe the same format ---------------------------------------------

def _spec_schemas() -> dict:
    with open(CONTROL_SPEC, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["components"]["schemas"]


def test_the_spec_names_every_collection_and_every_job_kind():
    schemas = _spec_schemas()
    assert set(schemas["TenantState"]["properties"]) == set(TenantState.__dataclass_fields__)
    assert set(schemas["TenantState"]["required"]) == set(TenantState.__dataclass_fields__)
    simulation.load_handlers()
    kinds = set(schemas["TimelineJob"]["properties"]["kind"]["enum"])
    assert kinds == set(simulation._HANDLERS) == set(tenant_export.JOB_KINDS)


# --- fuzz: random damage to a real export is a 400, or a tenant that still works ---------------

FUZZ_VALUES = [None, True, False, 0, -1, 7, 2.5, 1e300, 2 ** 63, "", "x", "HXZ", "lead_aaaaaaaaaaaa",
               "2026-01-15T15:00:00Z", "0001-01-01T00:00:00Z", [], [1], ["x"], {}, {"x": 1}]


def _mutate(document: dict, rng: random.Random, ids: list[str]) -> str:
    """Damage one random place (a state collection picked uniformly first); say what was done.
    ``ids`` are the ids of the export: a reference moved to another record is damage too."""
    top = rng.choice(TOP_LEVEL[:-1] + ["state"] * 12)
    parent, key = (document, top) if top != "state" else (document["state"], rng.choice(sorted(document["state"])))
    path = [top] if top != "state" else ["state", key]
    while isinstance(parent[key], (dict, list)) and parent[key] and rng.random() < 0.75:
        parent = parent[key]
        key = rng.choice(list(parent)) if isinstance(parent, dict) else rng.randrange(len(parent))
        path.append(key)
    action = rng.random()
    if action < 0.6:
        value = rng.choice(FUZZ_VALUES + [rng.choice(ids)] * 4)
        parent[key] = copy.deepcopy(value)
        return f"{_dotted(path)} = {json.dumps(value)}"
    if action < 0.8:
        del parent[key]
        return f"del {_dotted(path)}"
    if isinstance(parent[key], dict):
        parent[key]["zz_unknown"] = 1
        return f"{_dotted(path)}.zz_unknown = 1"
    if isinstance(parent[key], list) and parent[key]:
        parent[key].append(copy.deepcopy(parent[key][0]))
        return f"{_dotted(path)} += its first item"
    parent[key] = copy.deepcopy(rng.choice(FUZZ_VALUES))
    return f"{_dotted(path)} replaced"


def _reads_work(client, lead_id: str) -> list[str]:
    listed = client.get("/api/v1/leads", params={"limit": 100})
    leads = listed.json().get("data", {}).get("leads") if listed.status_code == 200 else None
    lead_id = leads[0]["leadId"] if leads else lead_id
    answers = [("list leads", listed),
               ("get lead", client.get(f"/api/v1/leads/{lead_id}")),
               ("dialer check", client.get(f"/_sandbox/dialer/check/{lead_id}")),
               ("initiate", client.post("/api/v1/voice/calls/initiate", json={"leadId": lead_id})),
               ("export", client.get("/_sandbox/state"))]
    return [f"{name}: {r.status_code} {r.text[:200]}" for name, r in answers if r.status_code >= 500]


def test_random_damage_is_refused_or_leaves_a_working_tenant(lived_in):
    client, raw, exported = lived_in
    rng = random.Random(20260115)
    lead_id = exported["state"]["lead_order"][0]
    ids = sorted(set(re.findall(r'"([a-z]+_[a-z2-7]{12})"', raw.decode())))
    outcomes = {200: 0, 400: 0}
    for _ in range(300):
        document = json.loads(raw)["data"]
        what = _mutate(document, rng, ids)
        response = put(client, document)
        assert response.status_code in (200, 400), (what, response.text[:500])
        outcomes[response.status_code] += 1
        if response.status_code == 200:
            broken = _reads_work(client, lead_id)
            assert not broken, (what, broken)
    assert outcomes[200] >= 30 and outcomes[400] >= 30, outcomes
