"""What the inspector page stands on, without a browser: the static files as served, the journal's
bodies, the page's reads kept out of the journal, and the two endpoints it reads (a lead's timeline,
the pending work). In process, response validation on (a 200 here matched its schema)."""

from __future__ import annotations

import re

from sandbox.inspector import BODY_EXCERPT, FILES, STATIC
from tests.conftest import advance, data, error

HXZ_OPEN = {"autoDialer": {
    "operatingHours": {"start": "00:00", "end": "23:59", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
    "excludedStatuses": []}}
JANE = {"campaignId": "HXZ", "firstName": "Jane", "lastName": "Smith", "email": "jane@example.com",
        "phone": "+12125550101", "questionnaire": [{"key": "vehicle_year", "question": "Year?", "answer": 2019}]}
READ = {"X-Sandbox-Inspector": "read"}


# --- the page --------------------------------------------------------------------------------------

def test_the_page_is_served_with_a_strict_content_security_policy(client):
    page = client.get("/_sandbox/inspector/", headers={"X-API-Key": ""})
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe" not in policy
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    assert '<script type="module" src="inspector.js"></script>' in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), "no inline script"
    assert not re.search(r"https?://", page.text), "nothing from another origin"
    for name, media_type in FILES.items():
        served = client.get(f"/_sandbox/inspector/{name}")
        assert served.status_code == 200 and served.headers["content-type"] == media_type.decode()
        assert served.content == (STATIC / name).read_bytes()


