"""Submissions: the list of a lead's runs (G10) and PATCH /submissions/{id} (G30), with the lead
mirroring its latest submission (G31) and the engine leaving a patched submission alone."""

from __future__ import annotations

from tests.api.test_leads import (
    NO_KEY, NOT_FOUND, UNAUTHORIZED, create, details, effects_for, failed_lead, get_lead, submissions_of, submit,
)
from tests.conftest import advance, data

SUBMISSION_FIELDS = ["submissionId", "leadId", "submissionNumber", "campaign", "status", "qualification", "routing",
                     "posting", "delivery", "result", "clientLeadId", "responseFields", "type", "createdAt",
                     "updatedAt"]


def patch(client, submission_id: str, body: dict):
    return client.patch(f"/api/v1/submissions/{submission_id}", json=body)


# --- GET /leads/{leadId}/submissions ------------------------------------------------------------------

def test_lists_every_run_oldest_first(client):
    lead_id = failed_lead(client)
    repost = data(client.post(f"/api/v1/leads/{lead_id}/repost", json={}))["newSubmissionId"]
    listing = data(client.get(f"/api/v1/leads/{lead_id}/submissions"))
    assert listing["leadId"] == lead_id and listing["count"] == 2
    assert [s["submissionNumber"] for s in listing["submissions"]] == [1, 2]
    assert listing["submissions"][1]["submissionId"] == repost
    assert [list(s) for s in listing["submissions"]] == [SUBMISSION_FIELDS] * 2
    assert listing["submissions"][0]["campaign"]["campaignId"] == "DRW"


def test_a_fresh_submission_has_empty_result_blocks(client):
    lead_id = submit(client)["leadId"]
    [submission] = submissions_of(client, lead_id)
    assert {key: submission[key] for key in ("qualification", "routing", "posting", "delivery", "result",
                                             "clientLeadId", "responseFields")} == \
        {"qualification": None, "routing": None, "posting": None, "delivery": None, "result": None,
         "clientLeadId": None, "responseFields": {}}


def test_list_of_unknown_or_foreign_lead_is_404(client, other):
    lead_id = create(client)["leadId"]
    for caller, path in ((client, "/api/v1/leads/lead_nope/submissions"),
                         (other, f"/api/v1/leads/{lead_id}/submissions")):
        response = caller.get(path)
        assert response.status_code == 404 and response.json() == NOT_FOUND


# --- PATCH /submissions/{submissionId} ---------------------------------------------------------------------

def test_patch_updates_the_submission_and_mirrors_the_latest_to_its_lead(client):
    reply = submit(client)
    advance(client, 60)
    advance(client, 3600)
    updated = data(patch(client, reply["submissionId"], {
        "status": "accepted", "result": "accepted", "clientLeadId": "ACME-1",
        "delivery": {"responseMessage": "Confirmed"}, "responseFields": {"leadRef": "ACME-1"}, "bogus": 1}))
    assert list(updated) == SUBMISSION_FIELDS and "bogus" not in updated
    assert (updated["status"], updated["result"], updated["clientLeadId"]) == ("accepted", "accepted", "ACME-1")
    assert updated["delivery"]["responseMessage"] == "Confirmed" and updated["delivery"]["success"] is True
    assert updated["responseFields"] == {"status": "accepted", "message": "Lead accepted", "leadRef": "ACME-1"}
    assert updated["updatedAt"] == "2026-01-15T16:01:00Z"
    lead = get_lead(client, reply["leadId"])
    assert lead["status"] == "accepted" and lead["updatedAt"] == "2026-01-15T16:01:00Z"
    assert submissions_of(client, reply["leadId"]) == [updated]


def test_patch_of_an_older_submission_leaves_the_lead_alone(client):
    lead_id = failed_lead(client)
    first = submissions_of(client, lead_id)[0]["submissionId"]
    data(client.post(f"/api/v1/leads/{lead_id}/repost", json={}))
    advance(client, 60)
    updated = data(patch(client, first, {"status": "error", "type": "manual_delivery"}))
    assert (updated["status"], updated["type"]) == ("error", "manual_delivery")
    assert get_lead(client, lead_id)["status"] == "delivered"


def test_patch_can_clear_a_result_block(client):
    lead_id = failed_lead(client)
    submission_id = submissions_of(client, lead_id)[0]["submissionId"]
    assert data(patch(client, submission_id, {"delivery": None}))["delivery"] is None


def test_engine_leaves_a_submission_patched_mid_run_alone(client):
    reply = submit(client)
    data(patch(client, reply["submissionId"], {"status": "accepted"}))
    ran = advance(client, 60)
    assert effects_for(ran, reply["leadId"]) == [("submission.process", "submission is now 'accepted'")]
    assert get_lead(client, reply["leadId"])["status"] == "accepted"
    assert submissions_of(client, reply["leadId"])[0]["delivery"] is None


def test_patch_rejects_values_outside_the_enums(client):
    submission_id = create(client)["submissionId"]
    assert details(patch(client, submission_id, {"status": "done"}))[0].startswith("status: must be one of new,")
    assert details(patch(client, submission_id, {"type": "import"})) == \
        ["type: must be one of standard, manual_delivery, repost"]


def test_patch_unknown_or_foreign_submission_is_404(client, other):
    submission_id = create(client)["submissionId"]
    for caller, target in ((client, "sub_nope"), (other, submission_id)):
        response = patch(caller, target, {"status": "accepted"})
        assert response.status_code == 404 and response.json() == NOT_FOUND
    assert submissions_of(client, get_lead_id(client, submission_id))[0]["status"] == "new"


def test_patch_needs_a_key(client):
    submission_id = create(client)["submissionId"]
    response = client.patch(f"/api/v1/submissions/{submission_id}", json={}, headers=NO_KEY)
    assert response.status_code == 401 and response.json() == UNAUTHORIZED


def get_lead_id(client, submission_id: str) -> str:
    return data(client.patch(f"/api/v1/submissions/{submission_id}", json={}))["leadId"]
