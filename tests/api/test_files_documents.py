"""Files on a lead (POST /files, GET /files/...) and documents sent for signing, with the signing
progression played on the manual clock.

Seed facts used: campaign U4D has the template ``tpl_retainer`` (fileKey ``retainerSigning``),
HXZ has no template, and the clock starts at 2026-01-15T15:00:00Z.
"""

from __future__ import annotations

import pytest

from tests.conftest import API_KEY, advance, data, error

START = "2026-01-15T15:00:00Z"
NO_KEY = {"X-API-Key": ""}
FILE_FIELDS = ["fileId", "leadId", "fileKey", "fileName", "fileType", "documentUrl", "status", "provider",
               "createdAt", "updatedAt", "signedAt"]


def exported(client) -> dict:
    return data(client.get("/_sandbox/state"))


def lead_record(client, lead_id: str) -> dict:
    return exported(client)["state"]["leads"][lead_id]


def lead_in(client, campaign: str, **changes) -> str:
    """The first seeded lead of a campaign, with ``changes`` applied through a state import."""
    document = exported(client)
    state = document["state"]
    lead_id = next(i for i in state["lead_order"] if state["leads"][i]["campaign"]["campaignId"] == campaign)
    if changes:
        state["leads"][lead_id].update(changes)
        data(client.put("/_sandbox/state", json=document))
    return lead_id


def upload(lead_id: str, file_key: str = "retainer_signed", **extra) -> dict:
    body = {"leadId": lead_id, "fileKey": file_key, "fileName": f"{file_key}.pdf", "fileType": "pdf",
            "documentUrl": f"https://storage.example.com/files/{file_key}.pdf"}
    body.update(extra)
    return body


# --- POST /files ------------------------------------------------------------------------------

def test_upsert_creates_a_file_in_documented_field_order(client):
    lead_id = lead_in(client, "HXZ")
    created = data(client.post("/api/v1/files", json=upload(lead_id, status="uploaded")))
    assert list(created) == FILE_FIELDS
    assert created["fileId"].startswith("file_") and len(created["fileId"]) == 17
    assert created == {"fileId": created["fileId"], "leadId": lead_id, "fileKey": "retainer_signed",
                       "fileName": "retainer_signed.pdf", "fileType": "pdf",
                       "documentUrl": "https://storage.example.com/files/retainer_signed.pdf",
                       "status": "uploaded", "provider": "manual_upload",
                       "createdAt": START, "updatedAt": START, "signedAt": None}


def test_upsert_defaults_status_to_pending(client):
    lead_id = lead_in(client, "HXZ")
    assert data(client.post("/api/v1/files", json=upload(lead_id)))["status"] == "pending"


def test_upsert_updates_in_place_keeping_id_and_creation_time(client):
    lead_id = lead_in(client, "HXZ")
    first = data(client.post("/api/v1/files", json=upload(lead_id, status="uploaded")))
    advance(client, 90)
    second = data(client.post("/api/v1/files", json=upload(lead_id, status="signed", fileName="v2.pdf")))
    assert second["fileId"] == first["fileId"]
    assert (second["createdAt"], second["updatedAt"]) == (START, "2026-01-15T15:01:30Z")
    assert (second["status"], second["fileName"], second["signedAt"]) == ("signed", "v2.pdf", "2026-01-15T15:01:30Z")
    assert data(client.get(f"/api/v1/files/{lead_id}"))["count"] == 1


def test_upsert_keeps_an_explicit_signed_at_in_api_format(client):
    lead_id = lead_in(client, "HXZ")
    body = upload(lead_id, status="signed", signedAt="2026-01-14T09:30:00+00:00")
    assert data(client.post("/api/v1/files", json=body))["signedAt"] == "2026-01-14T09:30:00Z"