def test_the_script_builds_the_dom_from_text_only():
    script = (STATIC / "inspector.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
    assert "localStorage" in script and "sessionStorage" in script
    assert "X-API-Key" in script and "?key=" not in script and "api_key=" not in script


def test_the_prefix_redirects_caches_and_refuses_what_it_does_not_serve(client):
    moved = client.get("/_sandbox/inspector", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/_sandbox/inspector/"
    etag = client.get("/_sandbox/inspector/inspector.js").headers["etag"]
    assert client.get("/_sandbox/inspector/inspector.js", headers={"If-None-Match": etag}).status_code == 304
    assert client.head("/_sandbox/inspector/inspector.css").content == b""
    for path in ("/_sandbox/inspector/app.py", "/_sandbox/inspector/../app.py", "/_sandbox/inspector/static/index.html",
                 "/_sandbox/inspector/%2e%2e/settings.py"):
        error(client.get(path), 404, "NOT_FOUND")
    refused = client.post("/_sandbox/inspector/index.html", json={})
    assert error(refused, 405, "METHOD_NOT_ALLOWED") and refused.headers["allow"] == "GET, HEAD"


def test_the_cli_banner_names_the_page():
    from sandbox.cli import BANNER

    assert "{base}/_sandbox/inspector/" in BANNER


# --- the journal --------------------------------------------------------------------------------------

def test_the_journal_keeps_bounded_bodies_and_never_the_key(client):
    data(client.get("/api/v1/leads?limit=1"))
    refused = client.post("/api/v1/leads/submit", json={"campaignId": "HXZ", "note": "x" * 3000})
    assert refused.status_code == 400
    entries = data(client.get("/_sandbox/journal"))["entries"]
    submit, listing = entries[0], entries[1]
    assert submit["requestBytes"] > 3000 and len(submit["requestBody"]) == BODY_EXCERPT
    assert submit["requestBody"].startswith('{"campaignId":"HXZ"') or submit["requestBody"].startswith('{"campaignId": "HXZ"')
    assert '"VALIDATION_ERROR"' in submit["responseBody"] and submit["responseBytes"] == len(refused.content)
    assert listing["requestBody"] is None and listing["requestBytes"] == 0
    assert listing["responseBody"].startswith('{"success":true') and len(listing["responseBody"]) <= BODY_EXCERPT
    assert "test-key" not in str(entries)


def test_the_inspectors_reads_stay_out_of_the_journal_but_its_actions_do_not(client):
    data(client.get("/api/v1/leads?limit=1", headers=READ))
    data(client.get("/_sandbox/clock", headers=READ))
    data(client.post("/_sandbox/clock/advance", json={"seconds": 1}))
    entries = data(client.get("/_sandbox/journal"))["entries"]
    assert [(e["method"], e["path"]) for e in entries] == [("POST", "/_sandbox/clock/advance")]


def test_a_recording_and_admin_answers_keep_no_body(client):
    lead = data(client.post("/api/v1/leads/submit", json=JANE))["leadId"]
    data(client.put("/_sandbox/campaigns/HXZ", json=HXZ_OPEN))
    call = data(client.post("/api/v1/voice/calls/initiate", json={"leadId": lead, "isTest": True}))
    advance(client, 900)
    url = data(client.get(f"/api/v1/interactions/{call['interactionId']}"))["call"]["recordingUrl"]
    wav = client.get(url.split("8000", 1)[1])
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    entry = data(client.get("/_sandbox/journal?limit=1"))["entries"][0]
    assert entry["path"].startswith("/_sandbox/recordings/") and entry["responseBody"] is None
    assert entry["responseBytes"] == len(wav.content)


# --- a lead's timeline --------------------------------------------------------------------------------

def test_a_leads_timeline_puts_everything_about_it_in_order(client):
    data(client.put("/_sandbox/campaigns/HXZ", json={**HXZ_OPEN, "webhooks": {
        "enabled": True, "url": "http://127.0.0.1:9/hook", "events": {"lead.queued": True, "call.completed": True}}}))
    lead = data(client.post("/api/v1/leads/submit", json=JANE))["leadId"]
    advance(client, 10)
    call = data(client.post("/api/v1/voice/calls/initiate", json={"leadId": lead}))["interactionId"]
    thread = data(client.post("/api/v1/sms/send", json={"leadId": lead, "message": "Hi Jane"}))["interactionId"]
    data(client.post("/_sandbox/sms/inbound", json={"from": "+12125550101", "to": "+18335645667", "text": "STOP"}))
    data(client.put(f"/_sandbox/leads/{lead}/dnc", json={"channels": ["sms", "email"], "reason": "asked twice"}))
    before = data(client.get(f"/_sandbox/leads/{lead}/timeline", headers=READ))
    assert {job["job"] for job in before["pending"]} >= {"call.answer", "sms.deliver", "webhook.attempt"}
    advance(client, 900)
    timeline = data(client.get(f"/_sandbox/leads/{lead}/timeline", headers=READ))
    assert timeline["lead"]["status"] == "contacted" and timeline["lead"]["isDnc"] is True
    assert timeline["calls"] == [call] and timeline["conversations"] == [thread]
    titles = [e["title"] for e in timeline["events"]]
    expected = ["Lead created in Auto Insurance Quotes", "Submission #1 (standard) received",
                "Webhook lead.queued queued (status pending)", "Submission #1 evaluated: qualified",
                "Submission #1 posted to the client: HTTP 200", "Call placed (api)", "Text to the lead (api)",
                "Text from the lead to +18335645667", "Automatic reply", "DNC set by sandbox: sms, email",
                "Call answered", "Call ended: completed after"]
    positions = [next(i for i, t in enumerate(titles) if t.startswith(want)) for want in expected]
    assert positions == sorted(positions), titles
    instants = [e["at"] for e in timeline["events"]]
    assert instants == sorted(instants)
    kinds = {e["kind"] for e in timeline["events"]}
    assert kinds >= {"lead", "submission", "status", "call", "sms", "dnc", "webhook", "request"}
    attempts = [e for e in timeline["events"] if e["kind"] == "webhook" and "attempt" in e["title"]]
    assert attempts and all(e["ref"]["type"] == "delivery" for e in attempts)
    requests = [e["title"] for e in timeline["events"] if e["kind"] == "request"]
    assert "POST /api/v1/leads/submit → 200" in requests and f"PUT /_sandbox/leads/{lead}/dnc → 200" in requests
    assert not any("/timeline" in t for t in requests), "the inspector's reads are not the integrator's"
    assert timeline["pending"] == [] or all(j["job"] == "webhook.attempt" for j in timeline["pending"])


def test_a_timeline_of_an_unknown_lead_is_a_404_and_another_tenants_is_not_mine(client, other):
    error(client.get("/_sandbox/leads/lead_nope/timeline"), 404, "NOT_FOUND")
    lead = data(client.post("/api/v1/leads/submit", json=JANE))["leadId"]
    error(other.get(f"/_sandbox/leads/{lead}/timeline"), 404, "NOT_FOUND")


# --- the pending work ---------------------------------------------------------------------------------

def test_pending_work_counts_by_kind_and_lists_the_next_jobs_in_due_order(client):
    for n in range(3):
        data(client.post("/api/v1/leads/submit", json={**JANE, "email": f"j{n}@example.com",
                                                        "phone": f"+1212555{7200 + n}"}))
    pending = data(client.get("/_sandbox/clock/pending?limit=2", headers=READ))
    assert pending["pendingJobs"] == 3 and pending["byKind"] == {"submission.process": 3}
    assert len(pending["next"]) == 2 and pending["next"][0]["due"] <= pending["next"][1]["due"]
    assert pending["next"][0]["job"] == "submission.process" and "leadId" in pending["next"][0]["payload"]
    error(client.get("/_sandbox/clock/pending?limit=0"), 400, "VALIDATION_ERROR")
    advance(client, 3600)
    assert data(client.get("/_sandbox/clock/pending")) == {"now": "2026-01-15T16:00:00Z", "pendingJobs": 0,
                                                           "byKind": {}, "next": []}
