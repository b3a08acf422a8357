"""The safe profile: what it may send, proven on the guard's rules and on the wire of a real run."""

from __future__ import annotations

import io
import json
import re

import pytest

from contracts import cli, spec
from contracts.profiles import FULL, SAFE, ProfileRefused, choose, is_local
from contracts.safety import Guard, Refused
from tests.contracts_suite.harness import KEY, Rewrite, serve

OPS = spec.operations(spec.load())
FICTIONAL = re.compile(r"^\+1[2-9][0-9]{2}55501[0-9]{2}$")


@pytest.fixture
def guard():
    return Guard(SAFE, OPS)


def test_excluded_operations_and_undocumented_methods_on_their_paths_are_refused(guard):
    assert "excluded" in guard.refusal("POST", "/api/v1/sms/send", {}, {"leadId": "x", "message": "hi"})
    assert "excluded" in guard.refusal("PATCH", "/api/v1/leads/bulk", {}, {"leadIds": [], "updates": {}})
    assert guard.refusal("PUT", "/api/v1/sms/send", {}, None) is not None
    assert guard.refusal("DELETE", "/api/v1/leads/{leadId}", {"leadId": "lead_zz"}, None) is None
    assert guard.refusal("GET", "/api/v1/leads", {}, None) is None
    with pytest.raises(Refused):
        guard.check("POST", "/api/v1/leads/{leadId}/deliver", {"leadId": "lead_x"}, {})
    assert guard.refused == ["deliverLead is excluded by the safe profile"]


def test_writes_carry_the_test_flags_fictional_numbers_and_the_marker(guard):
    lead = {"campaignId": "HXZ", "firstName": "A", "lastName": "B", "email": "a1@leadsail-contracts.example",
            "phone": "+12125550142", "flags": {"isTest": True}}
    assert guard.refusal("POST", "/api/v1/leads", {}, lead) is None
    assert guard.refusal("POST", "/api/v1/leads", {}, dict(lead, flags={"isTest": False})) is not None
    assert guard.refusal("POST", "/api/v1/leads", {}, dict(lead, phone="+12125559876")) is not None  # a real-looking number
    assert guard.refusal("POST", "/api/v1/leads", {}, dict(lead, email="jane@gmail.com")) is not None
    assert guard.refusal("POST", "/api/v1/leads", {}, dict(lead, phone="+12125550142\n")) is not None
    assert guard.refusal("POST", "/api/v1/leads/submit", {}, {"campaignId": "HXZ", "leadId": "lead_q"}) is not None
    assert guard.refusal("POST", "/api/v1/leads/submit", {}, {"campaignId": "HXZ", "leadId": "lead_q", "isTest": True}) is None
    assert guard.refusal("POST", "/api/v1/voice/calls/initiate", {}, {"leadId": "lead_q"}) is not None
    assert guard.refusal("POST", "/api/v1/pixels/fire", {}, {"leadId": "lead_q", "pixelId": "1", "platform": "tiktok",
                                                              "eventName": "Lead", "testEventCode": "TEST123"}) is None
    assert guard.refusal("POST", "/api/v1/voice/calls/initiate", {}, "not an object") is not None


def test_records_seen_but_not_created_are_never_written_to(guard):
    guard.learn("listLeads", 200, {"data": {"leads": [{"leadId": "lead_real", "campaign": {"clientId": "cli_1"}}]}})
    guard.learn("createLead", 200, {"data": {"leadId": "lead_mine", "submissionId": "sub_mine"}})
    assert "did not create" in guard.refusal("PATCH", "/api/v1/leads/{leadId}", {"leadId": "lead_real"}, {})
    assert guard.refusal("PATCH", "/api/v1/leads/{leadId}", {"leadId": "lead_mine"}, {}) is None
    assert guard.refusal("PATCH", "/api/v1/submissions/{submissionId}", {"submissionId": "sub_mine"}, {}) is None
    assert guard.refusal("POST", "/api/v1/voice/calls/initiate", {}, {"leadId": "lead_real", "isTest": True}) is not None
    # a fuzz id echoed back by the answer to the request that named it proves nothing
    guard.learn("listLeadFiles", 200, {"data": {"leadId": "lead_random", "files": []}}, sent={"lead_random"})
    assert guard.refusal("PATCH", "/api/v1/leads/{leadId}", {"leadId": "lead_random"}, {}) is None
    assert Guard(FULL, OPS).refusal("PATCH", "/api/v1/leads/{leadId}", {"leadId": "lead_real"}, {}) is None