def test_optional_fields_appear_only_when_set(client):
    lead_id = lead_in(client, "HXZ")
    body = upload(lead_id, signingUrl="https://sign.example.com/s/abc", provider="docuseal",
                  providerDocumentId="ds_123", createdBySubmissionId="sub_abc", metadata={"pages": 3},
                  unknownField="ignored")
    created = data(client.post("/api/v1/files", json=body))
    assert list(created) == FILE_FIELDS + ["signingUrl", "providerDocumentId", "createdBySubmissionId", "metadata"]
    assert (created["signingUrl"], created["providerDocumentId"]) == ("https://sign.example.com/s/abc", "ds_123")
    assert (created["createdBySubmissionId"], created["metadata"]) == ("sub_abc", {"pages": 3})
    assert created["provider"] == "docuseal"
    assert "unknownField" not in created


def test_upsert_for_an_unknown_lead_is_400(client):
    body = error(client.post("/api/v1/files", json=upload("lead_doesnotexist1")), 400, "VALIDATION_ERROR")
    assert body["details"] == ["leadId: unknown lead"]


@pytest.mark.parametrize("change, detail", [
    ({"fileName": None}, "fileName: is required"),
    ({"status": "archived"}, "status: must be one of pending, uploaded, viewed, in_progress, signed, verified, "
                             "expired, declined, failed"),
    ({"provider": "dropbox"}, "provider: must be one of docuseal, manual_upload, system_generated, csv_import"),
    ({"fileKey": ""}, "fileKey: must be at least 1 characters long"),
])
def test_upsert_bad_body_is_400_naming_the_field(client, change, detail):
    body = upload(lead_in(client, "HXZ"))
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    assert detail in error(client.post("/api/v1/files", json=body), 400, "VALIDATION_ERROR")["details"]


def test_upsert_needs_a_key(client):
    error(client.post("/api/v1/files", json=upload("lead_x"), headers=NO_KEY), 401, "UNAUTHORIZED")


# --- GET /files/{leadId}[/{fileKey}] ----------------------------------------------------------

def test_list_and_get_a_leads_files(client):
    lead_id = lead_in(client, "HXZ")
    a = data(client.post("/api/v1/files", json=upload(lead_id, "proof_of_income")))
    b = data(client.post("/api/v1/files", json=upload(lead_id, "retainer_signed")))
    listed = data(client.get(f"/api/v1/files/{lead_id}"))
    assert listed == {"leadId": lead_id, "files": [a, b], "count": 2}
    assert data(client.get(f"/api/v1/files/{lead_id}/proof_of_income")) == a


def test_list_for_an_unknown_lead_is_empty(client):
    assert data(client.get("/api/v1/files/lead_doesnotexist1")) == \
        {"leadId": "lead_doesnotexist1", "files": [], "count": 0}


def test_get_unknown_file_or_lead_is_404(client):
    lead_id = lead_in(client, "HXZ")
    body = error(client.get(f"/api/v1/files/{lead_id}/nothing_here"), 404, "NOT_FOUND")
    assert body == {"code": "NOT_FOUND", "message": "Resource not found"}
    error(client.get("/api/v1/files/lead_doesnotexist1/retainer_signed"), 404, "NOT_FOUND")


def test_reads_need_a_key(client):
    error(client.get("/api/v1/files/lead_x", headers=NO_KEY), 401, "UNAUTHORIZED")
    error(client.get("/api/v1/files/lead_x/retainer_signed", headers=NO_KEY), 401, "UNAUTHORIZED")


def test_another_tenant_cannot_see_my_files(client, other):
    lead_id = lead_in(client, "HXZ")
    data(client.post("/api/v1/files", json=upload(lead_id)))
    assert data(other.get(f"/api/v1/files/{lead_id}"))["count"] == 0
    error(other.get(f"/api/v1/files/{lead_id}/retainer_signed"), 404, "NOT_FOUND")
    # and cannot write to my lead either: it is unknown in their tenant
    assert error(other.post("/api/v1/files", json=upload(lead_id)), 400, "VALIDATION_ERROR")["details"] == \
        ["leadId: unknown lead"]


# --- POST /document-templates/send ------------------------------------------------------------

def send(client, **body):
    return client.post("/api/v1/document-templates/send", json=body)


def signing_steps(ran: list[dict]) -> list[str]:
    """File statuses reached by the ``document.advance`` jobs of one clock advance, in order."""
    return [effect["status"] for job in ran if job["job"] == "document.advance"
            for effect in job["effects"] if "fileId" in effect]


