"""PUT /_sandbox/state: an export comes back exactly, anything else is refused whole.

Every test starts from one lived-in tenant (calls, texts, documents, files, pixels, webhooks, the
dialer, jobs still on the timeline), so every collection of the export holds at least one record.
The field-by-field deletion tests use a richer one (built by ``_live_richly``): each shape of
record the code writes, a delivery with a failed and a succeeded attempt among them.
"""

from __future__ import annotations

import copy
import json
import random
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from starlette.testclient import TestClient

from sandbox import simulation
from sandbox.app import CONTROL_SPEC, create_app
from sandbox.clock import parse_instant
from sandbox.settings import DEFAULT_START, Settings
from sandbox.store import TenantState
from sandbox.world import generate_world, tenant_export
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


# --- every field of one record of each kind, deleted in turn: refused, or a tenant that works ----

class _Receiver:
    """A local webhook receiver: ``/fail`` answers 500; any other path answers 500 to a delivery's
    first attempt and 200 to its later ones (so one delivery holds a failed and a succeeded attempt)."""

    def __init__(self):
        seen: set = set()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                delivery = self.headers.get("webhook-id")
                status = 500 if self.path == "/fail" or delivery not in seen else 200
                seen.add(delivery)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


ALL_EVENTS = {name: True for name in ("lead.queued", "lead.processed", "lead.delivered", "lead.disqualified",
                                      "lead.failed", "lead.first_submission_action", "call.completed")}
AGENT_NUMBER = "+18335645669"    # the seed SMS agent's number: threads on it are in agent mode
RICH_PHONE = "+12125557711"


