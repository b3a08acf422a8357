"""Requests that touch every kind of tenant state, shared by the durable-store tests and the bench.

``world(call, sink_url)`` takes ``call(method, path, json=None) -> (status, body)`` so the same
workload runs against an in-process TestClient and a subprocess over HTTP.
"""

from __future__ import annotations

ALL_EVENTS = {name: True for name in ("lead.queued", "lead.processed", "lead.delivered", "lead.disqualified",
                                      "lead.failed", "lead.first_submission_action", "call.completed")}


def submit_body(n: int, campaign: str = "HXZ") -> dict:
    return {"campaignId": campaign, "firstName": f"jane{n}", "lastName": "SMITH",
            "email": f"jane.{n}@example.com", "phone": f"+1212555{n % 10000:04d}"}


def ok(result, status: int = 200) -> dict:
    code, body = result
    assert code == status, (code, body)
    return body["data"]


def world(call, sink_url: str) -> dict:
    """Every kind of write; returns the ids it made."""
    ok(call("PATCH", "/_sandbox/settings", {"webhooks": {"enabled": True, "url": sink_url, "events": ALL_EVENTS}}))
    lead_id = ok(call("POST", "/api/v1/leads/submit", submit_body(101)))["leadId"]
    ok(call("POST", "/_sandbox/clock/advance", {"seconds": 30}))   # lead pipeline runs; webhooks go to the sink
    ok(call("PATCH", f"/api/v1/leads/{lead_id}", {"firstName": "Janet", "tags": ["vip"], "notes": [{"text": "two"}]}))
    call_id = ok(call("POST", "/api/v1/voice/calls/initiate", {"leadId": lead_id}))
    ok(call("POST", "/_sandbox/clock/advance", {"seconds": 900}))  # the call completes
    sms = ok(call("POST", "/api/v1/sms/send", {"leadId": lead_id, "message": "Hi Jane!"}))
    ok(call("POST", "/_sandbox/sms/inbound", {"from": "+12125550101", "to": "+18335645667", "text": "Yes",
                                              "providerMessageId": "vg-1"}))
    ok(call("POST", "/api/v1/files", {"leadId": lead_id, "fileKey": "retainer_signed", "fileName": "r.pdf",
                                      "fileType": "pdf", "documentUrl": "https://storage.example.com/r.pdf",
                                      "status": "uploaded"}))
    ok(call("POST", "/_sandbox/clock/advance", {"seconds": 60}))
    return {"leadId": lead_id, "call": call_id, "sms": sms}