def test_send_document_answers_pending_with_a_signing_link(client):
    lead_id = lead_in(client, "U4D", status="qualified")
    sent = data(send(client, leadId=lead_id, fileKey="retainerSigning"))
    assert list(sent) == ["fileId", "leadId", "fileKey", "status", "signingUrl", "documentTemplateId",
                          "sentEmail", "sentSms"]
    assert sent["fileId"].startswith("file_")
    assert sent["signingUrl"].startswith("https://sign.sandbox.leadsail.app/s/doc_")
    assert {k: sent[k] for k in ("leadId", "fileKey", "status", "documentTemplateId", "sentEmail", "sentSms")} == \
        {"leadId": lead_id, "fileKey": "retainerSigning", "status": "pending", "documentTemplateId": "tpl_retainer",
         "sentEmail": True, "sentSms": False}

    record = data(client.get(f"/api/v1/files/{lead_id}/retainerSigning"))
    assert (record["fileId"], record["status"], record["provider"]) == (sent["fileId"], "pending", "docuseal")
    assert (record["fileName"], record["documentUrl"], record["signedAt"]) == ("retainerSigning.pdf", None, None)
    assert record["signingUrl"] == sent["signingUrl"]
    assert record["providerDocumentId"] == sent["signingUrl"].rsplit("/", 1)[1]
    assert record["metadata"] == {"documentTemplateId": "tpl_retainer", "testMode": False, "sentEmail": True,
                                  "sentSms": False}
    assert lead_record(client, lead_id)["status"] == "document_sent"


def test_signing_progresses_on_the_clock_and_signs_the_lead(client):
    lead_id = lead_in(client, "U4D", status="qualified")
    sent = data(send(client, leadId=lead_id, fileKey="retainerSigning"))

    assert signing_steps(advance(client, 60)["ran"]) == []      # nobody opens an e-mail within a minute
    ran = advance(client, 3600)["ran"]
    assert signing_steps(ran) == ["viewed", "in_progress", "signed"]

    record = data(client.get(f"/api/v1/files/{lead_id}/retainerSigning"))
    signed_job = [job for job in ran if job["job"] == "document.advance"][-1]
    assert (record["fileId"], record["status"]) == (sent["fileId"], "signed")
    assert record["signedAt"] == record["updatedAt"] == signed_job["at"]
    assert record["createdAt"] == START
    assert record["documentUrl"] == f"https://files.sandbox.leadsail.app/{lead_id}/retainerSigning.pdf"
    lead = lead_record(client, lead_id)
    assert (lead["status"], lead["updatedAt"]) == ("signed", record["signedAt"])
    assert signing_steps(advance(client, 86400)["ran"]) == []


def test_a_closed_lead_keeps_its_status(client):
    lead_id = lead_in(client, "U4D", status="delivered")
    data(send(client, leadId=lead_id, fileKey="retainerSigning"))
    advance(client, 7200)
    assert data(client.get(f"/api/v1/files/{lead_id}/retainerSigning"))["status"] == "signed"
    assert lead_record(client, lead_id)["status"] == "delivered"


def test_resending_restarts_signing_with_a_new_link(client):
    lead_id = lead_in(client, "U4D", status="contacted")
    first = data(send(client, leadId=lead_id, fileKey="retainerSigning"))
    advance(client, 1000)                                # first request is at least viewed by now
    assert data(client.get(f"/api/v1/files/{lead_id}/retainerSigning"))["status"] != "pending"
    second = data(send(client, leadId=lead_id, fileKey="retainerSigning", sendEmail=False))
    assert second["fileId"] == first["fileId"] and second["signingUrl"] != first["signingUrl"]
    assert second["sentEmail"] is False
    record = data(client.get(f"/api/v1/files/{lead_id}/retainerSigning"))
    assert (record["status"], record["signedAt"]) == ("pending", None)
    assert signing_steps(advance(client, 7200)["ran"]) == ["viewed", "in_progress", "signed"]