def _live_richly(client, receiver) -> str:
    """Drive the API to a tenant holding every kind of record, in each of the shapes the code writes;
    returns the lead that has most of them."""
    def lead(campaign="HXZ", submit=False, **fields):
        body = {"campaignId": campaign, "firstName": "Jane", "lastName": "Smith",
                "email": f"jane{fields['phone'][-4:]}@example.com", **fields}
        return data(client.post("/api/v1/leads/submit" if submit else "/api/v1/leads", json=body))["leadId"]

    data(client.patch("/_sandbox/settings", json={
        "webhooks": {"enabled": True, "url": receiver.url("/tenant"), "events": ALL_EVENTS,
                     "headers": {"X-Source": "import-tests"}},
        "webhookSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))
    data(client.put("/_sandbox/campaigns/U4D", json={"webhooks": {
        "inheritFromTenant": False, "enabled": True, "url": receiver.url("/fail"), "retryAttempts": 1,
        "events": {"lead.queued": True}}}))
    rich = lead(phone=RICH_PHONE)
    blocked = lead(phone="+12125557712")
    dialled = lead("U4D", submit=True, phone="+12125557713",
                   questionnaire=[{"key": "injury_type", "question": "Your injury?", "answer": "back"}])
    data(client.put(f"/_sandbox/leads/{rich}/next-outcome", json={"outcome": "completed"}))
    data(client.post("/api/v1/voice/calls/initiate", json={"leadId": rich}))
    data(client.post("/api/v1/sms/send", json={"leadId": rich, "message": "Hi Jane!"}))
    data(client.post("/_sandbox/sms/inbound", json={"from": RICH_PHONE, "to": AGENT_NUMBER, "text": "hello, call me?"}))
    data(client.post("/api/v1/files", json={"leadId": rich, "fileKey": "id_card", "fileName": "id.png",
                                            "fileType": "png", "documentUrl": "https://files.example.com/id.png"}))
    data(client.post("/api/v1/pixels/fire", json={"leadId": rich, "pixelId": "123456789", "platform": "facebook",
                                                  "eventName": "Lead", "eventValue": 5, "currency": "USD"}))
    data(client.put(f"/_sandbox/leads/{blocked}/dnc", json={"channels": ["phone", "sms"], "reason": "asked"}))
    data(client.post("/api/v1/leads/send-to-auto-dialer", json={"leadIds": [dialled]}))
    data(client.post("/_sandbox/clock/advance", json={"seconds": 600}))
    # Left on the timeline: a job of each kind these start.
    data(client.put("/_sandbox/webhooks/faults", json={"duplicate": True}))
    data(client.post("/api/v1/document-templates/send",
                     json={"leadId": dialled, "fileKey": "retainerSigning", "campaignId": "U4D"}))
    data(client.post("/api/v1/voice/calls/initiate", json={"leadId": lead(phone="+12125557714")}))
    data(client.post("/api/v1/sms/send", json={"leadId": rich, "message": "Still there?"}))
    data(client.post("/_sandbox/sms/inbound", json={"from": RICH_PHONE, "to": AGENT_NUMBER, "text": "yes"}))
    lead(submit=True, phone="+12125557715")
    return rich


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    """(client, the export's bytes, the rich lead's id) of a tenant holding every kind of record
    (a seed world of three leads, so an import costs little)."""
    fixture = tmp_path_factory.mktemp("world") / "world.yaml"
    fixture.write_text(json.dumps(generate_world(42, parse_instant(DEFAULT_START), lead_count=3)))
    receiver = _Receiver()
    try:
        with TestClient(create_app(Settings(validate_responses=True, fixture=fixture)),
                        raise_server_exceptions=False) as client:
            client.headers["X-API-Key"] = KEY
            lead_id = _live_richly(client, receiver)
            response = client.get("/_sandbox/state")
            yield client, response.content, lead_id
    finally:
        receiver.close()


def test_the_rich_tenant_holds_each_shape_of_record(rich):
    _, raw, lead_id = rich
    state = json.loads(raw)["data"]["state"]
    calls = [i for i in state["interactions"].values() if i["type"] == "call"]
    assert {"completed", "in_progress"} <= {call["status"] for call in calls}
    assert any(i["type"] == "sms" and i["sms"]["agentMode"] for i in state["interactions"].values())
    attempts = [a["status"] for d in state["deliveries"].values() for a in d["attempts"]]
    assert {"failed", "succeeded"} <= set(attempts)
    assert {"delivered", "failed", "pending"} <= {d["status"] for d in state["deliveries"].values()}
    assert any(d["attempts"] and d["attempts"][0]["status"] == "failed" and d["attempts"][-1]["status"] == "succeeded"
               for d in state["deliveries"].values())
    assert {m["direction"] for m in state["sms_messages"].values()} == {"inbound", "outbound"}
    assert any(entry["attempts"] for entry in state["dialer"].values()) and state["dnc"]
    assert state["settings"]["webhookSecret"] and state["files"][lead_id] and state["pixel_events"]
    kinds = {job["kind"] for job in json.loads(raw)["data"]["timeline"]["jobs"]}
    assert {"call.answer", "sms.deliver", "sms.batch", "submission.process", "webhook.attempt",
            "document.advance"} <= kinds


# Objects whose keys are data, not fields (a body sent, header names, event names, outcome weights
# ...): they are deleted whole, their entries are not each deleted in turn.
MAPS = {"payload", "headers", "events", "outcomeMix", "userData", "params"}


def _samples(document: dict) -> list[list]:
    """Where one record of each kind sits: each top-level part, the first job of each kind, and of
    each state collection the largest record (of each type, for interactions: a call's and a
    thread's blocks differ), or the collection itself when it is one record (settings, faults)."""
    places = [[part] for part in TOP_LEVEL[:-1]]
    first_of_kind = {}
    for index, job in enumerate(document["timeline"]["jobs"]):
        first_of_kind.setdefault(job["kind"], ["timeline", "jobs", index])
    places += first_of_kind.values()
    for name, collection in document["state"].items():
        if name in ("settings", "webhook_faults", "org_id"):
            places.append(["state", name])
            continue
        if name == "files":
            items = [((lead_id, key), record) for lead_id, files in collection.items() for key, record in files.items()]
        elif isinstance(collection, list):
            items = [((index,), record) for index, record in enumerate(collection)]
        else:
            items = [((key,), record) for key, record in collection.items()]
        largest: dict = {}
        for key, record in items:
            kind = record.get("type") if name == "interactions" else None
            size = len(json.dumps(record))
            if kind not in largest or size > largest[kind][0]:
                largest[kind] = (size, key)
        places += [["state", name, *key] for _, key in largest.values()]
    return places


def _shape(node):
    """The key paths of ``node``, list positions left out: list items of one shape are one kind."""
    if isinstance(node, dict):
        return frozenset((key, inner) for key, value in node.items() for inner in [_shape(value)])
    if isinstance(node, list):
        return frozenset(_shape(item) for item in node)
    return None


def _key_paths(path: list, node) -> list[list]:
    """``path`` and the path of every field below it: into one list item of each shape (a failed
    and a succeeded attempt, not every transcript line), not into ``MAPS``, and not into the
    timeline's jobs (sampled by kind)."""
    paths = [path]
    if path == ["timeline", "jobs"] or (path[0] == "state" and path[-1] in MAPS):
        return paths
    if isinstance(node, dict):
        for key, value in node.items():
            paths += _key_paths(path + [key], value)
    elif isinstance(node, list):
        shapes = set()
        for index, item in enumerate(node):
            if isinstance(item, (dict, list)) and _shape(item) not in shapes:
                shapes.add(_shape(item))
                paths += _key_paths(path + [index], item)[1:]
    return paths


def _at(document, path: list):
    for step in path:
        document = document[step]
    return document


def _lead_reads(client, document, lead_ids):
    answers = [client.get("/api/v1/leads", params={"limit": 100})]
    for lead_id in lead_ids:
        answers += [client.get(f"/api/v1/leads/{lead_id}"), client.get(f"/_sandbox/dialer/check/{lead_id}"),
                    client.get(f"/api/v1/interactions/lead/{lead_id}")]
    return answers + [client.get("/_sandbox/dialer/queue")]


def _conversation_reads(client, document, lead_ids):
    answers = [client.get(f"/api/v1/interactions/{i}") for i in document["state"]["interactions"]]
    return answers + [client.get("/_sandbox/sms/messages"),
                      client.post("/_sandbox/sms/inbound", json={"from": RICH_PHONE, "to": AGENT_NUMBER, "text": "ok"})]


def _contact(client, document, lead_ids):
    return [client.post("/api/v1/sms/send", json={"leadId": lead_ids[0], "message": "ping"}),
            client.post("/api/v1/voice/calls/initiate", json={"leadId": lead_ids[0]})]


def _delivery_reads(client, document, lead_ids):
    answers = [client.get("/_sandbox/webhooks/deliveries"), client.get("/_sandbox/webhooks/faults")]
    for delivery_id in document["state"]["deliveries"]:
        answers += [client.get(f"/_sandbox/webhooks/deliveries/{delivery_id}"),
                    client.post(f"/_sandbox/webhooks/deliveries/{delivery_id}/replay")]
    return answers


def _settings_reads(client, document, lead_ids):
    return [client.get("/_sandbox/settings"),
            client.patch("/_sandbox/settings", json={"webhooks": {"enabled": True}})]


def _campaign_reads(client, document, lead_ids):
    return [client.get("/_sandbox/campaigns"), client.get("/api/v1/campaigns"),
            client.get("/_sandbox/voice-agents"), client.get("/_sandbox/sms-agents"),
            client.get("/_sandbox/phone-numbers")]


_EVERYTHING = (_settings_reads, _campaign_reads, _lead_reads, _conversation_reads, _delivery_reads, _contact)
# What reads each part of the export (then the clock advances a day and the tenant is exported).
_READERS = {
    "settings": (_settings_reads, _contact, _delivery_reads),
    "leads": (_lead_reads, _contact), "lead_order": (_lead_reads,), "submissions": (_lead_reads,),
    "lead_submissions": (_lead_reads,), "files": (_lead_reads,), "dnc": (_lead_reads, _contact),
    "dialer": (_lead_reads,), "forced_outcomes": (_contact,), "pixel_events": (_lead_reads,),
    "field_library": (_lead_reads,), "clients": (_campaign_reads, _lead_reads), "offers": (_campaign_reads,),
    "interactions": (_conversation_reads, _lead_reads, _contact), "lead_interactions": (_lead_reads,),
    "sms_messages": (_conversation_reads,), "sms_threads": (_conversation_reads, _contact),
    "deliveries": (_delivery_reads,), "webhook_faults": (_delivery_reads,),
    "campaigns": (_campaign_reads, _lead_reads, _contact, _delivery_reads),
    "campaign_config": (_campaign_reads, _lead_reads, _contact),
    "voice_agents": (_campaign_reads, _contact), "sms_agents": (_campaign_reads, _conversation_reads),
    "phone_numbers": (_campaign_reads, _contact, _conversation_reads), "document_templates": (_lead_reads,),
}


def _exercise(client, document, path: list, lead_id: str) -> list[str]:
    """The reads (and a few writes) of the part ``path`` is in, then a day on the clock and an
    export: each answer that is a 5xx, described. Leads read: ``lead_id``, and the lead whose
    record ``path`` is in."""
    readers = _READERS[path[1]] if path[0] == "state" and len(path) > 1 else _EVERYTHING
    lead_ids = [lead_id]
    if len(path) > 2 and path[1] in ("leads", "files", "dnc", "dialer", "forced_outcomes") and path[2] != lead_id:
        lead_ids.append(path[2])
    answers = [answer for reader in readers for answer in reader(client, document, lead_ids)]
    answers += [client.post("/_sandbox/clock/advance", json={"seconds": 86400}), client.get("/_sandbox/state")]
    return [f"{a.request.method} {a.request.url.path}: {a.status_code} {a.text[:300]}"
            for a in answers if a.status_code >= 500]


def test_deleting_any_field_of_any_kind_of_record_is_refused_or_harmless(rich):
    """Each field of one record of each kind (every key path below it) deleted on its own: the
    import refuses it with a 400, or takes it and every operation reading that kind still answers
    without a 5xx. Catches a schema that lets through a record the code never writes."""
    client, raw, lead_id = rich
    exported = json.loads(raw)["data"]
    paths = [path for place in _samples(exported) for path in _key_paths(place, _at(exported, place))]
    assert len(paths) > 300
    outcomes, broken = {200: 0, 400: 0}, []
    for path in paths:
        document = json.loads(raw)["data"]
        del _at(document, path[:-1])[path[-1]]
        response = put(client, document)
        where = _dotted(path)
        assert response.status_code in (200, 400), (where, response.text[:500])
        outcomes[response.status_code] += 1
        if response.status_code == 200:
            broken += [f"del {where} → {line}" for line in _exercise(client, document, path, lead_id)]
            # Back to the export: each deletion is judged against the same tenant.
            data(client.put("/_sandbox/state", content=raw, headers={"content-type": "application/json"}))
    assert not broken, "\n".join(broken)
    assert outcomes[200] and outcomes[400], outcomes


def _first(collection: dict, test) -> str:
    return next(key for key, record in collection.items() if test(record))


def _where(path: list) -> str:
    """A path as refusals word it: ``state.deliveries.whd_x.attempts[1].trigger``."""
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path).lstrip(".")


def _always_written(document: dict) -> list[tuple[list, str]]:
    """(a field the code always writes and reads back, the reason its absence is refused with);
    each was let through, and answered 500 later, before the export schemas required it."""
    s = document["state"]
    delivery = _first(s["deliveries"], lambda d: len(d["attempts"]) > 1)
    message = next(iter(s["sms_messages"]))
    call = _first(s["interactions"], lambda i: i["type"] == "call")
    thread = _first(s["interactions"], lambda i: i["type"] == "sms")
    job = next(i for i, j in enumerate(document["timeline"]["jobs"]) if j["kind"] == "webhook.attempt")
    required = [["state", "deliveries", delivery, "timeoutSeconds"],
                ["state", "deliveries", delivery, "attempts", 1, "trigger"],
                ["state", "deliveries", delivery, "attempts", 0, "response"],
                ["state", "settings", "smsProvider"], ["state", "settings", "webhooks"],
                ["state", "sms_messages", message, "providerMessageId"],
                ["state", "sms_messages", message, "agentAsks"],
                ["state", "interactions", thread, "telephony", "phoneNumber"],
                ["state", "interactions", thread, "sms", "direction"],
                ["state", "interactions", call, "call", "voiceAI"],
                ["state", "campaigns", "U4D", "webhooks", "url"],
                ["state", "campaign_config", "HXZ", "autoDialer", "minGapMinutes"],
                ["state", "pixel_events", 0, "currency"], ["timeline", "jobs", job, "payload", "trigger"]]
    return [(path, "is required") for path in required] + [
        (["state", "interactions", call, "call"], "is required on a call interaction")]


def test_a_record_without_a_field_the_code_always_writes_is_refused_by_name(rich):
    client, raw, _ = rich
    exported = json.loads(raw)["data"]
    for path, reason in _always_written(exported):
        document = copy.deepcopy(exported)
        del _at(document, path[:-1])[path[-1]]
        assert f"{_where(path)}: {reason}" in refused(client, document)
    for settings in ({}, {"smsProvider": "vonage", "timezone": "America/New_York"}):
        exported["state"]["settings"] = settings
        assert "state.settings.webhooks: is required" in refused(client, exported)
    assert client.get("/_sandbox/state").content == raw