def test_the_default_profile_depends_on_the_host_and_full_on_a_remote_host_needs_the_flag(capsys):
    assert is_local("http://127.0.0.1:8000") and is_local("http://localhost:1") and is_local("http://[::1]:80")
    assert not is_local("https://api.leadsail.app") and not is_local("http://10.0.0.5:8000")
    assert choose(None, "http://127.0.0.1:8000", False) is FULL
    assert choose(None, "https://api.leadsail.app", False) is SAFE
    with pytest.raises(ProfileRefused):
        choose("full", "https://api.leadsail.app", False)
    assert choose("full", "https://staging.example.com", True) is FULL
    assert cli.main(["--base-url", "https://api.leadsail.app", "--api-key", "k", "--profile", "full"]) == 2
    assert "--allow-full-on-remote" in capsys.readouterr().err


def test_the_safe_profile_spec_only_adds_constraints_and_drops_links_from_reads_into_writes():
    raw = spec.load()
    selected = {op.operation_id for op in OPS} - SAFE.excluded
    variant = spec.for_profile(raw, SAFE, selected)
    body = variant["paths"]["/api/v1/leads"]["post"]["requestBody"]["content"]["application/json"]
    original = raw["paths"]["/api/v1/leads"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["allOf"][0] == original["schema"] and body["schema"]["allOf"][1] == SAFE.pins["createLead"]
    assert body["example"]["flags"] == {"isTest": True} and FICTIONAL.match(body["example"]["phone"])
    list_links = variant["paths"]["/api/v1/leads"]["get"]["responses"]["200"]["links"]
    assert set(list_links) == {"GetFirstLead", "ListFirstLeadSubmissions", "ListFirstLeadInteractions", "ListFirstLeadFiles"}
    assert "UpdateCreatedLead" in variant["paths"]["/api/v1/leads"]["post"]["responses"]["200"]["links"]
    assert "links" in raw["paths"]["/api/v1/leads"]["get"]["responses"]["200"]  # the loaded spec is untouched
    assert len(raw["paths"]["/api/v1/leads"]["get"]["responses"]["200"]["links"]) == 13


def _json(body: bytes):
    try:
        return json.loads(body)
    except ValueError:
        return None


def test_a_safe_run_sends_nothing_the_profile_forbids():
    log = []
    with serve(lambda app: Rewrite(app, log=log)) as base:
        args = cli.parse_args(["--base-url", base, "--api-key", KEY, "--profile", "safe", "--seed", "3",
                               "--max-examples", "5", "--rate-limit", "1000/s"])
        result = cli.run(args, out=io.StringIO(), err=io.StringIO())
    world = {lead for e in log if e.method == "GET" and e.path == "/api/v1/leads" and e.status == 200
             for lead in re.findall(r'"leadId": ?"(lead_[a-z0-9]+)"', e.response_body.decode())}
    created = {(_json(e.response_body) or {}).get("data", {}).get("leadId") for e in log
               if e.method == "POST" and e.path in ("/api/v1/leads", "/api/v1/leads/submit") and e.status == 200}
    foreign = world - created
    api = [e for e in log if e.path.startswith("/api/v1/") and e.headers.get("x-api-key") == KEY]
    writes = [e for e in api if e.method not in ("GET", "HEAD", "OPTIONS")]
    assert len(writes) > 50 and created and foreign  # the run wrote, and there were other people's leads about
    forbidden = re.compile(r"/sms/send|/document-templates/send|/deliver$|/approve$|/repost$|/leads/bulk|/send-to-auto-dialer")
    assert [f"{e.method} {e.path}" for e in writes if forbidden.search(e.path)] == []
    for e in writes:
        body = _json(e.body)
        named = set(re.findall(r"lead_[a-z0-9]{12}", e.path + (e.body.decode("utf-8", "replace"))))
        assert not named & foreign, f"{e.method} {e.path} touched someone else's lead: {e.body[:200]}"
        if not isinstance(body, dict):
            continue
        if e.path in ("/api/v1/leads/submit", "/api/v1/voice/calls/initiate") and e.method == "POST":
            assert body.get("isTest") is True, e.body[:300]
        if e.path == "/api/v1/leads" and e.method == "POST":
            assert body.get("flags", {}).get("isTest") is True and FICTIONAL.match(str(body.get("phone"))), e.body[:300]
            assert str(body.get("email")).endswith("@leadsail-contracts.example"), e.body[:300]
        if e.path == "/api/v1/pixels/fire":
            assert str(body.get("testEventCode", "")).startswith("TEST"), e.body[:300]
    assert {j.name: j.status for j in result.journeys}["sms_thread_threads"] == "skipped"
    assert {j.name: j.status for j in result.journeys}["call_reaches_final_status"] == "passed"