def test_a_declined_document_stops_the_signing(client):
    lead_id = lead_in(client, "U4D", status="qualified")
    # POST /files only takes snake_case keys, so this signing request uses one
    sent = data(send(client, leadId=lead_id, fileKey="retainer_signing"))
    assert sent["documentTemplateId"] == "tpl_retainer"     # the campaign's only template
    declined = data(client.post("/api/v1/files", json=upload(lead_id, "retainer_signing", status="declined")))
    assert (declined["fileId"], declined["status"], declined["provider"]) == (sent["fileId"], "declined", "docuseal")
    assert signing_steps(advance(client, 7200)["ran"]) == []
    assert data(client.get(f"/api/v1/files/{lead_id}/retainer_signing"))["status"] == "declined"
    assert lead_record(client, lead_id)["status"] == "document_sent"


def test_posting_a_signed_file_signs_a_waiting_lead(client):
    lead_id = lead_in(client, "U4D", status="pending_signature")
    advance(client, 30)
    data(client.post("/api/v1/files", json=upload(lead_id, "retainer_signed", status="signed")))
    lead = lead_record(client, lead_id)
    assert (lead["status"], lead["updatedAt"]) == ("signed", "2026-01-15T15:00:30Z")


def test_send_with_an_explicit_template_and_test_mode(client):
    lead_id = lead_in(client, "HXZ")
    sent = data(send(client, leadId=lead_id, fileKey="retainer", documentTemplateId="tpl_retainer", testMode=True,
                     sendSms=True, completedRedirectUrl="https://example.com/thanks"))
    assert (sent["documentTemplateId"], sent["sentSms"]) == ("tpl_retainer", True)
    assert data(client.get(f"/api/v1/files/{lead_id}/retainer"))["metadata"] == {
        "documentTemplateId": "tpl_retainer", "testMode": True, "sentEmail": True, "sentSms": True,
        "completedRedirectUrl": "https://example.com/thanks"}


def test_send_picks_the_template_of_the_given_campaign(client):
    lead_id = lead_in(client, "HXZ")
    assert data(send(client, leadId=lead_id, fileKey="retainerSigning", campaignId="U4D"))["documentTemplateId"] \
        == "tpl_retainer"


def test_send_without_a_matching_template_is_400(client):
    lead_id = lead_in(client, "HXZ")
    body = error(send(client, leadId=lead_id, fileKey="retainerSigning"), 400, "VALIDATION_ERROR")
    assert body["details"] == ["documentTemplateId: no document template matches campaign HXZ"]
    assert data(client.get(f"/api/v1/files/{lead_id}"))["count"] == 0


def test_send_sms_to_a_lead_without_phone_is_400(app, client):
    # No request can make such a lead (the API requires a phone, and an import is checked against
    # the Lead schema), so the record is changed in place: the service must still refuse cleanly.
    lead_id = lead_in(client, "U4D")
    app.registry.lookup(API_KEY).state.leads[lead_id]["phone"] = None
    body = error(send(client, leadId=lead_id, fileKey="retainerSigning", sendSms=True), 400, "VALIDATION_ERROR")
    assert body["details"] == ["sendSms: lead has no phone number to text the signing link to"]


@pytest.mark.parametrize("body", [
    {"leadId": "lead_doesnotexist1", "fileKey": "retainerSigning"},
    {"fileKey": "retainerSigning", "documentTemplateId": "tpl_nothing"},
    {"fileKey": "retainerSigning", "campaignId": "NOPE"},
])
def test_send_unknown_lead_template_or_campaign_is_404(client, body):
    body.setdefault("leadId", lead_in(client, "U4D"))
    error(send(client, **body), 404, "NOT_FOUND")


def test_send_bad_body_is_400(client):
    details = error(send(client, leadId="lead_x", sendEmail="yes"), 400, "VALIDATION_ERROR")["details"]
    assert "fileKey: is required" in details
    assert "sendEmail: must be a boolean (true or false)" in details


def test_send_needs_a_key(client):
    error(client.post("/api/v1/document-templates/send", json={"leadId": "lead_x", "fileKey": "k"}, headers=NO_KEY),
          401, "UNAUTHORIZED")


def test_another_tenant_cannot_send_to_my_lead(client, other):
    lead_id = lead_in(client, "U4D")
    error(send(other, leadId=lead_id, fileKey="retainerSigning"), 404, "NOT_FOUND")
